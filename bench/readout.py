"""`make bench-readout`: SR-GNN in training, as it runs now (the readout in fused CPU kernels,
`gnn.models.fused_readout`, and node states computed once per class of equal nodes, `srgnn.one_step_classes`)
against the code before both (the named baseline: eager PyTorch readout, every node's state), on the same batches
in one run.

For each graph variant (the sequence-graph control and the knowledge-base variant, SASRec on ML-1M by default) the
bench builds the run's training windows exactly as `llmrg train` does from the bench's snapshot, then takes the
first `--batches` batches of epoch 1 and runs each training step (loss, backward) three ways on the same weights
and the same dropout draws: the baseline, as it runs now, and the base model alone (what the graphs add to). The
order of the three changes from batch to batch, so neither side always runs on a warmer cache. The steps' losses
and gradients of the baseline and of now are compared, so a kernel that computes something else fails the bench
instead of looking fast. Seconds per epoch for the training pass are extrapolated from the batches run to the
epoch's targets (labelled so); validation is not part of it.

Writes `bench/results/readout.json`; `make results` renders it into docs/RESULTS.md with a plot. A few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from bench.graph_server import ensure_kb_snapshot, ensure_snapshot
from bench.machine import describe, one_line
from bench.paths import RESULTS

console = Console()
VARIANTS = ("seq", "llmrg-kb")
MODES = ("baseline", "now", "base")
TOLERANCE = 1e-4
"""Largest relative difference allowed between the baseline's and now's losses and gradients
(`gradient_difference`; float32 sums over millions of pairs in another order)."""


def prepare_batches(dataset: str, variant_name: str, model: str, seed: int) -> tuple[Any, Any, Any, int]:
    """The model (untrained, seeded), epoch 1's batches as `llmrg train` draws them (`gnn.train.epoch_batches`),
    the run's config, and the epoch's training targets."""
    from core.settings import Settings
    from core.vocabulary import variant
    from gnn import pipeline
    from gnn.data import resolve_graph_source, split
    from gnn.snapshot import load_snapshot
    from gnn.train import build_recommender, epoch_batches, seed_everything

    settings = Settings()
    chosen = variant(variant_name)
    path = ensure_kb_snapshot(dataset) if chosen.edges_from == "knowledge_base" else ensure_snapshot(dataset)
    source = pipeline.SnapshotSource(load_snapshot(path), path)
    prepared = pipeline.prepare(source, dataset, chosen, False, False, kb_window=pipeline.kb_window(settings, dataset))
    config = pipeline.train_config(settings, dataset, model, chosen, seed, 1).model_copy(
        update={"checkpoint_dir": None}
    )
    graphs = resolve_graph_source(config.graph_kinds, config.max_len, prepared.graphs)
    seed_everything(seed)
    recommender = build_recommender(prepared.data, config)
    train_rows = split(prepared.data).train
    order = torch.Generator().manual_seed(seed)
    batches = epoch_batches(prepared.data, config, train_rows, train_rows, graphs, order, recommender)
    return recommender, batches, config, len(train_rows)


def step(model: Any, batch: Any, mode: str, seed: int) -> tuple[float, float, dict[str, torch.Tensor]]:
    """One training step's loss and backward in `mode`: seconds, loss, gradients by parameter name (dropout drawn
    from `seed`)."""
    for encoder in model.encoders.values():
        encoder.fused = encoder.share_states = mode == "now"
    network = model.base if mode == "base" else model
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    started = time.perf_counter()
    loss = network.window_loss(batch)
    loss.backward()
    seconds = time.perf_counter() - started
    gradients = {
        name: parameter.grad.detach().clone()
        for name, parameter in network.named_parameters()
        if parameter.grad is not None
    }
    return seconds, float(loss.detach()), gradients


def gradient_difference(found: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], prefix: str = "") -> float:
    """‖found - expected‖ / ‖expected‖ over the gradients of the parameters named `prefix`... together. Per
    parameter it would divide by gradients that are zero but for rounding: at initialisation the readout's
    attention maps get gradients of 1e-12, where float32 sums in another order differ by a large fraction of
    nothing. Over the whole model the base's gradients dominate, so the bench also checks SR-GNN's own
    (`prefix="encoders."`), where a wrong readout gradient would show."""
    names = [name for name in expected if name.startswith(prefix)]
    if sorted(names) != sorted(name for name in found if name.startswith(prefix)):
        return float("inf")  # a parameter got a gradient one way and none the other
    difference = sum(float((found[name] - expected[name]).double().pow(2).sum()) for name in names)
    scale = sum(float(expected[name].double().pow(2).sum()) for name in names)
    return (difference / max(scale, 1e-300)) ** 0.5


def measure(dataset: str, variant_name: str, model_name: str, steps: int, seed: int) -> dict[str, Any]:
    from gnn.models import fused_readout

    started = time.perf_counter()
    model, batches, config, epoch_targets = prepare_batches(dataset, variant_name, model_name, seed)
    prepare_s = time.perf_counter() - started
    model.train()
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    targets, pairs, worst = 0, 0, {"loss": 0.0, "model": 0.0, "encoders": 0.0}
    batch_s: list[float] = []
    draw = iter(batches.draw())
    built = time.perf_counter()
    batch = next(draw)
    batch_s.append(time.perf_counter() - built)
    for mode in MODES:  # one unmeasured step per mode: one-off costs (allocations, the kernels' load) fall here
        step(model, batch, mode, seed)
    for index in range(min(steps, batches.count)):
        if index > 0:
            built = time.perf_counter()
            batch = next(draw)
            batch_s.append(time.perf_counter() - built)
        targets += batch.target_count
        pairs += sum(graphs.member_node.numel() for graphs in batch.graphs.values())
        results: dict[str, tuple[float, float, dict[str, torch.Tensor]]] = {}
        for mode in MODES[index % 3 :] + MODES[: index % 3]:
            results[mode] = step(model, batch, mode, seed + index)
        for mode in MODES:
            seconds[mode].append(results[mode][0])
        baseline, now = results["baseline"], results["now"]
        worst["loss"] = max(worst["loss"], abs(now[1] - baseline[1]) / max(abs(baseline[1]), 1e-12))
        worst["model"] = max(worst["model"], gradient_difference(now[2], baseline[2]))
        worst["encoders"] = max(worst["encoders"], gradient_difference(now[2], baseline[2], "encoders."))
        console.print(
            f"{dataset} {variant_name} batch {index + 1}/{steps}: "
            + ", ".join(f"{mode} {seconds[mode][-1]:.2f} s" for mode in MODES),
            highlight=False,
        )
    if max(worst.values()) > TOLERANCE:
        raise SystemExit(
            f"{dataset} {variant_name}: now differs from the baseline by {worst} (relative), more than {TOLERANCE:.0e}"
        )
    per_target = {mode: sum(values) / targets for mode, values in seconds.items()}
    return {
        "dataset": dataset,
        "variant": variant_name,
        "model": model_name,
        "max_len": config.max_len,
        "windows_per_batch": config.windows_per_batch,
        "batches_run": len(seconds["base"]),
        "epoch_batches": batches.count,
        "targets_run": targets,
        "epoch_targets": epoch_targets,
        "readout_pairs_run": pairs,
        "step_s": {mode: sum(values) / len(values) for mode, values in seconds.items()},
        "epoch_train_s_extrapolated": {mode: value * epoch_targets for mode, value in per_target.items()},
        "batch_build_s": sum(batch_s) / len(batch_s),
        "speedup": per_target["baseline"] / per_target["now"],
        "graph_overhead_ratio": (per_target["baseline"] - per_target["base"])
        / max(per_target["now"] - per_target["base"], 1e-12),
        "largest_loss_difference": worst["loss"],
        "largest_gradient_difference": worst["model"],
        "largest_encoder_gradient_difference": worst["encoders"],
        "prepare_s": prepare_s,
        "kernels": fused_readout.kernels() is not None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from gnn.models import fused_readout

    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]  # other work on the machine slows both sides alike; the table says how much there was
    built = time.perf_counter()
    if fused_readout.kernels() is None:
        raise SystemExit("the fused readout kernels did not build here (see the warning above); nothing to compare")
    build_s = time.perf_counter() - built
    runs = [
        measure(dataset, variant_name, args.model, args.batches, args.seed)
        for dataset in args.datasets.split(",")
        for variant_name in args.variants.split(",")
    ]
    return {
        "machine": describe(),
        "baseline": "the eager PyTorch readout over every node's state (gnn/models/srgnn.py), same batches, weights "
        "and dropout draws",
        "settings": {"batches": args.batches, "threads": args.threads, "seed": args.seed, "model": args.model},
        "load_average_at_start": load,
        "kernel_load_s": build_s,
        "runs": runs,
    }


def print_table(result: dict[str, Any]) -> None:
    table = Table(
        title=f"SR-GNN in training, now against the eager baseline, {one_line(result['machine'])}, "
        f"{result['settings']['threads']} thread(s), load average {result['load_average_at_start']:.1f} at the start"
    )
    columns = (
        "dataset",
        "variant",
        "baseline s/step",
        "now s/step",
        "base s/step",
        "speed-up",
        "epoch baseline",
        "epoch now",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("dataset", "variant") else "right")
    for run in result["runs"]:
        step_s, epoch = run["step_s"], run["epoch_train_s_extrapolated"]
        table.add_row(
            run["dataset"],
            run["variant"],
            f"{step_s['baseline']:.2f}",
            f"{step_s['now']:.2f}",
            f"{step_s['base']:.2f}",
            f"{run['speedup']:.1f}x",
            f"{epoch['baseline']:,.0f} s",
            f"{epoch['now']:,.0f} s",
        )
    console.print(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ml-1m")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--model", default="sasrec")
    parser.add_argument("--batches", type=int, default=12, help="training steps measured per variant")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the training runs here use 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.batches < 1:
        parser.error("--batches must be at least 1")
    result = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "readout.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_table(result)


if __name__ == "__main__":
    main()
