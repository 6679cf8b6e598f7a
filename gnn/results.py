"""Mean ± std over training seeds (design doc: 5 seeds, LLM outputs reused), as JSON, a table and a bar chart.

Runs are grouped by (dataset, model, variant name): two variants may share graph kinds (LLMRG and its
w/o-verification control both read G_rea and G_div, from different chains), so the kinds cannot tell them apart.
A group's runs must agree on every setting except the seed and
where or how fast they ran, so a table cell never mixes, say, linear and MLP fusion. The std is the sample
standard deviation over seeds (n - 1 in the denominator; 0 for a single seed).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from core.vocabulary import ACCEPTED_STATUSES, VARIANTS, Variant, variant

METRICS = ("hr@5", "hr@10", "ndcg@5", "ndcg@10")
TABLE_COLUMNS = ("dataset", "model", "variant", "seeds", *(metric.upper() for metric in METRICS))
PER_RUN_SETTINGS = frozenset({"seed", "checkpoint_dir", "device", "eval_batch_size", "fused_readout"})


def variant_of(result: Mapping[str, Any]) -> Variant:
    """The run's variant: its `variant` name (every result since variants were named), else the variant whose
    graph kinds the run used with verified chains (older results, which predate the w/o-verification control)."""
    if "variant" in result:
        return variant(str(result["variant"]))
    kinds = tuple(result["graph_kinds"])
    for known in VARIANTS.values():
        if known.graph_kinds == kinds and known.statuses == ACCEPTED_STATUSES:
            return known
    raise ValueError(f"no variant uses graph kinds {list(kinds)}")


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def _shared_settings(result: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a group's runs must share: the training config, and which users were trained and scored
    (all, the reasoned ones, or all trained and the reasoned ones scored), so no cell averages different users."""
    shared = {key: value for key, value in result["config"].items() if key not in PER_RUN_SETTINGS}
    shared["reasoned_users_only"] = result.get("reasoned_users_only", False)
    shared["evaluate_reasoned_only"] = result.get("evaluate_reasoned_only", False)
    return shared


def aggregate(results: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`TrainResult.as_json()` dicts -> one dict per group, in first-seen order:
    {dataset, model, graph_kinds, variant (its label), variant_name, seeds, n_seeds, valid/test: {metric: {mean,
    std}}, epoch_s: {mean, std}, peak_memory_mb (max over seeds)}."""
    groups: dict[tuple[str, str, Variant], list[Mapping[str, Any]]] = {}
    for result in results:
        key = (result["dataset"], result["model"], variant_of(result))
        groups.setdefault(key, []).append(result)
    out = []
    for (dataset, model, chosen), runs in groups.items():
        seeds = [run["seed"] for run in runs]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"{dataset}/{model}/{chosen.name}: seed listed twice in {sorted(seeds)}")
        reference = _shared_settings(runs[0])
        for run in runs[1:]:
            differing = sorted(key for key, value in _shared_settings(run).items() if reference.get(key) != value)
            if differing:
                raise ValueError(f"{dataset}/{model}/{chosen.name}: runs differ in {differing}")
        entry: dict[str, Any] = {
            "dataset": dataset,
            "model": model,
            "graph_kinds": list(runs[0]["graph_kinds"]),
            "variant": chosen.label,
            "variant_name": chosen.name,
            "seeds": seeds,
            "n_seeds": len(seeds),
        }
        for part in ("valid", "test"):
            entry[part] = {metric: _mean_std([run[part][metric] for run in runs]) for metric in METRICS}
        entry["epoch_s"] = _mean_std([run["epoch_s"] for run in runs])
        entry["peak_memory_mb"] = max(run["peak_memory_mb"] for run in runs)
        out.append(entry)
    return out


def load_results(paths: Iterable[Path]) -> list[dict[str, Any]]:
    return [json.loads(Path(path).read_text()) for path in paths]


def write_json(aggregates: Sequence[Mapping[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(aggregates), indent=2) + "\n")
    return path


def table_rows(aggregates: Sequence[Mapping[str, Any]], part: str = "test", digits: int = 4) -> list[list[str]]:
    """One row per group, columns TABLE_COLUMNS, cells "mean ± std"."""
    rows = []
    for entry in aggregates:
        cells = [f"{entry[part][m]['mean']:.{digits}f} ± {entry[part][m]['std']:.{digits}f}" for m in METRICS]
        rows.append([entry["dataset"], entry["model"], entry["variant"], str(entry["n_seeds"]), *cells])
    return rows


def plot(aggregates: Sequence[Mapping[str, Any]], path: Path, part: str = "test") -> Path:
    """Grouped bars per metric, one bar per model/variant, std error bars; one panel per dataset. Drawn on an Agg
    canvas without pyplot, so no global backend is touched."""
    datasets = list(dict.fromkeys(entry["dataset"] for entry in aggregates))
    if not datasets:
        raise ValueError("nothing to plot")
    figure = Figure(figsize=(7 * len(datasets), 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(datasets), squeeze=False)[0]
    for axis, dataset in zip(axes, datasets, strict=True):
        entries = [entry for entry in aggregates if entry["dataset"] == dataset]
        width = 0.8 / len(entries)
        for index, entry in enumerate(entries):
            offsets = [position - 0.4 + width * (index + 0.5) for position in range(len(METRICS))]
            means = [entry[part][metric]["mean"] for metric in METRICS]
            stds = [entry[part][metric]["std"] for metric in METRICS]
            label = f"{entry['model']} {entry['variant']} (n={entry['n_seeds']})"
            axis.bar(offsets, means, width, yerr=stds, capsize=3, label=label)
        axis.set_xticks(range(len(METRICS)), [metric.upper() for metric in METRICS])
        axis.set_title(f"{dataset} ({part}, mean ± std over seeds)")
        axis.set_ylim(bottom=0)
        axis.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
