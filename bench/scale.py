"""Every ML-1M user through faults: a reasoning run over a whole dataset on worker processes, during which one
worker is SIGKILLed, Neo4j is restarted and Redis is restarted, each once, against the same run without faults.

The model is the scripted loopback oracle answering at once, so what is measured is the distribution, not
the LLM: the run must end `success` with every user done exactly once, and the chains, their verdicts and
summed checks, links, steps, edges and answered positions must equal the fault-free run's exactly
(`ORDER_FREE_TOTALS`: what does not depend on the order users finish in), with no duplicate key. The
knowledge base and divergent extension are off, so what the LLM is asked for a user does not depend on which
users finished first and the two runs propose the same chains. The faults strike when a quarter, a half and
three quarters of the users are done. The table reports users per minute with and without faults and how many
tasks were retried or redelivered.

Run: `python -m bench.scale [--users 6040] [--workers 2]` (`make bench-scale`); it uses the benchmarks' own
Neo4j and Redis (`bench.graph_server.BENCH_ENVIRONMENT`) and writes `bench/results/scale.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.graph_server import BENCH_ENVIRONMENT
from bench.machine import describe, one_line
from bench.paths import RESULTS

DATASET = "ml-1m"
FAULTS = ("worker", "neo4j", "redis")
"""The order the faults strike in, at 1/4, 2/4 and 3/4 of the users done."""
RUN_SETTINGS = {
    "LLMRG_KB": "false",
    "LLMRG_DIVERGENT": "false",
    "LLMRG_TASK_SOFT_TIME_LIMIT_S": "30",
    "LLMRG_TASK_TIME_LIMIT_S": "40",
    "LLMRG_WORKER_NEO4J_QUERY_TIMEOUT_S": "8",
    "LLMRG_NEO4J_RETRY_TIME_S": "5",
    "LLMRG_BROKER_VISIBILITY_TIMEOUT_S": "60",
    "LLMRG_BROKER_RESTORE_INTERVAL_S": "5",
    "LLMRG_TASK_MAX_RETRIES": "8",
    "LLMRG_TASK_RETRY_BACKOFF_S": "2",
    "LLMRG_TASK_RETRY_BACKOFF_MAX_S": "20",
    "LLMRG_USER_LOCK_TTL_S": "45",
    "LLMRG_USER_LOCK_WAIT_S": "2",
}
"""The run's choices, and reliability limits short enough that a lost task comes back within a minute."""


def run_users(
    db: Any,
    settings: Any,
    env: dict[str, str],
    users: list[int],
    workers: int,
    log_dir: Path,
    *,
    faults: tuple[str, ...] = (),
    console: Console,
    dataset: str = DATASET,
) -> dict[str, Any]:
    """One reasoning run over `users` of `dataset` on `workers` fresh worker processes, striking `faults` on the
    way; returns the run record, the stored totals, the faults' times and users per minute."""
    import redis

    from reasoning import store
    from reasoning.options import ReasoningOptions
    from tests.worker_processes import start_worker
    from workers import runs
    from workers.app import create_app
    from workers.fanout import start_reason_run

    store.delete_chains(db, dataset)
    db.run("workers/delete_runs", dataset=dataset)
    redis.Redis.from_url(settings.redis.url).flushdb()
    processes = [start_worker(f"w{index}", env, log_dir) for index in range(1, workers + 1)]
    struck: list[dict[str, Any]] = []
    try:
        options = ReasoningOptions(max_targets=settings.reasoning.max_targets, divergent=False, kb=False)
        run_id = start_reason_run(create_app(settings), db, dataset, users, options)
        started = time.monotonic()
        pending = list(faults)
        strike = _strikes(settings, processes, env, log_dir)
        last_print = 0.0
        while True:
            run = _read_run_through_outages(db, run_id, runs.read_run)
            ended = run["users_done"] + run["users_failed"]
            if pending and ended >= len(users) * (len(struck) + 1) / (len(faults) + 1):
                fault = pending.pop(0)
                at = time.monotonic() - started
                outage_s = strike[fault]()
                struck.append({"fault": fault, "at_s": round(at, 1), "users_ended": ended, "outage_s": outage_s})
                console.print(f"  {fault} struck at {at:.0f} s with {ended} users ended ({outage_s:.1f} s)")
            if time.monotonic() - last_print > 30:
                last_print = time.monotonic()
                console.print(
                    f"  {ended}/{len(users)} users, {run['retries']} retries, {time.monotonic() - started:.0f} s"
                )
            if run["status"] != runs.RunStatus.RUNNING or runs.outcome(run) is not runs.RunStatus.RUNNING:
                run = runs.finish_run(db, run_id)
                break
            time.sleep(1.0)
        wall_s = time.monotonic() - started
    finally:
        for process in processes:
            process.stop()
    stored = dict(db.run("stats/reasoning_totals", dataset=dataset)[0])
    by_user = {row["user"]: dict(row) for row in db.run("stats/reasoning_by_user", dataset=dataset, run_id=run_id)}
    return {
        "run": run,
        "stored": stored,
        "by_user": by_user,
        "faults": struck,
        "wall_s": round(wall_s, 1),
        "users_per_min": round(60 * run["users_done"] / wall_s, 1),
        "redelivered": max(0, run["deliveries"] - run["users_total"] - run["retries"]),
    }


