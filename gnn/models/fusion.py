"""The LLMRG fusion model ψ: "LLMRG: Improving Recommendations through Large Language Model Reasoning Graphs"
(Wang et al., AAAI 2024).

One SR-GNN encoder per graph kind (G_rea, G_div, or the plain sequence graph of the no-LLM control), all
reading the base model's item table, plus the base sequential model itself:
    E_k = SRGNN_k(G_k),  E_base = base.encode(S),  h = ψ([E_k1 ; ... ; E_kK ; E_base]),  ŷ = softmax(h Eᵀ)
ψ is Linear(K'·d -> d) or a 2-layer MLP (K' = number of graph kinds + 1), a choice of ours: the paper does not
specify ψ. Training minimises full-softmax cross entropy on ŷ plus the base model's own auxiliary loss (the
contrastive terms of CL4SRec/DuoRec), computed on E_base; the base's next-item head (e.g. BERT4Rec's output
bias and cloze task) is replaced by ψ, so a BERT4Rec base learns through its [MASK]-appended representation.

Training windows (`gnn.windows`, for causal bases): the base runs once per window and gives E_base at every
position; each counted position's graphs arrive as `PositionGraphs` (node states once per graph version, the
readout per position, `SRGNN.read_positions`), so h at position p equals `encode` of the row whose prefix ends at
p (tested), and the base's own term uses each window's last state, as the base alone does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from gnn.batch import SequenceBatch, WindowBatch
from gnn.models.base import Recommender, SequentialRecommender
from gnn.models.blocks import gather_last
from gnn.models.srgnn import SRGNN


class LLMRGFusion(Recommender):
    """Base model + SR-GNN graph encoders fused by ψ; same encode/loss/score_all contract as the base."""

    def __init__(
        self,
        base: SequentialRecommender,
        graph_kinds: Sequence[str] = ("rea", "div"),
        steps: int = 1,
        fusion: Literal["linear", "mlp"] = "linear",
        normalise_attention: bool = True,
        fused_readout: bool = True,
    ) -> None:
        super().__init__()
        kinds = list(graph_kinds)
        if not kinds or len(set(kinds)) != len(kinds):
            raise ValueError(f"graph_kinds must be a non-empty list of distinct kinds; got {kinds}")
        if fusion not in ("linear", "mlp"):
            raise ValueError(f"fusion must be 'linear' or 'mlp'; got {fusion!r}")
        self.base = base
        self.n_items = base.n_items
        self.graph_kinds = tuple(kinds)
        hidden = base.hidden
        self.encoders = nn.ModuleDict(
            {kind: SRGNN(hidden, steps, normalise_attention, fused=fused_readout) for kind in kinds}
        )
        width = (len(kinds) + 1) * hidden
        self.psi: nn.Module = (
            nn.Linear(width, hidden)
            if fusion == "linear"
            else nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        )

    @property
    def item_table(self) -> Tensor:
        return self.base.item_table

    def fuse(self, batch: SequenceBatch) -> tuple[Tensor, Tensor]:
        """Returns (h [B, d] fused representation, E_base [B, d])."""
        missing = [kind for kind in self.graph_kinds if kind not in batch.graphs]
        if missing:
            raise KeyError(f"batch lacks graphs {missing}; this model reads {list(self.graph_kinds)}")
        base_representation = self.base.encode(batch)  # [B, d]
        parts = []
        for kind in self.graph_kinds:
            graphs = batch.graphs[kind]
            if graphs.anchor.numel() != batch.size:
                raise ValueError(f"{graphs.anchor.numel()} '{kind}' graphs for a batch of {batch.size} sequences")
            parts.append(self.encoders[kind](graphs, self.base.item_embedding))  # [B, d]
        return self.psi(torch.cat([*parts, base_representation], dim=-1)), base_representation

    def encode(self, batch: SequenceBatch) -> Tensor:
        return self.fuse(batch)[0]

    def loss(self, batch: SequenceBatch) -> Tensor:
        fused, base_representation = self.fuse(batch)
        return self.next_item_loss(fused, batch.targets) + self.base.auxiliary_loss(batch, base_representation)

    def window_states(self, batch: WindowBatch) -> tuple[Tensor, Tensor]:
        """(h [P, d] fused at every counted position in row-major order, base states [B, L, d])."""
        missing = [kind for kind in self.graph_kinds if kind not in batch.graphs]
        if missing:
            raise KeyError(f"window batch lacks graphs {missing}; this model reads {list(self.graph_kinds)}")
        states = self.base.position_states(batch.items)  # [B, L, d]
        anchors = batch.items[batch.counted]  # [P] each counted position's most recent item
        parts = []
        for kind in self.graph_kinds:
            graphs = batch.graphs[kind]
            if graphs.positions != anchors.numel():
                raise ValueError(
                    f"'{kind}' graphs for {graphs.positions} positions, the batch counts {anchors.numel()}"
                )
            parts.append(self.encoders[kind].read_positions(graphs, anchors, self.base.item_embedding))  # [P, d]
        return self.psi(torch.cat([*parts, states[batch.counted]], dim=-1)), states

    def window_loss(self, batch: WindowBatch) -> Tensor:
        fused, states = self.window_states(batch)
        loss = self.next_item_loss(fused, batch.targets[batch.counted])
        return loss + self.base.window_auxiliary_loss(batch, gather_last(states, batch.lengths))
