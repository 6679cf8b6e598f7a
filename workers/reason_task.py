"""The body of `llmrg.reason_user`: one user's reasoning inside a worker, with its run bookkeeping.

Idempotent under at-least-once delivery: chains and links are MERGEd on deterministic keys, answered steps
are recorded (a redelivered task asks the LLM only about what is left), the task record keeps the first
finished counts, and a Redis lock keeps two deliveries of the same user from working at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from core.vocabulary import TaskName
from reasoning.engine import ReasoningEngine
from reasoning.options import ReasoningOptions
from reasoning.run import build_engine
from workers import outcomes, runs
from workers.resources import WorkerResources


@dataclass(frozen=True)
class ReasonJob:
    run_id: str
    dataset: str
    user: int
    options: ReasoningOptions
    failures: int = 0
    carried: dict[str, float] = field(default_factory=dict)
    """Counters of earlier attempts that failed transiently (their LLM calls still cost)."""
    timeouts: int = 0
    """Earlier attempts that ran past the soft time limit (`outcomes.next_attempt` retries only the first)."""

    def task_id(self) -> str:
        return reason_task_id(self.run_id, self.user)


def reason_task_id(run_id: str, user: int) -> str:
    """Deterministic: publishing the same user's task twice gives one result key and one record."""
    return f"{run_id}:user:{user}"


class LockBusy(Exception):
    """Another delivery of this user's task is working; try again shortly."""


class RetryLater(Exception):
    """A transient failure below the cap: the caller re-schedules the task with these arguments."""

    def __init__(self, cause: BaseException, countdown_s: float, carried: dict[str, float]) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.countdown_s = countdown_s
        self.carried = carried


def run_reason_job(resources: WorkerResources, job: ReasonJob, worker: str) -> dict[str, Any]:
    """Reason for one user; returns the task result (status and counters). Raises LockBusy / RetryLater."""
    settings = job.options.apply(resources.settings)
    lock = resources.user_lock(job.dataset, job.user)
    try:
        acquired = lock.acquire()
    except outcomes.TRANSIENT as exc:
        raise LockBusy(f"Redis unreachable while locking user {job.user}: {exc}") from exc
    if not acquired:
        raise LockBusy(f"user {job.user} of {job.dataset} is being reasoned for by another delivery")
    engine: ReasoningEngine | None = None
    try:
        db = resources.db
        started = db.run(
            "workers/start_run_task",
            run_id=job.run_id,
            user=job.user,
            attempt=job.failures + 1,
            worker=f"{worker}/{os.getpid()}",
        )
        if not started:
            raise runs.UnknownRunError(f"no task record for user {job.user} in run {job.run_id!r}")
        if started[0]["finished"]:
            return _recorded_result(job, started[0]["task"])
        llm = resources.structured_llm(settings, settings.reasoning.temperature)
        engine = build_engine(
            db,
            settings,
            job.dataset,
            llm=llm,
            divergent_llm=resources.structured_llm(settings, settings.divergent.temperature, usage=llm.usage),
            catalogue=resources.catalogue(job.dataset),
            raise_unavailable=True,
        )
        length = engine.reason_user(job.user)
        stats = _add(job.carried, _counters(engine))
        db.run(
            "workers/finish_run_task",
            run_id=job.run_id,
            user=job.user,
            status="done",
            stats=stats,
            error=None,
            length=length,
        )
        return {"status": "done", "user": job.user, **stats}
    except Exception as exc:
        carried = _add(job.carried, _counters(engine))
        countdown = outcomes.next_attempt(settings.workers, exc, job.failures, job.timeouts)
        if countdown is None:
            return _fail(resources, job, exc, carried)
        _record_retry(resources, job, exc, countdown)
        raise RetryLater(exc, countdown, carried) from exc
    finally:
        lock.release()


def _recorded_result(job: ReasonJob, task: dict[str, Any]) -> dict[str, Any]:
    """A duplicate delivery of a finished task answers with the first delivery's result, not its own zeros."""
    return {"status": "done", "user": job.user, **{name: task.get(name, 0) for name in runs.TASK_COUNTERS}}


def _counters(engine: ReasoningEngine | None) -> dict[str, float]:
    return runs.task_stats(engine.stats.as_json()) if engine is not None else {}


def _record_retry(resources: WorkerResources, job: ReasonJob, exc: BaseException, countdown: float) -> None:
    """Best effort: the service that failed may be Neo4j itself, and the retry must be scheduled regardless."""
    try:
        resources.db.run(
            "workers/retry_run_task",
            run_id=job.run_id,
            user=job.user,
            retries=job.failures + 1,
            error=outcomes.error_text(exc),
            countdown_s=countdown,
        )
    except Exception as failed:
        if not outcomes.transient(failed):
            raise


def _fail(resources: WorkerResources, job: ReasonJob, exc: BaseException, stats: dict[str, float]) -> dict[str, Any]:
    """Past the cap or not retryable: dead-letter the task and mark its user failed (the run goes on)."""
    outcomes.dead_letter(
        resources.db,
        task_id=job.task_id(),
        task=TaskName.REASON_USER,
        run_id=job.run_id,
        dataset=job.dataset,
        user=job.user,
        exc=exc,
        attempts=job.failures + 1,
        arguments={"run_id": job.run_id, "dataset": job.dataset, "user": job.user, **job.options.as_dict()},
    )
    resources.db.run(
        "workers/finish_run_task",
        run_id=job.run_id,
        user=job.user,
        status="failed",
        stats=stats,
        error=outcomes.error_text(exc),
        length=None,
    )
    return {"status": "failed", "user": job.user, "error": outcomes.error_text(exc), **stats}


def _add(first: dict[str, float], second: dict[str, float]) -> dict[str, float]:
    return {name: first.get(name, 0) + second.get(name, 0) for name in runs.TASK_COUNTERS} | (
        {"wall_s": round(first.get("wall_s", 0) + second.get("wall_s", 0), 3)}
    )
