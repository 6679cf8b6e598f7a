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
from collections.abc import Callable
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint
from torch_geometric.data import Batch, Data
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter, softmax

from gnn.batch import PositionGraphs
from gnn.models import fused_readout

CHUNK = 1 << 18
"""Readout members per checkpointed chunk (64 MiB per [chunk, 64] float activation)."""
HASH_BITS = 40
"""Bits of the random item codes `one_step_classes` sums (a node's degree stays far below 2^23, so no sum wraps)."""
FUSED_FROM = 1 << 16
"""Readout members beyond which the fused kernels read out (`fused_readout`): the training batches of real datasets,
not one user's graph at serving time nor the small graphs of the demo and most tests, which so never wait for the
kernels' first build (about a minute). Below it the eager code costs little anyway."""


def _member_energy(query: Tensor, anchors: Tensor, nodes: Tensor, owner: Tensor, members: Tensor) -> Tensor:
    """qᵀ sigmoid(W1 v_n + W2 v_i + c) for each member: query [1, d], anchors [G, d], nodes [N, d] -> [M].
    `index_select`, not `tensor[index]`: its backward is an index_add, where advanced indexing's accumulating
    index_put took a third of the readout's CPU time (ML-1M's sequence-graph control, a step 5.76 s instead of
    6.59 s)."""
    gathered = anchors.index_select(0, owner) + nodes.index_select(0, members)  # [M, d]
    return torch.sigmoid(gathered) @ query.squeeze(0)


def _weighted_sum(alpha: Tensor, states: Tensor, owner: Tensor, members: Tensor, readouts: int) -> Tensor:
    """Σ alpha_i v_i per readout: alpha [M], states [N, d] -> [G, d]."""
    weighted = alpha.unsqueeze(-1) * states.index_select(0, members)  # [M, d]
    return scatter(weighted, owner, dim=0, dim_size=readouts, reduce="sum")


def one_step_classes(items: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
    """Classes of the nodes whose state after one propagation step is the same: the same item, the same multiset of
    predecessors' items and the same multiset of successors' items (unweighted edges; eq. 1 reads nothing else in
    one step). items [N], edge_index [2, E] -> (representatives [U] one node of each class, classes [N] each
    node's class). Each multiset is compared by its size and two sums of random 40-bit codes of its items, so two
    different neighbourhoods share a class with probability about 2^-80 per pair of nodes."""
    nodes = items.numel()
    if nodes == 0:
        return items.new_empty(0), items.new_empty(0)
    generator = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 1 << HASH_BITS, (int(items.max()) + 1, 4), generator=generator).to(items.device)
    source, target = edge_index
    ones = torch.ones_like(source)
    columns = [
        items,
        items.new_zeros(nodes).index_add_(0, target, ones),  # in-degree
        items.new_zeros(nodes).index_add_(0, source, ones),  # out-degree
        *(items.new_zeros(nodes).index_add_(0, target, codes[items[source], k]) for k in (0, 1)),
        *(items.new_zeros(nodes).index_add_(0, source, codes[items[target], k]) for k in (2, 3)),
    ]
    classes = equal_rows(columns)
    first = torch.full((int(classes.max()) + 1,), nodes, dtype=torch.long, device=items.device)
    representatives = first.scatter_reduce_(0, classes, torch.arange(nodes, device=items.device), reduce="amin")
    return representatives, classes


def equal_rows(columns: list[Tensor]) -> Tensor:
    """Each row's class among the rows equal in every column (columns: C tensors [N]; classes 0..K-1), exactly: the
    dense ranks of the columns combined one at a time (a rank and a column's rank, both below N, make one integer
    below N²). 3.5 times faster than `torch.unique(dim=0)`, which compares rows one pair at a time (a 178,000-row
    batch: 0.10 s against 0.36 s)."""
    _, classes = torch.unique(columns[0], return_inverse=True)
    for column in columns[1:]:
        _, ranks = torch.unique(column, return_inverse=True)
        _, classes = torch.unique(classes * (int(ranks.max()) + 1) + ranks, return_inverse=True)
    return classes