def _strikes(settings: Any, processes: list[Any], env: dict[str, str], log_dir: Path) -> dict[str, Callable[[], float]]:
    """Each fault as a function that strikes it, restores the service, and returns the seconds it was out."""
    from llmrg.services.neo4j_server import LocalNeo4j
    from llmrg.services.redis_server import LocalRedis
    from tests.worker_processes import start_worker

    def worker() -> float:
        began = time.monotonic()
        processes[0].kill()  # SIGKILL its whole process group, mid-task
        processes[0] = start_worker("w1-replacement", env, log_dir)  # as a supervisor would; its own log
        return time.monotonic() - began

    def restart(service: Any) -> Callable[[], float]:
        def strike() -> float:
            began = time.monotonic()
            service.stop()
            time.sleep(2)
            service.start()
            return time.monotonic() - began

        return strike

    return {"worker": worker, "neo4j": restart(LocalNeo4j(settings)), "redis": restart(LocalRedis(settings))}


def _read_run_through_outages(db: Any, run_id: str, read: Callable[[Any, str], dict[str, Any]]) -> dict[str, Any]:
    """The run record, waiting out a Neo4j restart (the bench's own reads must survive what the workers do)."""
    from neo4j.exceptions import ServiceUnavailable, SessionExpired, TransientError

    deadline = time.monotonic() + 300
    while True:
        try:
            return read(db, run_id)
        except (ServiceUnavailable, SessionExpired, TransientError):
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


ORDER_FREE_TOTALS = (
    "chains",
    "verified",
    "refused",
    "masks",
    "hits",
    "steps",
    "accepted_links",
    "proposed_links",
    "edges",
    "positions",
)
"""The stored totals that do not depend on the order users finish in, which faults change. A chain is one node
for every user whose LLM proposes it, and each such user's check adds to its evidence (`reasoning.store`): the
chain's final verdict, its summed checks, its users' links (they follow the verdict) and its edges are the same
in any order, but whether a chain that ends below τ passed through `verified` on the way (then it is
`retired`, else `rejected`) is not, so refused chains are compared as rejected plus retired."""


def order_free(stored: dict[str, Any]) -> dict[str, Any]:
    """`ORDER_FREE_TOTALS` of one run's `stats/reasoning_totals` row."""
    derived = stored | {"refused": stored["rejected"] + stored["retired"]}
    return {key: derived[key] for key in ORDER_FREE_TOTALS}


def compare(clean: dict[str, Any], faulted: dict[str, Any], users: int) -> dict[str, Any]:
    """What the faulted run must equal: the fault-free run's order-free stored totals (every check counted
    once), every user done once, no duplicates."""
    before, after = order_free(clean["stored"]), order_free(faulted["stored"])
    differing = {key: (before[key], after[key]) for key in ORDER_FREE_TOTALS if before[key] != after[key]}
    checks = {
        "both_success": clean["run"]["status"] == faulted["run"]["status"] == "success",
        "every_user_done_once": faulted["run"]["users_done"] == users == faulted["stored"]["users_reasoned"],
        "stored_equal": not differing,
        "no_duplicates": faulted["stored"]["duplicate_chains"] == faulted["stored"]["duplicate_links"] == 0,
        "every_fault_struck": [fault["fault"] for fault in faulted["faults"]] == list(FAULTS),
    }
    return {
        "checks": checks,
        "differing": differing,
        "users_differing": users_differing(clean["by_user"], faulted["by_user"]),
        "passed": all(checks.values()),
    }


