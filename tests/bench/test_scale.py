"""`bench.scale` on a cut of ML-1M (its first 60 users, with their titles and attributes): a run through a
SIGKILLed worker, a Neo4j restart and a Redis restart stores exactly what the same run stores without them."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from bench import scale
from core.gateway import Neo4jGateway
from core.settings import Settings
from ingestion import loader, registry
from reasoning.run import select_users
from tests.fakes.openai_server import ScriptedOpenAI
from tests.fakes.oracle import oracle

pytestmark = pytest.mark.slow

CUT = "ml-1m-scale-cut"


def _ingest_cut(db: Neo4jGateway, settings: Settings, users: int) -> list[int]:
    """ML-1M's first `users` users as their own dataset: the run needs only their histories, and writing the
    whole million interactions would cost the suite more than the run itself."""
    bundle = registry.read_builtin(settings, scale.DATASET)
    histories = sorted(bundle.histories, key=lambda history: history.user)[:users]
    kept = {history.user for history in histories}
    cut = replace(
        bundle, name=CUT, histories=tuple(histories), users=tuple(user for user in bundle.users if user.id in kept)
    )
    loader.write_dataset(db, settings, cut, show_progress=False)
    return select_users(db, CUT, users, None)


def test_a_run_through_a_killed_worker_and_restarted_neo4j_and_redis_stores_what_a_clean_run_does(
    services: Settings, db: Neo4jGateway, tmp_path: Path
) -> None:
    users = _ingest_cut(db, services, 60)
    # a little latency per call, so the run is still going when each fault is due
    with ScriptedOpenAI(lambda request: replace(oracle(request), delay_s=0.05)).running() as model:
        env = dict(os.environ) | scale.RUN_SETTINGS | {"LLMRG_LLM_BASE_URL": model.base_url}
        env["LLMRG_REASON_MAX_TARGETS"] = "2"
        settings = services.updated(llm={"base_url": model.base_url}, reasoning={"max_targets": 2})
        console = Console(quiet=True)  # the bench's progress lines are not needed here
        (tmp_path / "clean").mkdir()
        (tmp_path / "faulted").mkdir()
        clean = scale.run_users(db, settings, env, users, 2, tmp_path / "clean", console=console, dataset=CUT)
        faulted = scale.run_users(
            db, settings, env, users, 2, tmp_path / "faulted", faults=scale.FAULTS, console=console, dataset=CUT
        )
    result = scale.compare(clean, faulted, len(users))
    lines = _log_lines(tmp_path / "faulted", [row["user"] for row in result["users_differing"]])
    explained = {key: result[key] for key in ("checks", "differing", "users_differing")} | {"faults": faulted["faults"]}
    # a string, so pytest prints all of it (it shortens any other message object to one line)
    assert result["checks"] == dict.fromkeys(result["checks"], True), json.dumps(
        explained | {"log_lines": lines}, indent=1, default=str
    )
    assert faulted["stored"]["chains"] > 0 and faulted["stored"]["positions"] == 2 * len(users)
    assert faulted["run"]["dead_letters"] == 0


def _log_lines(log_dir: Path, users: list[int]) -> list[str]:
    """The faulted run's worker log lines about `users`' tasks, for a failure message that shows what happened."""
    marks = tuple(f":user:{user}]" for user in users)
    return [
        f"{log.name}: {line[:400]}"
        for log in sorted(log_dir.glob("*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if any(mark in line for mark in marks)
    ]
