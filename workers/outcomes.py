"""How a task attempt ends: which errors are worth a retry, when to give up, and the dead-letter record.

Celery's `autoretry_for` would raise the last error once the cap is reached, which fails the whole chord
of a run; instead a task past its cap writes a (:DeadLetter), marks its user failed and returns, so the
run finishes as `partial` and the poison input waits for inspection. The cap counts failures only (a
task waiting for its user's lock is not failing), so it travels in the task's own arguments.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import neo4j
import neo4j.exceptions
import redis
from celery.utils.time import get_exponential_backoff_interval

from core.errors import ServiceError
from core.gateway import Neo4jGateway
from core.settings import WorkerSettings
from core.vocabulary import TaskName
from reasoning.llm import LLMUnavailable

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (
    LLMUnavailable,
    ServiceError,
    neo4j.exceptions.ServiceUnavailable,
    neo4j.exceptions.SessionExpired,
    neo4j.exceptions.TransientError,
    redis.ConnectionError,
    redis.TimeoutError,
)
"""Errors of an unreachable or overloaded service: the same task may well succeed later."""


def retry_countdown(settings: WorkerSettings, failures: int) -> float:
    """Exponential backoff with full jitter (Celery's own helper), capped below the visibility timeout."""
    return float(
        get_exponential_backoff_interval(
            factor=int(settings.retry_backoff_s),
            retries=failures,
            maximum=int(settings.retry_backoff_max_s),
            full_jitter=True,
        )
    ) or min(settings.retry_backoff_s, settings.retry_backoff_max_s)


def next_attempt(settings: WorkerSettings, exc: BaseException, failures: int) -> float | None:
    """How long to wait before the next attempt after a failure, or None when the task is to be dead-lettered now:
    a transient error is retried until `failures` (earlier failed attempts) reaches the cap; any other error is
    not retried at all (a refused request, a bug and the soft time limit fail the same way again)."""
    if isinstance(exc, TRANSIENT) and failures < settings.max_retries:
        return retry_countdown(settings, failures)
    return None


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def dead_letter(
    db: Neo4jGateway,
    *,
    task_id: str,
    task: TaskName,
    run_id: str | None,
    dataset: str | None,
    user: int | None,
    exc: BaseException,
    attempts: int,
    arguments: dict[str, Any],
) -> None:
    log.error("dead-lettering %s %s after %d attempts: %s", task, task_id, attempts, error_text(exc))
    letter = {
        "task_id": task_id,
        "task": task.value,
        "run_id": run_id,
        "dataset": dataset,
        "user": user,
        "error": error_text(exc),
        "traceback": "".join(traceback.format_exception(exc))[-4000:],
        "attempts": attempts,
        "arguments": repr(arguments)[:2000],
    }
    db.run("workers/merge_dead_letter", letter=letter)
