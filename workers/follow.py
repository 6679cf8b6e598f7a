"""Following a run from the command line: a live progress bar over the run's task records in Neo4j.

The records are read (not Celery's result backend), so following survives a Redis restart. If every task
has ended but the finishing task has not stored the outcome within a grace period (it was lost with its
worker, say), the follower stores it itself: the outcome is a pure function of the records.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from core.errors import LLMRGError
from core.gateway import Neo4jGateway
from core.progress import progress_display
from workers import runs

FINISH_GRACE_S = 30.0


class RunTimeout(LLMRGError):
    """The run did not finish within the time the caller would wait."""


def follow_run(
    db: Neo4jGateway,
    run_id: str,
    *,
    show_progress: bool = True,
    timeout_s: float | None = None,
    poll_s: float = 1.0,
    console: Console | None = None,
) -> dict[str, Any]:
    """Wait until the run has its final status; returns the run record."""
    started = time.monotonic()
    all_ended_at: float | None = None
    with progress_display(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "users  {task.fields[failed]} failed, {task.fields[retried]} retried, {task.fields[calls]} LLM calls"
        ),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show_progress,
    ) as progress:
        run = runs.read_run(db, run_id)
        task = progress.add_task(f"reason run {run_id}", total=run["users_total"], failed=0, retried=0, calls=0)
        while True:
            run = runs.read_run(db, run_id)
            progress.update(
                task,
                completed=run["users_done"] + run["users_failed"],
                failed=run["users_failed"],
                retried=run["retries"],
                calls=run["llm_calls"],
            )
            if run["status"] != runs.RunStatus.RUNNING:
                return run
            if runs.outcome(run) is not runs.RunStatus.RUNNING:
                all_ended_at = all_ended_at or time.monotonic()
                if time.monotonic() - all_ended_at > FINISH_GRACE_S:
                    return runs.finish_run(db, run_id)
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                raise RunTimeout(f"run {run_id} still running after {timeout_s:g} s; follow it later with `llmrg runs`")
            time.sleep(poll_s)
