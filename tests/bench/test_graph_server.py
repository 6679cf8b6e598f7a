"""The benches' shared Neo4j: stopped only when its last live holder leaves."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.graph_server import BenchBusy, held_alone, shared_server

pytestmark = pytest.mark.unit


@dataclass
class CountingServer:
    """Stands in for `LocalNeo4j`: what is tested is when the benches start and stop it, not Neo4j."""

    pid_path: Path
    calls: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> bool:
        self.calls.append("stop")
        return True


def test_a_server_two_benches_hold_stops_when_the_last_one_leaves(tmp_path: Path) -> None:
    """The training run's snapshot export finished first and stopped the database under the reasoning run."""
    server = CountingServer(tmp_path / "run" / "neo4j.pid")
    with shared_server(server):
        with shared_server(server):
            pass
        assert server.calls == ["start", "start"], "the first bench to leave keeps the other's server"
    assert server.calls == ["start", "start", "stop"]


def test_a_lease_left_by_a_killed_bench_does_not_keep_the_server_up(tmp_path: Path) -> None:
    server = CountingServer(tmp_path / "run" / "neo4j.pid")
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / "run" / "leases").mkdir(parents=True)
    (tmp_path / "run" / "leases" / f"{gone.pid}-deadbeef").touch()
    with shared_server(server):
        pass
    assert server.calls == ["start", "stop"]
    assert list((tmp_path / "run" / "leases").iterdir()) == [tmp_path / "run" / "leases" / ".lock"]


def test_a_second_bench_that_writes_reasoning_is_refused_while_the_first_one_lives(tmp_path: Path) -> None:
    """`bench.verify_batching` deletes every ML-1M chain: started beside the 1,000-user reasoning run, it would
    have emptied that run's knowledge base under it. Readers (the quality harness, snapshot exports) still join."""
    server = CountingServer(tmp_path / "run" / "neo4j.pid")
    with shared_server(server, writes=True):
        with pytest.raises(BenchBusy, match="writing reasoning"), shared_server(server, writes=True):
            pytest.fail("a second writer got in")
        with shared_server(server):
            pass
        assert server.calls == ["start", "start"], "the refused writer neither started nor stopped the server"
    with shared_server(server, writes=True):
        pass
    assert server.calls == ["start", "start", "stop", "start", "stop"]


def test_a_bench_that_needs_the_services_alone_waits_for_no_one_and_lets_no_one_in(tmp_path: Path) -> None:
    """`bench.scale` restarts Neo4j and Redis on purpose and deletes the chains: beside any other bench it would
    break that bench's run."""
    server = CountingServer(tmp_path / "run" / "neo4j.pid")
    with shared_server(server), pytest.raises(BenchBusy, match=r"holds the benches' services"), held_alone(server):
        pytest.fail("got the services alone beside a reader")
    with held_alone(server):
        for writes in (False, True):
            with pytest.raises(BenchBusy, match="runs alone on"), shared_server(server, writes=writes):
                pytest.fail("joined a bench that needs the services alone")
    assert server.calls == ["start", "stop"], "held_alone starts and stops nothing; refused benches neither"
    with shared_server(server):
        pass
    assert server.calls == ["start", "stop", "start", "stop"]


def test_the_ingest_bench_beside_a_live_bench_is_refused_and_deletes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bench.ingest` used to delete the whole bench state folder before it started: the reasoning run's knowledge
    base in that Neo4j, the training runs' checkpoints and the other benches' LLM server homes."""
    import bench.ingest

    environment = {
        **bench.ingest.BENCH_ENVIRONMENT,
        "LLMRG_STATE_DIR": str(tmp_path),
        "NEO4J_URI": "bolt://127.0.0.1:1",
        "LLMRG_NEO4J_HTTP_PORT": "2",
    }
    for name, value in environment.items():  # restored after the test: `_settings` writes os.environ itself
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    monkeypatch.setattr(bench.ingest, "BENCH_ENVIRONMENT", environment)
    kept = [tmp_path / "neo4j" / "data" / "databases" / "store", tmp_path / "train" / "duorec" / "checkpoint.pt"]
    for path in kept:
        path.parent.mkdir(parents=True)
        path.touch()
    reasoning_run = CountingServer(tmp_path / "neo4j" / "run" / "llmrg-neo4j.pid")
    with shared_server(reasoning_run), pytest.raises(BenchBusy, match="holds the benches' services"):
        bench.ingest.main()
    assert all(path.exists() for path in kept)
