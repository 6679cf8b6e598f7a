"""SASRec: "Self-Attentive Sequential Recommendation" (Kang & McAuley, ICDM 2018).

Input Ê = E[items] + P (learned positions); b causal self-attention blocks
    S = SA(Ê) with Attention(Q, K, V) = softmax(QKᵀ / sqrt(d)) V, keys restricted to j <= i,
    F = ReLU(S W1 + b1) W2 + b2 (point-wise FFN),
each sub-layer wrapped as x + Dropout(g(LayerNorm(x))); the state at the last position predicts the next item
by r = F_t · M_i with the item table M shared between input and output (the paper's shared-embedding variant).

Training follows the paper's scheme of one window per user with a next-item target at every position
(`gnn.windows`); departure, a setting: the loss is full-softmax cross entropy over all items (RecBole/DuoRec's
"CE" setting) instead of binary cross entropy on one sampled negative per position. `n_heads` defaults to
the paper's single head; `norm_first=False` / `activation="gelu"` give the post-LN BERT block that the
RecBole-based CL4SRec and DuoRec code build on. Weights use RecBole's N(0, 0.02) initialisation.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from gnn.batch import SequenceBatch
from gnn.models.base import SequentialRecommender
from gnn.models.blocks import TransformerStack, gather_last, init_weights, position_ids


class SASRec(SequentialRecommender):
    """Causal transformer encoder; the representation is the output at each row's last real position."""

    def __init__(
        self,
        n_items: int,
        max_len: int,
        hidden: int = 64,
        n_layers: int = 2,
        n_heads: int = 1,
        inner_size: int = 64,
        dropout: float = 0.2,
        norm_first: bool = True,
        activation: Literal["relu", "gelu"] = "relu",
        mask_token: bool = False,
    ) -> None:
        super().__init__(n_items, max_len, hidden, mask_token)
        self.position_embedding = nn.Embedding(max_len, hidden)
        self.encoder = TransformerStack(hidden, n_layers, n_heads, inner_size, dropout, norm_first, activation)
        self.apply(init_weights)

    def position_states(self, items: Tensor) -> Tensor:
        """items [B, L] -> hidden states [B, L, d] (causal: position p sees positions 0..p)."""
        x = self.item_embedding(items) + self.position_embedding(position_ids(items, self.max_len))  # [B, L, d]
        return self.encoder(x, items, causal=True)

    def encode_items(self, items: Tensor, lengths: Tensor) -> Tensor:
        """items [B, L], lengths [B] -> [B, d]; used directly for augmented views."""
        return gather_last(self.position_states(items), lengths)

    def encode(self, batch: SequenceBatch) -> Tensor:
        return self.encode_items(batch.items, batch.lengths)
