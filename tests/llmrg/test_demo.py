"""`llmrg demo --tiny`, the way CI runs the main job: the real services, ML-1M, reasoning for three users on a
real Celery worker with the local LLM, a short LLMRG training run, recommendations with reasons, and the
Browser link. The worker and beat that the demo starts are stopped afterwards."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from core.gateway import Neo4jGateway
from core.settings import Settings
from core.vocabulary import variant
from gnn.pipeline import train_config
from llmrg.demo import DemoPlan, training_settings
from llmrg.services.celery_processes import LocalCeleryProcess
from tests.conftest import LLMRG, run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def demo_processes(services: Settings) -> Iterator[None]:
    """The demo starts one worker and beat (like `llmrg up`); other tests run their own workers."""
    try:
        yield
    finally:
        for role in ("beat", "worker"):
            LocalCeleryProcess(services, role).stop()


@pytest.mark.usefixtures("demo_processes")
def test_the_tiny_demo_runs_the_whole_main_job(services: Settings, db: Neo4jGateway) -> None:
    result = run_cli("demo", "--tiny", "--json", timeout=1500)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout)
    steps = report["steps"]
    assert set(steps) == {"ingest", "knowledge_base", "reason", "train", "recommend", "browser"}
    assert report["kb_imported"] == steps["knowledge_base"]["imported"]

    assert {key: steps["ingest"][key] for key in ("users", "items", "interactions")} == {
        "users": 6040,
        "items": 3416,
        "interactions": 999611,
    }

    reason = steps["reason"]
    assert reason["users"] == [1, 2, 3]
    assert (reason["status"], reason["users_done"], reason["users_failed"]) == ("success", 3, 0)
    (run,) = db.driver.execute_query("MATCH (r:Run {id: $id}) RETURN r.options AS options", id=reason["run_id"]).records
    options = json.loads(run["options"])
    assert (options["max_targets"], options["history_length"], options["holdout"]) == (1, 10, 1)

    for split in ("valid", "test"):
        assert set(steps["train"][split]) == {"hr@5", "hr@10", "ndcg@5", "ndcg@10"}
        assert all(0.0 <= value <= 1.0 for value in steps["train"][split].values())
    model_folder = services.paths.state_dir / "demo" / "tiny" / "train" / "ml-1m" / "sasrec" / "llmrg" / "seed0"
    assert (model_folder / "best.pt").is_file()
    assert not (services.paths.state_dir / "train" / "ml-1m" / "sasrec" / "llmrg").exists()  # real runs untouched

    recommended = steps["recommend"]
    assert recommended["user"] in reason["users"] and len(recommended["items"]) == 5
    seen = {
        record["id"]
        for record in db.driver.execute_query(
            "MATCH (:User {dataset: 'ml-1m', id: $u})-[:INTERACTED]->(i) RETURN i.id AS id", u=recommended["user"]
        ).records
    }
    assert not {entry["item"] for entry in recommended["items"]} & seen
    assert recommended["explained"] == sum(entry["explanation"] is not None for entry in recommended["items"])
    assert report["explained_items"] == recommended["explained"]
    if recommended["accepted_chains"]:  # the chain table keeps every link's reason (rich took `[...]` as markup)
        assert "-[" in result.stderr
    assert len(recommended["sentences"]) == min(2, recommended["explained"])
    assert set(steps["train"]["rows_seeing_edges"]) == {"train", "valid", "test"}

    recommend_command, query_command = report["commands"]  # they work as printed
    path = {**os.environ, "PATH": f"{Path(LLMRG).parent}:{os.environ['PATH']}"}
    printed = subprocess.run(recommend_command + " --json", shell=True, env=path, capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr
    assert [entry["item"] for entry in json.loads(printed.stdout)["items"]] == [
        entry["item"] for entry in recommended["items"]
    ]
    queried = subprocess.run(query_command + " --json", shell=True, env=path, capture_output=True, text=True)
    assert queried.returncode == 0, queried.stderr

    link = parse_qs(urlparse(steps["browser"]["query_url"]).query)
    assert link["cmd"] == ["edit"]
    assert link["arg"][0].startswith(f':param dataset => "ml-1m";\n:param user => {recommended["user"]};\nMATCH path')

    summary = services.paths.state_dir / "demo" / "tiny" / "summary.json"
    assert json.loads(summary.read_text(encoding="utf-8")) == report


@pytest.mark.unit
def test_the_demo_trains_its_capped_targets_in_small_batches_of_windows(settings: Settings) -> None:
    """A capped run at the reference batch of 128 windows made a handful of optimiser steps an epoch; the demo's
    plan reaches the training config intact, so its batches are the plan's, not the full-data default."""
    plan = DemoPlan()
    config = train_config(training_settings(settings, plan), plan.dataset, plan.model, variant("llmrg"), plan.seed, 1)
    assert (config.train_scheme, config.max_train_rows, config.windows_per_batch) == (
        "windows",
        plan.train_rows,
        plan.windows_per_batch,
    )
    fewest_windows = plan.train_rows / config.max_len  # a window holds fewer than max_len targets
    assert fewest_windows / config.windows_per_batch >= 150
    assert settings.train.windows_per_batch is None  # without the demo's plan: the model's default
