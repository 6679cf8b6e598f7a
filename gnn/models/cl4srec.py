"""CL4SRec: "Contrastive Learning for Sequential Recommendation" (Xie et al., ICDE 2022).

A SASRec encoder trained with L = L_main + λ L_cl, where L_main is next-item cross entropy and L_cl is NT-Xent
between two augmented views of each sequence, other in-batch views being negatives:
    crop    keep a random contiguous window of ⌊η·n⌋ items,
    mask    replace ⌊gamma·n⌋ random items with [MASK] (id n_items + 1),
    reorder shuffle a random contiguous window of ⌊β·n⌋ items.
Each view applies one operator; the two views of a sequence use two different operators, as in the DuoRec
authors' CL4SRec code (random.sample(range(3), k=2)). A one-item sequence cannot be augmented and stays as is.

Choices and departures: η = 0.6, gamma = 0.3, β = 0.6 (the DuoRec repository's CL4SRec defaults, inside the
paper's 0.1-0.9 sweeps; every one a setting); λ = 0.1, temperature 1.0 and dot-product similarity (that code's
defaults); the encoder is the post-LN GELU transformer of RecBole that the CL4SRec baselines ran on.
Augmentation is vectorised on the batch tensors instead of a per-sequence numpy loop. In training windows
(`gnn.windows`) the augmented sequence is each window's inputs, and the next-item loss covers every position.

Reference settings (`docs/REFERENCE_SETTINGS.md`): d = 64, inner size 256, 2 layers of 2 heads, dropout 0.5 on
hidden states and attention weights, LayerNorm and dropout on the embeddings, no embedding scaling. Departure: max
length 200 on ML-1M (the method spec's), where that code uses 50 for every dataset.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from gnn.batch import SequenceBatch, WindowBatch
from gnn.models.contrastive import nt_xent
from gnn.models.sasrec import SASRec


def _fraction(lengths: Tensor, ratio: float) -> Tensor:
    return torch.floor(lengths.to(torch.float64) * ratio).long()  # [B]


def _window_start(lengths: Tensor, size: Tensor) -> Tensor:
    """Uniform start in 0..n - size for each row."""
    return torch.floor(torch.rand(lengths.shape, device=lengths.device) * (lengths - size + 1)).long()


def crop(items: Tensor, lengths: Tensor, ratio: float) -> tuple[Tensor, Tensor]:
    """Keep a random window of max(1, ⌊ratio·n⌋) items, moved to the front. items [B, L] -> [B, L]."""
    keep = torch.clamp(_fraction(lengths, ratio), min=1)  # [B]
    start = _window_start(lengths, keep)  # [B]
    column = torch.arange(items.size(1), device=items.device).unsqueeze(0)  # [1, L]
    source = torch.clamp(start.unsqueeze(1) + column, max=items.size(1) - 1)  # [B, L]
    return items.gather(1, source).masked_fill(column >= keep.unsqueeze(1), 0), keep


def mask(items: Tensor, lengths: Tensor, ratio: float, mask_id: int) -> tuple[Tensor, Tensor]:
    """Replace ⌊ratio·n⌋ distinct random real positions by `mask_id`."""
    count = _fraction(lengths, ratio)  # [B]
    column = torch.arange(items.size(1), device=items.device).unsqueeze(0)  # [1, L]
    noise = torch.rand(items.shape, device=items.device).masked_fill(column >= lengths.unsqueeze(1), 2.0)
    rank = noise.argsort(dim=1).argsort(dim=1)  # [B, L] rank of each position's noise
    return items.masked_fill(rank < count.unsqueeze(1), mask_id), lengths


def reorder(items: Tensor, lengths: Tensor, ratio: float) -> tuple[Tensor, Tensor]:
    """Shuffle a random window of ⌊ratio·n⌋ items in place: window positions get random sort keys inside the
    window's span, every other position keeps its own index as key, so sorting permutes only the window."""
    size = _fraction(lengths, ratio)  # [B]
    start = _window_start(lengths, size).unsqueeze(1)  # [B, 1]
    column = torch.arange(items.size(1), device=items.device).unsqueeze(0)  # [1, L]
    inside = (column >= start) & (column < start + size.unsqueeze(1))  # [B, L]
    random_keys = start + torch.rand(items.shape, device=items.device) * size.unsqueeze(1)
    keys = torch.where(inside, random_keys, column.to(random_keys.dtype))  # [B, L]
    return items.gather(1, keys.argsort(dim=1)), lengths


class CL4SRec(SASRec):
    """SASRec plus the sequence-level contrastive regulariser of CL4SRec."""

    def __init__(
        self,
        n_items: int,
        max_len: int,
        hidden: int = 64,
        n_layers: int = 2,
        n_heads: int = 2,
        inner_size: int = 256,
        dropout: float = 0.5,
        crop_ratio: float = 0.6,
        mask_ratio: float = 0.3,
        reorder_ratio: float = 0.6,
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
            scale_embeddings=False,
            mask_token=True,
        )
        for name, ratio in (("crop_ratio", crop_ratio), ("mask_ratio", mask_ratio), ("reorder_ratio", reorder_ratio)):
            if not 0.0 <= ratio <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]; got {ratio}")
        self.crop_ratio = crop_ratio
        self.mask_ratio = mask_ratio
        self.reorder_ratio = reorder_ratio
        self.cl_weight = cl_weight
        self.temperature = temperature
        self.similarity: Literal["dot", "cos"] = similarity

    def augment(self, items: Tensor, lengths: Tensor, operator: Tensor) -> tuple[Tensor, Tensor]:
        """Apply operator[b] (0 crop, 1 mask, 2 reorder) to row b. items [B, L], operator [B] -> [B, L], [B]."""
        mask_id = self.n_items + 1
        views = [
            crop(items, lengths, self.crop_ratio),
            mask(items, lengths, self.mask_ratio, mask_id),
            reorder(items, lengths, self.reorder_ratio),
        ]
        out_items, out_lengths = views[0]
        for code, (view_items, view_lengths) in enumerate(views[1:], start=1):
            chosen = operator == code  # [B]
            out_items = torch.where(chosen.unsqueeze(1), view_items, out_items)
            out_lengths = torch.where(chosen, view_lengths, out_lengths)
        return out_items, out_lengths

    def auxiliary_loss(self, batch: SequenceBatch, representation: Tensor) -> Tensor:
        """λ · NT-Xent between two differently augmented views of each sequence of the batch."""
        return self.contrast_views(batch.items, batch.lengths, representation)

    def window_auxiliary_loss(self, batch: WindowBatch, last_states: Tensor) -> Tensor:
        """The same on each training window's inputs: the window is the user's sequence, augmented two ways."""
        return self.contrast_views(batch.items, batch.lengths, last_states)

    def contrast_views(self, items: Tensor, lengths: Tensor, like: Tensor) -> Tensor:
        if self.cl_weight == 0.0:
            return like.new_zeros(())
        first_operator = torch.randint(0, 3, lengths.shape, device=items.device)  # [B]
        second_operator = (first_operator + torch.randint(1, 3, lengths.shape, device=items.device)) % 3
        first = self.encode_items(*self.augment(items, lengths, first_operator))  # [B, d]
        second = self.encode_items(*self.augment(items, lengths, second_operator))  # [B, d]
        return self.cl_weight * nt_xent(first, second, self.temperature, self.similarity)
