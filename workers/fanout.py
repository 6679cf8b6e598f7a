"""Starting a reasoning run: the run record first, then a chord of one task per user and a finishing task.

The finishing task recomputes the run's totals from the task records in Neo4j (the header's results are
not trusted for counting: a redelivered task may report twice).
"""

from __future__ import annotations

import neo4j
from celery import chord

from llmrg.settings import Settings
from reasoning.options import ReasoningOptions
from workers import runs
from workers.app import LLMRGCelery
from workers.reason_task import reason_task_id


def start_reason_run(
    app: LLMRGCelery,
    driver: neo4j.Driver,
    settings: Settings,
    dataset: str,
    users: list[int],
    options: ReasoningOptions,
    run_id: str | None = None,
) -> str:
    run_id = run_id or runs.new_run_id("reason")
    runs.create_run(driver, settings, run_id, "reason", dataset, users, options)
    if not users:
        runs.finish_run(driver, settings, run_id)
        return run_id
    header = [
        app.signature(
            "llmrg.reason_user",
            kwargs={"run_id": run_id, "dataset": dataset, "user": user, "options": options.as_dict()},
        ).set(task_id=reason_task_id(run_id, user))
        for user in users
    ]
    chord(header)(app.signature("llmrg.finish_run", kwargs={"run_id": run_id}))
    return run_id
