"""`llmrg train` warns when early stopping ended a run at the most-popular baseline's level."""

from __future__ import annotations

import pytest

from gnn.evaluate import stalled
from llmrg.cli_gnn import warn_if_stalled

pytestmark = pytest.mark.unit


def test_a_run_at_the_popularity_level_is_stalled_and_the_cli_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert stalled(0.012, 0.0113) and not stalled(0.03, 0.0113)
    level = {"valid": {"ndcg@10": 0.0113}, "test": {"ndcg@10": 0.0103}}
    warn_if_stalled({"valid": {"ndcg@10": 0.0122}, "all_users": None, "popularity": level})
    assert "most-popular baseline's 0.0113" in " ".join(capsys.readouterr().err.split())
    warn_if_stalled({"valid": {"ndcg@10": 0.09}, "all_users": None, "popularity": level})
    # a subset's metrics may sit low; the run is judged on every user's validation
    warn_if_stalled({"valid": {"ndcg@10": 0.001}, "all_users": {"valid": {"ndcg@10": 0.09}}, "popularity": level})
    assert capsys.readouterr().err == ""
