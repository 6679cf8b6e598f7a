"""The Celery application class: a Celery app that carries the settings and its process's resources.

Kept apart from `workers.app` (which registers the tasks on it) so the task modules can name the class
without importing themselves back.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from core.settings import Settings
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
