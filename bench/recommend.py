"""Recommendation latency: `llmrg recommend` per user once the model is loaded, against its own floor.

Baseline (same run, same users): the model's forward pass and top-k alone, with the user's items already
in memory; measured: the whole `Recommender.recommend` (three Neo4j reads, graphs, scoring, explanations).
Target (issue 6): < 300 ms per user. Uses a run trained earlier (`--model`, `--variant`, `--seed`). A graph
variant's floor includes the fusion model's forward pass over the user's graphs, built beforehand.
Run: `python -m bench.recommend --dataset beauty --model sasrec --users 100` (the bench services), or with
`--environment current --train-dir DIR` against the services and runs of your shell's settings (e.g. a
finished `make demo`). Writes bench/results/recommend.json (base) or recommend-<variant>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from bench.graph_server import BENCH_ENVIRONMENT, shared_server
from bench.machine import describe, one_line
from bench.paths import RESULTS
from core import vocabulary

TARGET_MS = 300.0


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="beauty")
    parser.add_argument("--model", default="sasrec")
    parser.add_argument("--variant", default="base")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--environment", choices=("bench", "current"), default="bench")
    parser.add_argument("--train-dir", help="Where the trained run lives (default: the settings').")
    args = parser.parse_args()

    if args.environment == "bench":
        os.environ.pop("NEO4J_PASSWORD", None)
        os.environ.update(BENCH_ENVIRONMENT)
    if args.train_dir:
        os.environ["LLMRG_TRAIN_DIR"] = args.train_dir
    from core import gateway
    from core.settings import Settings
    from gnn.batch import SequenceBatch
    from gnn.recommend import Recommender
    from llmrg.services.neo4j_server import LocalNeo4j

    settings = Settings.load(env_file=None)
    server = LocalNeo4j(settings)
    full_ms: list[float] = []
    floor_ms: list[float] = []
    with shared_server(server), gateway.open_gateway(settings) as db:
        started = time.perf_counter()
        recommender = Recommender.load(
            db, settings, args.dataset, args.model, vocabulary.variant(args.variant), args.seed
        )
        load_s = time.perf_counter() - started
        users = [int(r["id"]) for r in db.run("reasoning/list_users", dataset=args.dataset, limit=args.users)]
        recommender.recommend(db, users[0], args.k)  # warm the query plans
        for user in users:
            started = time.perf_counter()
            recommender.recommend(db, user, args.k)
            full_ms.append(1000 * (time.perf_counter() - started))
            items = db.run("recommend/fetch_user_items", dataset=args.dataset, user=user)
            history_ids = [int(item) for item in items[0]["items"]]
            history = [recommender.index_of[item] for item in history_ids]
            graphs = recommender.graphs_for(db, user, history, history_ids)
            started = time.perf_counter()
            batch = SequenceBatch.from_lists([history], [history[-1]], recommender.config.max_len, graphs)
            with torch.no_grad():
                torch.topk(recommender.model.score_all(batch)[0], args.k)
            floor_ms.append(1000 * (time.perf_counter() - started))

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {"p50_ms": statistics.median(ordered), "p95_ms": ordered[int(0.95 * (len(ordered) - 1))]}

    payload = {
        "benchmark": "recommend",
        "machine": describe(),
        "dataset": args.dataset,
        "model": args.model,
        "variant": args.variant,
        "users": len(users),
        "k": args.k,
        "load_s": load_s,
        "baseline": "forward pass and top-k alone (items in memory)",
        "floor": summary(floor_ms),
        "recommend": summary(full_ms),
        "targets": {"p95_ms_below": TARGET_MS, "met": summary(full_ms)["p95_ms"] < TARGET_MS},
    }
    RESULTS.mkdir(exist_ok=True)
    name = "recommend" if args.variant == "base" else f"recommend-{args.variant}"
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    table = Table(title=f"recommend, {args.dataset} {args.model} {args.variant} — {one_line(payload['machine'])}")
    for column in ("stage", "p50 ms", "p95 ms"):
        table.add_column(column)
    table.add_row("forward + top-k (floor)", f"{payload['floor']['p50_ms']:.1f}", f"{payload['floor']['p95_ms']:.1f}")
    table.add_row("llmrg recommend", f"{payload['recommend']['p50_ms']:.1f}", f"{payload['recommend']['p95_ms']:.1f}")
    Console(width=120).print(table)
    return payload


if __name__ == "__main__":
    main()
