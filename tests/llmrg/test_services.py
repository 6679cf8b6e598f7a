"""The real local services: Browser, generated password, doctor, persistence across a restart."""

from __future__ import annotations

import json
import os
import stat
import urllib.request

import neo4j
import pytest
from neo4j.exceptions import AuthError

from core import gateway
from core.gateway import Neo4jGateway
from core.settings import Settings
from llmrg.services.celery_processes import LocalCeleryProcess
from llmrg.services.neo4j_server import LocalNeo4j
from tests.conftest import run_cli

pytestmark = pytest.mark.integration


def test_browser_is_served(services: Settings) -> None:
    with urllib.request.urlopen(services.neo4j.browser_url, timeout=10) as response:
        body = response.read().decode("utf-8")
    assert response.status == 200
    assert "<title>Neo4j Browser</title>" in body


def test_http_discovery_reports_community_5_26(services: Settings) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{services.neo4j.http_port}/", timeout=10) as response:
        discovery = json.loads(response.read())
    assert discovery["neo4j_edition"] == "community"
    assert discovery["neo4j_version"].startswith("5.26.")
    assert discovery["bolt_direct"] == services.neo4j.uri


def test_password_is_generated_private_and_not_a_default(services: Settings) -> None:
    path = services.neo4j_password_file
    password = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(password) >= 24
    assert password not in {"neo4j", "password", "neo4jneo4j", "test"}
    with (
        neo4j.GraphDatabase.driver(services.neo4j.uri, auth=("neo4j", "neo4j")) as default_login,
        pytest.raises(AuthError),
    ):
        default_login.verify_connectivity()


def test_status_json(services: Settings) -> None:
    result = run_cli("status", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["neo4j"]["running"] and payload["redis"]["running"]
    assert payload["neo4j"]["bolt"] == "bolt://127.0.0.1:17687"
    assert payload["neo4j"]["version"] == "5.26.30"


def test_doctor_passes_with_everything_up(services: Settings) -> None:
    result = run_cli("doctor", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {check["name"]: check["ok"] for check in json.loads(result.stdout)["checks"]}
    assert checks == {
        "neo4j": True,
        "neo4j version": True,
        "schema": True,
        "neo4j browser": True,
        "redis": True,
        "llm": True,
        "worker settings": True,
    }


def test_doctor_fails_on_a_missing_constraint(services: Settings, db: Neo4jGateway) -> None:
    db.driver.execute_query("DROP CONSTRAINT attribute_key")
    try:
        result = run_cli("doctor")
        assert result.returncode == 1
        assert "missing ['attribute_key']" in result.stderr
    finally:
        gateway.apply_schema(db)
    assert run_cli("doctor").returncode == 0


def test_up_is_idempotent_and_starts_one_worker_and_beat(services: Settings) -> None:
    pid = LocalNeo4j(services).pid()
    celery = [LocalCeleryProcess(services, role) for role in ("worker", "beat")]
    try:
        result = run_cli("up")
        assert result.returncode == 0, result.stderr
        assert LocalNeo4j(services).pid() == pid
        first = [process.pid() for process in celery]
        assert all(first), result.stderr
        assert run_cli("up").returncode == 0
        assert [process.pid() for process in celery] == first
        status = json.loads(run_cli("status", "--json").stdout)
        assert (status["worker"]["running"], status["beat"]["running"]) == (True, True)
    finally:
        stopped = [process.stop() for process in celery]
    assert stopped == [True, True]
    assert [process.pid() for process in celery] == [None, None]


def test_doctor_fails_with_neo4j_down_and_data_survives_a_restart(
    services: Settings, db: Neo4jGateway, tmp_path
) -> None:
    sequences = tmp_path / "s.txt"
    sequences.write_text("1 5 6 7\n2 6 7\n")
    assert run_cli("ingest", "--name", "restart-check", "--sequences", str(sequences)).returncode == 0
    server = LocalNeo4j(services)
    assert server.stop() is True
    try:
        result = run_cli("doctor")
        assert result.returncode == 1
        assert "FAIL neo4j" in result.stderr
        assert "not reachable at bolt://127.0.0.1:17687" in result.stderr
        stats = run_cli("stats", "--json")
        assert stats.returncode == 1
        assert "llmrg up" in stats.stderr
    finally:
        server.start()
    result = run_cli("stats", "--json")
    assert json.loads(result.stdout)["datasets"]["restart-check"]["interactions"] == 5
    assert os.path.isdir(server.home / "data" / "databases")
