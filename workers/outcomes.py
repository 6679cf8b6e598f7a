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
from celery.exceptions import SoftTimeLimitExceeded
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


STALLED_STATEMENT_CODES = frozenset(
    {
        "Neo.ClientError.Transaction.LockClientStopped",
        "Neo.ClientError.Transaction.TransactionTimedOut",
        "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
    }
)
"""Neo4j ended a statement at the workers' statement timeout (`LLMRG_WORKER_NEO4J_QUERY_TIMEOUT_S`), most often
one waiting on a lock: a stalled database, which the driver reports as a client error it does not retry."""


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


def transient(exc: BaseException) -> bool:
    """An unreachable, overloaded or stalled service: the same task may well succeed later."""
    if isinstance(exc, TRANSIENT):
        return True
    return isinstance(exc, neo4j.exceptions.ClientError) and exc.code in STALLED_STATEMENT_CODES


def next_attempt(settings: WorkerSettings, exc: BaseException, failures: int, timeouts: int = 0) -> float | None:
    """How long to wait before the next attempt after a failure, or None when the task is to be dead-lettered now.

    Nothing is retried once `failures` (earlier failed attempts) reaches the cap. Below it, a transient error
    is retried; the soft time limit is retried once (`timeouts` counts the earlier attempts that ran past it),
    because an outage can hold one attempt past the limit even when each wait is bounded: a Neo4j that has
    just restarted accepts connections long before it answers quickly (one task's first statement took 20 s
    in the fault test under load). A task that runs past the limit a second time would do so every time, and
    any other error (a refused request, a bug) fails the same way again."""
    if failures >= settings.max_retries:
        return None
    if timed_out(exc):
        return retry_countdown(settings, failures) if timeouts == 0 else None
    if transient(exc):
        return retry_countdown(settings, failures)
    return None


def timed_out(exc: BaseException) -> bool:
    """The attempt ran past the task's soft time limit. The limit's exception may arrive wrapped: raised while
    the Neo4j driver waits on a statement, it is replaced by the error of the rollback that follows (the driver
    waits for the server to end the statement, at the latest at the workers' statement timeout)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SoftTimeLimitExceeded):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if timed_out(exc) and not isinstance(exc, SoftTimeLimitExceeded):
        text = f"SoftTimeLimitExceeded, then {text}"
    return text[:2000]


def dead_letter_record(
    *,
    task_id: str,
    task: TaskName,
    run_id: str | None,
    dataset: str | None,
    user: int | None,
    exc: BaseException,
    attempts: int,
    arguments: dict[str, Any],
) -> dict[str, Any]:
    """The (:DeadLetter)'s properties: plain values, so a letter Neo4j could not take travels in a task's
    arguments to the delivery that stores it."""
    log.error("dead-lettering %s %s after %d attempts: %s", task, task_id, attempts, error_text(exc))
    return {
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


def store_dead_letter(db: Neo4jGateway, letter: dict[str, Any]) -> None:
    """Idempotent (MERGE on the task id): a letter stored twice is one letter."""
    db.run("workers/merge_dead_letter", letter=letter)
