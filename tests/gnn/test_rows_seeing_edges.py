"""The check that the reasoning graphs reach the rows (`llmrg train` reports it, the ablation bench warns):
an edge made at step t is seen only by prefixes longer than t, so chains stamped at the test position are seen
by no row."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from gnn.export import UserEdges
from gnn.pipeline import rows_seeing_edges

pytestmark = pytest.mark.unit


def edges(*stamps: int) -> UserEdges:
    t = torch.tensor(stamps, dtype=torch.long)
    return UserEdges(src=torch.ones_like(t), dst=torch.ones_like(t) * 2, t=t)


def test_rows_seeing_edges_follow_the_prefix_rule() -> None:
    export = SimpleNamespace(
        data=SimpleNamespace(sequences={1: list(range(10)), 2: list(range(10)), 3: list(range(10)), 4: [1, 2, 3]}),
        edges={"rea": {1: edges(9), 2: edges(8, 9), 3: edges(6)}, "div": {3: edges(2)}},
    )
    seen = rows_seeing_edges(export, ("rea", "div"), {1, 2, 3, 4})
    # user 1: stamped at the test position (9), seen by nothing; user 2: the test row only (prefix 9 > 8);
    # user 3: first edge at 2 -> training prefixes 3..7 (5 rows), validation (8) and test (9).
    assert seen == {"train": 5, "valid": 1, "test": 2}
    # Without G_div (w/o divergent extension) user 3's first edge is at 6: training prefixes 7 only.
    assert rows_seeing_edges(export, ("rea",), {1, 2, 3, 4}) == {"train": 1, "valid": 1, "test": 2}
    assert rows_seeing_edges(export, ("rea",), {1}) == {"train": 0, "valid": 0, "test": 0}
