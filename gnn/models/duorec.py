"""DuoRec: "Contrastive Learning for Representation Degeneration Problem in Sequential Recommendation" (Qiu et al.,
WSDM 2022).

A SASRec encoder trained with L = L_rec + λ L_reg. L_reg is NT-Xent that pulls together
    h' = a dropout pass over the sequence (model-level augmentation: no item is altered, only the dropout mask),
    h'_s = a dropout pass over another sequence with the same next item (supervised positive),
with the other 2B - 2 in-batch views as negatives. Views that share the anchor's target are removed from its
negatives, since they are positives in disguise ("false negatives").

Training windows (`gnn.windows`, the default scheme): the next-item loss covers every position of a user's window,
and the contrastive term takes each window's last state against a dropout pass over another training prefix with
the same next item, drawn from the whole training set as the authors' code does (the window's own last prefix only
when no other has that target). Prefix rows (`train_scheme='prefix'`) in training: every row's positive is drawn from
the whole training set the same way (`gnn.windows.WithSameTargetPositives`), as the authors' code does for every
row; a batch without drawn positives uses a random other row of the batch with the same target, or a second dropout
pass of the row itself.
Departures in both: the anchor view reuses the dropout pass that also feeds the cross entropy instead of a separate
pass; it is an independent dropout sample all the same. And the same-target views are removed from the negatives,
where the authors' `info_nce` (`duorec.py`, `mask_correlated_samples`) removes only each view itself and its
positive (`keep_false_negatives=True`, `LLMRG_TRAIN_FALSE_NEGATIVES=keep`, does as they do). λ = 0.1,
temperature 1.0, dot-product similarity and the post-LN GELU encoder follow the authors' RecBole-based code.

Reference settings (RuihongQiu/DuoRec `DuoRec.yaml`, `seq.yaml`; `docs/REFERENCE_SETTINGS.md`): d = 64, inner size
256, 2 layers of 2 heads, dropout 0.5 on hidden states and attention weights, LayerNorm and dropout on the
embeddings, no embedding scaling. Departure: max length 200 on ML-1M (the method spec's), where that code uses 50."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from gnn.batch import SequenceBatch, WindowBatch
from gnn.models.contrastive import nt_xent
from gnn.models.sasrec import SASRec


def same_target_partner(targets: Tensor) -> Tensor:
    """For each row a uniformly random other row with the same target, or the row itself. [B] -> [B]."""
    same = targets.unsqueeze(0) == targets.unsqueeze(1)  # [B, B]
    same.fill_diagonal_(False)
    noise = torch.rand(same.shape, device=targets.device).masked_fill(~same, -1.0)
    own = torch.arange(targets.numel(), device=targets.device)
    return torch.where(same.any(dim=1), noise.argmax(dim=1), own)


class DuoRec(SASRec):
    """SASRec plus DuoRec's contrastive regulariser with model-level and supervised positives."""

    needs_positive_prefixes = True

    def __init__(
        self,
        n_items: int,
        max_len: int,
        hidden: int = 64,
        n_layers: int = 2,
        n_heads: int = 2,
        inner_size: int = 256,
        dropout: float = 0.5,
        cl_weight: float = 0.1,
        temperature: float = 1.0,
        similarity: Literal["dot", "cos"] = "dot",
        keep_false_negatives: bool = False,
    ) -> None:
        super().__init__(
            n_items=n_items,
            max_len=max_len,
            hidden=hidden,
            n_layers=n_layers,
            n_heads=n_heads,
            inner_size=inner_size,
            dropout=dropout,
            norm_first=False,
            activation="gelu",
            scale_embeddings=False,
            mask_token=False,
        )
        self.cl_weight = cl_weight
        self.temperature = temperature
        self.similarity: Literal["dot", "cos"] = similarity
        self.keep_false_negatives = keep_false_negatives

    def negatives_excluded(self, targets: Tensor) -> Tensor | None:
        """The targets whose shared views `nt_xent` removes from the negatives, or None to keep them (the authors')."""
        return None if self.keep_false_negatives else targets

    def auxiliary_loss(self, batch: SequenceBatch, representation: Tensor) -> Tensor:
        """λ · NT-Xent(representation, a dropout pass of each row's same-target prefix from the whole training set
        when the batch carries one, else of a same-target partner in the batch), false negatives removed."""
        if self.cl_weight == 0.0:
            return representation.new_zeros(())
        if batch.positive_items is not None and batch.positive_lengths is not None:
            positive = self.encode_items(batch.positive_items, batch.positive_lengths)  # [B, d], its own dropout
        else:
            second_pass = self.encode(batch)  # [B, d], fresh dropout masks
            positive = second_pass[same_target_partner(batch.targets)]  # [B, d]
        excluded = self.negatives_excluded(batch.targets)
        return self.cl_weight * nt_xent(representation, positive, self.temperature, self.similarity, excluded)

    def window_auxiliary_loss(self, batch: WindowBatch, last_states: Tensor) -> Tensor:
        """λ · NT-Xent(each window's last state, a dropout pass over a training prefix with the same next item drawn
        from the whole training set), false negatives removed."""
        if self.cl_weight == 0.0:
            return last_states.new_zeros(())
        if batch.positive_items is None or batch.positive_lengths is None:
            raise ValueError("DuoRec's training windows need same-target positives (TrainingWindows(positives=...))")
        positive = self.encode_items(batch.positive_items, batch.positive_lengths)  # [B, d], its own dropout
        excluded = self.negatives_excluded(batch.last_targets)
        return self.cl_weight * nt_xent(last_states, positive, self.temperature, self.similarity, excluded)
