"""The benchmarks' own Neo4j (ports and state from `BENCH_ENVIRONMENT`), shared by every bench that reads it."""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from bench.paths import ROOT

SNAPSHOTS = ROOT / ".llmrg" / "bench" / "snapshots"
KNOWLEDGE_BASES = ROOT / "data" / "kb"
"""One training snapshot per dataset (`gnn.snapshot`), exported once from the bench's Neo4j and reused by every
training benchmark, so they all read the same data and need the database only the first time."""

BENCH_ENVIRONMENT = {
    "LLMRG_STATE_DIR": str(ROOT / ".llmrg" / "bench"),
    "NEO4J_URI": "bolt://127.0.0.1:27687",
    "LLMRG_NEO4J_HTTP_PORT": "27474",
    "REDIS_URL": "redis://127.0.0.1:26379/0",
    "LLMRG_LLM_BASE_URL": "http://127.0.0.1:28088/v1",
}


class Server(Protocol):
    """A local service the benches share (`LocalNeo4j`)."""

    pid_path: Path

    def start(self) -> object: ...

    def stop(self) -> bool: ...


WRITER = "-writes"
"""The suffix of a lease whose holder writes reasoning to the shared database."""
ALONE = "-alone"
"""The suffix of a lease whose holder needs the services to itself (`held_alone`)."""


class BenchBusy(RuntimeError):
    """Another live bench holds the shared server in a way this one cannot share."""


@contextmanager
def shared_server(server: Server, *, writes: bool = False) -> Iterator[None]:
    """Start the server, or join it running, for as long as this block holds it; on exit stop it only when no
    other live bench process still holds it. Two benches run side by side (a training run exporting its
    snapshot beside the reasoning run), and the first to finish used to stop the database under the other.
    Each holder leaves a lease file named by its pid; a lock keeps two starts or a start and a stop apart.

    `writes`: this bench writes or deletes reasoning (chains, links, answered steps) in the shared database. Two
    such benches would spoil each other's knowledge base and counts (one run's "delete every chain" is another's
    lost state), so a second writer is refused (`BenchBusy`) while the first is alive; readers join unless a bench
    holds the services alone (`held_alone`)."""
    lease = _new_lease(server, WRITER if writes else "")
    leases = lease.parent
    with _locked(leases):
        live = _live_leases(leases)
        _refuse_beside(server, [held for held in live if held.name.endswith(ALONE)], "runs alone on")
        if writes:
            _refuse_beside(server, [held for held in live if held.name.endswith(WRITER)], "is writing reasoning to")
        server.start()
        lease.touch()
    try:
        yield
    finally:
        with _locked(leases):
            lease.unlink(missing_ok=True)
            if not _live_leases(leases):
                server.stop()


@contextmanager
def held_alone(server: Server) -> Iterator[None]:
    """For a bench that restarts, stops or empties the bench services itself (`bench.scale`'s faults): refused while
    any other live bench holds `server`, and every other bench is refused while this block runs. Starts and stops
    nothing; the bench manages the services as it needs."""
    lease = _new_lease(server, ALONE)
    leases = lease.parent
    with _locked(leases):
        _refuse_beside(server, _live_leases(leases), "holds")
        lease.touch()
    try:
        yield
    finally:
        lease.unlink(missing_ok=True)


def _new_lease(server: Server, suffix: str) -> Path:
    """This holder's lease file (not yet created): named by its pid, unique within it, `suffix` giving its kind."""
    leases = server.pid_path.parent / "leases"
    leases.mkdir(parents=True, exist_ok=True)
    return leases / f"{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}"


def _refuse_beside(server: Server, holders: list[Path], doing: str) -> None:
    if holders:
        processes = ", ".join(sorted(held.name.split("-", 1)[0] for held in holders))
        raise BenchBusy(
            f"another bench (process {processes}) {doing} the benches' services ({server.pid_path.parent}); wait "
            "for it to finish, or stop it, before starting this one"
        )


@contextmanager
def _locked(leases: Path) -> Iterator[None]:
    with (leases / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _live_leases(leases: Path) -> list[Path]:
    """The leases of processes still alive (a killed bench's lease does not keep the server up)."""
    from llmrg.services import process

    live = []
    for lease in leases.iterdir():
        pid = lease.name.split("-", 1)[0]
        if pid.isdigit() and process.is_alive(int(pid)):
            live.append(lease)
        elif pid.isdigit():
            lease.unlink(missing_ok=True)
    return live


@contextmanager
def bench_neo4j(*, writes: bool = False) -> Iterator[tuple[Any, Any]]:
    """(settings, db) of the started bench server with the schema applied; the server stops on exit unless
    another bench still holds it (`shared_server`, with its rule for benches that write reasoning), so the
    measurement that follows has the machine to itself."""
    os.environ.pop("NEO4J_PASSWORD", None)
    os.environ.update(BENCH_ENVIRONMENT)
    from core import gateway
    from core.settings import Settings
    from llmrg.services.neo4j_server import LocalNeo4j

    settings = Settings.load(env_file=None)
    with shared_server(LocalNeo4j(settings), writes=writes), gateway.open_gateway(settings) as db:
        gateway.apply_schema(db)
        yield settings, db


def ensure_dataset(db: Any, settings: Any, dataset: str) -> None:
    """Ingest the built-in `dataset` unless this same content is stored complete (`loader.ensure_stored`)."""
    from ingestion import loader, registry

    loader.ensure_stored(db, settings, registry.read_builtin(settings, dataset), show_progress=False)


def ensure_snapshot(dataset: str) -> Path:
    """The dataset's snapshot in `SNAPSHOTS`, exported from the bench's Neo4j (the dataset ingested first) when
    missing."""
    path = snapshot_path(dataset)
    if not path.is_file():
        from gnn.snapshot import write_snapshot

        with bench_neo4j() as (settings, db):
            ensure_dataset(db, settings, dataset)
            write_snapshot(db, dataset, path, progress=True)
    return path


def snapshot_path(dataset: str) -> Path:
    """Where `ensure_snapshot` keeps the dataset's snapshot."""
    return SNAPSHOTS / f"{dataset}.json.gz"


def ensure_kb_snapshot(dataset: str) -> Path:
    """The dataset's snapshot with the released knowledge base's causal edges (`data/kb/<dataset>.jsonl.gz`) as
    its knowledge base, for the variant that builds every user's graph from them: exactly the released edges,
    whatever else the bench's Neo4j holds. Named by the file's sha256, so a new release makes a new snapshot."""
    from gnn.snapshot import load_snapshot, with_causal_edges
    from reasoning import kb_format

    path = kb_snapshot_path(dataset)
    if not path.is_file():
        released = kb_format.read(KNOWLEDGE_BASES / f"{dataset}.jsonl.gz")
        edges = [(edge.source, edge.target) for _, edge in released.edges]
        with_causal_edges(load_snapshot(ensure_snapshot(dataset)), edges, path)
    return path


def kb_snapshot_path(dataset: str) -> Path:
    """Where `ensure_kb_snapshot` keeps the dataset's snapshot with the released knowledge base."""
    import hashlib

    released = KNOWLEDGE_BASES / f"{dataset}.jsonl.gz"
    if not released.is_file():
        raise SystemExit(f"no released knowledge base at {released} (`python -m bench.kb_build --dataset {dataset}`)")
    return SNAPSHOTS / f"{dataset}+kb-{hashlib.sha256(released.read_bytes()).hexdigest()[:12]}.json.gz"
