"""The paper's base table, reproduced: every run trained to early stopping from a snapshot, resumable, committed.

`python -m bench.reproduce` trains each (dataset, model, variant, seed) the options name with `llmrg train
--snapshot` in a child process (its peak RSS is its own, and a crash loses one epoch), all seed-0 runs first, so
the table fills row by row before the extra seeds. The protocol is the paper's: leave-one-out, full ranking that
keeps history items in the ranking (RecBole's convention for sequential models; `--exclude-history` removes them,
and the table says which), early stopping with patience 10 on valid NDCG@10, at most 200 epochs, each model's
reference settings (`gnn.models.reference`).

Runs outlive a session: they live in `LLMRG_TRAIN_DIR` (default `.llmrg/bench/train`, may be outside the checkout),
checkpoint every epoch and resume where they stopped, so rerunning the same command carries on; a run whose
`result.json` exists is done, and so is one already published under the same protocol (a fresh machine does not
train again what was committed from another). Each finished run's `result.json` is copied to
`bench/results/reproduce/`, which is committed, and `bench/results/reproduce.json` is rebuilt from those copies
(mean ± std over seeds beside the paper's numbers); `make results` draws it. While a run trains, its epochs are
printed from its `progress.json`.

    python -m bench.reproduce --datasets beauty --models sasrec,duorec      # train (or carry on), then collect
    python -m bench.reproduce --seeds 1,2,3,4 --models sasrec,duorec        # the extra seeds
    python -m bench.reproduce --collect                                     # only rebuild reproduce.json

A machine may not outlive its session, and a converged ML-1M run takes longer than some sessions: `--park` copies
each named run's newest checkpoint (its last.pt alone: model, optimiser, early-stopping state and every
random-number state, 5 MiB on ML-1M) to `bench/results/parked/<run>.<device>.pt`, which is committed; a later
launch on the same device on any machine whose train dir lacks that run's checkpoint starts from the parked one, in
the state the first machine left (model, optimiser, data order, random numbers), so its epochs are the ones the
first machine would have trained next, up to floating-point differences between processors and thread counts. A
run may be parked once per device (a GPU call of `bench.device` parks the runs it stops too); the first to finish
publishes the run. Parking reads a checkpoint while its run trains (each last.pt is replaced whole), and a parked
file is deleted when its run is published.

    python -m bench.reproduce --datasets ml-1m --models duorec --park      # before the machine goes

A machine can also go without warning, so `--park-every M` parks each run while it trains, after the first epoch
that ends M minutes or more after its last parking (and when `--minutes` stops it): such a machine loses at most M
minutes and an epoch.

`--parallel N` trains N runs side by side (each child gets its share of the cores), `--minutes M` stops the runs
still training after M minutes, and `--device cuda` trains on a GPU: together they are what `bench.device` runs on a
lent GPU machine.

A run under another protocol, to isolate what a gap to the paper comes from, is named and kept apart: `--scheme
prefix` trains on one row per target (as RecBole does) instead of windows, `--windows-per-batch N` changes the
windows a batch, `--false-negatives keep` keeps DuoRec's same-target views among its negatives as the authors' code
does, `--mask-prob P` trains BERT4Rec with another cloze proportion (RecBole's default is 0.2), `--patience N` stops
later than the protocol's 10 epochs without a better validation, `--dropout P` replaces the model's reference
dropout, `--item-features shuffled` trains FDSA on item attributes shuffled across items (a placebo: what FDSA gains
over it is what the real attributes tell), `--max-len N` trains and evaluates on inputs of at most N items (the
DuoRec repository trains ML-1M at 50, our reference protocol at 200); such runs live under
`<train dir>/protocol-<tag>/`, publish as `...-<tag>-seed<S>.json`, and the table labels their rows with the
protocol.

    python -m bench.reproduce --datasets beauty --models duorec --scheme prefix
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import torch
from rich.console import Console
from rich.table import Table

from bench.graph_server import ensure_kb_snapshot, ensure_snapshot, kb_snapshot_path, snapshot_path
from bench.machine import describe, one_line
from bench.paper import PAPER
from bench.paths import RESULTS, ROOT
from bench.popularity import popularity, ranking_key
from bench.statistics import paired_hits
from core import vocabulary
from core.settings import DEFAULT_MAX_LEN, for_dataset
from core.vocabulary import MODEL_NAMES
from gnn import checkpoint
from gnn.evaluate import STALLED_BELOW
from gnn.evaluate import stalled as below_popularity
from gnn.models.reference import WINDOWS_PER_BATCH, reference_settings, windows_per_batch

console = Console(width=150)
RUNS = RESULTS / "reproduce"
PARKED = RESULTS / "parked"
UNREADABLE_CHECKPOINT = (
    OSError,
    RuntimeError,
    EOFError,
    KeyError,
    pickle.UnpicklingError,
    checkpoint.CheckpointMismatchError,
)
"""What reading a checkpoint that is cut short, not a checkpoint, or of another format raises."""
UNPARKED = "unparked.json"
"""In a run's directory when it started from a parked checkpoint: the epoch it carried on after, which its published
result keeps (`resumed_after_epoch`): its commit and machine are those of the machine that finished it, and the
epochs up to that one trained elsewhere."""
DEFAULT_TRAIN_DIR = ROOT / ".llmrg" / "bench" / "train"
PATIENCE = 10
"""The protocol's early stopping: epochs without a better valid NDCG@10; a run with another names it."""
METRICS = ("hr@5", "hr@10", "ndcg@5", "ndcg@10")
VARIANT_FLAGS = {
    "base": [],
    "seq": ["--seq-graph"],
    "llmrg-kb": ["--llmrg", "--kb-graph"],
    "llmrg-kb-placebo": ["--llmrg", "--kb-graph", "--kb-placebo"],
    "llmrg-kb-random": ["--llmrg", "--kb-graph", "--kb-random-edges"],
}
CONTROLS = {"llmrg-kb": ("llmrg-kb-placebo", "llmrg-kb-random", "seq"), "llmrg-kb-placebo": ("llmrg-kb-random",)}
"""The controls a variant is also paired against: the same graphs with random edge sources, random graphs of about
the same size per user, and any graph at all (SR-GNN on the plain sequence), so a gain over the base is read
against what a graph without the LLM gives; and the first placebo against the second, which measures what the
knowledge base's choice of which items get an in-edge adds."""
POLL_S = 20.0


