"""Workers benchmark: what the Celery queue costs, and where reasoning throughput is bounded.

1. Queue overhead (baseline: the same reasoning function called in-process, same users). A scripted model on
   loopback answers after a fixed latency (0 ms, and 250 ms like a fast hosted API), so the LLM is never the
   bottleneck and the difference per user is the queue's: publishing, delivery, the per-user lock, the task
   and run records, the result backend and the chord. Target: < 5% per task. Times are the run record's own
   (created -> finished), so the follower's polling does not count.
2. Throughput with 1 and 2 worker processes against the same local LLM server, with the server's
   utilisation (busy seconds from its Prometheus /metrics over the wall time, summed over its slots, so over
   100% when requests run side by side), after one warm-up user (the first requests of a fresh server read
   the weights from disk), each configuration on different users (the server caches prompts it has seen:
   the same users twice would make the second run look twice as fast).
   The report names the bottleneck from the server's utilisation.

Run: `python -m bench.workers [--overhead-users 30] [--llm-users 6]` (part of `make bench-workers`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.graph_server import BENCH_ENVIRONMENT
from bench.machine import describe, one_line
from bench.paths import RESULTS
from bench.reason import DATASET
from bench.server_metrics import busy_seconds, describe_bottleneck, read_counters

OVERHEAD_TARGET = 0.05


def server_busy_seconds(base_url: str) -> float:
    """Seconds the llama.cpp server has spent on prompts and generation since it started."""
    return busy_seconds(read_counters(base_url))


def run_seconds(record: dict[str, Any]) -> float:
    from datetime import datetime

    return (
        datetime.fromisoformat(record["finished_at"]) - datetime.fromisoformat(record["created_at"])
    ).total_seconds()


def in_process(db: Any, settings: Any, users: list[int]) -> float:
    from reasoning import store
    from reasoning.run import reason_users

    store.delete_chains(db, DATASET)
    started = time.perf_counter()
    reason_users(db, settings, DATASET, users, show_progress=False)
    return time.perf_counter() - started


def on_workers(db: Any, settings: Any, users: list[int], concurrency: int) -> tuple[float, dict[str, Any]]:
    """Wall seconds from publishing the run to its final record, with `concurrency` worker processes."""
    from llmrg.services.celery_processes import LocalCeleryProcess
    from llmrg.services.process import wait_until
    from reasoning import store
    from reasoning.options import ReasoningOptions
    from workers import follow
    from workers.app import create_app
    from workers.fanout import start_reason_run

    store.delete_chains(db, DATASET)
    os.environ["LLMRG_WORKER_CONCURRENCY"] = str(concurrency)
    os.environ["LLMRG_LLM_BASE_URL"] = settings.llm.base_url
    worker = LocalCeleryProcess(settings, "worker")
    worker.start()
    try:
        if not wait_until(lambda: "ready." in _read(worker.log_path), timeout_s=120):
            raise RuntimeError(f"worker did not start; see {worker.log_path}")
        app = create_app(settings)
        run_id = start_reason_run(app, db, DATASET, users, ReasoningOptions())
        record = follow.follow_run(db, run_id, show_progress=True, poll_s=0.2)
        return run_seconds(record), record
    finally:
        worker.stop()
        worker.log_path.unlink(missing_ok=True)


def _read(path: Any) -> str:
    try:
        return str(path.read_text(errors="replace"))
    except FileNotFoundError:
        return ""


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overhead-users", type=int, default=30)
    parser.add_argument("--llm-users", type=int, default=6)
    parser.add_argument("--max-targets", type=int, default=4, help="last N positions per user")
    args = parser.parse_args()

    os.environ.pop("NEO4J_PASSWORD", None)
    os.environ.update(BENCH_ENVIRONMENT)
    # Worker processes read their settings from this environment, so the run's choices are set here.
    os.environ.update(
        {"LLMRG_DIVERGENT": "false", "LLMRG_KB": "false", "LLMRG_REASON_MAX_TARGETS": str(args.max_targets)}
    )
    from bench.graph_server import ensure_dataset, held_alone
    from core import gateway
    from core.settings import Settings
    from llmrg.services.llm_server import LocalLLM
    from llmrg.services.neo4j_server import LocalNeo4j
    from llmrg.services.redis_server import LocalRedis
    from tests.fakes.openai_server import ScriptedOpenAI
    from tests.fakes.oracle import oracle

    base = Settings.load(env_file=None)
    console = Console(width=130)
    services = [LocalNeo4j(base), LocalRedis(base), LocalLLM(base)]
    results: dict[str, Any] = {}
    with held_alone(services[0]):  # it stops the services it started, the LLM at the bench port too
        try:
            for service in services:
                service.start()
            with gateway.open_gateway(base) as db:
                gateway.apply_schema(db)
                ensure_dataset(db, base, DATASET)
                results["overhead"] = {}
                users = list(range(1, args.overhead_users + 1))
                for latency_ms in (0, 250):
                    with ScriptedOpenAI(
                        lambda request, ms=latency_ms: replace(oracle(request), delay_s=ms / 1000)
                    ).running() as scripted:
                        fast = base.updated(llm={"base_url": scripted.base_url})
                        in_process(db, fast, users[:2])  # warm caches on both paths alike
                        local_s = in_process(db, fast, users)
                        queued_s, record = on_workers(db, fast, users, concurrency=1)
                    results["overhead"][str(latency_ms)] = {
                        "latency_ms": latency_ms,
                        "users": len(users),
                        "in_process_s_per_user": local_s / len(users),
                        "workers_s_per_user": queued_s / len(users),
                        "overhead_s_per_user": (queued_s - local_s) / len(users),
                        "overhead": queued_s / local_s - 1,
                        "run_status": record["status"],
                    }
                # Disjoint users per configuration: the server keeps prompts it has seen, and a repeat would be
                # measured against a warm prompt cache. One more user first warms the server itself.
                in_process(db, base, [1])
                results["throughput"] = {}
                for concurrency in (1, 2):
                    first = 2 + (concurrency - 1) * args.llm_users
                    llm_users = list(range(first, first + args.llm_users))
                    busy_before = server_busy_seconds(base.llm.base_url)
                    wall, record = on_workers(db, base, llm_users, concurrency)
                    busy = server_busy_seconds(base.llm.base_url) - busy_before
                    results["throughput"][str(concurrency)] = {
                        "workers": concurrency,
                        "users": len(llm_users),
                        "user_ids": llm_users,
                        "users_per_min": 60 * record["users_done"] / wall,
                        "llm_calls": record["llm_calls"],
                        "llm_server_utilisation": busy / wall,
                        "wall_s": wall,
                        "run_status": record["status"],
                    }
        finally:
            for service in reversed(services):
                service.stop()

    one, two = results["throughput"]["1"], results["throughput"]["2"]
    speedup = two["users_per_min"] / one["users_per_min"]
    bottleneck = describe_bottleneck(one["llm_server_utilisation"])
    machine = describe()
    payload = {
        "benchmark": "workers",
        "dataset": DATASET,
        "model": base.llm.model,
        "machine": machine,
        "baseline": "in-process reasoning (same function, same users, scripted fast model)",
        "settings": {"reason_max_targets": args.max_targets, "kb": False, "divergent": False},
        **results,
        "speedup_2_vs_1_workers": speedup,
        "bottleneck": bottleneck,
        "targets": {
            "overhead_below": OVERHEAD_TARGET,
            "met_at_latency_ms": {key: row["overhead"] < OVERHEAD_TARGET for key, row in results["overhead"].items()},
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "workers.json").write_text(json.dumps(payload, indent=2) + "\n")
    table = Table(title=f"Celery workers — {one_line(machine)}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for row in results["overhead"].values():
        latency = f"scripted model, {row['latency_ms']} ms/call"
        table.add_row(f"in-process s/user ({latency})", f"{row['in_process_s_per_user']:.3f}")
        table.add_row(f"workers s/user ({latency})", f"{row['workers_s_per_user']:.3f}")
        table.add_row(f"queue overhead per task ({latency})", f"{row['overhead']:+.1%}")
    for row in (one, two):
        table.add_row(f"{row['workers']} worker(s): users/min (local LLM)", f"{row['users_per_min']:.2f}")
        table.add_row(
            f"{row['workers']} worker(s): LLM server busy s per wall s", f"{row['llm_server_utilisation']:.0%}"
        )
    console.print(table)
    console.print(f"2 vs 1 workers: {speedup:.2f}x; bottleneck: {bottleneck}")
    return payload


if __name__ == "__main__":
    main()
