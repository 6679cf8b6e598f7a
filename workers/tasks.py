"""The Celery tasks: module-level functions that take ids (never objects), registered on an app by name.

Each is bound (its first argument is the Celery task, through which it reaches the app's settings and its
process's resources) and idempotent. The work itself lives in the rooms below; a task only unpacks its
arguments, calls it, and turns a failure into a retry or a dead letter (`outcomes.next_attempt`).

- `llmrg.reason_user`: one user's reasoning (queue `reasoning`); retried with backoff on transient
  failures (and once past the soft time limit) up to `LLMRG_TASK_MAX_RETRIES`, then dead-lettered.
- `llmrg.finish_run`: chord callback storing a run's totals and status.
- `llmrg.reason_users`: start a run for a dataset's first N users or a list of users (remote trigger).
- `llmrg.refresh_knowledge_base`: the beat job (see `workers.refresh`).
- `llmrg.verify_chain`: re-verify one stored chain with the current model (queue `reasoning`).
- `llmrg.train`: export a dataset and train one model variant (queue `training`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from celery import Task, group

from core import vocabulary
from core.settings import Settings
from core.vocabulary import TaskName
from reasoning.options import ReasoningOptions
from reasoning.reverify import reverify_chain
from reasoning.run import select_users
from workers import outcomes, refresh, runs
from workers.celery_app import LLMRGCelery
from workers.fanout import start_reason_run
from workers.reason_task import LockBusy, ReasonJob, RetryLater, run_reason_job

FINISH_RUN_MAX_WAITS = 120
RunOptions = dict[str, bool | int | None]


def _app(task: Task) -> LLMRGCelery:
    app = task.app
    assert isinstance(app, LLMRGCelery), "LLMRG tasks run on the app `workers.app.create_app` builds"
    return app


def _retry(task: Task, exc: BaseException, countdown: float, **changed: Any) -> NoReturn:
    """Schedule the next attempt with the task's own arguments, some `changed` (the failure count travels in
    them: Celery's own retry count also counts lock waits, which are not failures)."""
    raise task.retry(exc=exc, countdown=countdown, kwargs=dict(task.request.kwargs) | changed) from None


def reason_user(
    task: Task,
    run_id: str,
    dataset: str,
    user: int,
    options: RunOptions,
    failures: int = 0,
    carried: dict[str, float] | None = None,
    timeouts: int = 0,
    unrecorded: dict[str, Any] | None = None,
) -> dict[str, Any]:
    app = _app(task)
    job = ReasonJob(
        run_id, dataset, user, ReasoningOptions.from_dict(options), failures, carried or {}, timeouts, unrecorded
    )
    try:
        return run_reason_job(app.resources(), job, task.request.hostname or "worker")
    except LockBusy as busy:
        raise task.retry(exc=busy, countdown=app.settings.workers.user_lock_wait_s) from None
    except RetryLater as later:
        if later.unrecorded is not None:  # the attempt is over; only its dead letter is left to store
            _retry(task, later.cause, later.countdown_s, carried=later.carried, unrecorded=later.unrecorded)
        _retry(
            task,
            later.cause,
            later.countdown_s,
            failures=failures + 1,
            carried=later.carried,
            timeouts=timeouts + outcomes.timed_out(later.cause),
        )


def finish_run(task: Task, results: list[Any] | None = None, *, run_id: str) -> dict[str, Any]:
    run = runs.finish_run(_app(task).resources().db, run_id)
    if run["status"] == runs.RunStatus.RUNNING:
        raise task.retry(countdown=5)
    return run


def reason_users(
    task: Task,
    dataset: str,
    users: list[int] | None = None,
    first: int | None = None,
    options: RunOptions | None = None,
    run_id: str | None = None,
) -> str:
    app = _app(task)
    db = app.resources().db
    ids = users if users is not None else select_users(db, dataset, first, None)
    return start_reason_run(app, db, dataset, ids, ReasoningOptions.from_dict(options or {}), run_id)