def build_parser() -> argparse.ArgumentParser:
    """The command's options; their defaults are the reference protocol (`options` reads them for callers)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="beauty,ml-1m")
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument(
        "--variants",
        default="base",
        help="base, seq (+ SR-GNN on the plain sequence graph), llmrg-kb (+ LLMRG with every user's G_rea from "
        "the released knowledge base's causal edges, data/kb/<dataset>.jsonl.gz), llmrg-kb-placebo (its placebo: "
        "each edge's source drawn at random from the same window) and llmrg-kb-random (the stronger placebo: as "
        "many edges per user, each edge's step and source drawn at random)",
    )
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument(
        "--patience", type=int, default=PATIENCE, help=f"Early stopping (default {PATIENCE}; another is a departure)"
    )
    parser.add_argument(
        "--exclude-history", action="store_true", help="Rank without the user's history items (not the paper's)"
    )
    parser.add_argument("--train-dir", type=Path, default=None, help="Default: LLMRG_TRAIN_DIR or .llmrg/bench/train")
    parser.add_argument(
        "--scheme", choices=("auto", "windows", "prefix"), default="auto", help="Training rows (LLMRG_TRAIN_SCHEME)"
    )
    parser.add_argument(
        "--windows-per-batch",
        type=int,
        default=None,
        help="Default: the model's on the dataset (gnn.models.reference.windows_per_batch: 128, or 32 where an "
        "epoch of 128 made too few optimiser steps)",
    )
    parser.add_argument(
        "--false-negatives",
        choices=("drop", "keep"),
        default="drop",
        help="DuoRec: keep same-target views among the negatives as the authors do (LLMRG_TRAIN_FALSE_NEGATIVES)",
    )
    parser.add_argument(
        "--mask-prob",
        type=float,
        default=None,
        help="BERT4Rec's cloze proportion (LLMRG_TRAIN_MASK_PROB; default: its paper's value per dataset)",
    )
    parser.add_argument(
        "--dropout",
        type=float,
        default=None,
        help="Dropout in place of the model's reference value (LLMRG_TRAIN_DROPOUT; a departure)",
    )
    parser.add_argument(
        "--max-len",
        type=int,
        default=None,
        help="Longest input sequence in place of the dataset's (LLMRG_TRAIN_MAX_LEN; a departure where it differs)",
    )
    parser.add_argument(
        "--item-features",
        choices=("real", "shuffled"),
        default="real",
        help="FDSA's item attributes, or shuffled across items as a placebo (LLMRG_TRAIN_ITEM_FEATURES)",
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="LLMRG_TRAIN_DEVICE (auto: cuda when present)"
    )
    parser.add_argument("--parallel", type=int, default=1, help="Runs training side by side (default 1)")
    parser.add_argument(
        "--minutes", type=float, default=None, help="Stop the runs still training after this long (they resume)"
    )
    parser.add_argument(
        "--again",
        action="store_true",
        help="Train runs already published under this protocol too (e.g. for per-user ranks, or on this machine "
        "beside a variant); each replaces its published copy when it finishes",
    )
    parser.add_argument("--collect", action="store_true", help="Only rebuild reproduce.json from the finished runs")
    parser.add_argument(
        "--park",
        action="store_true",
        help="Only copy the named runs' unfinished checkpoints to bench/results/parked/ (committed), from which a "
        "launch on another machine carries on",
    )
    parser.add_argument(
        "--park-every",
        type=float,
        default=None,
        metavar="MINUTES",
        help="While training, park each run after its first epoch that ends this long after its last parking",
    )
    return parser


def options(**changes: Any) -> argparse.Namespace:
    """The command's options as its defaults give them, with `changes` (option names with underscores): how
    another program (the device queue, a test) asks for a run without repeating every default."""
    defaults = build_parser().parse_args([])
    unknown = set(changes) - set(vars(defaults))
    if unknown:
        raise TypeError(f"bench.reproduce has no option {', '.join(sorted(unknown))}")
    return argparse.Namespace(**(vars(defaults) | changes))


def main() -> dict[str, Any]:
    parser = build_parser()
    args = parser.parse_args()
    if args.max_len is not None and args.max_len < 1:
        parser.error("--max-len must be at least 1")
    train_dir = (args.train_dir or Path(os.environ.get("LLMRG_TRAIN_DIR") or DEFAULT_TRAIN_DIR)).resolve()
    if args.park:
        parked = park(planned(args), train_dir)
        if not parked:
            raise SystemExit(f"no unfinished checkpoint of the named runs in {train_dir} to park")
        return {"parked": [path.name for path in parked]}
    if not args.collect:
        deadline = time.monotonic() + args.minutes * 60 if args.minutes is not None else None
        park_every_s = args.park_every * 60 if args.park_every is not None else None
        jobs = [(plan, args) for plan in planned(args)]
        outcome = run_all(jobs, train_dir, max(1, args.parallel), deadline, park_every_s)
        for kind in ("failed", "stopped", "not_started"):
            if outcome[kind]:
                console.print(f"{kind.replace('_', ' ')}: {', '.join(outcome[kind])}")
        if outcome["failed"]:
            write_summary(collect())
            raise SystemExit(f"{len(outcome['failed'])} run(s) failed: {', '.join(outcome['failed'])}")
    return write_summary(collect())


def planned(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every run the options name, seed by seed, so the table fills a row per model before the extra seeds."""
    unknown = sorted(set(args.variants.split(",")) - set(VARIANT_FLAGS))
    if unknown:
        raise SystemExit(f"--variants: unknown {', '.join(unknown)}; known: {', '.join(VARIANT_FLAGS)}")
    return [
        {
            "dataset": dataset,
            "model": model,
            "variant": variant,
            "seed": int(seed),
            "tag": protocol_tag(
                args.scheme,
                args.windows_per_batch,
                args.false_negatives,
                args.mask_prob,
                default_windows=windows_per_batch(model, dataset),
                patience=args.patience,
                item_features=args.item_features,
                dropout=args.dropout,
                max_len=args.max_len,
                default_max_len=for_dataset(DEFAULT_MAX_LEN, dataset),
            ),
        }
        for seed in args.seeds.split(",")
        for dataset in args.datasets.split(",")
        for model in args.models.split(",")
        for variant in args.variants.split(",")
    ]


