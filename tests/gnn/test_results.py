from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gnn.config import TrainConfig
from gnn.results import TABLE_COLUMNS, aggregate, plot, table_rows, variant_of, write_json

pytestmark = pytest.mark.unit


def fake(
    seed: int, value: float, kinds: tuple[str, ...] = ("rea", "div"), variant: str | None = None, **settings: Any
) -> dict[str, Any]:
    """A result.json as `llmrg train` writes it; without `variant`, one from before runs named their variant."""
    metrics = {"hr@5": value, "hr@10": 2 * value, "ndcg@5": value / 2, "ndcg@10": value / 4}
    config = TrainConfig(model="duorec", graph_kinds=kinds, seed=seed, **settings)
    return {
        "model": "duorec",
        "dataset": "ml-1m",
        "graph_kinds": list(kinds),
        "seed": seed,
        "valid": metrics,
        "test": metrics,
        "epoch_s": 10.0 * (seed + 1),
        "peak_memory_mb": 100.0 + seed,
        "config": config.model_dump(mode="json"),
    } | ({"variant": variant} if variant else {})


def test_mean_and_std_over_seeds() -> None:
    groups = aggregate([fake(0, 0.25), fake(1, 0.5), fake(2, 0.75), fake(0, 0.125, ())])
    assert [(group["variant"], group["seeds"]) for group in groups] == [("+LLMRG", [0, 1, 2]), ("base", [0])]
    llmrg, base = groups
    assert llmrg["test"] == {
        "hr@5": {"mean": 0.5, "std": 0.25},
        "hr@10": {"mean": 1.0, "std": 0.5},
        "ndcg@5": {"mean": 0.25, "std": 0.125},
        "ndcg@10": {"mean": 0.125, "std": 0.0625},
    }
    assert (llmrg["epoch_s"], llmrg["peak_memory_mb"]) == ({"mean": 20.0, "std": 10.0}, 102.0)
    assert base["test"]["hr@5"] == {"mean": 0.125, "std": 0.0}
    assert table_rows(groups)[0] == [
        "ml-1m",
        "duorec",
        "+LLMRG",
        "3",
        "0.5000 ± 0.2500",
        "1.0000 ± 0.5000",
        "0.2500 ± 0.1250",
        "0.1250 ± 0.0625",
    ]
    assert len(TABLE_COLUMNS) == len(table_rows(groups)[1]) == 8


def test_runs_that_cannot_be_averaged_are_refused() -> None:
    with pytest.raises(ValueError, match="seed listed twice"):
        aggregate([fake(0, 0.25), fake(0, 0.5)])
    with pytest.raises(ValueError, match=r"runs differ in \['fusion'\]"):
        aggregate([fake(0, 0.25), fake(1, 0.5, fusion="mlp")])
    assert aggregate([fake(0, 0.25), fake(1, 0.5, device="cuda", eval_batch_size=7)])[0]["n_seeds"] == 2
    scored_on_reasoned = fake(1, 0.5) | {"evaluate_reasoned_only": True}
    with pytest.raises(ValueError, match=r"runs differ in \['evaluate_reasoned_only'\]"):
        aggregate([fake(0, 0.25), scored_on_reasoned])


def test_variants_of_older_results_come_from_their_graph_kinds() -> None:
    kinds = [(), ("seq",), ("rea", "div"), ("rea",)]
    assert [variant_of(fake(0, 0.1, tuple(k))).label for k in kinds] == [
        "base",
        "+SR-GNN (sequence graph)",
        "+LLMRG",
        "+LLMRG w/o divergent",
    ]
    with pytest.raises(ValueError, match="no variant uses graph kinds"):
        variant_of(fake(0, 0.1, ("div", "seq")))


def test_two_variants_with_the_same_graphs_and_two_seeds_aggregate_apart() -> None:
    """LLMRG and its w/o-verification control read the same graph kinds: grouped by kinds they collided (a seed
    "listed twice"), or silently averaged when their seeds differed."""
    runs = [
        fake(0, 0.25, variant="llmrg"),
        fake(0, 0.5, variant="llmrg-no-verify"),
        fake(1, 0.75, variant="llmrg"),
        fake(1, 1.0, variant="llmrg-no-verify"),
    ]
    groups = aggregate(runs)
    assert [(g["variant_name"], g["variant"], g["seeds"]) for g in groups] == [
        ("llmrg", "+LLMRG", [0, 1]),
        ("llmrg-no-verify", "+LLMRG w/o verification", [0, 1]),
    ]
    assert [g["test"]["hr@5"]["mean"] for g in groups] == [0.5, 0.75]


def test_json_and_png_are_written(tmp_path: Path) -> None:
    groups = aggregate([fake(0, 0.25), fake(1, 0.5), fake(0, 0.125, ()), fake(0, 0.2, ("seq",))])
    assert json.loads(write_json(groups, tmp_path / "out" / "summary.json").read_text()) == groups
    png = plot(groups, tmp_path / "out" / "summary.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 5000