def refresh_knowledge_base(task: Task, datasets: list[str] | None = None) -> dict[str, Any]:
    app = _app(task)
    db = app.resources().db
    refresh_id = runs.new_run_id("refresh")
    summaries = []
    for dataset in datasets or refresh.stored_datasets(db):
        plan = refresh.plan_refresh(db, app.settings, dataset)
        if plan.due_chains:
            group(
                app.signature(TaskName.VERIFY_CHAIN.value, kwargs={"chain_id": chain, "refresh_id": refresh_id})
                for chain in plan.due_chains
            ).apply_async()
        summary = plan.as_json()
        if plan.grown_users:
            summary["run_id"] = start_reason_run(app, db, dataset, plan.grown_users, ReasoningOptions())
        summaries.append(summary)
    return {"refresh_id": refresh_id, "datasets": summaries}


def verify_chain(task: Task, chain_id: str, refresh_id: str, failures: int = 0, timeouts: int = 0) -> dict[str, Any]:
    app = _app(task)
    settings, resources = app.settings, app.resources()
    try:
        llm = resources.structured_llm(settings, settings.reasoning.temperature)
        return reverify_chain(resources.db, settings, llm, chain_id, refresh_id).as_json()
    except Exception as exc:
        resources.recover_from(exc)
        countdown = outcomes.next_attempt(settings.workers, exc, failures, timeouts)
        if countdown is not None:
            _retry(task, exc, countdown, failures=failures + 1, timeouts=timeouts + outcomes.timed_out(exc))
        letter = outcomes.dead_letter_record(
            task_id=str(task.request.id),
            task=TaskName.VERIFY_CHAIN,
            run_id=refresh_id,
            dataset=None,
            user=None,
            exc=exc,
            attempts=failures + 1,
            arguments={"chain_id": chain_id, "refresh_id": refresh_id},
        )
        outcomes.store_dead_letter(resources.db, letter)
        return {"chain": chain_id, "outcome": "failed", "error": outcomes.error_text(exc)}


def train(
    task: Task,
    dataset: str,
    model: str,
    variant: str = "llmrg",
    seed: int = 0,
    epochs: int | None = None,
    reasoned_only: bool = False,
    evaluate_reasoned_only: bool = False,
) -> dict[str, Any]:
    """Export and train (queue `training`). Acknowledged on receipt, unlike reasoning: a training run
    outlives any sensible visibility timeout, so a lost one is not redelivered; sent again, it resumes
    from its last checkpoint."""
    from gnn import pipeline

    app = _app(task)
    return pipeline.run_training(
        pipeline.Neo4jSource(app.resources().db),
        app.settings,
        dataset,
        model,
        vocabulary.variant(variant),
        seed,
        epochs,
        reasoned_only=reasoned_only,
        evaluate_reasoned_only=evaluate_reasoned_only,
        progress=False,
    )


@dataclass(frozen=True)
class TaskSpec:
    name: TaskName
    function: Callable[..., Any]
    options: Callable[[Settings], dict[str, Any]] = lambda _: {}
    """Celery task options, some from the settings (time limits)."""


TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(TaskName.REASON_USER, reason_user, lambda _: {"max_retries": None}),
    TaskSpec(TaskName.FINISH_RUN, finish_run, lambda _: {"max_retries": FINISH_RUN_MAX_WAITS}),
    TaskSpec(TaskName.REASON_USERS, reason_users),
    TaskSpec(TaskName.REFRESH_KNOWLEDGE_BASE, refresh_knowledge_base),
    TaskSpec(TaskName.VERIFY_CHAIN, verify_chain, lambda _: {"max_retries": None}),
    TaskSpec(
        TaskName.TRAIN,
        train,
        lambda settings: {
            "acks_late": False,
            "soft_time_limit": settings.workers.train_time_limit_s - 60,
            "time_limit": settings.workers.train_time_limit_s,
        },
    ),
)


def register(app: LLMRGCelery) -> None:
    """Every task on `app`, under its vocabulary name; `shared=False` keeps them off Celery's default app."""
    for spec in TASKS:
        app.task(name=spec.name.value, bind=True, shared=False, **spec.options(app.settings))(spec.function)
