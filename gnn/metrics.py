"""Full-ranking HR@k and NDCG@k (leave-one-out, one target per user, every item a candidate).

With a single relevant item, HR@k = 1[rank <= k] and NDCG@k = 1[rank <= k] / log2(rank + 1) (IDCG = 1).

Ties are broken pessimistically: rank = 1 + the number of other rankable items whose score is >= the target's.
A model that scores everything alike (a collapsed or untrained model, NaN-free but constant) therefore ranks the
target last and scores no hits, whereas optimistic or index-order tie-breaking would hand it hits for free and
could favour items with small ids. Column 0 (padding) and excluded items (e.g. the user's training items) are
never rankable; the target itself is never excluded, even if listed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

DEFAULT_KS = (5, 10)


def exclusion_mask(exclude: Tensor | Sequence[Sequence[int]], shape: torch.Size, device: torch.device) -> Tensor:
    """A [B, n_items + 1] bool mask from a mask or from per-user lists of item ids."""
    if isinstance(exclude, Tensor):
        if exclude.shape != shape:
            raise ValueError(f"exclude mask must have shape {tuple(shape)}; got {tuple(exclude.shape)}")
        return exclude.to(device=device, dtype=torch.bool)
    if len(exclude) != shape[0]:
        raise ValueError(f"{len(exclude)} exclusion lists for {shape[0]} users")
    rows = torch.repeat_interleave(torch.arange(shape[0]), torch.tensor([len(items) for items in exclude]))
    columns = torch.tensor([item for items in exclude for item in items], dtype=torch.long)
    mask = torch.zeros(shape, dtype=torch.bool)
    mask[rows, columns] = True
    return mask.to(device)


def target_ranks(scores: Tensor, targets: Tensor, exclude: Tensor | Sequence[Sequence[int]] | None = None) -> Tensor:
    """1-based pessimistic rank of each target among the rankable items. scores [B, n_items + 1], targets [B]."""
    if scores.dim() != 2 or targets.shape != (scores.size(0),):
        raise ValueError(
            f"scores must be [B, n_items + 1] and targets [B]; got {tuple(scores.shape)}, {tuple(targets.shape)}"
        )
    if targets.numel() and (int(targets.min()) < 1 or int(targets.max()) >= scores.size(1)):
        raise ValueError(f"targets must be item ids in 1..{scores.size(1) - 1}")
    rankable = torch.ones_like(scores, dtype=torch.bool)
    rankable[:, 0] = False
    if exclude is not None:
        rankable &= ~exclusion_mask(exclude, scores.shape, scores.device)
    rows = torch.arange(scores.size(0), device=scores.device)
    rankable[rows, targets] = False  # the target is counted as itself, never as a competitor
    target_score = scores[rows, targets].unsqueeze(1)  # [B, 1]
    return 1 + ((scores >= target_score) & rankable).sum(dim=1)  # [B]


def per_user_metrics(ranks: Tensor, ks: Sequence[int] = DEFAULT_KS) -> dict[str, Tensor]:
    """{"hr@k", "ndcg@k"} -> [B] float tensors, for means and stds over users or seeds."""
    if any(k < 1 for k in ks):
        raise ValueError(f"cut-offs must be positive; got {list(ks)}")
    ranks = ranks.to(torch.float64)
    gain = 1.0 / torch.log2(ranks + 1.0)  # [B]
    out: dict[str, Tensor] = {}
    for k in ks:
        hit = (ranks <= k).to(torch.float64)  # [B]; a k beyond the item count simply always holds
        out[f"hr@{k}"] = hit
        out[f"ndcg@{k}"] = hit * gain
    return out


def ranking_metrics(
    scores: Tensor,
    targets: Tensor,
    exclude: Tensor | Sequence[Sequence[int]] | None = None,
    ks: Sequence[int] = DEFAULT_KS,
) -> dict[str, float]:
    """Mean HR@k and NDCG@k over the batch's users."""
    per_user = per_user_metrics(target_ranks(scores, targets, exclude), ks)
    return {name: float(values.mean()) for name, values in per_user.items()}


class MetricAccumulator:
    """Sums per-user metrics over evaluation batches; `compute()` gives means over all users seen."""

    def __init__(self, ks: Sequence[int] = DEFAULT_KS) -> None:
        self.ks = tuple(ks)
        self.count = 0
        self.sums: dict[str, float] = {}

    def update(
        self, scores: Tensor, targets: Tensor, exclude: Tensor | Sequence[Sequence[int]] | None = None
    ) -> Tensor:
        """Adds one batch; returns its ranks [B] so callers can keep them for per-user statistics."""
        ranks = target_ranks(scores, targets, exclude)
        for name, values in per_user_metrics(ranks, self.ks).items():
            self.sums[name] = self.sums.get(name, 0.0) + float(values.sum())
        self.count += ranks.numel()
        return ranks

    def compute(self) -> dict[str, float]:
        if self.count == 0:
            raise ValueError("no users were added")
        return {name: total / self.count for name, total in self.sums.items()}
