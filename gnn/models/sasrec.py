"""SASRec: "Self-Attentive Sequential Recommendation" (Kang & McAuley, ICDM 2018).

Input Ê = √d · E[items] + P (learned positions); b causal self-attention blocks
    S = SA(Ê) with Attention(Q, K, V) = softmax(QKᵀ / sqrt(d)) V, keys restricted to j <= i,
    F = ReLU(S W1 + b1) W2 + b2 (point-wise FFN),
each sub-layer wrapped as x + Dropout(g(LayerNorm(x))), a final LayerNorm; the state at the last position predicts
the next item by r = F_t · M_i with the item table M shared between input and output (the paper's shared-embedding
variant).

Reference settings (kang205/SASRec, `docs/REFERENCE_SETTINGS.md`): 2 blocks, 1 head, FFN inner size = d with
ReLU, embeddings scaled by √d (`modules.py` `embedding(scale=True)`), dropout on embeddings, sub-layers and
attention weights, 0.2 on ML-1M and 0.5 elsewhere (`gnn.models.reference`), max length 200 on ML-1M and 50 on
Amazon. Departures: d = 64 (the method spec's, the code's 50); the blocks are plain pre-LN, where the reference
normalises only the attention query and adds the normalised query to the residual.

Training follows the paper's scheme of one window per user with a next-item target at every position
(`gnn.windows`); departure, a setting: the loss is full-softmax cross entropy over all items (RecBole/DuoRec's
"CE" setting) instead of binary cross entropy on one sampled negative per position. `n_heads` defaults to
the paper's single head; `norm_first=False` / `activation="gelu"` give the post-LN BERT block that the
RecBole-based CL4SRec and DuoRec code build on. Weights use RecBole's N(0, 0.02) initialisation.
"""

from __future__ import annotations

import math
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
        scale_embeddings: bool = True,
    ) -> None:
        super().__init__(n_items, max_len, hidden, mask_token)
        self.embedding_scale = math.sqrt(hidden) if scale_embeddings else 1.0
        self.position_embedding = nn.Embedding(max_len, hidden)
        self.encoder = TransformerStack(hidden, n_layers, n_heads, inner_size, dropout, norm_first, activation)
        self.apply(init_weights)

    def position_states(self, items: Tensor) -> Tensor:
        """items [B, L] -> hidden states [B, L, d] (causal: position p sees positions 0..p)."""
        x = self.item_embedding(items) * self.embedding_scale
        x = x + self.position_embedding(position_ids(items, self.max_len))  # [B, L, d]
        return self.encoder(x, items, causal=True)

    def encode_items(self, items: Tensor, lengths: Tensor) -> Tensor:
        """items [B, L], lengths [B] -> [B, d]; used directly for augmented views."""
        return gather_last(self.position_states(items), lengths)

    def encode(self, batch: SequenceBatch) -> Tensor:
        return self.encode_items(batch.items, batch.lengths)