def protocol_tag(
    scheme: str,
    windows_per_batch: int | None,
    false_negatives: str = "drop",
    mask_prob: float | None = None,
    default_windows: int = WINDOWS_PER_BATCH,
    patience: int = PATIENCE,
    item_features: str = "real",
    dropout: float | None = None,
    max_len: int | None = None,
    default_max_len: int = DEFAULT_MAX_LEN["*"],
) -> str:
    """What a run's protocol changes, for its name and folder ('' for the reference protocol); `default_windows`
    and `default_max_len`: the model's windows a batch and the longest input on the dataset."""
    parts = [] if scheme == "auto" else [scheme]
    if windows_per_batch is not None and windows_per_batch != default_windows:
        parts.append(f"wpb{windows_per_batch}")
    if false_negatives == "keep":
        parts.append("fnkeep")
    if mask_prob is not None:
        parts.append(f"mask{mask_prob:g}")
    if patience != PATIENCE:
        parts.append(f"patience{patience}")
    if item_features != "real":
        parts.append(f"feat{item_features}")
    if dropout is not None:
        parts.append(f"dropout{dropout:g}")
    if max_len is not None and max_len != default_max_len:
        parts.append(f"len{max_len}")
    return "-".join(parts)


def protocol_label(config: dict[str, Any], dataset: str) -> str:
    """A finished run's departures from the reference protocol, as the table names them ('' for none)."""
    departures = []
    if config.get("train_scheme") == "prefix":
        departures.append("prefix rows")
    elif (per_batch := config.get("windows_per_batch", WINDOWS_PER_BATCH)) != windows_per_batch(
        config["model"], dataset
    ):
        departures.append(f"{per_batch} windows a batch")
    if config.get("false_negatives") == "keep":
        departures.append("same-target negatives kept")
    if config.get("mask_prob") != reference_settings(config["model"], dataset).mask_prob:
        departures.append(f"mask proportion {config['mask_prob']:g}")
    if (patience := config.get("patience", PATIENCE)) != PATIENCE:
        departures.append(f"patience {patience}")
    if "dropout" in config and config["dropout"] != reference_settings(config["model"], dataset).dropout:
        departures.append(f"dropout {config['dropout']:g}")
    default_max_len = for_dataset(DEFAULT_MAX_LEN, dataset)
    if config.get("max_len", default_max_len) != default_max_len:
        departures.append(f"max length {config['max_len']}")
    if config.get("item_features", "real") == "shuffled":
        departures.append("item attributes shuffled across items (placebo)")
    return ", ".join(departures)


