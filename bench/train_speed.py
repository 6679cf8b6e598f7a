"""`make bench-train`: seconds per epoch (the training pass plus full-ranking validation) and peak RSS of every base
model on ML-1M and Beauty, training windows against the prefix-row baseline, in one run on the same exported data.

- windows (the default scheme, `gnn.windows`): one whole epoch;
- prefix rows (the baseline, the scheme before it): one epoch over a seeded random sample of `--prefix-rows`
  training rows; its training pass is extrapolated to every training row (labelled "extrapolated"), plus the
  same validation;
- RecBole 1.2.1's implementations are compared by `make bench-recbole` (same exported data, not rerun here).

Each measurement runs in a fresh process, so its peak RSS (`getrusage`) is its own, on a snapshot the run
exports once per dataset from the bench's Neo4j (`gnn.snapshot`): every measurement reads the same data. Finished
measurements are journaled (`bench.journal`) in `.llmrg/bench/train-speed-journal.json`, so a stopped run carries
on where it stopped and later runs add datasets or models to it (other settings are refused; `--fresh`); the
result goes to `bench/results/train_speed.json` and `make results` renders it into docs.

Targets (issue 19): SASRec on ML-1M at most 90 s per epoch including validation; ML-1M under 4 GiB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.graph_server import ensure_snapshot
from bench.journal import Journal, JournalMismatch
from bench.machine import describe, one_line
from bench.paths import RESULTS, ROOT
from core.vocabulary import MODEL_NAMES

console = Console()
JOURNAL = ROOT / ".llmrg" / "bench" / "train-speed-journal.json"
STAGE = "measurements"
SCHEMES = ("windows", "prefix")
TARGETS = {"sasrec_ml1m_epoch_s_at_most": 90.0, "ml1m_peak_rss_mib_below": 4096.0}
MAX_LEN = {"ml-1m": 200, "beauty": 50}


def measure(snapshot: Path, dataset: str, model: str, scheme: str, prefix_rows: int) -> dict[str, Any]:
    """One epoch of `model` in this process (the child): seconds, peak RSS, rows."""
    from gnn.config import TrainConfig
    from gnn.data import split
    from gnn.models.reference import reference_settings, windows_per_batch
    from gnn.snapshot import load_snapshot
    from gnn.train import train

    data = load_snapshot(snapshot).export().data
    config = TrainConfig(
        model=model,  # type: ignore[arg-type]
        max_len=MAX_LEN[dataset],
        epochs=1,
        train_scheme=scheme,  # type: ignore[arg-type]
        max_train_rows=prefix_rows if scheme == "prefix" else None,
        windows_per_batch=windows_per_batch(model, dataset),
        **reference_settings(model, dataset).overrides(),
    )
    result = train(data, config, progress=False, resume=False)
    epoch = result.history[0]
    total_rows = len(split(data).train)
    run_rows = min(prefix_rows, total_rows) if scheme == "prefix" else total_rows
    valid_s = epoch["epoch_s"] - epoch["train_s"]
    return {
        "dataset": dataset,
        "model": model,
        "scheme": scheme,
        "train_s": epoch["train_s"],
        "valid_s": valid_s,
        "epoch_s": epoch["train_s"] * total_rows / run_rows + valid_s,
        "extrapolated": run_rows < total_rows,
        "train_rows": total_rows,
        "rows_run": run_rows,
        "peak_rss_mib": result.peak_rss_mib,
        "valid_ndcg@10": result.valid["ndcg@10"],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = {"prefix_rows": args.prefix_rows}  # what a measurement depends on; datasets and models only select
    journal = Journal.open(JOURNAL, settings, fresh=args.fresh)
    done = {(run["dataset"], run["model"], run["scheme"]) for run in journal.stage(STAGE)["chunks"]}
    for dataset in args.datasets.split(","):
        snapshot = ensure_snapshot(dataset)
        for model in args.models.split(","):
            for scheme in SCHEMES:
                if (dataset, model, scheme) in done:
                    continue
                key = f"{dataset}/{model}/{scheme}"
                console.print(f"measuring {key}", highlight=False)
                command = [sys.executable, "-m", "bench.train_speed", "--prefix-rows", str(args.prefix_rows)]
                child = subprocess.run(
                    [*command, "--child", str(snapshot), dataset, model, scheme],
                    capture_output=True,
                    text=True,
                    check=False,
                    cwd=ROOT,
                )
                if child.returncode != 0:
                    raise SystemExit(f"{key} failed:\n{child.stderr[-3000:]}")
                journal.add_chunk(STAGE, json.loads(child.stdout.strip().splitlines()[-1]))
    return summarise(settings, journal.stage(STAGE)["chunks"])


def summarise(settings: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    by_key = {(run["dataset"], run["model"], run["scheme"]): run for run in runs}
    comparisons = []
    for (dataset, model, scheme), windows in sorted(by_key.items()):
        prefix = by_key.get((dataset, model, "prefix"))
        if scheme == "windows" and prefix is not None:
            comparisons.append({"dataset": dataset, "model": model, "speedup": prefix["epoch_s"] / windows["epoch_s"]})
    sasrec = by_key.get(("ml-1m", "sasrec", "windows"))
    sasrec_limit = TARGETS["sasrec_ml1m_epoch_s_at_most"]
    ml1m_peaks = [run["peak_rss_mib"] for run in runs if run["dataset"] == "ml-1m" and run["scheme"] == "windows"]
    return {
        "machine": describe(),
        "baseline": "prefix rows (one row per training target), sampled and extrapolated",
        "settings": settings,
        "runs": runs,
        "comparisons": comparisons,
        "targets": TARGETS,
        "met": {
            "sasrec_ml1m_epoch_s": None if sasrec is None else sasrec["epoch_s"] <= sasrec_limit,
            "ml1m_peak_rss": None if not ml1m_peaks else max(ml1m_peaks) < TARGETS["ml1m_peak_rss_mib_below"],
        },
    }


def print_table(result: dict[str, Any]) -> None:
    table = Table(title=f"seconds per epoch (training + validation), {one_line(result['machine'])}")
    for column in ("dataset", "model", "scheme", "s/epoch", "train s", "valid s", "peak RSS MiB", "rows run"):
        table.add_column(column, justify="left" if column in ("dataset", "model", "scheme") else "right")
    for run in sorted(result["runs"], key=lambda run: (run["dataset"], run["model"], run["scheme"])):
        label = run["scheme"] + (" (extrapolated)" if run["extrapolated"] else "")
        table.add_row(
            run["dataset"],
            run["model"],
            label,
            f"{run['epoch_s']:.1f}",
            f"{run['train_s']:.1f}",
            f"{run['valid_s']:.1f}",
            f"{run['peak_rss_mib']:,.0f}",
            f"{run['rows_run']:,}",
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ml-1m,beauty")
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument("--prefix-rows", type=int, default=20_000)
    parser.add_argument("--fresh", action="store_true", help="Discard the journal and measure everything again.")
    parser.add_argument("--out", type=Path, default=RESULTS / "train_speed.json")
    parser.add_argument("--child", nargs=4, metavar=("SNAPSHOT", "DATASET", "MODEL", "SCHEME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        snapshot, dataset, model, scheme = args.child
        print(json.dumps(measure(Path(snapshot), dataset, model, scheme, args.prefix_rows)))
        return
    try:
        result = run(args)
    except JournalMismatch as error:
        parser.exit(2, f"error: {error}\n")
    print_table(result)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
