"""DuoRec: "Contrastive Learning for Representation Degeneration Problem in Sequential Recommendation"
(Qiu et al., WSDM 2022).

A SASRec encoder trained with L = L_rec + λ L_reg. L_reg is NT-Xent that pulls together
    h' = a dropout pass over the sequence (model-level augmentation: no item is altered, only the dropout mask),
    h'_s = a dropout pass over another sequence with the same next item (supervised positive),
with the other 2B - 2 in-batch views as negatives. Views that share the anchor's target are removed from its
negatives, since they are positives in disguise ("false negatives").

Choices and departures: supervised positives are drawn from the same batch (a random other row with the same
target) rather than from the whole training set, so the trainer need not ship extra sequences; a row with no
same-target partner contrasts against a second dropout pass of itself (pure unsupervised augmentation). The
anchor view reuses the dropout pass that also feeds the cross entropy instead of a third pass; it is an
independent dropout sample all the same. λ = 0.1, temperature 1.0, dot-product similarity and the post-LN GELU
encoder follow the authors' RecBole-based code.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from gnn.batch import SequenceBatch
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

    def __init__(
        self,
        n_items: int,
        max_len: int,
        hidden: int = 64,
        n_layers: int = 2,
        n_heads: int = 2,
        inner_size: int = 256,
        dropout: float = 0.2,
        cl_weight: float = 0.1,
        temperature: float = 1.0,
        similarity: Literal["dot", "cos"] = "dot",
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
            mask_token=False,
        )
        self.cl_weight = cl_weight
        self.temperature = temperature
        self.similarity: Literal["dot", "cos"] = similarity

    def auxiliary_loss(self, batch: SequenceBatch, representation: Tensor) -> Tensor:
        """λ · NT-Xent(representation, second dropout pass of a same-target partner), false negatives removed."""
        if self.cl_weight == 0.0:
            return representation.new_zeros(())
        second_pass = self.encode(batch)  # [B, d], fresh dropout masks
        positive = second_pass[same_target_partner(batch.targets)]  # [B, d]
        return self.cl_weight * nt_xent(representation, positive, self.temperature, self.similarity, batch.targets)
