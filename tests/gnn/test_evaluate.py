from __future__ import annotations

import pytest
import torch
from torch import Tensor

from gnn.batch import SequenceBatch
from gnn.config import TrainConfig
from gnn.data import SequenceData, split
from gnn.evaluate import evaluate, evaluate_ranks, popularity_metrics, popularity_ranks, popularity_scores
from gnn.models import Recommender

pytestmark = pytest.mark.unit

N_ITEMS = 16
# Test rows: [1, 2, 3, 4] -> 7, [7, 4] -> 1, [2, 3] -> 16.
DATA = SequenceData("fixed", N_ITEMS, {1: [1, 2, 3, 4, 7], 2: [7, 4, 1], 3: [2, 3, 16]})


class FixedScores(Recommender):
    """Item i scores 17 - i for every row (item 1 best), and padding the highest score of all."""

    def __init__(self) -> None:
        super().__init__()
        self.n_items = N_ITEMS
        self.scores = torch.tensor([1000.0, *(float(N_ITEMS + 1 - item) for item in range(1, N_ITEMS + 1))])

    @property
    def item_table(self) -> Tensor:
        raise NotImplementedError

    def encode(self, batch: SequenceBatch) -> Tensor:
        raise NotImplementedError

    def loss(self, batch: SequenceBatch) -> Tensor:
        raise NotImplementedError

    def score_all(self, batch: SequenceBatch) -> Tensor:
        assert not self.training and not torch.is_grad_enabled()
        return self.scores.expand(batch.size, -1).clone()


@pytest.mark.parametrize("eval_batch_size", [1, 2, 64])
def test_ranks_exclude_the_history_and_never_count_padding(eval_batch_size: int) -> None:
    rows = split(DATA).test
    model = FixedScores()
    with_history = TrainConfig(eval_batch_size=eval_batch_size, max_len=2, exclude_history=False)
    without_history = TrainConfig(eval_batch_size=eval_batch_size, max_len=2)
    # excluded: all of [1, 2, 3, 4] although the model reads only [3, 4]
    assert evaluate_ranks(model, rows, with_history).tolist() == [7, 1, 16]
    assert evaluate_ranks(model, rows, without_history).tolist() == [3, 1, 14]
    assert model.training


def test_metrics_equal_hand_computed_values() -> None:
    rows = split(DATA).test
    model = FixedScores()
    ranked_everything = evaluate(model, rows, DATA, TrainConfig(exclude_history=False))
    assert list(ranked_everything) == ["hr@5", "hr@10", "ndcg@5", "ndcg@10"]
    assert ranked_everything["hr@5"] == pytest.approx(1 / 3, rel=1e-15)
    assert ranked_everything["hr@10"] == pytest.approx(2 / 3, rel=1e-15)
    assert ranked_everything["ndcg@5"] == pytest.approx(1 / 3, rel=1e-15)
    assert ranked_everything["ndcg@10"] == pytest.approx((1 / 3 + 1) / 3, rel=1e-15)  # rank 7: 1 / log2(8)
    assert evaluate(model, rows, DATA, TrainConfig()) == {
        "hr@5": 2 / 3,
        "hr@10": 2 / 3,
        "ndcg@5": 0.5,  # (1 / log2(4) + 1 + 0) / 3
        "ndcg@10": 0.5,
    }


def test_evaluate_refuses_a_model_for_other_data() -> None:
    other = SequenceData("other", N_ITEMS + 1, {1: [1, 2, 3]})
    with pytest.raises(ValueError, match="ranks 16 items but other has 17"):
        evaluate(FixedScores(), split(other).test, other, TrainConfig())


def test_the_popularity_baseline_ranks_items_by_training_count_for_everyone() -> None:
    """Training targets are items 2 and 3 (user 1's [1, 2, 3, 4, 7] up to its valid row; users 2 and 3 have
    none), so they lead the one list and every other item ties at zero, ranked pessimistically."""
    rows = split(DATA)
    scores = popularity_scores(DATA, rows.train)
    assert popularity_ranks(scores, rows.valid, exclude_history=False).tolist() == [16, 16, 2]  # targets 4, 4, 3
    assert popularity_ranks(scores, rows.valid, exclude_history=True).tolist() == [13, 15, 1]
    metrics = popularity_metrics(DATA, exclude_history=False)
    assert metrics["valid"]["hr@5"] == pytest.approx(1 / 3) and metrics["test"]["hr@10"] == 0.0
