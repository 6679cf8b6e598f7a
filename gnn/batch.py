"""Typed containers that every model in `gnn.models` consumes: one row per prediction (`SequenceBatch`, the
evaluation and prefix-scheme layout) or one window with a target at every position (`WindowBatch`, training).

A `SequenceBatch` holds left-aligned item histories (RecBole's layout: position 0 is the oldest item, padding id 0
fills the tail), so learned positional embeddings index real positions and the most recent item sits at
`lengths - 1`. Reasoning graphs travel as PyG batches of `AnchoredGraph`, whose `anchor` (the node of the user's
most recent item, the SR-GNN readout query) is offset like an index when graphs are batched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data


class AnchoredGraph(Data):
    """One user's graph: `x` [N] item ids of the nodes, `edge_index` [2, E] premise -> consequence,
    optional `edge_weight` [E], and `anchor` [1] the local index of the node holding the most recent item.

    `anchor` is incremented by the node count when batching, exactly like `edge_index`, so in a batch it is the
    global node index of each graph's anchor ([num_graphs]).
    """

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if key == "anchor":
            return self.num_nodes
        return super().__inc__(key, value, *args, **kwargs)


def anchored_graph(
    items: Sequence[int] | Tensor,
    edge_index: Sequence[tuple[int, int]] | Tensor,  # pairs, or a [2, E] tensor
    anchor: int,
    edge_weight: Sequence[float] | Tensor | None = None,
) -> AnchoredGraph:
    """Build one graph from node item ids, (source, target) node-index pairs and the anchor's node index."""
    x = torch.as_tensor(items, dtype=torch.long).reshape(-1)
    if isinstance(edge_index, Tensor):
        edges = edge_index.to(torch.long).reshape(2, -1)  # [2, E]
    elif edge_index:
        edges = torch.tensor(list(edge_index), dtype=torch.long).t().contiguous()  # [2, E]
    else:
        edges = torch.empty(2, 0, dtype=torch.long)
    if x.numel() == 0:
        raise ValueError("a graph needs at least one node (the user's most recent item)")
    if not 0 <= anchor < x.numel():
        raise ValueError(f"anchor {anchor} is not a node index of a graph with {x.numel()} nodes")
    if edges.numel() and (int(edges.min()) < 0 or int(edges.max()) >= x.numel()):
        raise ValueError(f"edge_index refers to nodes outside 0..{x.numel() - 1}")
    graph = AnchoredGraph(x=x, edge_index=edges, anchor=torch.tensor([anchor], dtype=torch.long))
    if edge_weight is not None:
        weights = torch.as_tensor(edge_weight, dtype=torch.float).reshape(-1)
        if weights.numel() != edges.size(1):
            raise ValueError(f"{weights.numel()} edge weights for {edges.size(1)} edges")
        graph.edge_weight = weights
    return graph


def sequence_graph(items: Sequence[int]) -> AnchoredGraph:
    """SR-GNN's session graph (Wu et al., AAAI-19) for the plain-sequence control: one node per distinct item in
    first-seen order, one unweighted edge per distinct consecutive transition, anchored on the last item."""
    if not items:
        raise ValueError("sequence_graph needs at least one item")
    nodes = list(dict.fromkeys(items))
    position = {item: index for index, item in enumerate(nodes)}
    transitions = dict.fromkeys((position[a], position[b]) for a, b in pairwise(items))
    return anchored_graph(nodes, list(transitions), position[items[-1]])


def batch_graphs(graphs: Sequence[AnchoredGraph]) -> Batch:
    """Collate graphs with PyG; `anchor` becomes global node indices [num_graphs]."""
    if not graphs:
        raise ValueError("cannot batch an empty list of graphs")
    for graph in graphs:
        if not isinstance(graph, AnchoredGraph):
            raise TypeError(f"expected AnchoredGraph (anchor offsets need its __inc__), got {type(graph).__name__}")
    has_weight = ["edge_weight" in graph for graph in graphs]
    if any(has_weight) and not all(has_weight):
        raise ValueError("either every graph of a batch carries edge_weight or none does")
    return Batch.from_data_list(list(graphs))


@dataclass(frozen=True, eq=False)
class SequenceBatch:
    """items [B, L] left-aligned ids (1..n_items, 0 = padding), lengths [B] >= 1, targets [B] next items,
    graphs: one PyG batch of `AnchoredGraph` per graph kind ("rea", "div", "seq"), graph b belonging to row b."""

    items: Tensor
    lengths: Tensor
    targets: Tensor
    graphs: Mapping[str, Batch] = field(default_factory=dict)
    positive_items: Tensor | None = None
    """[B, L'] for DuoRec: per row another training prefix with the same target (`gnn.windows.SameTargetPrefixes`)."""
    positive_lengths: Tensor | None = None

    def __post_init__(self) -> None:
        if self.items.dim() != 2 or self.lengths.shape != (self.items.size(0),):
            raise ValueError(
                f"items must be [B, L] and lengths [B]; got {tuple(self.items.shape)}, {tuple(self.lengths.shape)}"
            )
        if self.targets.shape != self.lengths.shape:
            raise ValueError(f"targets must be [B]; got {tuple(self.targets.shape)}")

    @property
    def size(self) -> int:
        return self.items.size(0)

    def to(self, device: torch.device | str) -> SequenceBatch:
        return SequenceBatch(
            items=self.items.to(device),
            lengths=self.lengths.to(device),
            targets=self.targets.to(device),
            graphs={kind: graph.to(device) for kind, graph in self.graphs.items()},
            positive_items=None if self.positive_items is None else self.positive_items.to(device),
            positive_lengths=None if self.positive_lengths is None else self.positive_lengths.to(device),
        )

    @classmethod
    def from_lists(
        cls,
        histories: Sequence[Sequence[int]],
        targets: Sequence[int],
        max_len: int,
        graphs: Mapping[str, Sequence[AnchoredGraph]] | None = None,
    ) -> SequenceBatch:
        """Left-align each history's last `max_len` items into a [B, L] tensor, L = longest kept history."""
        if len(histories) != len(targets):
            raise ValueError(f"{len(histories)} histories but {len(targets)} targets")
        kept = [list(history)[-max_len:] for history in histories]
        if any(not history for history in kept):
            raise ValueError("every history needs at least one item")
        width = max(len(history) for history in kept)
        items = torch.zeros(len(kept), width, dtype=torch.long)
        for row, history in enumerate(kept):
            items[row, : len(history)] = torch.tensor(history, dtype=torch.long)
        batched = {kind: batch_graphs(kind_graphs) for kind, kind_graphs in (graphs or {}).items()}
        return cls(
            items=items,
            lengths=torch.tensor([len(history) for history in kept], dtype=torch.long),
            targets=torch.tensor(list(targets), dtype=torch.long),
            graphs=batched,
        )