def run_name(plan: dict[str, Any]) -> str:
    tag = f"-{plan['tag']}" if plan.get("tag") else ""
    return f"{plan['dataset']}-{plan['model']}-{plan['variant']}{tag}-seed{plan['seed']}"


@dataclass
class Launched:
    """A run training in its child process."""

    name: str
    directory: Path
    child: subprocess.Popen[bytes]
    log: IO[bytes]
    started: float
    plan: dict[str, Any]
    shown: int = -1
    parked: float | None = None
    """time.monotonic() of its last parking, None before it"""


def protocol_directory(plan: dict[str, Any], train_dir: Path) -> Path:
    """The train dir of a run's protocol: `train_dir` itself for the reference protocol."""
    return train_dir / f"protocol-{plan['tag']}" if plan.get("tag") else train_dir


def run_directory(plan: dict[str, Any], train_dir: Path) -> Path:
    seed = f"seed{plan['seed']}"
    return protocol_directory(plan, train_dir) / plan["dataset"] / plan["model"] / plan["variant"] / seed


def run_one(plan: dict[str, Any], train_dir: Path, args: argparse.Namespace) -> None:
    """Train (or carry on with) one run in a child process and copy its result.json to `RUNS` when it finishes."""
    launched = launch(plan, train_dir, args)
    if launched is None:
        return
    while launched.child.poll() is None:
        time.sleep(POLL_S)
        launched.shown = show_progress(launched.name, launched.directory / "progress.json", launched.shown)
    failure = settle(launched)
    if failure:
        raise SystemExit(failure)


