"""`python -m bench.popularity`: the most-popular baseline (POP) on each dataset's leave-one-out split.

Every user gets the same list, items by how often they are a training target (`gnn.evaluate.popularity_ranks`),
ranked in full like the models, under both ranking conventions (history items kept, the paper's; and left out).
A sequential model sits at this level before it learns anything about order, so the results page shows it
beside the base rows, and `bench.reproduce` flags a run whose best validation NDCG@10 never rose clearly above it
(`gnn.evaluate.STALLED_BELOW`): early stopping ended such a run before it trained. Reads the same snapshot the
runs train from; writes `bench/results/popularity.json`. `llmrg train` measures the same baseline on whatever it
trains (its `--json` key `popularity`) and warns when a run stalled.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.graph_server import ensure_snapshot
from bench.machine import describe, one_line
from bench.paths import RESULTS

console = Console()
RESULT = RESULTS / "popularity.json"


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ml-1m,beauty")
    args = parser.parse_args()
    from gnn.evaluate import popularity_metrics
    from gnn.snapshot import load_snapshot

    datasets: dict[str, Any] = {}
    for dataset in args.datasets.split(","):
        snapshot = load_snapshot(ensure_snapshot(dataset))
        data = snapshot.export().data
        datasets[dataset] = {
            "snapshot_sha256": snapshot.sha256,
            "users": len(data.sequences),
            "items": data.n_items,
            **{ranking_key(excluded): popularity_metrics(data, excluded) for excluded in (False, True)},
        }
    payload = {
        "benchmark": "popularity",
        "machine": describe(),
        "baseline": "most popular items by training-target count, the same list for every user",
        "datasets": datasets,
    }
    RESULTS.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps(payload, indent=2) + "\n")
    table = Table(title=f"Most popular (POP) — {one_line(payload['machine'])}")
    for column in ("dataset", "ranking", "valid NDCG@10", "test HR@10", "test NDCG@10"):
        table.add_column(column)
    for dataset, found in datasets.items():
        for ranking in ("history_kept", "history_excluded"):
            metrics = found[ranking]
            table.add_row(
                dataset,
                ranking.replace("_", " "),
                f"{metrics['valid']['ndcg@10']:.4f}",
                f"{metrics['test']['hr@10']:.4f}",
                f"{metrics['test']['ndcg@10']:.4f}",
            )
    console.print(table)
    return payload


def ranking_key(exclude_history: bool) -> str:
    """Where a dataset's POP numbers for one ranking convention live in `bench/results/popularity.json`."""
    return "history_excluded" if exclude_history else "history_kept"


def popularity() -> dict[str, Any]:
    """The committed POP numbers per dataset ({} before `python -m bench.popularity` has run)."""
    return json.loads(RESULT.read_text())["datasets"] if RESULT.is_file() else {}


if __name__ == "__main__":
    main()