@dataclass(frozen=True, eq=False)
class PositionGraphs:
    """The graphs one kind gives every counted position of a batch of training windows, for an SR-GNN readout per
    position (`SRGNN.read_positions`) without one graph per position.

    A position's graph is one of a few node sets (for reasoning graphs, one per graph version, which changes only
    where a chain was stamped), so node states are computed once per set: `x` [N] item ids of all nodes and
    `edge_index` [2, E] over them (disconnected components). Position q (counted positions in row-major order)
    reads out over the nodes `member_node[i]` for every i with `member_position[i] == q` ([M] each), anchored on
    `anchor_node[q]` ([P]); -1 there means the position's most recent item is on no edge of its graph, so it is an
    extra isolated node of that graph, whose state depends on its item alone, and the readout adds it."""

    x: Tensor
    edge_index: Tensor
    anchor_node: Tensor
    member_position: Tensor
    member_node: Tensor

    @property
    def positions(self) -> int:
        return self.anchor_node.numel()

    @classmethod
    def isolated(cls, positions: int) -> PositionGraphs:
        """`positions` positions whose graphs hold no edge: each reads out over its isolated anchor alone."""
        empty = torch.empty(0, dtype=torch.long)
        return cls(empty, torch.empty(2, 0, dtype=torch.long), torch.full((positions,), -1), empty, empty)

    def to(self, device: torch.device | str) -> PositionGraphs:
        return PositionGraphs(
            x=self.x.to(device),
            edge_index=self.edge_index.to(device),
            anchor_node=self.anchor_node.to(device),
            member_position=self.member_position.to(device),
            member_node=self.member_node.to(device),
        )

    @classmethod
    def concat(cls, parts: Sequence[PositionGraphs]) -> PositionGraphs:
        """One batch from per-window parts (each with window-local node and position indices)."""
        node_offsets = torch.tensor([0, *(part.x.numel() for part in parts)]).cumsum(0)
        position_offsets = torch.tensor([0, *(part.positions for part in parts)]).cumsum(0)
        return cls(
            x=torch.cat([part.x for part in parts]),
            edge_index=torch.cat([part.edge_index + node_offsets[i] for i, part in enumerate(parts)], dim=1),
            anchor_node=torch.cat(
                [
                    torch.where(part.anchor_node < 0, -1, part.anchor_node + node_offsets[i])
                    for i, part in enumerate(parts)
                ]
            ),
            member_position=torch.cat([part.member_position + position_offsets[i] for i, part in enumerate(parts)]),
            member_node=torch.cat([part.member_node + node_offsets[i] for i, part in enumerate(parts)]),
        )


@dataclass(frozen=True, eq=False)
class WindowBatch:
    """items [B, L] left-aligned inputs (0 = padding), targets [B, L] next item at each input position (0 where
    none), counted [B, L] the positions whose target enters the loss, lengths [B] real inputs per window.

    `positive_items` [B, L2] / `positive_lengths` [B]: for DuoRec, one training prefix per window whose next item
    is the window's last target (drawn from the whole training set), left-aligned; absent for other models.
    `graphs`: per graph kind, the graph of every counted position (`PositionGraphs`), for the LLMRG fusion and
    the sequence-graph control."""

    items: Tensor
    targets: Tensor
    counted: Tensor
    lengths: Tensor
    positive_items: Tensor | None = None
    positive_lengths: Tensor | None = None
    graphs: Mapping[str, PositionGraphs] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.items.size(0)

    @property
    def target_count(self) -> int:
        return int(self.counted.sum())

    @property
    def last_targets(self) -> Tensor:
        """[B] the target at each window's last real position."""
        return self.targets.gather(1, (self.lengths - 1).unsqueeze(1)).squeeze(1)

    def to(self, device: torch.device | str) -> WindowBatch:
        def move(tensor: Tensor | None) -> Tensor | None:
            return None if tensor is None else tensor.to(device)

        return WindowBatch(
            items=self.items.to(device),
            targets=self.targets.to(device),
            counted=self.counted.to(device),
            lengths=self.lengths.to(device),
            positive_items=move(self.positive_items),
            positive_lengths=move(self.positive_lengths),
            graphs={kind: graphs.to(device) for kind, graphs in self.graphs.items()},
        )
