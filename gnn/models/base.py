"""The one contract every recommender here meets, so one trainer and one evaluator serve them all.

Mirrors RecBole's `forward` / `calculate_loss` / `full_sort_predict` split as `encode` / `loss` / `score_all`.
Scores are dot products with the item embedding table over the real items 1..n_items; the padding row 0 (and a
[MASK] row n_items + 1 where a model needs one) is never a class and is never ranked.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

from gnn.batch import SequenceBatch, WindowBatch
from gnn.models.blocks import gather_last
from gnn.models.losses import linear_cross_entropy


def pad_scores(logits: Tensor) -> Tensor:
    """[B, n_items] scores of items 1..n -> [B, n_items + 1] with column 0 (padding) at -inf."""
    return F.pad(logits, (1, 0), value=float("-inf"))


def check_targets(targets: Tensor, n_items: int) -> None:
    """Fail with a readable message instead of an index error (or a CUDA assert) inside cross entropy."""
    if targets.numel() and (int(targets.min()) < 1 or int(targets.max()) > n_items):
        raise ValueError(f"targets must be item ids in 1..{n_items}; got {int(targets.min())}..{int(targets.max())}")


class Recommender(nn.Module, ABC):
    """What the trainer and evaluator rely on: a [B, d] representation, a training loss, full-ranking scores."""

    n_items: int

    @property
    @abstractmethod
    def item_table(self) -> Tensor:
        """[n_items, d] embeddings of the real items 1..n_items (row i is item i + 1)."""

    @abstractmethod
    def encode(self, batch: SequenceBatch) -> Tensor:
        """[B, d] representation that predicts each row's next item."""

    @abstractmethod
    def loss(self, batch: SequenceBatch) -> Tensor:
        """Scalar training loss for `batch` (full-softmax CE plus any auxiliary terms)."""

    def item_logits(self, representation: Tensor) -> Tensor:
        """[B, d] -> [B, n_items] scores of items 1..n_items."""
        return representation @ self.item_table.t()

    def next_item_loss(self, representation: Tensor, targets: Tensor) -> Tensor:
        """Full-softmax cross entropy over all real items; class c is item c + 1, so padding is never a class."""
        check_targets(targets, self.n_items)
        if type(self).item_logits is not Recommender.item_logits:  # a model with its own head (BERT4Rec's bias)
            return F.cross_entropy(self.item_logits(representation), targets - 1)
        return linear_cross_entropy(representation, self.item_table, targets - 1)

    def score_all(self, batch: SequenceBatch) -> Tensor:
        """[B, n_items + 1] scores, column 0 at -inf; call under `eval()` and `torch.no_grad()` to evaluate."""
        return pad_scores(self.item_logits(self.encode(batch)))

    def window_loss(self, batch: WindowBatch) -> Tensor:
        """Scalar training loss of a batch of windows, a mean over their counted targets (`gnn.windows`)."""
        raise NotImplementedError(f"{type(self).__name__} trains on prefix rows only (train_scheme='prefix')")


class SequentialRecommender(Recommender):
    """A base sequential model that owns the item table; the fusion model and the SR-GNN encoders share it.

    `mask_token=True` adds row n_items + 1 for models whose inputs contain [MASK] (BERT4Rec's cloze task,
    CL4SRec's item-mask augmentation); it is excluded from `item_table`, hence from every loss and ranking."""

    needs_positive_prefixes: ClassVar[bool] = False
    """Whether training windows must carry a same-target training prefix each (DuoRec's supervised positive)."""

    def __init__(self, n_items: int, max_len: int, hidden: int = 64, mask_token: bool = False) -> None:
        super().__init__()
        if n_items < 1 or max_len < 1 or hidden < 1:
            raise ValueError(f"n_items, max_len and hidden must be positive; got {n_items}, {max_len}, {hidden}")
        self.n_items = n_items
        self.max_len = max_len
        self.hidden = hidden
        self.mask_id = n_items + 1 if mask_token else None
        self.item_embedding = nn.Embedding(n_items + 1 + int(mask_token), hidden, padding_idx=0)

    @property
    def item_table(self) -> Tensor:
        return self.item_embedding.weight[1 : self.n_items + 1]

    def loss(self, batch: SequenceBatch) -> Tensor:
        representation = self.encode(batch)  # [B, d]
        return self.next_item_loss(representation, batch.targets) + self.auxiliary_loss(batch, representation)

    def auxiliary_loss(self, batch: SequenceBatch, representation: Tensor) -> Tensor:
        """The model's own extra objective given the [B, d] `encode` output of this pass (0 if it has none).

        The fusion model adds it to its own cross entropy, so contrastive models keep their regulariser."""
        return representation.new_zeros(())

    def position_states(self, items: Tensor) -> Tensor:
        """items [B, L] left-aligned -> [B, L, d]: at each real position the representation that predicts the next
        item from that position and the ones before it, so position p equals `encode` of the prefix ending at p
        (in eval mode; tested). Causal models only."""
        raise NotImplementedError(f"{type(self).__name__} has no causal all-position representation")

    def window_loss(self, batch: WindowBatch) -> Tensor:
        """Next-item cross entropy at every counted position of every window, plus the model's own term on each
        window's last state (`window_auxiliary_loss`)."""
        states = self.position_states(batch.items)  # [B, L, d]
        loss = self.next_item_loss(states[batch.counted], batch.targets[batch.counted])
        return loss + self.window_auxiliary_loss(batch, gather_last(states, batch.lengths))

    def window_auxiliary_loss(self, batch: WindowBatch, last_states: Tensor) -> Tensor:
        """The model's extra objective on a batch of windows, given the [B, d] state at each window's last position
        (0 if it has none)."""
        return last_states.new_zeros(())
