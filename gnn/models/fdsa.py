"""FDSA: "Feature-level Deeper Self-Attention Network for Sequential Recommendation" (Zhang et al., IJCAI 2019).

Two self-attention streams over the same history:
    item level     O_s = SA(E[items] + P),
    feature level  each item's attribute embeddings a_1..a_F are pooled by vanilla attention
                   alpha_j = softmax_j(w2ᵀ ReLU(W1 a_j + b1) + b2), f = Σ_j alpha_j a_j, then O_f = SA(F + P);
the last positions are concatenated and projected, O = [O_s ; O_f] W + b, and scored against the item table.

Attributes arrive as `item_features` [n_items + 1, F] of attribute ids in 1..n_features (0 = padding, row 0
is the padding item); padded attribute slots get zero attention, and an item with no attribute pools to zero.

Choices and departures: the vanilla-attention energy network (d -> 4d -> 1) and the shared positional table
follow RecBole's FDSA, as do the post-LN GELU blocks with causal masks in both streams, no embedding scaling, 2
layers of 2 heads with inner size 256 and dropout 0.5 (`FDSA.yaml`, one config for every dataset); training uses the
full-softmax cross entropy at every position of a user's window (`gnn.windows`) shared by the causal models
here, not the paper's objective. The projection is applied per position before reading the last one, which is
the same function as projecting the concatenated last states.

Two departures from RecBole's FDSA, both toward the paper: the concatenated streams are projected without the
LayerNorm and dropout RecBole adds after the projection (the paper's equation has none), and the feature stream
attends over every attribute of an item (Beauty: its brand and category names, from S3-Rec's
`Beauty_item2attributes.json`; ML-1M: its genres), where RecBole's configs select one field (`categories` for
Amazon) and mean-pool its values first. The paper also uses brand and category (and text keywords, not used
here). Brand is informative on Beauty (17.6% of test targets share a brand with an item of the user's history),
but it is not why ours leads the paper's FDSA: trained with every item given another item's attributes (the placebo,
`LLMRG_TRAIN_ITEM_FEATURES=shuffled`), Beauty FDSA kept nearly all of its test HR@10 and NDCG@10 and stayed far
above the paper's (docs/RESULTS.md, "Training runs"), so the lead comes from the model as trained here, not from
what the attributes say. No feature is derived from interactions.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gnn.batch import SequenceBatch
from gnn.models.base import SequentialRecommender
from gnn.models.blocks import TransformerStack, gather_last, init_weights, position_ids


class FDSA(SequentialRecommender):
    """Item-level and feature-level causal self-attention, fused at the last position."""

    def __init__(
        self,
        n_items: int,
        max_len: int,
        item_features: Tensor,
        n_features: int,
        hidden: int = 64,
        n_layers: int = 2,
        n_heads: int = 2,
        inner_size: int = 256,
        dropout: float = 0.5,
    ) -> None:
        super().__init__(n_items, max_len, hidden)
        if item_features.dim() != 2 or item_features.size(0) != n_items + 1:
            raise ValueError(
                f"item_features must be [n_items + 1, F] = [{n_items + 1}, F]; got {tuple(item_features.shape)}"
            )
        if item_features.numel() and (int(item_features.min()) < 0 or int(item_features.max()) > n_features):
            raise ValueError(f"attribute ids must lie in 0..n_features = 0..{n_features}")
        self.register_buffer("item_features", item_features.to(torch.long), persistent=False)
        self.feature_embedding = nn.Embedding(n_features + 1, hidden, padding_idx=0)
        self.feature_energy = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.ReLU(), nn.Linear(4 * hidden, 1))
        self.position_embedding = nn.Embedding(max_len, hidden)
        self.item_encoder = self._stack(hidden, n_layers, n_heads, inner_size, dropout)
        self.feature_encoder = self._stack(hidden, n_layers, n_heads, inner_size, dropout)
        self.projection = nn.Linear(2 * hidden, hidden)
        self.apply(init_weights)

    @staticmethod
    def _stack(hidden: int, n_layers: int, n_heads: int, inner_size: int, dropout: float) -> TransformerStack:
        return TransformerStack(hidden, n_layers, n_heads, inner_size, dropout, norm_first=False, activation="gelu")

    def pooled_features(self, items: Tensor) -> Tensor:
        """items [B, L] -> one attention-pooled attribute vector per position [B, L, d].

        An attribute's energy depends on the attribute alone, so the energy network runs once per attribute of
        the table and is gathered per position: the same values as running it on every [B, L, F] slot, without
        the [B, L, F, 4d] activation that made it FDSA's most expensive layer."""
        ids = self.item_features[items]  # [B, L, F]
        attributes = self.feature_embedding(ids)  # [B, L, F, d]
        energy = self.feature_energy(self.feature_embedding.weight).squeeze(-1)[ids]  # [B, L, F]
        energy = energy.masked_fill(ids == 0, torch.finfo(energy.dtype).min)
        weights = torch.softmax(energy, dim=-1)  # [B, L, F]; all-padding rows spread over zero vectors
        return (weights.unsqueeze(-1) * attributes).sum(dim=-2)

    def position_states(self, items: Tensor) -> Tensor:
        """items [B, L] -> [B, L, d], both streams causal and projected at every position."""
        positions = self.position_embedding(position_ids(items, self.max_len))  # [1, L, d]
        item_states = self.item_encoder(self.item_embedding(items) + positions, items, causal=True)
        feature_states = self.feature_encoder(self.pooled_features(items) + positions, items, causal=True)
        return self.projection(torch.cat([item_states, feature_states], dim=-1))  # [B, L, d]

    def encode(self, batch: SequenceBatch) -> Tensor:
        return gather_last(self.position_states(batch.items), batch.lengths)  # [B, d]
