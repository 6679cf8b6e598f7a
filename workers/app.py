"""The Celery application, built from the one settings object.

There is no module-level app in this package: the CLI (`llmrg worker`, `llmrg beat`, `llmrg run`) builds
one from its settings, and `workers.main` builds one for the `celery` command and Flower.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_shutdown

from llmrg.settings import Settings
from workers.config import celery_config
from workers.resources import WorkerResources


class LLMRGCelery(Celery):  # type: ignore[misc]
    """A Celery app that carries its settings and, inside a worker process, that process's resources."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("llmrg", set_as_current=False)
        self.settings = settings
        self.config_from_object(celery_config(settings))
        self._resources: WorkerResources | None = None

    def resources(self) -> WorkerResources:
        if self._resources is None:
            self._resources = WorkerResources(self.settings)
        return self._resources

    def close_resources(self, **_: Any) -> None:
        if self._resources is not None:
            self._resources.close()
            self._resources = None


def create_app(settings: Settings) -> LLMRGCelery:
    from workers import tasks

    app = LLMRGCelery(settings)
    tasks.register(app)
    worker_process_shutdown.connect(app.close_resources, weak=False)
    return app
