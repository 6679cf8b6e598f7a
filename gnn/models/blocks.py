"""Pieces shared by the transformer-based recommenders, kept here so no model carries its own copy.

The block stack wraps `nn.TransformerEncoderLayer`. `norm_first=True` is SASRec's pre-LN block
(Kang & McAuley 2018, eq. 5: x + Dropout(g(LayerNorm(x))), with a final LayerNorm); `norm_first=False` is the
post-LN BERT block that BERT4Rec, FDSA and the RecBole-based CL4SRec/DuoRec code use (LayerNorm on the
embeddings, then LayerNorm(x + Dropout(g(x))) per sub-layer). Departure from every paper: the point-wise FFN is
two linear maps (BERT style) rather than SASRec's 1x1 convolutions, which is the same function.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

INIT_STD = 0.02


def init_weights(module: nn.Module) -> None:
    """RecBole/BERT initialisation: N(0, 0.02) weights, zero biases, unit LayerNorm; padding rows stay zero.

    Small initial logits matter here because scores are dot products with the (shared) item table."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=INIT_STD)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.MultiheadAttention) and module.in_proj_weight is not None:
        nn.init.normal_(module.in_proj_weight, mean=0.0, std=INIT_STD)  # the packed Q, K, V maps
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.Embedding) and module.padding_idx is not None:
        with torch.no_grad():
            module.weight[module.padding_idx].zero_()


def gather_last(output: Tensor, lengths: Tensor) -> Tensor:
    """The state at each row's last real position (left-aligned layout): [B, L, d] -> [B, d]."""
    index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, output.size(-1))  # [B, 1, d]
    return output.gather(1, index).squeeze(1)


def causal_mask(length: int, device: torch.device) -> Tensor:
    """[L, L] bool, True where attention is forbidden (a key after the query)."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(diagonal=1)


def padding_mask(items: Tensor) -> Tensor:
    """[B, L] bool, True at padding (id 0)."""
    return items == 0


def position_ids(items: Tensor, max_len: int) -> Tensor:
    """[1, L] positions 0..L-1; refuses sequences longer than the positional table."""
    if items.size(1) > max_len:
        raise ValueError(f"sequence width {items.size(1)} exceeds max_len {max_len}; truncate histories first")
    return torch.arange(items.size(1), device=items.device).unsqueeze(0)


def append_token(items: Tensor, lengths: Tensor, token: Tensor, max_len: int) -> tuple[Tensor, Tensor]:
    """Put `token` [B] right after each row's last item; a row already `max_len` long drops its oldest item.

    Returns items [B, min(L + 1, max_len)] and the new lengths [B]."""
    batch, width = items.shape
    out_width = min(width + 1, max_len)
    extended = torch.cat([items, items.new_zeros(batch, 1)], dim=1)  # [B, L + 1]
    extended = extended.scatter(1, lengths.view(-1, 1), token.view(-1, 1))
    shift = (lengths + 1 > out_width).long()  # [B], 1 where the row overflows
    index = torch.arange(out_width, device=items.device).unsqueeze(0) + shift.unsqueeze(1)  # [B, L']
    return extended.gather(1, index), torch.clamp(lengths + 1, max=out_width)


class TransformerStack(nn.Module):
    """Embedding dropout, `n_layers` self-attention blocks, and the LayerNorm placement of the chosen variant."""

    def __init__(
        self,
        hidden: int,
        n_layers: int,
        n_heads: int,
        inner_size: int,
        dropout: float,
        norm_first: bool,
        activation: Literal["relu", "gelu"],
    ) -> None:
        super().__init__()
        if hidden % n_heads:
            raise ValueError(f"hidden {hidden} is not divisible by n_heads {n_heads}")
        self.norm_first = norm_first
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model=hidden,
                nhead=n_heads,
                dim_feedforward=inner_size,
                dropout=dropout,
                activation=activation,
                batch_first=True,
                norm_first=norm_first,
            )
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, items: Tensor, causal: bool) -> Tensor:
        """x [B, L, d] embedded sequence, items [B, L] ids (for the padding mask) -> [B, L, d].

        Causal attention needs no padding mask in the left-aligned layout: padding only follows real items, so
        no real position can see it, and every row has a real key at position 0. Bidirectional attention masks
        padded keys."""
        attention = causal_mask(x.size(1), x.device) if causal else None
        padding = None if causal else padding_mask(items)
        if not self.norm_first:
            x = self.norm(x)
        x = self.dropout(x)
        for layer in self.layers:
            x = layer(x, src_mask=attention, src_key_padding_mask=padding)
        return self.norm(x) if self.norm_first else x
