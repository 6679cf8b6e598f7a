from __future__ import annotations

import math

import pytest
import torch

from gnn.metrics import MetricAccumulator, per_user_metrics, ranking_metrics, target_ranks

pytestmark = pytest.mark.unit

# 5 items; column 0 is padding and carries the highest score on purpose.
SCORES = torch.tensor(
    [
        [100.0, 0.1, 0.5, 0.9, 0.3, 0.7],
        [100.0, 0.9, 0.5, 0.1, 0.3, 0.7],
    ]
)


def test_rank_three_gives_the_hand_computed_values() -> None:
    targets = torch.tensor([2, 1])  # item 2 is beaten by items 3 and 5; item 1 is the best
    assert target_ranks(SCORES, targets).tolist() == [3, 1]
    metrics = ranking_metrics(SCORES, targets, ks=(2, 3))
    assert metrics == {"hr@2": 0.5, "ndcg@2": 0.5, "hr@3": 1.0, "ndcg@3": (1 / math.log2(4) + 1.0) / 2}
    assert metrics["ndcg@3"] == 0.75


def test_the_default_cutoffs_are_five_and_ten() -> None:
    assert set(ranking_metrics(SCORES, torch.tensor([2, 1]))) == {"hr@5", "hr@10", "ndcg@5", "ndcg@10"}


def test_ties_are_broken_against_the_target() -> None:
    tied = torch.tensor([[0.0, 0.2, 0.5, 0.5, 0.1, 0.5]])
    assert target_ranks(tied, torch.tensor([3])).tolist() == [3]
    constant = torch.zeros(3, 6)
    assert target_ranks(constant, torch.tensor([1, 3, 5])).tolist() == [5, 5, 5]
    assert ranking_metrics(constant, torch.tensor([1, 3, 5]), ks=(1, 4)) == {
        "hr@1": 0.0,
        "ndcg@1": 0.0,
        "hr@4": 0.0,
        "ndcg@4": 0.0,
    }


def test_a_cutoff_beyond_the_item_count_is_fine() -> None:
    metrics = ranking_metrics(SCORES[:1], torch.tensor([4]), ks=(10,))  # item 4 ranks 4th of 5
    assert metrics == {"hr@10": 1.0, "ndcg@10": 1 / math.log2(5)}


def test_the_padding_column_is_never_ranked() -> None:
    scores = SCORES.clone()
    scores[:, 0] = float("inf")
    assert target_ranks(scores, torch.tensor([3, 1])).tolist() == [1, 1]
    with pytest.raises(ValueError, match="targets must be item ids"):
        target_ranks(scores, torch.tensor([0, 1]))


def test_excluded_items_leave_the_ranking_but_the_target_never_does() -> None:
    targets = torch.tensor([2, 2])
    assert target_ranks(SCORES, targets, exclude=[[3, 5], [2, 1]]).tolist() == [1, 2]
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[0, [3, 5]] = True
    mask[1, [2, 1]] = True
    assert target_ranks(SCORES, targets, exclude=mask).tolist() == [1, 2]
    assert target_ranks(SCORES, targets, exclude=[[], []]).tolist() == [3, 3]


def test_per_user_values_and_the_accumulator_agree_with_one_big_batch() -> None:
    ranks = torch.tensor([1, 2, 11])
    per_user = per_user_metrics(ranks, ks=(10,))
    assert per_user["hr@10"].tolist() == [1.0, 1.0, 0.0]
    assert per_user["ndcg@10"].tolist() == [1.0, 1 / math.log2(3), 0.0]

    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(7, 21, generator=generator)
    targets = torch.randint(1, 21, (7,), generator=generator)
    accumulator = MetricAccumulator(ks=(5, 10))
    first = accumulator.update(scores[:3], targets[:3])
    second = accumulator.update(scores[3:], targets[3:])
    assert torch.equal(torch.cat([first, second]), target_ranks(scores, targets))
    assert accumulator.count == 7
    assert accumulator.compute() == pytest.approx(ranking_metrics(scores, targets), abs=1e-12)
    with pytest.raises(ValueError, match="no users"):
        MetricAccumulator().compute()
