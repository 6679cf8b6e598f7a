"""`bench.paper.broken_bounds`: leave-one-out metrics computed from any ranks keep the bounds, our published runs
keep them, and the paper rows that break them are named."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from bench.paper import PAPER, broken_bounds

pytestmark = pytest.mark.unit
PUBLISHED = Path(__file__).resolve().parents[2] / "bench" / "results" / "reproduce"


def metrics_of(ranks: list[int]) -> dict[str, float]:
    """HR and NDCG at 5 and 10 of one target per user at these 1-based ranks, rounded as a paper prints them."""
    values = {}
    for k in (5, 10):
        values[f"hr@{k}"] = sum(rank <= k for rank in ranks) / len(ranks)
        values[f"ndcg@{k}"] = sum(1 / math.log2(rank + 1) for rank in ranks if rank <= k) / len(ranks)
    return {key: round(value, 4) for key, value in values.items()}


def test_metrics_from_any_ranks_keep_the_bounds() -> None:
    generator = random.Random(0)
    for _ in range(200):
        users, spread = generator.randint(50, 5000), generator.choice([3, 10, 30, 300, 3000])
        assert broken_bounds(metrics_of([generator.randint(1, spread) for _ in range(users)])) == []


def test_a_row_with_too_much_ndcg_for_its_hits_is_named() -> None:
    [reason] = broken_bounds({"hr@5": 0.2011, "hr@10": 0.2837, "ndcg@5": 0.1265, "ndcg@10": 0.1663})
    assert reason == "NDCG@10 - NDCG@5 = 0.0398 lies outside the 0.0239-0.0294 that HR@10 - HR@5 allows"
    assert broken_bounds({"hr@5": 0.05, "hr@10": 0.08, "ndcg@5": 0.06, "ndcg@10": 0.07})  # NDCG@5 over HR@5


def test_our_published_runs_keep_the_bounds_and_the_paper_rows_that_break_them_are_these() -> None:
    runs = sorted(PUBLISHED.glob("*.json"))
    assert runs
    for path in runs:
        assert broken_bounds(json.loads(path.read_text())["test"]) == [], path.name
    broken = {key for key, metrics in PAPER.items() if broken_bounds(metrics)}
    assert broken == {
        ("ml-1m", "duorec", "base"),
        ("ml-1m", "cl4srec", "base"),
        ("ml-1m", "fdsa", "base"),
        ("beauty", "cl4srec", "base"),
        ("beauty", "fdsa", "base"),
    }
