"""Base-model reproduction against the paper's numbers (design doc table), same run.

For each dataset and model: `llmrg train` semantics (leave-one-out, full ranking, early stopping on valid
NDCG@10) over the given seeds, recording test HR@10 / NDCG@10, seconds per epoch and peak memory, beside the
paper's "Original" numbers and the relative gap. The ablation (DuoRec's variants on the users that have
reasoning graphs) is `bench.ablation`, which also builds the graphs.

On a CPU-only machine the full protocol (up to 200 epochs over every training prefix) takes days; the
`--epochs` and `--max-rows` caps are written into the JSON and the README says the gap comes from them.
Run: `python -m bench.reproduce --datasets beauty --models sasrec,duorec --epochs 3 --max-rows 100000`.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.graph_server import BENCH_ENVIRONMENT, bench_neo4j, ensure_dataset
from bench.ingest import RESULTS
from bench.machine import describe, one_line
from bench.paper import PAPER as FULL_PAPER
from core import vocabulary

PAPER = {(dataset, model): metrics for (dataset, model, variant), metrics in FULL_PAPER.items() if variant == "base"}
"""The paper's "Original" full-ranking numbers (design doc); it reports no SASRec row."""


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="beauty,ml-1m")
    parser.add_argument("--models", default="sasrec,bert4rec,fdsa,cl4srec,duorec")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--max-rows", type=int, default=0, help="seeded subset of training rows (0 = all)")
    parser.add_argument(
        "--from-runs", action="store_true", help="Collect the finished runs' result.json files instead of training"
    )
    parser.add_argument(
        "--merge", action="store_true", help="Keep the runs already in reproduce.json that this run does not redo"
    )
    args = parser.parse_args()

    runs: list[dict[str, Any]] = []
    if args.from_runs:
        os.environ.update(BENCH_ENVIRONMENT)
        from core.settings import Settings

        settings = Settings.load(env_file=None)
        runs = collected_runs(settings, args.datasets.split(","), args.models.split(","), args.seeds)
        return write(args, runs)
    from gnn import pipeline

    with bench_neo4j() as (bench_settings, db):
        settings = bench_settings.updated(train={"max_rows": args.max_rows, "epochs": args.epochs})
        for dataset in args.datasets.split(","):
            ensure_dataset(db, settings, dataset)
            for model in args.models.split(","):
                for seed in (int(seed) for seed in args.seeds.split(",")):
                    result = pipeline.run_training(
                        pipeline.Neo4jSource(db),
                        settings,
                        dataset,
                        model,
                        vocabulary.variant("base"),
                        seed,
                        args.epochs,
                        resume=False,
                    )
                    runs.append(row(dataset, model, "base", seed, result))
    return write(args, runs)


def row(dataset: str, model: str, variant: str, seed: int, result: dict[str, Any]) -> dict[str, Any]:
    paper = PAPER.get((dataset, model)) if variant == "base" else None
    return {
        "dataset": dataset,
        "model": model,
        "variant": variant,
        "reasoned_only": bool(result.get("reasoned_users_only")),
        "seed": seed,
        "test": result["test"],
        "epochs_run": result["epochs_run"],
        "best_epoch": result["best_epoch"],
        "epoch_s": result["epoch_s"],
        "peak_memory_mb": result["peak_memory_mb"],
        "paper": paper,
        "gap_hr@10": (result["test"]["hr@10"] / paper["hr@10"] - 1) if paper else None,
        "gap_ndcg@10": (result["test"]["ndcg@10"] / paper["ndcg@10"] - 1) if paper else None,
    }


def collected_runs(settings: Any, datasets: list[str], models: list[str], seeds: str) -> list[dict[str, Any]]:
    """The result.json of every finished run of these datasets, models and seeds (base variant)."""
    from gnn import pipeline

    found = []
    for dataset in datasets:
        for model in models:
            for seed in (int(seed) for seed in seeds.split(",")):
                path = pipeline.run_dir(settings, dataset, model, vocabulary.variant("base"), seed) / "result.json"
                if path.is_file():
                    found.append(row(dataset, model, "base", seed, json.loads(path.read_text())))
    return found


def write(args: argparse.Namespace, runs: list[dict[str, Any]]) -> dict[str, Any]:
    protocol = {"epochs": args.epochs, "max_train_rows": args.max_rows or None, "seeds": args.seeds}
    datasets, models = args.datasets.split(","), args.models.split(",")
    previous = json.loads((RESULTS / "reproduce.json").read_text()) if (RESULTS / "reproduce.json").is_file() else None
    machine = describe()
    runs = [run | {"commit": run.get("commit", machine["commit"])} for run in runs]
    if args.merge and previous:
        previous["runs"] = [
            run | {"commit": run.get("commit", previous["machine"]["commit"])} for run in previous["runs"]
        ]
        redone = {(run["dataset"], run["model"], run["variant"], run["seed"]) for run in runs}
        kept = [
            run for run in previous["runs"] if (run["dataset"], run["model"], run["variant"], run["seed"]) not in redone
        ]
        runs = kept + runs
        # Each run keeps its own epoch count (`epochs_run`); the header gives the largest limit of the merged runs.
        protocol["epochs"] = max(args.epochs, previous["protocol"]["epochs"])
        protocol["seeds"] = ",".join(sorted({str(run["seed"]) for run in runs}))
        missing = [entry.split("/", 1) for entry in previous.get("not_run") or []]
        datasets = sorted(set(datasets) | {run["dataset"] for run in runs} | {dataset for dataset, _ in missing})
        models = sorted(set(models) | {run["model"] for run in runs} | {model for _, model in missing})
    payload = {
        "benchmark": "reproduce",
        "machine": machine,
        "baseline": "the paper's Original numbers (design doc)",
        "protocol": protocol,
        "not_run": [
            f"{dataset}/{model}"
            for dataset in datasets
            for model in models
            if not any(run["dataset"] == dataset and run["model"] == model for run in runs)
        ],
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reproduce.json").write_text(json.dumps(payload, indent=2) + "\n")
    table = Table(title=f"Reproduction — {one_line(payload['machine'])}; epochs <= {args.epochs}")
    for column in ("dataset", "model", "variant", "seed", "HR@10", "paper", "NDCG@10", "paper", "s/epoch", "MiB"):
        table.add_column(column)
    for run in runs:
        paper = run["paper"] or {}
        table.add_row(
            run["dataset"],
            run["model"],
            run["variant"],
            str(run["seed"]),
            f"{run['test']['hr@10']:.4f}",
            f"{paper.get('hr@10', float('nan')):.4f}",
            f"{run['test']['ndcg@10']:.4f}",
            f"{paper.get('ndcg@10', float('nan')):.4f}",
            f"{run['epoch_s']:.1f}",
            f"{run['peak_memory_mb']:.0f}",
        )
    Console(width=140).print(table)
    return payload


if __name__ == "__main__":
    main()
