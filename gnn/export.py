"""Neo4j -> PyG: the interaction sequences, item attributes and per-user reasoning graphs of one dataset.

Everything is read with the parameterised statements in `cypher/export/`, paged by user id, and numbered
deterministically (items 1..n in ascending catalogue id, attributes 1..F in sorted `kind:name` order), so
the same graph always exports to identical tensors and id maps. Reasoning chains become per-user edge
lists stamped with the step `t` that linked the chain to the user; `ReasoningGraphSource` turns them into
the graph a training row may see (edges with t < the row's prefix length), so one export serves every
prefix without leakage.

The knowledge base's verified causal edges travel with the export too (`Export.causal_edges`): the
"LLMRG from knowledge-base edges" variant places them in every user's graph (`gnn.knowledge_base`), the
paper's G_rea built from item-level knowledge instead of one reasoning run per user.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from rich.progress import Progress
from torch import Tensor

from core.errors import UnknownDatasetError
from core.gateway import Neo4jGateway
from core.vocabulary import ACCEPTED_STATUSES, GRAPH_OF_CHAIN
from gnn.batch import AnchoredGraph, PositionGraphs, anchored_graph
from gnn.data import SequenceData


@dataclass(frozen=True)
class UserEdges:
    """One user's edges of one graph kind, in item indices: src -> dst, visible from prefix length t + 1."""

    src: Tensor
    dst: Tensor
    t: Tensor


@dataclass(frozen=True, eq=False)
class Export:
    data: SequenceData
    item_ids: Tensor
    """item_ids[k - 1] is the catalogue id of item index k."""
    attributes: tuple[str, ...]
    """attributes[f - 1] is the `kind:name` of feature id f."""
    edges: Mapping[str, Mapping[int, UserEdges]] = field(default_factory=dict)
    """kind ('rea' / 'div') -> user -> edges."""
    chain_links: Mapping[str, int] = field(default_factory=dict)
    """Accepted (user, chain) links read per kind, for checks against Neo4j's own counts."""
    causal_edges: tuple[tuple[int, int], ...] = ()
    """The knowledge base's verified causal edges (source, target) in catalogue ids, sorted."""

    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.data.fingerprint().encode())
        for kind in sorted(self.edges):
            for user in sorted(self.edges[kind]):
                edges = self.edges[kind][user]
                digest.update(f"{kind}|{user}".encode())
                digest.update(torch.stack([edges.src, edges.dst, edges.t]).numpy().tobytes())
        return digest.hexdigest()


def export_dataset(
    db: Neo4jGateway,
    dataset: str,
    *,
    statuses: Sequence[str] = ACCEPTED_STATUSES,
    page_size: int = 5000,
    progress: bool = False,
) -> Export:
    item_ids = [int(record["id"]) for record in db.run("export/export_item_ids", dataset=dataset)]
    if not item_ids:
        raise UnknownDatasetError(f"dataset {dataset!r} has no items; ingest it first (`llmrg ingest`)")
    index_of = {item: index for index, item in enumerate(item_ids, start=1)}
    with ThreadPoolExecutor(max_workers=1) as pool:  # attributes load while the sequences stream in
        attribute_rows = pool.submit(_item_features, db, dataset, index_of)
        sequences = dict(_paged(db, dataset, page_size, progress))
        features, attributes = attribute_rows.result()
    mapped = _to_indices(sequences, item_ids)
    edges, links = _chain_edges(db, dataset, index_of, sorted(sequences), statuses, page_size)
    causal = db.run("export/export_causal_edges", dataset=dataset)
    data = SequenceData(
        dataset=dataset,
        n_items=len(item_ids),
        sequences=mapped,
        item_features=features,
        n_features=len(attributes),
    )
    return Export(
        data=data,
        item_ids=torch.tensor(item_ids, dtype=torch.long),
        attributes=attributes,
        edges=edges,
        chain_links=links,
        causal_edges=tuple((int(row["source"]), int(row["target"])) for row in causal),
    )


def reasoned_users(db: Neo4jGateway, dataset: str) -> set[int]:
    """Users with at least one accepted reasoning chain: the ablation's users, the same set for every variant."""
    return {int(row["user"]) for row in db.run("export/reasoned_users", dataset=dataset)}


def _to_indices(sequences: Mapping[int, list[int]], item_ids: list[int]) -> dict[int, list[int]]:
    """Catalogue ids -> indices 1..n in one vectorised lookup (`item_ids` is ascending)."""
    users = [user for user, items in sequences.items() if items]
    flat = np.fromiter(itertools.chain.from_iterable(sequences[user] for user in users), dtype=np.int64)
    indices = np.searchsorted(np.asarray(item_ids, dtype=np.int64), flat) + 1
    ends = np.cumsum([len(sequences[user]) for user in users])
    return {user: part.tolist() for user, part in zip(users, np.split(indices, ends[:-1]), strict=True)}


