"""Test configuration: a dedicated local Neo4j and Redis, on their own ports and state folder.

Tests live beside the package they test (`tests/<package>/`) and each module is marked `unit` (pure, no
services), `integration` (the real Neo4j, Redis, LLM server and worker processes), `fault` or `slow`; a test
with none of these marks fails collection, so `pytest -m unit` really is every pure test.

The suite never touches the instance `make demo` uses: it sets its own `LLMRG_*`/`NEO4J_*`/`REDIS_URL`
variables before any settings are built, starts the services if they are not running, and stops at the
end whatever it started.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from core.gateway import Neo4jGateway

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "datasets"
LLMRG = str(Path(sys.executable).with_name("llmrg"))

TEST_ENVIRONMENT = {
    "LLMRG_STATE_DIR": str(ROOT / ".llmrg" / "test"),
    "NEO4J_URI": "bolt://127.0.0.1:17687",
    "NEO4J_USERNAME": "neo4j",
    "NEO4J_DATABASE": "neo4j",
    "LLMRG_NEO4J_HTTP_PORT": "17474",
    "LLMRG_NEO4J_HEAP": "1g",
    "LLMRG_NEO4J_PAGECACHE": "512m",
    "REDIS_URL": "redis://127.0.0.1:16379/0",
    "LLMRG_LLM_BASE_URL": "http://127.0.0.1:18088/v1",
    "LLMRG_LLM_MODEL": "qwen2.5-coder-0.5b-instruct",
    "LLMRG_LLM_WEIGHTS": "qwen2.5-coder-0.5b",
    # The fast profile the suite was written for (the 0.5B with v3's numbered verification); the defaults (the
    # 1.5B, prompt v4, lettered questions) have their own tests that name them.
    "LLMRG_REASON_PROMPT_VERSION": "v3",
    "LLMRG_REASON_PREMISE_WINDOW": "10",
    "LLMRG_VERIFY_STYLE": "numbered",
    "LLMRG_DATA_DIR": str(SHARED_DATA),
    # Verification batched (the default asks one question per call): the scripted-model tests count the calls
    # of the batching that never puts a question beside one that shows its answer. The real-LLM test unsets it.
    "LLMRG_VERIFY_QUESTIONS_PER_CALL": "24",
}
for variable in (
    "NEO4J_PASSWORD",
    "LLMRG_NEO4J_PASSWORD",
    "LLMRG_INGEST_BATCH_SIZE",
    "LLMRG_CACHE_DIR",
    "OPENAI_API_KEY",
):
    os.environ.pop(variable, None)
os.environ.update(TEST_ENVIRONMENT)

from core import gateway  # noqa: E402 - after the environment is fixed
from core.settings import Settings  # noqa: E402
from llmrg.services.llm_server import LocalLLM  # noqa: E402
from llmrg.services.neo4j_server import LocalNeo4j  # noqa: E402
from llmrg.services.redis_server import LocalRedis  # noqa: E402
from tests.query_fixture import DATASET as QUERY_DATASET  # noqa: E402
from tests.query_fixture import FIXTURE as QUERY_FIXTURE  # noqa: E402


def make_settings(**areas: Mapping[str, Any]) -> Settings:
    """Settings from the test environment alone (no `.env`), with some fields of some areas changed."""
    return Settings.load(env_file=None).updated(**areas)


@pytest.fixture(scope="session")
def settings() -> Settings:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the tests read the shared dataset copies, expected at {SHARED_DATA}")
    return make_settings()


@pytest.fixture(scope="session")
def services(settings: Settings) -> Iterator[Settings]:
    """Real Neo4j, Redis and LLM server for the session; stopped afterwards only if this session started them."""
    neo4j_server, redis_server, llm_server = LocalNeo4j(settings), LocalRedis(settings), LocalLLM(settings)
    started = [service for service in (llm_server, redis_server, neo4j_server) if service.pid() is None]
    llm_server.start()
    redis_server.start()
    neo4j_server.start()
    with gateway.open_gateway(settings) as db:
        gateway.apply_schema(db)
    yield settings
    for service in started:
        service.stop()


@pytest.fixture(scope="session")
def db(services: Settings) -> Iterator[Neo4jGateway]:
    with gateway.open_gateway(services) as opened:
        yield opened


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """The real `llmrg` executable, run from a folder without a `.env` file."""
    return subprocess.run(
        [LLMRG, *args],
        cwd=cwd or ROOT / "tests",
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_cli_here(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`run_cli` inside this process (typer's runner, from the same folder without a `.env`): the same command
    line and the same exit status, stdout and stderr, without starting Python and importing torch again
    (about 9 s a command). `env` sets variables on top of this process's for the call. For tests that run
    many commands; a module keeps real executable runs where a fresh process is the point."""
    from typer.testing import CliRunner

    from llmrg.cli import app

    with contextlib.chdir(ROOT / "tests"):
        result = CliRunner().invoke(app, list(args), env=dict(env) if env is not None else None)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess([LLMRG, *args], result.exit_code, result.stdout, result.stderr)


MARKS = frozenset({"unit", "integration", "fault", "slow"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items if not MARKS & {mark.name for mark in item.iter_markers()}]
    if unmarked:
        raise pytest.UsageError(f"tests without a unit/integration/fault/slow mark: {unmarked[:10]}")


@pytest.fixture(scope="module")
def fixture_graph(services: Settings, db: Neo4jGateway) -> str:
    """The query fixture graph, rebuilt for each module that uses it (the dataset name keeps it apart)."""
    db.driver.execute_query("MATCH (n) WHERE n.dataset = $d DETACH DELETE n", d=QUERY_DATASET)
    db.driver.execute_query(QUERY_FIXTURE, d=QUERY_DATASET)
    return QUERY_DATASET