def run_all(
    jobs: list[tuple[dict[str, Any], argparse.Namespace]],
    train_dir: Path,
    parallel: int,
    deadline: float | None = None,
    park_every_s: float | None = None,
) -> dict[str, list[str]]:
    """Train the jobs, up to `parallel` at a time in the given order, until `deadline` (time.monotonic()): then the
    runs still training are stopped (each keeps its checkpoint of the last whole epoch, so a rerun on the same
    machine carries on) and the rest are not started. With `park_every_s`, a run is parked after each epoch that
    ends that long or longer after its last parking (or its start), and when the deadline stops it. A failed run
    is reported and the others go on. Returns the names that finished, failed, were stopped and were never started."""
    outcome: dict[str, list[str]] = {"finished": [], "failed": [], "stopped": [], "not_started": []}
    queue = list(jobs)
    running: list[Launched] = []
    while queue or running:
        out_of_time = deadline is not None and time.monotonic() >= deadline
        while queue and len(running) < parallel and not out_of_time:
            plan, args = queue.pop(0)
            launched = launch(plan, train_dir, args, threads=max(1, (os.cpu_count() or 1) // parallel))
            if launched is None:
                outcome["finished"].append(run_name(plan))
            else:
                running.append(launched)
        if out_of_time:
            for launched in running:
                launched.child.terminate()
                launched.child.wait()
                launched.log.close()
                outcome["stopped"].append(launched.name)
            if park_every_s is not None:
                park([launched.plan for launched in running], train_dir)
            outcome["not_started"] += [run_name(plan) for plan, _ in queue]
            break
        if running:
            time.sleep(POLL_S)
        for launched in list(running):
            previous = launched.shown
            launched.shown = show_progress(launched.name, launched.directory / "progress.json", launched.shown)
            if park_every_s is not None and launched.shown != previous and due(launched, park_every_s):
                park([launched.plan], train_dir)
                launched.parked = time.monotonic()
            if launched.child.poll() is not None:
                running.remove(launched)
                failure = settle(launched)
                outcome["failed" if failure else "finished"].append(launched.name)
                if failure:
                    console.print(failure)
    return outcome


def due(launched: Launched, every_s: float) -> bool:
    """Whether a run's checkpoint is `every_s` or more older than its last parking (its start, before the first)."""
    since = launched.parked if launched.parked is not None else launched.started
    return time.monotonic() - since >= every_s


def launch(
    plan: dict[str, Any], train_dir: Path, args: argparse.Namespace, threads: int | None = None
) -> Launched | None:
    """Start one run's child `llmrg train --snapshot`, or None when it needs none: its result.json is there (it is
    published again), or `RUNS` already holds it under this protocol (a run committed from another machine is not
    trained again where its checkpoints are absent; delete the published file to train it anew)."""
    directory = run_directory(plan, train_dir)
    result_file = directory / "result.json"
    name = run_name(plan)
    if result_file.is_file() and fits(json.loads(result_file.read_text()), args):
        publish(result_file, name)
        console.print(f"{name}: done before, collected")
        return None
    published = RUNS / f"{name}.json"
    if published.is_file() and fits(json.loads(published.read_text()), args) and not args.again:
        console.print(f"{name}: published before ({published.name}), not trained again")
        drop_parked(name, json.loads(published.read_text()))
        return None
    result_file.unlink(missing_ok=True)  # a result of other settings; the checkpoint check guards the rest
    snapshot = snapshot_of(plan)
    unpark(name, directory, args)
    command = [
        sys.executable,
        "-m",
        "llmrg",
        "train",
        "--snapshot",
        str(snapshot),
        "--dataset",
        plan["dataset"],
        "--model",
        plan["model"],
        "--seed",
        str(plan["seed"]),
        "--epochs",
        str(args.epochs),
        "--no-progress",
        *VARIANT_FLAGS[plan["variant"]],
    ]
    environment = os.environ | {
        "LLMRG_TRAIN_DIR": str(protocol_directory(plan, train_dir)),
        "LLMRG_TRAIN_EXCLUDE_HISTORY": "true" if args.exclude_history else "false",
        "LLMRG_TRAIN_PATIENCE": str(args.patience),
        "LLMRG_TRAIN_SCHEME": args.scheme,
        "LLMRG_TRAIN_FALSE_NEGATIVES": args.false_negatives,
        "LLMRG_TRAIN_ITEM_FEATURES": args.item_features,
        "LLMRG_TRAIN_DEVICE": args.device,
    }
    if args.windows_per_batch is not None:
        environment["LLMRG_TRAIN_WINDOWS_PER_BATCH"] = str(args.windows_per_batch)
    if args.mask_prob is not None:
        environment["LLMRG_TRAIN_MASK_PROB"] = str(args.mask_prob)
    if args.dropout is not None:
        environment["LLMRG_TRAIN_DROPOUT"] = str(args.dropout)
    if args.max_len is not None:
        environment["LLMRG_TRAIN_MAX_LEN"] = json.dumps({"*": args.max_len})
    if threads is not None and "OMP_NUM_THREADS" not in os.environ:
        environment["OMP_NUM_THREADS"] = str(threads)  # runs side by side share the cores
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "train.log"
    console.print(f"{name}: training in {directory} (log {log})")
    output = log.open("ab")
    child = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
    return Launched(name=name, directory=directory, child=child, log=output, started=time.monotonic(), plan=plan)


def snapshot_of(plan: dict[str, Any], build: bool = True) -> Path:
    """The snapshot a run trains from (exported or assembled first when `build`): the dataset's, or for the
    knowledge-base variant and its placebos the dataset's with the released knowledge base's causal edges."""
    if vocabulary.variant(plan["variant"]).edges_from == "knowledge_base":
        return ensure_kb_snapshot(plan["dataset"]) if build else kb_snapshot_path(plan["dataset"])
    return ensure_snapshot(plan["dataset"]) if build else snapshot_path(plan["dataset"])


def park(plans: list[dict[str, Any]], train_dir: Path) -> list[Path]:
    """Copy each planned run's last.pt to `PARKED/<run>.<device>.pt` when it has one and no result yet; returns the
    files parked. last.pt is read whole (the trainer replaces it whole) and written with the trainer's own atomic
    save, so a parked file is always whole. A run that cannot be parked is reported and the rest go on: parking
    happens beside training (`--park-every`) and on a device call's way out, and neither should fail for it."""
    parked = []
    for plan in plans:
        directory, name = run_directory(plan, train_dir), run_name(plan)
        last = directory / checkpoint.LAST
        if not last.is_file() or (directory / "result.json").is_file():
            continue
        try:
            saved = checkpoint.load(last, torch.device("cpu"))
            target = parked_path(name, saved["config"]["device"])
            checkpoint.save_atomic(saved, target)
        except UNREADABLE_CHECKPOINT as error:
            console.print(f"{name}: not parked ({type(error).__name__}: {error})")
            continue
        best = saved["state"].get("best_valid", {}).get("ndcg@10", float("nan"))
        console.print(
            f"{name}: parked at epoch {saved['epoch']} (best valid NDCG@10 {best:.4f} at epoch "
            f"{saved['state'].get('best_epoch')}), {target.stat().st_size / 2**20:.1f} MiB: {in_checkout(target)}"
        )
        parked.append(target)
    return parked


def parked_path(name: str, device: str) -> Path:
    """Where run `name`'s checkpoint trained on `device` (cpu or cuda) is parked."""
    return PARKED / f"{name}.{device}.pt"


def drop_parked(name: str, published: dict[str, Any]) -> None:
    """Delete run `name`'s parked checkpoints, of every device, that the `published` result has gone as far as: they
    are stale. One further along (say, beside a one-epoch rehearsal) is kept."""
    for parked in PARKED.glob(f"{name}.*.pt"):
        if checkpoint.load(parked, torch.device("cpu"))["epoch"] <= published["epochs_run"]:
            parked.unlink()


PARKED_MUST_MATCH = ("patience", "exclude_history")
"""Settings a parked checkpoint must share with the launch that would carry it on, beyond what its run name says;
the epoch limit may grow (the trainer resumes under a new one), but must leave epochs to train."""


def unpark(name: str, directory: Path, args: argparse.Namespace) -> None:
    """Start `directory` from the run's checkpoint parked on this device when it has none of its own (a fresh
    machine): last.pt, with best.pt and progress.json written from it, and the epoch it carries on after in
    `UNPARKED`. A run carries on only on the device it trained on and under the same epoch limit, patience and
    ranking convention, with epochs left under this launch's limit; otherwise it starts anew (the parked file
    stays), and the message says why. `--again` starts anew too."""
    if (directory / checkpoint.LAST).is_file():
        return
    (directory / UNPARKED).unlink(missing_ok=True)  # a run starting over in this folder is not a resumed one
    if args.again:
        return
    wanted = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    parked = parked_path(name, wanted)
    if not parked.is_file():
        for other in sorted(PARKED.glob(f"{name}.*.pt")):
            console.print(f"{name}: parked on another device ({in_checkout(other)}); starting anew on {wanted}")
        return
    saved = checkpoint.load(parked, torch.device("cpu"))
    config = saved["config"]
    if saved["epoch"] >= args.epochs:
        console.print(f"{name}: parked after epoch {saved['epoch']}, the limit here is {args.epochs}; starting anew")
        return
    if differs := [key for key in PARKED_MUST_MATCH if config.get(key) != getattr(args, key)]:
        named = ", ".join(f"{key} {config.get(key)} there, {getattr(args, key)} here" for key in differs)
        console.print(
            f"{name}: its parked checkpoint ({in_checkout(parked)}) has other settings ({named}); starting anew"
        )
        return
    checkpoint.save_atomic(saved, directory / checkpoint.LAST)
    epoch = checkpoint.write_side_files(saved, directory)
    (directory / UNPARKED).write_text(json.dumps({"epoch": epoch}) + "\n")
    console.print(f"{name}: carrying on from the checkpoint parked after epoch {epoch} ({in_checkout(parked)})")


def in_checkout(path: Path) -> Path:
    """`path` relative to the checkout when it is inside it, as messages name committed files."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def settle(launched: Launched) -> str | None:
    """Publish a run whose child has exited; the failure, with the end of its log, when it did not finish."""
    launched.log.close()
    log = launched.directory / "train.log"
    if launched.child.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        return f"{launched.name} failed (exit {launched.child.returncode}); the end of {log}:\n" + "\n".join(tail)
    result_file = launched.directory / "result.json"
    result = json.loads(result_file.read_text())
    publish(result_file, launched.name)
    console.print(
        f"{launched.name}: finished in {time.monotonic() - launched.started:,.0f} s: best epoch {result['best_epoch']} "
        f"of {result['epochs_run']}, test HR@10 {result['test']['hr@10']:.4f}, NDCG@10 {result['test']['ndcg@10']:.4f}"
    )
    return None


def fits(result: dict[str, Any], args: argparse.Namespace) -> bool:
    """Whether a finished run was made under this protocol (ranking convention, epoch limit, patience, rows)."""
    config = result["config"]
    default_max_len = for_dataset(DEFAULT_MAX_LEN, result["dataset"])
    return bool(
        config["exclude_history"] == args.exclude_history
        and config["epochs"] == args.epochs
        and config["patience"] == args.patience
        and (args.scheme == "auto" or config.get("train_scheme") == args.scheme)
        and config.get("windows_per_batch", WINDOWS_PER_BATCH)
        == (args.windows_per_batch or windows_per_batch(config["model"], result["dataset"]))
        and config.get("false_negatives", "drop") == args.false_negatives
        and config.get("item_features", "real") == args.item_features
        and config.get("dropout") == wanted_dropout(args, config["model"], result["dataset"])
        and config.get("max_len", default_max_len) == (args.max_len or default_max_len)
        and config.get("mask_prob") == wanted_mask(args, config["model"], result["dataset"])
    )


def wanted_mask(args: argparse.Namespace, model: str, dataset: str) -> float | None:
    """The cloze proportion a run under these options has in its config (None for a model without one)."""
    reference = reference_settings(model, dataset).mask_prob
    return args.mask_prob if args.mask_prob is not None and reference is not None else reference


def wanted_dropout(args: argparse.Namespace, model: str, dataset: str) -> float:
    """The dropout a run under these options has in its config: `--dropout`, else the model's reference value."""
    return args.dropout if args.dropout is not None else reference_settings(model, dataset).dropout


def show_progress(name: str, path: Path, shown: int) -> int:
    """Print the run's newest epoch from its progress.json once; returns the epoch shown."""
    if not path.is_file():
        return shown
    try:
        progress = json.loads(path.read_text())
    except json.JSONDecodeError:  # replaced between listing and reading
        return shown
    if progress["epoch"] == shown:
        return shown
    console.print(
        f"{name}: epoch {progress['epoch']}/{progress['epochs']}, valid NDCG@10 {progress['valid']['ndcg@10']:.4f} "
        f"(best {progress['best_valid']['ndcg@10']:.4f} at epoch {progress['best_epoch']}), "
        f"{progress['epoch_s']:.0f} s/epoch"
    )
    return int(progress["epoch"])


def publish(result_file: Path, name: str) -> None:
    """Copy a finished run's result.json to `RUNS`, adding the checkout's commit and this machine when it has none
    (a run copied again later keeps the commit and machine it was first published with): runs are collected on
    whatever machine rebuilds the table, so each keeps its own. A run trained again (`--again`, another epoch
    history) replaces the published one with its own commit and machine."""
    RUNS.mkdir(parents=True, exist_ok=True)
    target = RUNS / f"{name}.json"
    result = json.loads(result_file.read_text())
    published = json.loads(target.read_text()) if target.is_file() else {}
    if published.get("history") != result.get("history"):
        published = {}
    machine = describe()
    here = {"commit": machine.pop("commit"), "machine": machine}
    for key in ("commit", "machine"):
        result[key] = result.get(key) or published.get(key) or here[key]
    if (unparked := result_file.parent / UNPARKED).is_file():
        result["resumed_after_epoch"] = json.loads(unparked.read_text())["epoch"]
    target.write_text(json.dumps(result, indent=2) + "\n")
    drop_parked(name, result)  # the finished run supersedes its parked checkpoints


def collect() -> list[dict[str, Any]]:
    """One record per finished run in `RUNS`."""
    runs = []
    for path in sorted(RUNS.glob("*.json")):
        result = json.loads(path.read_text())
        config = result["config"]
        runs.append(
            {
                "dataset": result["dataset"],
                "model": result["model"],
                "variant": result["variant"],
                "seed": result["seed"],
                "test": result["test"],
                "valid": result["valid"],
                "epochs_run": result["epochs_run"],
                "best_epoch": result["best_epoch"],
                "epoch_s": result["epoch_s"],
                "peak_memory_mb": result["peak_memory_mb"],
                "peak_rss_mib": result.get("peak_rss_mib"),
                "train_scheme": result.get("train_scheme"),
                "protocol": protocol_label(config, result["dataset"]),
                "exclude_history": config["exclude_history"],
                "max_len": config["max_len"],
                "dropout": config["dropout"],
                "epochs": config["epochs"],
                "patience": config["patience"],
                "device": config["device"],
                "commit": result.get("commit"),
                "machine": result.get("machine"),
                "file": str(path.relative_to(ROOT)),
                "test_ranks": result.get("test_ranks"),
            }
        )
    return runs


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and (sample) std over seeds per (dataset, model, variant, ranking, protocol), with the paper's numbers
    and the relative gap on HR@10 and NDCG@10."""
    groups: dict[tuple[str, str, str, bool, str], list[dict[str, Any]]] = {}
    for run in runs:
        key = (run["dataset"], run["model"], run["variant"], run["exclude_history"], run["protocol"])
        groups.setdefault(key, []).append(run)
    rows = []
    for (dataset, model, variant, excluded, protocol), members in sorted(groups.items()):
        mean = {metric: statistics.fmean(run["test"][metric] for run in members) for metric in METRICS}
        std = {
            metric: statistics.stdev(run["test"][metric] for run in members) if len(members) > 1 else None
            for metric in METRICS
        }
        paper = PAPER.get((dataset, model, variant))
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "variant": variant,
                "exclude_history": excluded,
                "protocol": protocol,
                "seeds": sorted(run["seed"] for run in members),
                "mean": mean,
                "std": std,
                "paper": paper,
                "gap_hr@10": mean["hr@10"] / paper["hr@10"] - 1 if paper else None,
                "gap_ndcg@10": mean["ndcg@10"] / paper["ndcg@10"] - 1 if paper else None,
                "within_10pct": bool(
                    paper
                    and abs(mean["hr@10"] / paper["hr@10"] - 1) <= 0.1
                    and abs(mean["ndcg@10"] / paper["ndcg@10"] - 1) <= 0.1
                ),
                "epochs_run": [run["epochs_run"] for run in members],
                "epoch_s": statistics.fmean(run["epoch_s"] for run in members),
                "peak_rss_mib": max((run["peak_rss_mib"] or 0.0) for run in members),
                "paired_vs_base": paired_vs_base(members, groups.get((dataset, model, "base", excluded, protocol)))
                if variant != "base"
                else None,
                "paired_vs_reference": paired_vs_base(members, groups.get((dataset, model, variant, excluded, "")))
                if protocol
                else None,
                "paired_vs_controls": {
                    control: paired_vs_base(members, groups[(dataset, model, control, excluded, protocol)])
                    for control in CONTROLS.get(variant, ())
                    if (dataset, model, control, excluded, protocol) in groups
                },
            }
        )
    return rows


def paired_vs_base(members: list[dict[str, Any]], base: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Per seed that both the variant and its base (same dataset, model, ranking and protocol) ran with every
    user's test rank: HR@10 hits only one of them has, and the exact McNemar p-value (`bench.statistics`). A
    control in place of the base pairs the same way, and so does a run under another protocol (a placebo such as
    shuffled item attributes, or an isolation run) against the same run under the reference protocol."""
    base_ranks = {run["seed"]: run["test_ranks"] for run in base or [] if run.get("test_ranks")}
    return [
        {"seed": run["seed"], **paired_hits(run["test_ranks"], base_ranks[run["seed"]])}
        for run in sorted(members, key=lambda run: run["seed"])
        if run.get("test_ranks") and run["seed"] in base_ranks
    ]


def stalled(run: dict[str, Any], pop: dict[str, Any]) -> bool | None:
    """Whether the run's best valid NDCG@10 stayed under `STALLED_BELOW` times the most-popular baseline's on its
    dataset and ranking convention (early stopping ended it before it learned order); None where POP is unknown."""
    found = pop.get(run["dataset"], {}).get(ranking_key(run.get("exclude_history", True)))
    return None if found is None else below_popularity(run["valid"]["ndcg@10"], found["valid"]["ndcg@10"])


def write_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    pop = popularity()
    for run in runs:
        run["stalled"] = stalled(run, pop)
    wanted = {(dataset, model) for dataset, model, variant in PAPER if variant == "base"}
    ran = {(run["dataset"], run["model"]) for run in runs if run["variant"] == "base" and not run["protocol"]}
    payload = {
        "benchmark": "reproduce",
        "machine": describe(),
        "baseline": "the paper's Original numbers (design doc, bench/paper.py)",
        "protocol": {
            "epochs": max((run["epochs"] for run in runs), default=200),
            "patience": PATIENCE,
            "max_train_rows": None,
            "seeds": ",".join(str(seed) for seed in sorted({run["seed"] for run in runs})),
            "ranking": "history items kept in the ranking (the paper's and RecBole's convention), unless a row "
            "says exclude_history",
            "target": "each base row within ±10% of the paper's HR@10 and NDCG@10",
        },
        "not_run": sorted(f"{dataset}/{model}" for dataset, model in wanted - ran),
        "rows": summarise(runs),
        "runs": [{key: value for key, value in run.items() if key != "test_ranks"} for run in runs],  # in each file
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reproduce.json").write_text(json.dumps(payload, indent=2) + "\n")
    print_table(payload, pop)
    return payload


def print_table(payload: dict[str, Any], pop: dict[str, Any]) -> None:
    table = Table(title=f"Reproduction — {one_line(payload['machine'])}")
    for column in ("dataset", "model", "variant", "seeds", "HR@10", "paper", "NDCG@10", "paper", "epochs", "s/epoch"):
        table.add_column(column)
    for row in payload["rows"]:
        paper = row["paper"] or {}
        table.add_row(
            row["dataset"],
            row["model"],
            variant_label(row),
            ",".join(map(str, row["seeds"])),
            _mean_std(row, "hr@10"),
            f"{paper['hr@10']:.4f}" if paper else "-",
            _mean_std(row, "ndcg@10"),
            f"{paper['ndcg@10']:.4f}" if paper else "-",
            ",".join(map(str, row["epochs_run"])),
            f"{row['epoch_s']:.0f}",
        )
    console.print(table)
    if payload["not_run"]:
        console.print(f"Not run yet: {', '.join(payload['not_run'])}")
    if stuck := stalled_runs(payload["runs"], pop):
        console.print(f"Stalled at the popularity level (best valid NDCG@10 under {STALLED_BELOW}x POP's): {stuck}")


def stalled_runs(runs: list[dict[str, Any]], pop: dict[str, Any]) -> str:
    """The `stalled` runs against these POP numbers, as the table and the results page name them ('' for none)."""
    return ", ".join(
        f"{run['dataset']} {run['model']} {variant_label(run)} seed {run['seed']}" for run in runs if stalled(run, pop)
    )


def variant_label(row: dict[str, Any]) -> str:
    """The variant with any departure from the reference protocol, e.g. "base (prefix rows)"."""
    departures = [row["protocol"]] if row.get("protocol") else []
    departures += ["history excluded"] if row.get("exclude_history") else []
    return row["variant"] + (f" ({', '.join(departures)})" if departures else "")


def _mean_std(row: dict[str, Any], metric: str) -> str:
    std = row["std"][metric]
    return f"{row['mean'][metric]:.4f}" + (f" ± {std:.4f}" if std is not None else "")


if __name__ == "__main__":
    main()
