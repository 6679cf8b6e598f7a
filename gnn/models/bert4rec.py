"""BERT4Rec: "Sequential Recommendation with Bidirectional Encoder Representations from Transformer" (Sun et al., CIKM
2019).

Bidirectional post-LN transformer (GELU FFN) over E[items] + P, trained with the cloze task: each real position is
replaced by [MASK] (id n_items + 1) with probability p (default 0.2) and the model predicts the original item
there, via the output head GELU(h W^P + b^P) -> LayerNorm -> · Eᵀ + b^O with E shared with the input. At inference
the history is followed by [MASK] and the next item is read off there (paper section 3.6).

Reference settings (FeiSun/BERT4Rec, `docs/REFERENCE_SETTINGS.md`; the per-dataset ones in
`gnn.models.reference`): d = 64, inner size 256, 2 layers of 2 heads, GELU, post-LN with LayerNorm and dropout on
the embeddings, no embedding scaling; hidden dropout 0.2 on ML-1M and 0.5 on Beauty, attention dropout 0.2; mask
proportion 0.2 on ML-1M and 0.6 on Beauty; max length 200 and 50. Departures: Adam at 1e-3 with early stopping (the
method spec's), where the code runs AdamW 1e-4 with warm-up for 400k steps; no cap on masked positions per sequence.

Training windows (`gnn.windows`, the default scheme) run the paper's cloze task per user window. Prefix rows
(`train_scheme='prefix'`, and the graph variants, which need a state per position that a bidirectional encoder
lacks): the paper adds separate training samples that mask only the last item, to match that inference input; we
fold this into every row instead: the training sequence is history + target (left-aligned, target at position
`lengths`), the target is always masked and other real positions are masked with probability p, so every row
supervises the next item each step. A row already `max_len` long drops its
oldest item to make room for the appended token (target or [MASK]). Masked positions always become [MASK] (the
official code's choice, no BERT 80/10/10 split); the official cap on masks per sequence is not applied."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnn.batch import SequenceBatch, WindowBatch
from gnn.models.base import SequentialRecommender, check_targets
from gnn.models.blocks import TransformerStack, append_token, gather_last, init_weights, position_ids


class BERT4Rec(SequentialRecommender):
    """Cloze-trained bidirectional encoder; `encode` reads the [MASK] appended after the last item."""

    def __init__(
        self,
        n_items: int,
        max_len: int,
        hidden: int = 64,
        n_layers: int = 2,
        n_heads: int = 2,
        inner_size: int = 256,
        dropout: float = 0.2,
        attention_dropout: float | None = None,
        mask_prob: float = 0.2,
    ) -> None:
        super().__init__(n_items, max_len, hidden, mask_token=True)
        if not 0.0 <= mask_prob <= 1.0:
            raise ValueError(f"mask_prob must lie in [0, 1]; got {mask_prob}")
        self.mask_prob = mask_prob
        self.position_embedding = nn.Embedding(max_len, hidden)
        self.encoder = TransformerStack(
            hidden,
            n_layers,
            n_heads,
            inner_size,
            dropout,
            norm_first=False,
            activation="gelu",
            attention_dropout=attention_dropout,
        )
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden))
        self.output_bias = nn.Parameter(torch.zeros(n_items))
        self.apply(init_weights)

    def hidden_states(self, items: Tensor) -> Tensor:
        """items [B, L] (may hold [MASK]) -> [B, L, d], attending both ways over real positions."""
        x = self.item_embedding(items) + self.position_embedding(position_ids(items, self.max_len))  # [B, L, d]
        return self.encoder(x, items, causal=False)

    def item_logits(self, representation: Tensor) -> Tensor:
        return representation @ self.item_table.t() + self.output_bias  # [B, n_items]

    def encode(self, batch: SequenceBatch) -> Tensor:
        mask_id = torch.full_like(batch.lengths, self.n_items + 1)
        items, lengths = append_token(batch.items, batch.lengths, mask_id, self.max_len)  # [B, L'], [B]
        return self.head(gather_last(self.hidden_states(items), lengths))  # [B, d]

    def window_loss(self, batch: WindowBatch) -> Tensor:
        """The cloze task on each training window (its inputs followed by its last target, at most `max_len`
        items): every real position is masked with probability `mask_prob`, at least one per window (the last
        when chance masked none), and the model recovers the masked items."""
        items, lengths = append_token(batch.items, batch.lengths, batch.last_targets, self.max_len)  # [B, L'], [B]
        column = torch.arange(items.size(1), device=items.device).unsqueeze(0)  # [1, L']
        masked = (torch.rand(items.shape, device=items.device) < self.mask_prob) & (column < lengths.unsqueeze(1))
        none = ~masked.any(dim=1, keepdim=True)  # [B, 1]
        masked = masked | (none & (column == (lengths - 1).unsqueeze(1)))
        states = self.hidden_states(items.masked_fill(masked, self.n_items + 1))[masked]  # [M, d]
        return F.cross_entropy(self.item_logits(self.head(states)), items[masked] - 1)

    def loss(self, batch: SequenceBatch) -> Tensor:
        """Mean cross entropy over all masked positions of history + target (random ones and the last)."""
        check_targets(batch.targets, self.n_items)
        items, lengths = append_token(batch.items, batch.lengths, batch.targets, self.max_len)  # [B, L'], [B]
        column = torch.arange(items.size(1), device=items.device).unsqueeze(0)  # [1, L']
        random = (torch.rand(items.shape, device=items.device) < self.mask_prob) & (column < lengths.unsqueeze(1))
        masked = random | (column == (lengths - 1).unsqueeze(1))  # [B, L']
        states = self.hidden_states(items.masked_fill(masked, self.n_items + 1))[masked]  # [M, d]
        return F.cross_entropy(self.item_logits(self.head(states)), items[masked] - 1)
