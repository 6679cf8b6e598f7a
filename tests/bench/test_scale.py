"""`bench.scale` on a smaller cut of ML-1M: a run through a SIGKILLed worker, a Neo4j restart and a Redis
restart stores exactly what the same run stores without them."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from bench import scale
from bench.graph_server import ensure_dataset
from core.gateway import Neo4jGateway
from core.settings import Settings
from reasoning.run import select_users
from tests.fakes.openai_server import ScriptedOpenAI
from tests.fakes.oracle import oracle

pytestmark = pytest.mark.slow


def test_a_run_through_a_killed_worker_and_restarted_neo4j_and_redis_stores_what_a_clean_run_does(
    services: Settings, db: Neo4jGateway, tmp_path: Path
) -> None:
    ensure_dataset(db, services, scale.DATASET, interactions=999_611)
    users = select_users(db, scale.DATASET, 60, None)
    # a little latency per call, so the run is still going when each fault is due
    with ScriptedOpenAI(lambda request: replace(oracle(request), delay_s=0.05)).running() as model:
        env = dict(os.environ) | scale.RUN_SETTINGS | {"LLMRG_LLM_BASE_URL": model.base_url}
        env["LLMRG_REASON_MAX_TARGETS"] = "2"
        settings = services.updated(llm={"base_url": model.base_url}, reasoning={"max_targets": 2})
        console = Console(quiet=True)  # the bench's progress lines are not needed here
        clean = scale.run_users(db, settings, env, users, 2, tmp_path, console=console)
        faulted = scale.run_users(db, settings, env, users, 2, tmp_path, faults=scale.FAULTS, console=console)
    result = scale.compare(clean, faulted, len(users))
    assert result["checks"] == dict.fromkeys(result["checks"], True), (
        result["differing"],
        result["checks"],
        faulted["faults"],
    )
    assert faulted["stored"]["chains"] > 0 and faulted["stored"]["positions"] == 2 * len(users)
    assert faulted["run"]["dead_letters"] == 0
