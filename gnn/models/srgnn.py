"""SR-GNN encoder: "Session-based Recommendation with Graph Neural Networks" (Wu et al., AAAI 2019).

Node states start as the (shared) item embeddings, v_i = E[x_i]. Each of `steps` propagation steps mixes
messages from predecessors and successors over degree-normalised adjacency, then applies a GRU update:
    a_i = [ Σ_j A_in[i, j] (W_in v_j) + b_in ; Σ_j A_out[i, j] (W_out v_j) + b_out ]      (eq. 1)
    v_i <- GRU(a_i, v_i)                                                                    (eqs. 2-5)
with A_in[i, j] = w(j -> i) / Σ_k w(k -> i) and A_out[i, j] = w(i -> j) / Σ_k w(i -> k) (w = 1 without edge
weights), i.e. PyG's gated graph convolution run once along the edges and once against them. The readout
anchors on the node of the most recent item v_n:
    alpha_i = qᵀ sigmoid(W1 v_n + W2 v_i + c),  s_g = Σ_i alpha_i v_i,  s = W3 [s_g ; v_n]    (eqs. 6-7)

Departures: `normalise_attention=True` (default) applies a per-graph softmax to alpha; the paper leaves alpha
unnormalised, which makes s_g grow with node count, and LLM reasoning graphs vary in size far more than
sessions do; `False` restores the paper. The GRU is `nn.GRUCell` (the reset gate acts after the hidden linear
map, as in RecBole's SR-GNN). All weights use the paper code's U(-1/sqrt(d), 1/sqrt(d)) initialisation.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter, softmax


def normalised_weights(edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int, by: int) -> Tensor:
    """Edge weights divided by the weighted degree of endpoint `by` (1 = target: in-degree, 0 = source)."""
    weight = edge_weight if edge_weight is not None else torch.ones(edge_index.size(1), device=edge_index.device)
    degree = scatter(weight, edge_index[by], dim=0, dim_size=num_nodes, reduce="sum")  # [N]
    return weight / degree[edge_index[by]].clamp(min=torch.finfo(weight.dtype).tiny)  # [E]


class WeightedSum(MessagePassing):
    """m_i = Σ_{j -> i} w_ji x_j: the adjacency product of eq. 1 as PyG message passing."""

    def __init__(self) -> None:
        super().__init__(aggr="add")

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor) -> Tensor:
        return self.propagate(edge_index, x=x, edge_weight=edge_weight)

    def message(self, x_j: Tensor, edge_weight: Tensor) -> Tensor:
        return edge_weight.unsqueeze(-1) * x_j


class SRGNN(nn.Module):
    """Gated in/out propagation plus anchored soft-attention readout: graphs -> [num_graphs, d]."""

    def __init__(self, hidden: int, steps: int = 1, normalise_attention: bool = True) -> None:
        super().__init__()
        if hidden < 1 or steps < 0:
            raise ValueError(f"hidden must be positive and steps non-negative; got {hidden}, {steps}")
        self.hidden = hidden
        self.steps = steps
        self.normalise_attention = normalise_attention
        self.edge_in = nn.Linear(hidden, hidden, bias=False)
        self.edge_out = nn.Linear(hidden, hidden, bias=False)
        self.bias_in = nn.Parameter(torch.empty(hidden))
        self.bias_out = nn.Parameter(torch.empty(hidden))
        self.aggregate = WeightedSum()
        self.gru = nn.GRUCell(2 * hidden, hidden)
        self.anchor_map = nn.Linear(hidden, hidden, bias=False)  # W1
        self.node_map = nn.Linear(hidden, hidden)  # W2 and c
        self.query = nn.Linear(hidden, 1, bias=False)  # q
        self.output = nn.Linear(2 * hidden, hidden, bias=False)  # W3
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def propagate_nodes(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """Node states after `steps` gated steps: x [N, d], edge_index [2, E] (source -> target) -> [N, d]."""
        num_nodes = x.size(0)
        weight_in = normalised_weights(edge_index, edge_weight, num_nodes, by=1)  # [E]
        weight_out = normalised_weights(edge_index, edge_weight, num_nodes, by=0)  # [E]
        reversed_edges = edge_index.flip(0)  # successors send to predecessors
        h = x
        for _ in range(self.steps):
            incoming = self.aggregate(self.edge_in(h), edge_index, weight_in) + self.bias_in  # [N, d]
            outgoing = self.aggregate(self.edge_out(h), reversed_edges, weight_out) + self.bias_out  # [N, d]
            h = self.gru(torch.cat([incoming, outgoing], dim=-1), h)
        return h

    def readout(self, h: Tensor, anchor: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        """h [N, d], anchor [G] global node indices, batch [N] graph of each node -> (s [G, d], alpha [N])."""
        h_anchor = h[anchor]  # [G, d]
        energy = self.query(torch.sigmoid(self.anchor_map(h_anchor)[batch] + self.node_map(h))).squeeze(-1)  # [N]
        alpha = softmax(energy, batch, num_nodes=anchor.numel()) if self.normalise_attention else energy
        pooled = scatter(alpha.unsqueeze(-1) * h, batch, dim=0, dim_size=anchor.numel(), reduce="sum")  # [G, d]
        return self.output(torch.cat([pooled, h_anchor], dim=-1)), alpha

    def forward(self, graphs: Batch | Data, item_embedding: nn.Embedding) -> Tensor:
        """graphs: batched `AnchoredGraph`s (or one); item_embedding: the base model's table -> [G, d]."""
        batch = graphs.batch if graphs.batch is not None else graphs.x.new_zeros(graphs.x.size(0))
        edge_weight = graphs.edge_weight if "edge_weight" in graphs else None
        h = self.propagate_nodes(item_embedding(graphs.x), graphs.edge_index, edge_weight)  # [N, d]
        return self.readout(h, graphs.anchor, batch)[0]
