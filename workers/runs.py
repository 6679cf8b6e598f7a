"""Run records in Neo4j: one (:Run) per fan-out, one (:RunTask) per user, (:DeadLetter) for poison tasks.

The records, not Celery's result backend, are the source of truth for a run's progress and totals: they
are keyed (MERGE), written by the tasks themselves, survive a Redis restart, and are what `llmrg runs`,
`llmrg run --wait` and the exploration queries read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from core.errors import LLMRGError
from core.gateway import Neo4jGateway
from reasoning.options import ReasoningOptions

TASK_COUNTERS = (
    "llm_calls",
    "llm_retries",
    "prompt_tokens",
    "completion_tokens",
    "kb_hits",
    "kb_edge_hits",
    "kb_edge_hits_warm_start",
    "kb_misses",
    "steps",
    "steps_failed",
    "chains_verified",
    "chains_unverified",
    "chains_rejected",
    "chains_reused",
    "divergent_chains",
    "wall_s",
)
"""What a finished user task stores (the keys of `ReasonStats.as_json()` that runs add up)."""
TOTALS = (
    "users_total",
    "users_done",
    "users_failed",
    "users_running",
    "users_retrying",
    "retries",
    "deliveries",
    "dead_letters",
    *(name for name in TASK_COUNTERS if name != "wall_s"),
)
"""A run's totals over its task records (`fetch_run.cypher` returns each by this name)."""


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"


class UnknownRunError(LLMRGError):
    """No run with that id."""


def new_run_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def create_run(
    db: Neo4jGateway,
    run_id: str,
    kind: str,
    dataset: str,
    users: list[int],
    options: ReasoningOptions,
) -> None:
    run = {
        "id": run_id,
        "kind": kind,
        "dataset": dataset,
        "users_total": len(users),
        "options": json.dumps(options.as_dict(), sort_keys=True),
    }
    db.run("workers/merge_run", run=run, users=users)


def task_stats(summary: Mapping[str, Any]) -> dict[str, float | int]:
    """The counters of a user's `ReasonStats.as_json()` that a task record keeps."""
    return {name: summary[name] for name in TASK_COUNTERS}


def read_run(db: Neo4jGateway, run_id: str) -> dict[str, Any]:
    """The run's stored fields with live totals over its tasks, as the `--json` record."""
    records = db.run("workers/fetch_run", run_id=run_id)
    if not records:
        raise UnknownRunError(f"no run {run_id!r}; `llmrg runs` lists the recorded ones")
    record = records[0]
    stored = dict(record["run"])
    run: dict[str, Any] = {
        "run_id": stored["id"],
        "kind": stored["kind"],
        "dataset": stored["dataset"],
        "status": stored["status"],
        "options": json.loads(stored.get("options") or "{}"),
        "created_at": _iso(stored.get("created_at")),
        "finished_at": _iso(stored.get("finished_at")),
    }
    run |= {name: int(record[name]) for name in TOTALS}
    return run


def outcome(run: Mapping[str, Any]) -> RunStatus:
    """success: every user done; failed: none done; partial: some failed; running while any is open."""
    if run["users_done"] + run["users_failed"] < run["users_total"]:
        return RunStatus.RUNNING
    if run["users_failed"] == 0:
        return RunStatus.SUCCESS
    return RunStatus.FAILED if run["users_done"] == 0 else RunStatus.PARTIAL


def finish_run(db: Neo4jGateway, run_id: str) -> dict[str, Any]:
    """Store the totals and the final status once every task has ended (a no-op while any is open)."""
    run = read_run(db, run_id)
    status = outcome(run)
    if status is not RunStatus.RUNNING:
        totals = {name: run[name] for name in TOTALS}
        db.run("workers/set_run_outcome", run_id=run_id, totals=totals, status=status.value)
        run = read_run(db, run_id)
    return run


def list_runs(db: Neo4jGateway, limit: int) -> list[dict[str, Any]]:
    ids = [str(record["id"]) for record in db.run("workers/list_runs", limit=limit)]
    return [read_run(db, run_id) for run_id in ids]


def _iso(value: Any) -> str | None:
    return value.iso_format() if hasattr(value, "iso_format") else (str(value) if value is not None else None)