def users_differing(clean: dict[int, dict[str, Any]], faulted: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The users whose stored links or answered positions differ between the runs, with each run's row (the
    faulted one carries its task record: attempts, deliveries, error), so a failed comparison names who lost
    what and on which delivery."""

    def stored(row: dict[str, Any] | None) -> tuple[int, ...] | None:
        return None if row is None else (row["accepted"], row["proposed"], row["positions"])

    return [
        {"user": user, "clean": clean.get(user), "faulted": faulted.get(user)}
        for user in sorted(clean.keys() | faulted.keys())
        if stored(clean.get(user)) != stored(faulted.get(user))
    ]


def measure(users: int, workers: int, max_targets: int, log_dir: Path, console: Console) -> dict[str, Any]:
    """Both runs against the benchmarks' services (started here, stopped at the end)."""
    os.environ.pop("NEO4J_PASSWORD", None)
    os.environ.update(BENCH_ENVIRONMENT | RUN_SETTINGS | {"LLMRG_REASON_MAX_TARGETS": str(max_targets)})
    from bench.graph_server import ensure_dataset, held_alone
    from core import gateway
    from core.settings import Settings
    from llmrg.services.neo4j_server import LocalNeo4j
    from llmrg.services.redis_server import LocalRedis
    from reasoning.run import select_users
    from tests.fakes.openai_server import ScriptedOpenAI
    from tests.fakes.oracle import oracle

    services = [LocalNeo4j(Settings.load(env_file=None)), LocalRedis(Settings.load(env_file=None))]
    with held_alone(services[0]):  # its faults restart the services, and it deletes the chains
        try:
            for service in services:
                service.start()
            with ScriptedOpenAI(oracle).running() as model:
                os.environ["LLMRG_LLM_BASE_URL"] = model.base_url
                settings = Settings.load(env_file=None)
                env = dict(os.environ)
                with gateway.open_gateway(settings) as db:
                    gateway.apply_schema(db)
                    ensure_dataset(db, settings, DATASET)
                    chosen = select_users(db, DATASET, users, None)
                    console.print(f"fault-free run over {len(chosen)} users on {workers} workers")
                    clean = run_users(db, settings, env, chosen, workers, log_dir, console=console)
                    console.print(f"the same users with faults: {', '.join(FAULTS)}")
                    faulted = run_users(db, settings, env, chosen, workers, log_dir, faults=FAULTS, console=console)
        finally:
            for service in reversed(services):
                service.stop()
    compared = compare(clean, faulted, len(chosen))
    per_run = {
        name: {key: value for key, value in run.items() if key != "by_user"}
        for name, run in (("clean", clean), ("faulted", faulted))
    }  # one row per user is for diagnosing, not for the record
    return {"users": len(chosen), "workers": workers, **per_run} | compared


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=6040, help="the first N users by id (6,040: all of ML-1M)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--max-targets", type=int, default=4, help="last N positions of each user's window")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    args = parser.parse_args(argv)
    console = Console(width=130)
    log_dir = Path(BENCH_ENVIRONMENT["LLMRG_STATE_DIR"]) / "scale-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    result = measure(args.users, args.workers, args.max_targets, log_dir, console)
    machine = describe()
    payload = {
        "benchmark": "scale",
        "dataset": DATASET,
        "machine": machine,
        "baseline": "the same users on the same workers without faults",
        "settings": {"max_targets": args.max_targets, "kb": False, "divergent": False, **RUN_SETTINGS},
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    table = Table(title=f"{result['users']:,} {DATASET} users on {args.workers} workers — {one_line(machine)}")
    for column in ("run", "status", "users done", "users/min", "retries", "redelivered", "dead letters", "chains"):
        table.add_column(column, justify="right")
    for name in ("clean", "faulted"):
        row = result[name]
        table.add_row(
            "without faults" if name == "clean" else "with faults",
            row["run"]["status"],
            f"{row['run']['users_done']:,}",
            f"{row['users_per_min']:,.0f}",
            str(row["run"]["retries"]),
            str(row["redelivered"]),
            str(row["run"]["dead_letters"]),
            f"{row['stored']['chains']:,}",
        )
    console.print(table)
    for check, passed in result["checks"].items():
        console.print(f"{'ok  ' if passed else 'FAIL'} {check}")
    if result["differing"]:
        console.print(f"stored totals that differ (without, with faults): {result['differing']}")
    console.print(f"written {args.out}")
    return payload


if __name__ == "__main__":
    main()
