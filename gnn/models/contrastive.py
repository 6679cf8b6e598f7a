"""NT-Xent / InfoNCE with in-batch negatives (Chen et al., SimCLR 2020), as used by CL4SRec and DuoRec.

For a batch of B pairs the 2B views form a [2B, 2B] similarity matrix; each view's positive is its partner and
its negatives are the other 2B - 2 views. This is the same loss as the RecBole/DuoRec `info_nce` (positive
column plus masked negatives); masking here is done with -inf instead of reshaping, so optional "false
negatives" (views that share the anchor's target, which DuoRec's supervised positives make
common) can be dropped per row.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor


def nt_xent(
    first: Tensor,
    second: Tensor,
    temperature: float,
    similarity: Literal["dot", "cos"],
    targets: Tensor | None = None,
) -> Tensor:
    """first, second [B, d] paired views; targets [B] (optional) removes same-target negatives. Returns a scalar."""
    size = first.size(0)
    z = torch.cat([first, second], dim=0)  # [2B, d]
    if similarity == "cos":
        z = F.normalize(z, dim=-1)
    logits = z @ z.t() / temperature  # [2B, 2B]
    index = torch.arange(2 * size, device=z.device)
    positive = (index + size) % (2 * size)  # [2B]
    excluded = torch.eye(2 * size, dtype=torch.bool, device=z.device)
    if targets is not None:
        labels = torch.cat([targets, targets])  # [2B]
        excluded = excluded | (labels.unsqueeze(0) == labels.unsqueeze(1))
    excluded[index, positive] = False
    return F.cross_entropy(logits.masked_fill(excluded, float("-inf")), positive)
