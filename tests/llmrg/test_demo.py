"""`llmrg demo --tiny`, the way CI runs the main job: the real services, ML-1M, reasoning for three users on a
real Celery worker with the local LLM, a short LLMRG training run, recommendations with reasons, and the
Browser link. The worker and beat that the demo starts are stopped afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest

from core.gateway import Neo4jGateway
from core.settings import Settings
from llmrg.services.celery_processes import LocalCeleryProcess
from tests.conftest import run_cli

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
    assert set(steps) == {"ingest", "reason", "train", "recommend", "browser"}

    assert {key: steps["ingest"][key] for key in ("users", "items", "interactions")} == {
        "users": 6040,
        "items": 3416,
        "interactions": 999611,
    }

    reason = steps["reason"]
    assert reason["users"] == [1, 2, 3]
    assert (reason["status"], reason["users_done"], reason["users_failed"]) == ("success", 3, 0)
    (run,) = db.driver.execute_query("MATCH (r:Run {id: $id}) RETURN r.options AS options", id=reason["run_id"]).records
    assert json.loads(run["options"])["max_targets"] == 1 and json.loads(run["options"])["history_length"] == 10

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

    link = parse_qs(urlparse(steps["browser"]["query_url"]).query)
    assert link["cmd"] == ["edit"]
    assert link["arg"][0].startswith(f':param dataset => "ml-1m";\n:param user => {recommended["user"]};\nMATCH path')

    summary = services.paths.state_dir / "demo" / "tiny" / "summary.json"
    assert json.loads(summary.read_text(encoding="utf-8")) == report