def _run(lean: bool, function: Callable[..., Tensor], *arguments: Any) -> Tensor:
    """`function(*arguments)`, checkpointed when `lean` (its activations recomputed in the backward pass)."""
    if lean:
        return cast(Tensor, checkpoint(function, *arguments, use_reentrant=False))
    return function(*arguments)


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

    def __init__(self, hidden: int, steps: int = 1, normalise_attention: bool = True, fused: bool = True) -> None:
        super().__init__()
        if hidden < 1 or steps < 0:
            raise ValueError(f"hidden must be positive and steps non-negative; got {hidden}, {steps}")
        self.hidden = hidden
        self.steps = steps
        self.normalise_attention = normalise_attention
        self.fused = fused
        """Read out more than `FUSED_FROM` members with the fused CPU kernels where they are built; the same values and
        gradients up to float rounding (`fused_readout`), several times faster."""
        self.share_states = True
        """With one propagation step, `read_positions` computes a node's state once per `one_step_classes` class;
        False computes every node's (the reference the tests and `bench.readout` compare with)."""
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
        return self.attend(h[anchor], h, batch)

    def attend(self, h_anchor: Tensor, h_members: Tensor, owner: Tensor) -> tuple[Tensor, Tensor]:
        """Eqs. 6-7 for G readouts at once: h_anchor [G, d], h_members [M, d] the node states each readout pools,
        owner [M] which readout a member belongs to -> (s [G, d], alpha [M])."""
        members = torch.arange(h_members.size(0), device=h_members.device)
        return self.attend_indexed(h_anchor, h_members, owner, members)

    def attend_indexed(self, h_anchor: Tensor, states: Tensor, owner: Tensor, members: Tensor) -> tuple[Tensor, Tensor]:
        """`attend` with member i's state `states[members[i]]`, keeping no [M, d] activation for the backward
        pass: the energies and the weighted sums are computed in chunks of `CHUNK` members that are checkpointed
        (recomputed in the backward pass) once M exceeds a chunk. Training windows read out thousands of positions
        over hundreds of nodes each (ML-1M's sequence-graph control: 2.5 million members in a batch of 128 windows
        of 200 items), where the [M, d] activations took 4 GB."""
        readouts = h_anchor.size(0)
        anchors, nodes = self.anchor_map(h_anchor), self.node_map(states)  # [G, d], [N, d]
        if self.fused and owner.numel() > FUSED_FROM and fused_readout.usable(states):
            energy = fused_readout.member_energy(self.query.weight, anchors, nodes, owner, members)  # [M]
            alpha = softmax(energy, owner, num_nodes=readouts) if self.normalise_attention else energy
            pooled = fused_readout.weighted_sum(alpha, states, owner, members, readouts)  # [G, d]
            return self.output(torch.cat([pooled, h_anchor], dim=-1)), alpha
        parts = torch.arange(owner.numel(), device=owner.device).split(CHUNK)
        lean = owner.numel() > CHUNK and torch.is_grad_enabled()
        energy = torch.cat(
            [
                _run(lean, _member_energy, self.query.weight, anchors, nodes, owner[part], members[part])
                for part in parts
            ]
            or [anchors.new_zeros(0)]
        )  # [M]
        alpha = softmax(energy, owner, num_nodes=readouts) if self.normalise_attention else energy
        pooled = h_anchor.new_zeros(readouts, states.size(1))  # [G, d]
        for part in parts:
            pooled = pooled + _run(lean, _weighted_sum, alpha[part], states, owner[part], members[part], readouts)
        return self.output(torch.cat([pooled, h_anchor], dim=-1)), alpha

    def read_positions(self, graphs: PositionGraphs, anchor_items: Tensor, item_embedding: nn.Embedding) -> Tensor:
        """The readout of every position of a batch of training windows (`PositionGraphs`), anchor_items [P] each
        position's most recent item -> [P, d], equal to `forward` on each position's own graph (tested): an anchor
        on no edge is an extra node on no edge (its state from its item alone). With one propagation step, node
        states are computed once per `one_step_classes` class: a batch's knowledge-base graphs repeat each node in
        every graph version of its window (ML-1M: 168,051 nodes in 9,492 classes in a batch of 128 windows)."""
        isolated = (graphs.anchor_node < 0).nonzero().squeeze(1)  # [I]
        items = torch.cat([graphs.x, anchor_items[isolated]])  # [N + I]
        extra = graphs.x.numel() + torch.arange(isolated.numel(), device=items.device)  # [I] their node indices
        anchor_node = graphs.anchor_node.index_put((isolated,), extra)  # [P]
        owner = torch.cat([graphs.member_position, isolated])  # [M + I]
        members = torch.cat([graphs.member_node, extra])  # [M + I]
        if self.steps == 1 and self.share_states:
            representatives, classes = one_step_classes(items, graphs.edge_index)
            states = self.one_step_states(item_embedding, items, graphs.edge_index, representatives)  # [U, d]
            anchor_node, members = classes[anchor_node], classes[members]
        else:
            states = self.propagate_nodes(item_embedding(items), graphs.edge_index)  # [N + I, d]
        return self.attend_indexed(states[anchor_node], states, owner, members)[0]

    def one_step_states(self, item_embedding: nn.Embedding, items: Tensor, edge_index: Tensor, at: Tensor) -> Tensor:
        """The states after one propagation step of the nodes `at` alone: `propagate_nodes(item_embedding(items),
        edge_index)[at]` with steps = 1, up to float rounding. Eq. 1's sums are taken over embeddings before the
        (linear) maps W_in and W_out, so the maps and the GRU run on len(at) rows only."""
        count, nodes = at.numel(), items.numel()
        slot = torch.full((nodes,), -1, dtype=torch.long, device=items.device)
        slot[at] = torch.arange(count, device=items.device)  # [N] row of each node of `at`, -1 elsewhere
        source, target = edge_index
        into = (slot[target] >= 0).nonzero().squeeze(1)  # edges into a node of `at`
        out = (slot[source] >= 0).nonzero().squeeze(1)  # edges out of one
        weight_in = normalised_weights(edge_index, None, nodes, by=1)[into]  # [E_in]
        weight_out = normalised_weights(edge_index, None, nodes, by=0)[out]  # [E_out]
        sent_in = weight_in.unsqueeze(-1) * item_embedding(items[source[into]])  # [E_in, d]
        sent_out = weight_out.unsqueeze(-1) * item_embedding(items[target[out]])  # [E_out, d]
        incoming = scatter(sent_in, slot[target[into]], dim=0, dim_size=count, reduce="sum")  # [U, d]
        outgoing = scatter(sent_out, slot[source[out]], dim=0, dim_size=count, reduce="sum")  # [U, d]
        messages = torch.cat([self.edge_in(incoming) + self.bias_in, self.edge_out(outgoing) + self.bias_out], dim=-1)
        return self.gru(messages, item_embedding(items[at]))

    def forward(self, graphs: Batch | Data, item_embedding: nn.Embedding) -> Tensor:
        """graphs: batched `AnchoredGraph`s (or one); item_embedding: the base model's table -> [G, d]."""
        batch = graphs.batch if graphs.batch is not None else graphs.x.new_zeros(graphs.x.size(0))
        edge_weight = graphs.edge_weight if "edge_weight" in graphs else None
        h = self.propagate_nodes(item_embedding(graphs.x), graphs.edge_index, edge_weight)  # [N, d]
        return self.readout(h, graphs.anchor, batch)[0]
