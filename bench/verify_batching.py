"""Verification batching benchmark: the same chains verified one question per call against batched questions.

The chaining prompt does not depend on how verification is asked, and with the last 4 positions each user
has one window, so both variants verify the same proposed chains (the result records whether they did). Each
variant starts from a fresh LLM server (no prompt cached by the other) and an empty knowledge base. Baseline:
one question per call, the default and the paper's procedure. Reported per variant: LLM calls, seconds and
the server's computed prompt tokens per user, and chains verified of those proposed. It empties the bench
database's ML-1M chains, like `bench.reason`: an unfinished reasoning run then refuses to carry on.

Run: `python -m bench.verify_batching [--users 10] [--batched 24]` (`make bench-verify`).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.machine import describe, one_line
from bench.paths import RESULTS
from bench.reason import DATASET
from bench.server_metrics import read_counters, since
from core.settings import for_dataset


def run_variant(db: Any, settings: Any, users: list[int]) -> dict[str, Any]:
    """Reason for `users` from an empty knowledge base on a freshly started server of this variant's own."""
    from bench.own_llm import own_llm_server
    from reasoning import store
    from reasoning.run import reason_users

    store.delete_chains(db, DATASET)
    with own_llm_server(settings) as settings:
        before = read_counters(settings.llm.base_url)
        started = time.perf_counter()
        stats = reason_users(db, settings, DATASET, users, show_progress=False).as_json()
        seconds = time.perf_counter() - started
        counters = since(before, read_counters(settings.llm.base_url))
    n = len(users)
    return {
        "questions_per_call": settings.verify.questions_per_call,
        "llm_calls_per_user": stats["llm_calls"] / n,
        "seconds_per_user": seconds / n,
        "server_prompt_tokens_computed_per_user": counters.get("prompt_tokens_computed", 0.0) / n,
        "chains_proposed": stats["chains_proposed"],
        "chains_verified": stats["chains_verified"],
        "verified_rate": stats["chains_verified"] / stats["chains_proposed"] if stats["chains_proposed"] else None,
        "proposed_chains": sorted(proposed_chains(db, users)),
        "stats": stats,
    }


def proposed_chains(db: Any, users: list[int]) -> list[list[int]]:
    """`[user, *items]` for every chain linked to `users`, accepted or not."""

    rows = db.run("stats/chain_items", dataset=DATASET, users=users)
    return [[row["user"], *row["items"]] for row in rows]


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--batched", type=int, default=24, help="questions per call of the batched variant")
    args = parser.parse_args()

    from bench.graph_server import bench_neo4j, ensure_dataset
    from reasoning.options import ReasoningOptions

    users = list(range(1, args.users + 1))
    machine = describe()
    with bench_neo4j(writes=True) as (settings, db):
        base = ReasoningOptions(divergent=False, max_targets=4).apply(settings)
        ensure_dataset(db, base, DATASET)
        variants = {
            name: run_variant(db, base.updated(verify={"questions_per_call": size}), users)
            for name, size in (("one_per_call", 1), ("batched", args.batched))
        }
    payload = {
        "benchmark": "verify_batching",
        "dataset": DATASET,
        "model": base.llm.model,
        "users": len(users),
        "max_targets": base.reasoning.max_targets,
        "history_length": for_dataset(base.reasoning.history_length, DATASET),
        "tau": for_dataset(base.verify.tau, DATASET),
        "baseline": "one_per_call",
        "same_chains": variants["one_per_call"]["proposed_chains"] == variants["batched"]["proposed_chains"],
        "machine": machine,
        "variants": variants,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "verify_batching.json").write_text(json.dumps(payload, indent=2) + "\n")
    print_table(payload)
    return payload


def print_table(payload: dict[str, Any]) -> None:
    table = Table(title=f"Verification batching on ML-1M users 1-{payload['users']} — {one_line(payload['machine'])}")
    table.add_column("measure")
    for name in payload["variants"]:
        table.add_column(name, justify="right")
    for key in ("questions_per_call", "llm_calls_per_user", "seconds_per_user", "chains_proposed", "chains_verified"):
        table.add_row(key, *(f"{variant[key]:,.1f}" for variant in payload["variants"].values()))
    Console(width=120).print(table)
    print(f"same chains proposed in both variants: {payload['same_chains']}")


if __name__ == "__main__":
    main()
