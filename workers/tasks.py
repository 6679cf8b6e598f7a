"""The Celery tasks, registered on an app by name. Each takes ids (never objects) and is idempotent.

- `llmrg.reason_user`: one user's reasoning (queue `reasoning`); retried with backoff on transient
  failures up to `task_max_retries`, then dead-lettered.
- `llmrg.finish_run`: chord callback storing a run's totals and status.
- `llmrg.reason_users`: start a run for a dataset's first N users or a list of users (remote trigger).
- `llmrg.refresh_knowledge_base`: the beat job (see `workers.refresh`).
- `llmrg.verify_chain`: re-verify one stored chain with the current model (queue `reasoning`).
- `llmrg.train`: export a dataset and train one model variant (queue `training`).
"""

from __future__ import annotations

from typing import Any

from celery import Task, group

from reasoning.options import ReasoningOptions
from reasoning.run import select_users
from workers import outcomes, refresh, runs
from workers.app import LLMRGCelery
from workers.fanout import start_reason_run
from workers.reason_task import LockBusy, ReasonJob, RetryLater, run_reason_job

FINISH_RUN_MAX_WAITS = 120


def register(app: LLMRGCelery) -> None:
    settings = app.settings

    @app.task(name="llmrg.reason_user", shared=False, bind=True, max_retries=None)  # type: ignore[untyped-decorator]
    def reason_user(
        self: Task,
        run_id: str,
        dataset: str,
        user: int,
        options: dict[str, bool | int | None],
        failures: int = 0,
        carried: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        job = ReasonJob(run_id, dataset, user, ReasoningOptions.from_dict(options), failures, carried or {})
        try:
            return run_reason_job(app.resources(), job, self.request.hostname or "worker")
        except LockBusy as busy:
            raise self.retry(exc=busy, countdown=settings.user_lock_wait_s) from None
        except RetryLater as later:
            kwargs = dict(self.request.kwargs) | {"failures": failures + 1, "carried": later.carried}
            raise self.retry(exc=later.cause, countdown=later.countdown_s, kwargs=kwargs) from None

    @app.task(name="llmrg.finish_run", shared=False, bind=True, max_retries=FINISH_RUN_MAX_WAITS)  # type: ignore[untyped-decorator]
    def finish_run(self: Task, results: list[Any] | None = None, *, run_id: str) -> dict[str, Any]:
        run = runs.finish_run(app.resources().driver, settings, run_id)
        if run["status"] == runs.RunStatus.RUNNING:
            raise self.retry(countdown=5)
        return run

    @app.task(name="llmrg.reason_users", shared=False)  # type: ignore[untyped-decorator]
    def reason_users(
        dataset: str,
        users: list[int] | None = None,
        first: int | None = None,
        options: dict[str, bool | int | None] | None = None,
        run_id: str | None = None,
    ) -> str:
        driver = app.resources().driver
        ids = users if users is not None else select_users(driver, settings, dataset, first, None)
        return start_reason_run(app, driver, settings, dataset, ids, ReasoningOptions.from_dict(options or {}), run_id)

    @app.task(name="llmrg.refresh_knowledge_base", shared=False)  # type: ignore[untyped-decorator]
    def refresh_knowledge_base(datasets: list[str] | None = None) -> dict[str, Any]:
        driver = app.resources().driver
        refresh_id = runs.new_run_id("refresh")
        summaries = []
        for dataset in datasets or refresh.stored_datasets(driver, settings):
            plan = refresh.plan_refresh(driver, settings, dataset)
            if plan.due_chains:
                group(verify_chain.s(chain_id=chain, refresh_id=refresh_id) for chain in plan.due_chains).apply_async()
            summary = plan.as_json()
            if plan.grown_users:
                options = ReasoningOptions()
                summary["run_id"] = start_reason_run(app, driver, settings, dataset, plan.grown_users, options)
            summaries.append(summary)
        return {"refresh_id": refresh_id, "datasets": summaries}

    @app.task(  # type: ignore[untyped-decorator]
        name="llmrg.train",
        shared=False,
        acks_late=False,
        soft_time_limit=settings.train_task_time_limit_s - 60,
        time_limit=settings.train_task_time_limit_s,
    )
    def train(
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

        return pipeline.run_training(
            app.resources().driver,
            settings,
            dataset,
            model,
            pipeline.variant(variant),
            seed,
            epochs,
            reasoned_only=reasoned_only,
            evaluate_reasoned_only=evaluate_reasoned_only,
            progress=False,
        )

    @app.task(name="llmrg.verify_chain", shared=False, bind=True, max_retries=None)  # type: ignore[untyped-decorator]
    def verify_chain(self: Task, chain_id: str, refresh_id: str, failures: int = 0) -> dict[str, Any]:
        resources = app.resources()
        llm = resources.structured_llm(settings, settings.reason_temperature)
        try:
            return refresh.reverify_chain(resources.driver, settings, llm, chain_id, refresh_id)
        except outcomes.TRANSIENT as exc:
            if failures < settings.task_max_retries:
                countdown = outcomes.retry_countdown(settings, failures)
                kwargs = dict(self.request.kwargs) | {"failures": failures + 1}
                raise self.retry(exc=exc, countdown=countdown, kwargs=kwargs) from None
            failure: BaseException = exc
        except Exception as exc:  # not retryable: dead-letter now
            failure = exc
        outcomes.dead_letter(
            resources.driver,
            settings,
            task_id=str(self.request.id),
            task="llmrg.verify_chain",
            run_id=refresh_id,
            dataset=None,
            user=None,
            exc=failure,
            attempts=failures + 1,
            arguments={"chain_id": chain_id, "refresh_id": refresh_id},
        )
        return {"chain": chain_id, "outcome": "failed", "error": outcomes.error_text(failure)}
