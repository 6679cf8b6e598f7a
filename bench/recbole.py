"""Our base models against RecBole's implementation of the same model: same data, same machine, same run.

The issue's speed target: no model of ours is slower per epoch than RecBole's implementation of it. The parent
exports the dataset from Neo4j once, writes it both as our `SequenceData` and as RecBole atomic files (item k of
ours is RecBole token k; timestamps are positions, so both sides see the same order and the same leave-one-out
split), stops Neo4j, and then trains each (model, implementation) pair for `--epochs` in a fresh child process,
so both sides start from an empty process and have the machine to themselves.

What is compared, identically on both sides:
- seconds per epoch: one pass over every training prefix plus the full-ranking validation, mean over epochs;
- peak memory: the child's `getrusage` max RSS (its whole lifetime: interpreter, libraries, data, model);
- test HR@10 / NDCG@10 of the best validation epoch, ranking every item (our `exclude_history` is off for this bench,
  because RecBole's sequential evaluation does not remove history items), as a check that both learn alike.

Hyper-parameters: RecBole gets ours (layers, heads, inner size, dropout, activation, d = 64, max length 50,
batch 256, Adam 1e-3, full-softmax cross entropy, BERT4Rec's mask ratio), read from our models' signatures.
RecBole's SASRec is post-LN and ours pre-LN, as in the SASRec paper. RecBole 1.2.1 has no CL4SRec or DuoRec, so
those two have no comparison (written into the JSON).

RecBole 1.2.1 predates NumPy 2 and pandas 3: it is installed with `pandas<3` (`pip install -e '.[recbole]'`,
done by `make bench-recbole`), and the child restores the three NumPy aliases it still uses before importing it.
Run: `python -m bench.recbole --dataset beauty --models sasrec,bert4rec,fdsa --epochs 2` (`--merge` redoes some
models and keeps the others' pairs, each run with its commit).
"""

from __future__ import annotations

import argparse
import copy
import inspect
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.graph_server import bench_neo4j, ensure_dataset
from bench.machine import describe, one_line
from bench.paths import RESULTS, ROOT
from core.vocabulary import MODEL_NAMES

RECBOLE_MODELS = {"sasrec": "SASRec", "bert4rec": "BERT4Rec", "fdsa": "FDSA"}
"""Our model name -> RecBole's class name, for the models RecBole 1.2.1 implements."""
IMPLEMENTATIONS = ("llmrg", "recbole")
MAX_LEN = 50
FEATURE_FIELD = "attributes"
console = Console(stderr=True)


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    subcommands = parser.add_subparsers(dest="command")
    child = subcommands.add_parser("child", help="(internal) train one implementation and print its JSON")
    child.add_argument("--implementation", choices=IMPLEMENTATIONS, required=True)
    child.add_argument("--model", required=True)
    child.add_argument("--workdir", type=Path, required=True)
    child.add_argument("--epochs", type=int, required=True)
    child.add_argument("--seed", type=int, required=True)
    parser.add_argument("--dataset", default="beauty")
    parser.add_argument("--models", default="sasrec,bert4rec,fdsa")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".llmrg" / "bench" / "recbole")
    parser.add_argument(
        "--merge", action="store_true", help="Keep the models already in recbole.json that this run does not redo"
    )
    args = parser.parse_args()
    if args.command == "child":
        print(json.dumps(train_child(args.implementation, args.model, args.workdir, args.epochs, args.seed)))
        return {}
    return compare(args)


def compare(args: argparse.Namespace) -> dict[str, Any]:
    models = args.models.split(",")
    unknown = [model for model in models if model not in MODEL_NAMES]
    if unknown:
        raise SystemExit(f"unknown models {unknown}")
    workdir = (args.workdir / args.dataset).resolve()
    recbole_version = installed_recbole()
    export_once(args.dataset, workdir)
    runs: list[dict[str, Any]] = []
    for model in models:
        for implementation in IMPLEMENTATIONS:
            if implementation == "recbole" and (recbole_version is None or model not in RECBOLE_MODELS):
                continue
            console.print(f"[bold]{model}[/bold] ({implementation}): {args.epochs} epoch(s) on {args.dataset}")
            runs.append(run_child(implementation, model, workdir, args.epochs, args.seed))
    return write(args, models, runs, recbole_version)