def _paged(db: Neo4jGateway, dataset: str, page_size: int, progress: bool) -> Iterable[tuple[int, list[int]]]:
    after = -(2**62)
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"export {dataset} sequences", total=None)
        while True:
            records = db.run("export/export_sequences", dataset=dataset, after=after, limit=page_size)
            if not records:
                return
            for record in records:
                yield int(record["user"]), record["items"]
            after = int(records[-1]["user"])
            bar.update(task, advance=len(records))


def _item_features(
    db: Neo4jGateway, dataset: str, index_of: Mapping[int, int]
) -> tuple[Tensor | None, tuple[str, ...]]:
    """[n_items + 1, F] attribute ids (0 = padding), F = the most attributes any item has."""
    rows = db.run("export/export_item_attributes", dataset=dataset)
    if not rows:
        return None, ()
    attributes = tuple(sorted({str(row["attribute"]) for row in rows}))
    feature_of = {name: index for index, name in enumerate(attributes, start=1)}
    per_item: dict[int, list[int]] = {}
    for row in rows:
        per_item.setdefault(index_of[int(row["item"])], []).append(feature_of[str(row["attribute"])])
    width = max(len(ids) for ids in per_item.values())
    features = torch.zeros(len(index_of) + 1, width, dtype=torch.long)
    for item, ids in per_item.items():
        features[item, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return features, attributes


def _chain_edges(
    db: Neo4jGateway,
    dataset: str,
    index_of: Mapping[int, int],
    users: Sequence[int],
    statuses: Sequence[str],
    page_size: int,
) -> tuple[dict[str, dict[int, UserEdges]], dict[str, int]]:
    """Consecutive chain items become edges; an edge made by several chains is kept once, at its earliest t.

    Paged over the (sorted) user ids the sequences came with, `page_size` users per query."""
    earliest: dict[str, dict[int, dict[tuple[int, int], int]]] = {kind: {} for kind in GRAPH_OF_CHAIN.values()}
    links = dict.fromkeys(GRAPH_OF_CHAIN.values(), 0)
    for start in range(0, len(users), page_size):
        after = users[start - 1] if start else -(2**62)
        for record in db.run(
            "export/export_user_chains",
            dataset=dataset,
            statuses=list(statuses),
            after=after,
            limit=page_size,
        ):
            kind = GRAPH_OF_CHAIN[str(record["kind"])]
            links[kind] += 1
            add_chain(earliest[kind].setdefault(int(record["user"]), {}), record["items"], int(record["t"]), index_of)
    edges = {
        kind: {user: as_edges(found) for user, found in sorted(by_user.items())} for kind, by_user in earliest.items()
    }
    return edges, links


def add_chain(earliest: dict[tuple[int, int], int], items: Sequence[int], t: int, index_of: Mapping[int, int]) -> None:
    """A chain's consecutive items as edges (in item indices), each kept at the earliest t that made it."""
    for edge in itertools.pairwise(index_of[int(item)] for item in items):
        earliest[edge] = min(earliest.get(edge, 2**62), t)


def as_edges(earliest: Mapping[tuple[int, int], int]) -> UserEdges:
    return _as_tensors(sorted((src, dst, t) for (src, dst), t in earliest.items()))


def _as_tensors(rows: list[tuple[int, int, int]]) -> UserEdges:
    table = torch.tensor(rows, dtype=torch.long).view(-1, 3)
    return UserEdges(src=table[:, 0].contiguous(), dst=table[:, 1].contiguous(), t=table[:, 2].contiguous())


class ReasoningGraphSource:
    """The `GraphSource` of LLMRG: per row, the reasoning (and divergence) edges its prefix may see.

    Nodes are the items on visible edges plus the row's most recent item (the readout anchor), so a user
    without chains, or a prefix that precedes them all, gets a one-node graph."""

    def __init__(
        self, edges: Mapping[str, Mapping[int, UserEdges]], kinds: Sequence[str], fingerprint: str = ""
    ) -> None:
        unknown = set(kinds) - set(edges)
        if unknown:
            raise ValueError(f"no exported graphs of kind {sorted(unknown)}; exported: {sorted(edges)}")
        self.kinds = tuple(kinds)
        self._edges = edges
        self._fingerprint = fingerprint

    @classmethod
    def of(cls, export: Export, kinds: Sequence[str]) -> ReasoningGraphSource:
        return cls(export.edges, kinds, export.fingerprint())

    def fingerprint(self) -> str:
        """Identifies the exported graphs, so a checkpoint is never resumed over different reasoning."""
        return self._fingerprint

    def graphs(self, user: int, history: Sequence[int]) -> Mapping[str, AnchoredGraph]:
        if not history:
            raise ValueError(f"user {user}: a row needs at least one history item")
        return {kind: self._graph(self._edges[kind].get(user), history) for kind in self.kinds}

    def position_graphs(self, user: int, inputs: Sequence[int], start: int, first: int) -> Mapping[str, PositionGraphs]:
        """Every counted position's graph in a training window (`gnn.data.WindowGraphSource`). A user's graph
        changes only at the steps its chains were stamped, so positions share one node set per graph version
        (the edges stamped before the position's prefix length); the anchor is a node of it, or isolated."""
        return {kind: self._position_graphs(self._edges[kind].get(user), inputs, start, first) for kind in self.kinds}

    @staticmethod
    def _position_graphs(edges: UserEdges | None, inputs: Sequence[int], start: int, first: int) -> PositionGraphs:
        """Vectorised over the window's graph versions (a Python loop over them cost ML-1M's knowledge-base variant
        about 40 s an epoch): version v sees the edges of the v earliest stamps, so a node belongs to every version
        from the first one that sees an edge of it, and each version is a copy of its nodes (sorted) and edges."""
        anchors = torch.as_tensor(list(inputs[first:]), dtype=torch.long)  # [P] each position's most recent item
        if edges is None or edges.t.numel() == 0:
            return PositionGraphs.isolated(anchors.numel())
        lengths = start + torch.arange(first, len(inputs)) + 1  # [P] prefix length of each position's row
        stamps = torch.unique(edges.t)  # [S] sorted
        version = torch.searchsorted(stamps, lengths)  # [P] stamps < length: version v sees t <= stamps[v - 1]
        versions, slot = torch.unique(version, return_inverse=True)  # [V] sorted; [P] each position's version
        nodes, endpoints = torch.unique(torch.cat([edges.src, edges.dst]), return_inverse=True)  # [N] sorted; [2E]
        src_index, dst_index = endpoints.view(2, -1)  # [E] each, into `nodes`
        edge_version = torch.searchsorted(stamps, edges.t) + 1  # [E] the first version that sees the edge
        node_version = torch.full((nodes.numel(),), stamps.numel() + 1).scatter_reduce(
            0, endpoints, edge_version.repeat(2), reduce="amin"
        )  # [N] the first version that holds the node
        node_seen = node_version.unsqueeze(0) <= versions.unsqueeze(1)  # [V, N]
        edge_seen = edge_version.unsqueeze(0) <= versions.unsqueeze(1)  # [V, E]
        if not node_seen.any():  # every position precedes the first stamp
            return PositionGraphs.isolated(anchors.numel())
        counts = node_seen.sum(1)  # [V] nodes of each version (0 for version 0, which sees no edge)
        offsets = counts.cumsum(0) - counts  # [V] where each version's node copies start
        local = node_seen.long().cumsum(1) - 1  # [V, N] a seen node's index among its version's nodes
        _, copy_node = node_seen.nonzero(as_tuple=True)  # [C] by version, then node
        edge_of_version, edge = edge_seen.nonzero(as_tuple=True)  # [E'] by version, then edge order
        edge_index = offsets[edge_of_version] + torch.stack(
            [local[edge_of_version, src_index[edge]], local[edge_of_version, dst_index[edge]]]
        )  # [2, E']
        anchor_index = torch.searchsorted(nodes, anchors).clamp(max=nodes.numel() - 1)  # [P]
        on_edge = (nodes[anchor_index] == anchors) & node_seen[slot, anchor_index]
        anchor_node = torch.where(on_edge, offsets[slot] + local[slot, anchor_index], -1)  # [P]
        per_position = counts[slot]  # [P] each position reads out over every node of its version
        member_position = torch.repeat_interleave(torch.arange(anchors.numel()), per_position)  # [M]
        first_member = per_position.cumsum(0) - per_position  # [P]
        member_node = (
            offsets[slot][member_position] + torch.arange(member_position.numel()) - first_member[member_position]
        )  # [M]
        return PositionGraphs(
            x=nodes[copy_node],
            edge_index=edge_index,
            anchor_node=anchor_node,
            member_position=member_position,
            member_node=member_node,
        )

    @staticmethod
    def _graph(edges: UserEdges | None, history: Sequence[int]) -> AnchoredGraph:
        last = torch.tensor([history[-1]], dtype=torch.long)
        if edges is None:
            return anchored_graph(last, [], anchor=0)
        visible = edges.t < len(history)
        src, dst = edges.src[visible], edges.dst[visible]
        nodes = torch.unique(torch.cat([src, dst, last]))  # sorted
        edge_index = torch.stack([torch.searchsorted(nodes, src), torch.searchsorted(nodes, dst)])
        return anchored_graph(nodes, edge_index, anchor=int(torch.searchsorted(nodes, last)))
