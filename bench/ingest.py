"""Ingestion benchmark: full ML-1M into an empty Neo4j, against two baselines measured in the same run.

- floor: parsing and validating the files only (no database), the rate no loader can beat;
- naive: one MERGE statement and transaction per interaction, on the first 20,000 interactions;
- batched: the project's loader (`UNWIND $rows`, one transaction per batch), all 999,611 interactions.

Each stage runs in a fresh process so its peak RSS is its own; the Neo4j server's RSS is sampled too.
The database is the benches' own instance (its own ports and state folder), emptied first: only its data folder
is deleted, never the rest of the state folder (training checkpoints, snapshots, other benches' LLM servers), and the
bench holds the services alone (`bench.graph_server.held_alone`), refused while another bench uses that database
(the reasoning run's knowledge base lives there).

Run: `python -m bench.ingest` (or `make bench`). Targets: batched < 60 s, >= 10x the naive rate.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from bench.graph_server import BENCH_ENVIRONMENT
from bench.machine import describe, one_line
from bench.paths import RESULTS

NAIVE_ROWS = 20_000
TARGET_SECONDS = 60.0
TARGET_SPEEDUP = 10.0


def _settings() -> Any:
    import os

    os.environ.pop("NEO4J_PASSWORD", None)
    os.environ.update(BENCH_ENVIRONMENT)
    from core.settings import Settings

    return Settings.load(env_file=None)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage_floor() -> dict[str, float]:
    from ingestion import registry

    started = time.perf_counter()
    bundle = registry.read_builtin(_settings(), "ml-1m")
    seconds = time.perf_counter() - started
    return {"interactions": bundle.interaction_count, "seconds": seconds, "peak_rss_mib": _peak_rss_mib()}


def stage_naive() -> dict[str, float]:
    from core import gateway
    from ingestion import registry

    settings = _settings()
    bundle = registry.read_builtin(settings, "ml-1m")
    rows = [(h.user, item, pos) for h in bundle.histories for pos, item in enumerate(h.items)][:NAIVE_ROWS]
    with gateway.open_gateway(settings) as db:
        gateway.apply_schema(db)
        started = time.perf_counter()
        for user, item, pos in rows:
            db.run("ingestion/naive_merge_interaction", dataset="bench-naive", user=user, item=item, pos=pos)
        seconds = time.perf_counter() - started
    return {"interactions": len(rows), "seconds": seconds, "peak_rss_mib": _peak_rss_mib()}


def stage_batched() -> dict[str, float]:
    from core import gateway
    from ingestion import loader, registry

    settings = _settings()
    started = time.perf_counter()
    bundle = registry.read_builtin(settings, "ml-1m")
    with gateway.open_gateway(settings) as db:
        report = loader.write_dataset(db, settings, bundle, show_progress=True)
        stored = db.run("stats/count_datasets")
    seconds = time.perf_counter() - started
    counted = next(r["interactions"] for r in stored if r["dataset"] == "ml-1m")
    return {"interactions": report.interactions, "stored": counted, "seconds": seconds, "peak_rss_mib": _peak_rss_mib()}


class RssSampler:
    """Peak RSS of one process, sampled every 100 ms on a background thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(0.1)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_stage(stage: Callable[[], dict[str, float]], server_pid: int | None) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        if server_pid is None:
            return pool.apply(stage)
        with RssSampler(server_pid) as sampler:
            result = pool.apply(stage)
        return {**result, "neo4j_peak_rss_mib": sampler.peak / 2**20}


def main() -> dict[str, Any]:
    console = Console(width=130)
    settings = _settings()
    from bench.graph_server import held_alone
    from llmrg.services.neo4j_server import LocalNeo4j

    server = LocalNeo4j(settings)
    with held_alone(server):
        server.stop()
        shutil.rmtree(server.home / "data", ignore_errors=True)
        console.print(f"starting an empty Neo4j {server.version} in {server.home}")
        server.start()
        try:
            stages = {
                "floor (parse only)": run_stage(stage_floor, None),
                "batched (UNWIND)": run_stage(stage_batched, server.pid()),
                "naive (1 MERGE/tx)": run_stage(stage_naive, server.pid()),
            }
        finally:
            server.stop()
    for result in stages.values():
        result["interactions_per_s"] = result["interactions"] / result["seconds"]
    batched, naive = stages["batched (UNWIND)"], stages["naive (1 MERGE/tx)"]
    speedup = batched["interactions_per_s"] / naive["interactions_per_s"]
    machine = describe()
    payload = {
        "benchmark": "ingest",
        "dataset": "ml-1m (5-core)",
        "neo4j": {"version": server.version, "heap": settings.neo4j.heap, "pagecache": settings.neo4j.pagecache},
        "batch_size": settings.ingest.batch_size,
        "machine": machine,
        "stages": stages,
        "baseline": "naive (1 MERGE/tx)",
        "speedup_vs_baseline": speedup,
        "targets": {
            "batched_seconds_below": TARGET_SECONDS,
            "speedup_at_least": TARGET_SPEEDUP,
            "met": batched["seconds"] < TARGET_SECONDS and speedup >= TARGET_SPEEDUP and batched["stored"] == 999_611,
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(payload, indent=2) + "\n")
    plot(payload, RESULTS / "ingest.png")

    table = Table(title=f"Ingestion, ML-1M 5-core, Neo4j {server.version} — {one_line(machine)}")
    for column in ("stage", "interactions", "seconds", "interactions/s", "python peak MiB", "neo4j peak MiB"):
        table.add_column(column, justify="right" if column != "stage" else "left")
    for name, result in stages.items():
        table.add_row(
            name,
            f"{result['interactions']:,}",
            f"{result['seconds']:.1f}",
            f"{result['interactions_per_s']:,.0f}",
            f"{result['peak_rss_mib']:,.0f}",
            f"{result.get('neo4j_peak_rss_mib', 0):,.0f}" if "neo4j_peak_rss_mib" in result else "-",
        )
    console.print(table)
    console.print(
        f"batched vs naive: {speedup:.1f}x (target >= {TARGET_SPEEDUP:.0f}x); full load "
        f"{batched['seconds']:.1f} s (target < {TARGET_SECONDS:.0f} s); targets met: "
        f"{payload['targets']['met']}"
    )
    return payload


def plot(payload: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(payload["stages"])
    rates = [payload["stages"][name]["interactions_per_s"] for name in names]
    figure, axis = plt.subplots(figsize=(7, 3.2))
    bars = axis.barh(names, rates, color=["#9e9e9e", "#d95f02", "#1b9e77"])
    axis.set_xscale("log")
    axis.set_xlabel("interactions per second (log scale)")
    axis.invert_yaxis()
    for bar, rate in zip(bars, rates, strict=True):
        axis.text(rate, bar.get_y() + bar.get_height() / 2, f" {rate:,.0f}/s", va="center", fontsize=9)
    axis.set_xlim(right=max(rates) * 8)
    axis.set_title(
        f"ML-1M ingestion, Neo4j {payload['neo4j']['version']} ({payload['machine']['cores']} cores)", fontsize=10
    )
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


if __name__ == "__main__":
    main()
