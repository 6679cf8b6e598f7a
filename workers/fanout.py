"""Starting a reasoning run: the run record first, then a chord of one task per user and a finishing task.

The finishing task recomputes the run's totals from the task records in Neo4j (the header's results are
not trusted for counting: a redelivered task may report twice).
"""

from __future__ import annotations

from celery import Celery, chord

from core.gateway import Neo4jGateway
from core.vocabulary import TaskName
from reasoning.options import ReasoningOptions
from workers import runs
from workers.reason_task import reason_task_id


def start_reason_run(
    app: Celery,
    db: Neo4jGateway,
    dataset: str,
    users: list[int],
    options: ReasoningOptions,
    run_id: str | None = None,
) -> str:
    run_id = run_id or runs.new_run_id("reason")
    runs.create_run(db, run_id, "reason", dataset, users, options)
    if not users:
        runs.finish_run(db, run_id)
        return run_id
    header = [
        app.signature(
            TaskName.REASON_USER.value,
            kwargs={"run_id": run_id, "dataset": dataset, "user": user, "options": options.as_dict()},
        ).set(task_id=reason_task_id(run_id, user))
        for user in users
    ]
    chord(header)(app.signature(TaskName.FINISH_RUN.value, kwargs={"run_id": run_id}))
    return run_id
