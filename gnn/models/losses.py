"""Full-softmax cross entropy over the item table without keeping the [N, n_items] logits.

Every base model scores a representation against all items, so its loss is `cross_entropy(h @ Eᵀ, y)`. With
training windows N is every target of a batch (about 13,000 on ML-1M), and the logits (N x 3,416 floats, 180 MB)
are written, read back for the softmax and again for both gradients: memory traffic, not arithmetic, sets the
cost on a CPU. `linear_cross_entropy` computes the same loss and gradients chunk by chunk and recomputes each
chunk's logits in the backward pass, so only a chunk's logits exist at a time (tested equal to the plain form).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

CHUNK = 512


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, hidden: Tensor, table: Tensor, classes: Tensor, chunk: int) -> Tensor:
        total = hidden.new_zeros(())
        for start in range(0, hidden.size(0), chunk):
            logits = hidden[start : start + chunk] @ table.t()  # [c, n]
            picked = logits.gather(1, classes[start : start + chunk, None]).squeeze(1)
            total += (torch.logsumexp(logits, dim=1) - picked).sum()
        ctx.save_for_backward(hidden, table, classes)
        ctx.chunk = chunk
        return total / hidden.size(0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        hidden, table, classes = ctx.saved_tensors
        grad_hidden = torch.empty_like(hidden) if ctx.needs_input_grad[0] else None
        grad_table = torch.zeros_like(table) if ctx.needs_input_grad[1] else None
        scale = grad / hidden.size(0)
        for start in range(0, hidden.size(0), ctx.chunk):
            part = hidden[start : start + ctx.chunk]
            probabilities = torch.softmax(part @ table.t(), dim=1)  # [c, n], becomes d loss / d logits
            probabilities[torch.arange(part.size(0), device=part.device), classes[start : start + ctx.chunk]] -= 1
            probabilities *= scale
            if grad_hidden is not None:
                grad_hidden[start : start + ctx.chunk] = probabilities @ table
            if grad_table is not None:
                grad_table.addmm_(probabilities.t(), part)
        return grad_hidden, grad_table, None, None


def linear_cross_entropy(hidden: Tensor, table: Tensor, classes: Tensor, chunk: int = CHUNK) -> Tensor:
    """Mean `cross_entropy(hidden @ table.T, classes)`: hidden [N, d], table [n, d], classes [N] in 0..n-1."""
    if hidden.size(0) == 0:
        return hidden.sum() * 0.0
    return _LinearCrossEntropy.apply(hidden, table, classes, chunk)
