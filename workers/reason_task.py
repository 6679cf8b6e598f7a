"""The body of `llmrg.reason_user`: one user's reasoning inside a worker, with its run bookkeeping.

Idempotent under at-least-once delivery: chains and links are MERGEd on deterministic keys, answered steps
are recorded (a redelivered task asks the LLM only about what is left), the task record keeps the first
finished counts, and a Redis lock keeps two deliveries of the same user from working at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import neo4j

import cypher
from core.settings import Settings
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
    """Counters of earlier attempts that failed transiently: their LLM calls (which still cost) and the steps and
    chains they stored for good (`ReasonStats.as_cut_off_json`)."""
    timeouts: int = 0
    """Earlier attempts that ran past the soft time limit (`outcomes.next_attempt` retries only the first)."""
    unrecorded: dict[str, Any] | None = None
    """A dead letter an earlier delivery could not store (Neo4j down or stalled just then): this delivery
    only stores it and ends the user's task failed, without reasoning again."""

    def task_id(self) -> str:
        return reason_task_id(self.run_id, self.user)


def reason_task_id(run_id: str, user: int) -> str:
    """Deterministic: publishing the same user's task twice gives one result key and one record."""
    return f"{run_id}:user:{user}"


class LockBusy(Exception):
    """Another delivery of this user's task is working; try again shortly."""


class RetryLater(Exception):
    """A transient failure below the cap, or a dead letter Neo4j could not take: the caller re-schedules the task
    with these arguments."""

    def __init__(
        self,
        cause: BaseException,
        countdown_s: float,
        carried: dict[str, float],
        unrecorded: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.countdown_s = countdown_s
        self.carried = carried
        self.unrecorded = unrecorded
        """Set when the attempt failed for good but its dead letter could not be stored: the next delivery
        stores it (and is not another failed attempt)."""


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
    try:
        if job.unrecorded is not None:
            return _store_or_carry(resources, job, job.unrecorded, job.carried)
        return _reason(resources, job, settings, worker)
    finally:
        lock.release()


def _reason(resources: WorkerResources, job: ReasonJob, settings: Settings, worker: str) -> dict[str, Any]:
    """The attempt itself, under the user's lock."""
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
        stats = _add(job.carried, runs.task_stats(engine.stats.as_json()))
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
        resources.recover_from(exc)
        carried = _add(job.carried, _cut_off_counters(engine))
        countdown = outcomes.next_attempt(settings.workers, exc, job.failures, job.timeouts)
        if countdown is None:
            return _fail(resources, job, exc, carried)
        _record_retry(resources, job, exc, countdown)
        raise RetryLater(exc, countdown, carried) from exc


def _recorded_result(job: ReasonJob, task: dict[str, Any]) -> dict[str, Any]:
    """A duplicate delivery of a finished task answers with the first delivery's result, not its own zeros."""
    return {"status": "done", "user": job.user, **{name: task.get(name, 0) for name in runs.TASK_COUNTERS}}


def _cut_off_counters(engine: ReasoningEngine | None) -> dict[str, float]:
    """A failed attempt's counters for the next one to carry: its LLM costs, and only the steps and chains it
    stored for good (the next attempt counts the window that was cut off)."""
    return runs.task_stats(engine.stats.as_cut_off_json()) if engine is not None else {}


def _record_retry(resources: WorkerResources, job: ReasonJob, exc: BaseException, countdown: float) -> None:
    """Best effort: the service that failed may be Neo4j itself, and the retry must be scheduled regardless (also
    when the soft time limit lands during this write)."""
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
        if not _can_wait(resources, failed):
            raise


def _can_wait(resources: WorkerResources, failed: BaseException) -> bool:
    """Whether a bookkeeping write that failed can be left for later: it met an outage, a stalled database or the
    soft time limit (the process's driver is dropped then), not a bug."""
    resources.recover_from(failed)
    return outcomes.transient(failed) or outcomes.timed_out(failed)


def _fail(resources: WorkerResources, job: ReasonJob, exc: BaseException, stats: dict[str, float]) -> dict[str, Any]:
    """Past the cap or not retryable: dead-letter the task and mark its user failed (the run goes on). When
    Neo4j cannot take that record now (down, stalled, or the soft time limit landing in the write), the letter
    travels to a later delivery (`RetryLater.unrecorded`) instead of being lost with the task still `running`,
    which would keep its run open for good."""
    letter = outcomes.dead_letter_record(
        task_id=job.task_id(),
        task=TaskName.REASON_USER,
        run_id=job.run_id,
        dataset=job.dataset,
        user=job.user,
        exc=exc,
        attempts=job.failures + 1,
        arguments={"run_id": job.run_id, "dataset": job.dataset, "user": job.user, **job.options.as_dict()},
    )
    return _store_or_carry(resources, job, letter, stats)


def _store_or_carry(
    resources: WorkerResources, job: ReasonJob, letter: dict[str, Any], stats: dict[str, float]
) -> dict[str, Any]:
    """Store the dead letter and end the user's task `failed`, or, when Neo4j cannot take it now, raise
    RetryLater carrying the letter to a later delivery that does only this."""
    try:
        return _record_failure(resources, job, letter, stats)
    except Exception as failed:
        if not _can_wait(resources, failed):
            raise
        countdown = outcomes.retry_countdown(resources.settings.workers, job.failures)
        raise RetryLater(failed, countdown, stats, letter) from failed


def _record_failure(
    resources: WorkerResources, job: ReasonJob, letter: dict[str, Any], stats: dict[str, float]
) -> dict[str, Any]:
    """Store the dead letter and end the user's task `failed`, in one transaction (one statement timeout, so a
    task cleaning up after its soft time limit waits at most that long here; and never a letter without its
    task ended). Both writes are idempotent. A task another delivery finished `done` in the meantime (a
    duplicate, or a copy redelivered while this one was failing) keeps that result and gets no letter."""
    db = resources.db

    @neo4j.unit_of_work(timeout=db.query_timeout_s)
    def work(tx: neo4j.ManagedTransaction) -> dict[str, Any] | None:
        found = tx.run(cypher.load("workers/fetch_run_task"), run_id=job.run_id, user=job.user).single()
        if found is not None and found["task"].get("status") == "done":
            return dict(found["task"])
        tx.run(cypher.load("workers/merge_dead_letter"), letter=letter).consume()
        tx.run(
            cypher.load("workers/finish_run_task"),
            run_id=job.run_id,
            user=job.user,
            status="failed",
            stats=stats,
            error=letter["error"],
            length=None,
        ).consume()
        return None

    with db.session() as session:
        finished = session.execute_write(work)
    if finished is not None:
        return _recorded_result(job, finished)
    return {"status": "failed", "user": job.user, "error": letter["error"], **stats}


def _add(first: dict[str, float], second: dict[str, float]) -> dict[str, float]:
    return {name: first.get(name, 0) + second.get(name, 0) for name in runs.TASK_COUNTERS} | (
        {"wall_s": round(first.get("wall_s", 0) + second.get("wall_s", 0), 3)}
    )
