"""The Celery application, built from the one settings object.

There is no module-level app in this package: the CLI (`llmrg worker`, `llmrg beat`, `llmrg run`) builds
one from its settings, and `workers.main` builds one for the `celery` command and Flower.
"""

from __future__ import annotations

from celery.signals import worker_process_shutdown

from core.settings import Settings
from workers import tasks
from workers.celery_app import LLMRGCelery


def create_app(settings: Settings) -> LLMRGCelery:
    app = LLMRGCelery(settings)
    tasks.register(app)
    worker_process_shutdown.connect(app.close_resources, weak=False)
    return app