def installed_recbole() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("recbole")
    except metadata.PackageNotFoundError:
        console.print("[yellow]RecBole is not installed[/yellow] (`pip install -e '.[recbole]'`): ours only")
        return None


def export_once(dataset: str, workdir: Path) -> None:
    """Export `dataset` from the bench Neo4j into `workdir` (our tensors and RecBole's atomic files)."""
    import torch

    from gnn.export import export_dataset

    with bench_neo4j() as (settings, db):  # stopped before the children train, on a quiet machine
        ensure_dataset(db, settings, dataset)
        data = export_dataset(db, dataset, progress=True).data
    workdir.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "dataset": data.dataset,
            "n_items": data.n_items,
            "sequences": {user: list(items) for user, items in data.sequences.items()},
            "item_features": data.item_features,
            "n_features": data.n_features,
        },
        workdir / "data.pt",
    )
    write_atomic_files(data, workdir / "atomic" / dataset)


def write_atomic_files(data: Any, folder: Path) -> None:
    """`<dataset>.inter` (user, item, position as timestamp) and, with attributes, `<dataset>.item`."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{data.dataset}.inter").open("w", encoding="utf-8") as inter:
        inter.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for user in sorted(data.sequences):
            for position, item in enumerate(data.sequences[user]):
                inter.write(f"{user}\t{item}\t{position}\n")
    if data.item_features is None:
        return
    with (folder / f"{data.dataset}.item").open("w", encoding="utf-8") as items:
        items.write(f"item_id:token\t{FEATURE_FIELD}:token_seq\n")
        for item in range(1, data.n_items + 1):
            features = [str(int(feature)) for feature in data.item_features[item] if int(feature) != 0]
            items.write(f"{item}\t{' '.join(features) or '0'}\n")


def run_child(implementation: str, model: str, workdir: Path, epochs: int, seed: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.recbole", "child", "--implementation", implementation]
    command += ["--model", model, "--workdir", str(workdir), "--epochs", str(epochs), "--seed", str(seed)]
    finished = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False, cwd=ROOT)
    if finished.returncode != 0:
        raise SystemExit(f"{implementation} {model} failed (exit {finished.returncode}); its log is above")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def train_child(implementation: str, model: str, workdir: Path, epochs: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    if implementation == "llmrg":
        result = train_ours(model, workdir, epochs, seed)
    else:
        result = train_recbole(model, workdir, epochs, seed)
    return {
        "implementation": implementation,
        "model": model,
        "epochs": epochs,
        "seed": seed,
        **result,
        "epoch_s": sum(result["epoch_s_each"]) / len(result["epoch_s_each"]),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "child_wall_s": time.perf_counter() - started,
    }


def load_data(workdir: Path) -> Any:
    import torch

    from gnn.data import SequenceData

    saved = torch.load(workdir / "data.pt", weights_only=True)
    return SequenceData(
        dataset=saved["dataset"],
        n_items=saved["n_items"],
        sequences=saved["sequences"],
        item_features=saved["item_features"],
        n_features=saved["n_features"],
    )


def train_ours(model: str, workdir: Path, epochs: int, seed: int) -> dict[str, Any]:
    from gnn.config import TrainConfig
    from gnn.data import split
    from gnn.models.reference import reference_settings, windows_per_batch
    from gnn.train import train

    data = load_data(workdir)
    config = TrainConfig(
        model=model,  # type: ignore[arg-type]
        epochs=epochs,
        patience=epochs + 1,
        seed=seed,
        max_len=MAX_LEN,
        exclude_history=False,
        windows_per_batch=windows_per_batch(model, data.dataset),
        **reference_settings(model, data.dataset).overrides(),
    )
    result = train(data, config, progress=True, resume=False)
    return {
        "train_rows": len(split(data).train),
        "epoch_s_each": [entry["epoch_s"] for entry in result.history],
        "best_epoch": result.best_epoch,
        "valid": result.valid,
        "test": result.test,
        "versions": versions(),
    }


def model_defaults(model: str, dataset: str) -> dict[str, Any]:
    """Our model's layers, heads, inner size and activation (class defaults) and its reference dropout and mask
    ratio on `dataset` (`gnn.models.reference`, as our side trains), as RecBole config keys."""
    from gnn.models import MODELS
    from gnn.models.reference import reference_settings

    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(MODELS[model].__init__).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    defaults |= reference_settings(model, dataset).overrides()
    config = {
        "hidden_size": 64,
        "n_layers": defaults["n_layers"],
        "n_heads": defaults["n_heads"],
        "inner_size": defaults["inner_size"],
        "hidden_dropout_prob": defaults["dropout"],
        "attn_dropout_prob": (
            defaults["dropout"] if defaults.get("attention_dropout") is None else defaults["attention_dropout"]
        ),
        "hidden_act": defaults.get("activation", "gelu"),
        "loss_type": "CE",
    }
    if model == "bert4rec":
        config["mask_ratio"] = defaults["mask_prob"]
    if model == "fdsa":
        config |= {"selected_features": [FEATURE_FIELD], "pooling_mode": "mean"}
    return config


def train_recbole(model: str, workdir: Path, epochs: int, seed: int) -> dict[str, Any]:
    import numpy as np

    for alias, kind in (("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)):
        if alias not in np.__dict__:
            setattr(np, alias, kind)  # removed in NumPy 2; RecBole 1.2.1 still names them
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    dataset = next(path.name for path in (workdir / "atomic").iterdir())
    load_col: dict[str, list[str]] = {"inter": ["user_id", "item_id", "timestamp"]}
    if model == "fdsa":
        load_col["item"] = ["item_id", FEATURE_FIELD]
    config = Config(
        model=RECBOLE_MODELS[model],
        dataset=dataset,
        config_dict={
            "data_path": str(workdir / "atomic"),
            "checkpoint_dir": str(workdir / "recbole-checkpoints"),
            "USER_ID_FIELD": "user_id",
            "ITEM_ID_FIELD": "item_id",
            "TIME_FIELD": "timestamp",
            "load_col": load_col,
            "user_inter_num_interval": "[0,inf)",
            "item_inter_num_interval": "[0,inf)",
            "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
            "train_neg_sample_args": None,
            "MAX_ITEM_LIST_LENGTH": MAX_LEN,
            "train_batch_size": 256,
            "eval_batch_size": 512,
            "learning_rate": 1e-3,
            "epochs": epochs,
            "metrics": ["Hit", "NDCG"],
            "topk": [5, 10],
            "valid_metric": "NDCG@10",
            "use_gpu": False,
            "device": "cpu",
            "seed": seed,
            "reproducibility": True,
            "show_progress": True,
            "save_dataset": False,
            "save_dataloaders": False,
            **model_defaults(model, dataset),
        },
    )
    os.chdir(workdir)  # RecBole's trainer writes TensorBoard logs under the working directory
    init_seed(config["seed"], config["reproducibility"])
    recbole_data = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, recbole_data)
    network = get_model(config["model"])(config, train_data.dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, network)
    # RecBole's `fit` loop, timed the way ours is (training pass + full-ranking validation per epoch), keeping
    # the best validation epoch's weights for the test, as ours does.
    epoch_s: list[float] = []
    best: tuple[float, int, dict[str, float], dict[str, Any]] = (-1.0, 0, {}, {})
    for epoch in range(epochs):
        started = time.perf_counter()
        trainer._train_epoch(train_data, epoch, show_progress=True)
        score, valid = trainer._valid_epoch(valid_data, show_progress=False)
        epoch_s.append(time.perf_counter() - started)
        if score > best[0]:
            best = (score, epoch + 1, metrics_of(valid), copy.deepcopy(network.state_dict()))
    network.load_state_dict(best[3])
    test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    return {
        "train_rows": len(train_data.dataset),
        "epoch_s_each": epoch_s,
        "best_epoch": best[1],
        "valid": best[2],
        "test": metrics_of(test),
        "versions": versions(),
    }


def metrics_of(recbole: Any) -> dict[str, float]:
    """RecBole's `hit@k` / `ndcg@k` under our names."""
    return {name.replace("hit@", "hr@"): float(value) for name, value in dict(recbole).items()}


def versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for package in ("torch", "numpy", "recbole", "pandas"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def write(
    args: argparse.Namespace, models: list[str], runs: list[dict[str, Any]], recbole: str | None
) -> dict[str, Any]:
    machine = describe()
    runs = [run | {"commit": machine["commit"]} for run in runs]
    previous_path = RESULTS / "recbole.json"
    if args.merge and previous_path.is_file():
        previous = json.loads(previous_path.read_text())
        if previous["dataset"] != args.dataset or previous["protocol"]["epochs"] != args.epochs:
            raise SystemExit("--merge needs the same --dataset and --epochs as the runs in recbole.json")
        earlier = previous["machine"]["commit"]
        kept = [run | {"commit": run.get("commit", earlier)} for run in previous["runs"] if run["model"] not in models]
        runs = kept + runs
        models = list(dict.fromkeys([run["model"] for run in kept] + models))
    by_key = {(run["model"], run["implementation"]): run for run in runs}
    comparisons = []
    for model in models:
        ours, theirs = by_key.get((model, "llmrg")), by_key.get((model, "recbole"))
        if ours is None:
            continue
        comparisons.append(
            {
                "model": model,
                "llmrg_epoch_s": ours["epoch_s"],
                "recbole_epoch_s": theirs["epoch_s"] if theirs else None,
                "epoch_ratio": ours["epoch_s"] / theirs["epoch_s"] if theirs else None,
                "llmrg_peak_rss_mb": ours["peak_rss_mb"],
                "recbole_peak_rss_mb": theirs["peak_rss_mb"] if theirs else None,
                "meets_target": ours["epoch_s"] <= theirs["epoch_s"] if theirs else None,
                "why_not_compared": None if theirs else not_compared_reason(model, recbole),
            }
        )
    payload = {
        "benchmark": "recbole",
        "machine": machine,
        "commits": sorted({run["commit"] for run in runs}),
        "baseline": f"RecBole {recbole}" if recbole else "RecBole (not installed in this run)",
        "target": "each of our models takes no longer per epoch than RecBole's implementation of it",
        "dataset": args.dataset,
        "protocol": {"epochs": args.epochs, "seed": args.seed, "max_len": MAX_LEN, "exclude_history": False},
        "comparisons": comparisons,
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "recbole.json").write_text(json.dumps(payload, indent=2) + "\n")
    table = Table(title=f"Ours vs RecBole on {args.dataset}, {args.epochs} epoch(s) — {one_line(payload['machine'])}")
    for column in ("model", "impl", "train rows", "s/epoch", "peak RSS MiB", "HR@10", "NDCG@10"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            run["model"],
            run["implementation"],
            str(run["train_rows"]),
            f"{run['epoch_s']:.1f}",
            f"{run['peak_rss_mb']:.0f}",
            f"{run['test'].get('hr@10', float('nan')):.4f}",
            f"{run['test'].get('ndcg@10', float('nan')):.4f}",
        )
    Console(width=140).print(table)
    for comparison in comparisons:
        ratio = comparison["epoch_ratio"]
        verdict = comparison["why_not_compared"] or f"ours/RecBole per epoch {ratio:.2f}x"
        Console(width=140).print(f"{comparison['model']}: {verdict}")
    return payload


def not_compared_reason(model: str, recbole: str | None) -> str:
    if recbole is None:
        return "RecBole is not installed in this run"
    return f"RecBole {recbole} has no {model} model"


if __name__ == "__main__":
    main()
