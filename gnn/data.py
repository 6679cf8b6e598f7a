"""Leave-one-out rows over in-memory sequences, the graphs each row may see, and batching into `SequenceBatch`.

Protocol (design doc, "Evaluation protocol"): each user's deduplicated, time-ordered sequence s_0 .. s_{n-1} gives
    train  one row per prefix of s_0 .. s_{n-3}: history s_0 .. s_{t-1} -> target s_t, t = 1 .. n-3,
    valid  s_0 .. s_{n-3} -> s_{n-2},
    test   s_0 .. s_{n-2} -> s_{n-1},
so neither the test item nor the validation item is ever a training input or target (sequences are
deduplicated, so neither can occur earlier either). Users with fewer than 3 items cannot give both a validation
and a test row: they are dropped from valid and test and train on every prefix of their whole sequence (a 2-item
user gives one row s_0 -> s_1, a 1-item user none); this never leaks, since they are never evaluated.

A row stores (user, end) and builds its full prefix on demand, so ML-1M's million training prefixes cost two
integers each. The model sees the last `max_len` items (`SequenceBatch.from_lists` truncates); a `GraphSource`
receives the full prefix, whose length is the step count its reasoning edges are filtered by.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from core.vocabulary import GraphKind
from gnn.batch import AnchoredGraph, PositionGraphs, SequenceBatch, sequence_graph

MIN_EVALUATED_LENGTH = 3


@dataclass(frozen=True, eq=False)
class SequenceData:
    """sequences: user -> time-ordered, deduplicated item ids in 1..n_items; item_features [n_items + 1, F]
    attribute ids in 0..n_features (0 = padding, row 0 the padding item), needed by FDSA only."""

    dataset: str
    n_items: int
    sequences: Mapping[int, Sequence[int]]
    item_features: Tensor | None = None
    n_features: int = 0

    def __post_init__(self) -> None:
        if self.n_items < 1:
            raise ValueError(f"n_items must be positive; got {self.n_items}")
        for user, sequence in self.sequences.items():
            if not sequence:
                raise ValueError(f"user {user} has an empty sequence")
            if min(sequence) < 1 or max(sequence) > self.n_items:
                raise ValueError(f"user {user} has item ids outside 1..{self.n_items}")
            if len(set(sequence)) != len(sequence):
                raise ValueError(f"user {user}'s sequence repeats an item; deduplicate it (keep first occurrences)")
        if self.item_features is not None:
            features = self.item_features
            if features.dim() != 2 or features.size(0) != self.n_items + 1:
                raise ValueError(f"item_features must be [n_items + 1, F]; got {tuple(features.shape)}")
            if features.numel() and (int(features.min()) < 0 or int(features.max()) > self.n_features):
                raise ValueError(f"attribute ids must lie in 0..n_features = 0..{self.n_features}")

    def fingerprint(self) -> str:
        """SHA-256 of everything training reads, so a checkpoint is never resumed on other data."""
        digest = hashlib.sha256(f"{self.dataset}|{self.n_items}|{self.n_features}".encode())
        for user in sorted(self.sequences):
            digest.update(torch.tensor([user, -1, *self.sequences[user]], dtype=torch.long).numpy().tobytes())
        if self.item_features is not None:
            digest.update(self.item_features.to(torch.long).contiguous().numpy().tobytes())
        return digest.hexdigest()


def shuffled_features(features: Tensor, seed: int) -> Tensor:
    """FDSA's placebo attributes: item i gets the attribute row of item perm(i), a seeded permutation of 1..n_items
    (row 0, the padding item, stays). Every attribute keeps its frequency and every item as many attributes as
    some real item has, but an item's attributes no longer say anything about it: what FDSA gains over the placebo
    is what the real attributes tell it."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.cat([torch.zeros(1, dtype=torch.long), torch.randperm(features.size(0) - 1, generator=generator) + 1])
    return features[order]


@dataclass(frozen=True)
class Row:
    """One prediction: the user's full prefix before `target`."""

    user: int
    history: tuple[int, ...]
    target: int

    def window(self, max_len: int) -> tuple[int, ...]:
        """The most recent `max_len` items of the history: what a base model reads."""
        return self.history[-max_len:]


class RowSet(Dataset[Row]):
    """Rows as (user, end) pairs over the data's sequences: row i is sequences[user][:end] -> sequences[user][end]."""

    def __init__(
        self, sequences: Mapping[int, Sequence[int]], users: Sequence[int] | Tensor, ends: Sequence[int] | Tensor
    ) -> None:
        self.sequences = sequences
        self.users = torch.as_tensor(users, dtype=torch.long).reshape(-1)  # [R]
        self.ends = torch.as_tensor(ends, dtype=torch.long).reshape(-1)  # [R]
        if self.users.shape != self.ends.shape:
            raise ValueError(f"{self.users.numel()} users for {self.ends.numel()} row ends")

    def __len__(self) -> int:
        return self.users.numel()

    def __getitem__(self, index: int) -> Row:
        user, end = int(self.users[index]), int(self.ends[index])
        sequence = self.sequences[user]
        return Row(user, tuple(sequence[:end]), sequence[end])

    def __iter__(self) -> Iterator[Row]:
        return (self[index] for index in range(len(self)))

    def subset(self, indices: Tensor) -> RowSet:
        return RowSet(self.sequences, self.users[indices], self.ends[indices])

    def of_users(self, users: Collection[int]) -> RowSet:
        """The rows of `users`, in their original order."""
        wanted = torch.tensor(sorted(users), dtype=torch.long)
        return self.subset(torch.isin(self.users, wanted).nonzero().flatten())


@dataclass(frozen=True, eq=False)
class Split:
    train: RowSet
    valid: RowSet
    test: RowSet
    short_users: tuple[int, ...] = field(default=())  # users with < 3 items: training rows only


def split(data: SequenceData) -> Split:
    """Leave-one-out split (module docstring); users in ascending id order, prefixes in time order."""
    train_users: list[int] = []
    train_ends: list[int] = []
    evaluated: list[int] = []
    short: list[int] = []
    for user in sorted(data.sequences):
        length = len(data.sequences[user])
        last_train_end = length - 3 if length >= MIN_EVALUATED_LENGTH else length - 1
        train_users.extend([user] * max(last_train_end, 0))
        train_ends.extend(range(1, last_train_end + 1))
        (evaluated if length >= MIN_EVALUATED_LENGTH else short).append(user)
    lengths = [len(data.sequences[user]) for user in evaluated]
    return Split(
        train=RowSet(data.sequences, train_users, train_ends),
        valid=RowSet(data.sequences, evaluated, [length - 2 for length in lengths]),
        test=RowSet(data.sequences, evaluated, [length - 1 for length in lengths]),
        short_users=tuple(short),
    )


@runtime_checkable
class GraphSource(Protocol):
    """Where rows get their graphs. `graphs(user, history)` receives the row's full prefix (never its target)
    and returns one `AnchoredGraph` per kind in `kinds`, each with at least one node and anchored on the node of
    `history[-1]`. An LLM-backed source must only use reasoning created at steps t < len(history), i.e. from
    items the prefix contains, so the graphs of a row never see its target or anything later.

    Optionally a source may define `fingerprint() -> str` identifying its graphs; checkpoints then refuse to
    resume with graphs other than those they were trained on."""

    kinds: tuple[str, ...]

    def graphs(self, user: int, history: Sequence[int]) -> Mapping[str, AnchoredGraph]: ...


@runtime_checkable
class WindowGraphSource(GraphSource, Protocol):
    """A `GraphSource` that also gives the graphs of every counted position of a training window at once
    (`gnn.windows`): `position_graphs(user, inputs, start, first)` for the window's input items `inputs`, the
    first of which is item `start` of the user's sequence, and its counted positions `first`..len(inputs) - 1.
    Position p's graph must be the one `graphs(user, sequence[:start + p + 1])` gives (the row whose target is
    the window's target at p), as a `PositionGraphs` per kind, positions and nodes numbered from 0 in the window."""

    def position_graphs(
        self, user: int, inputs: Sequence[int], start: int, first: int
    ) -> Mapping[str, PositionGraphs]: ...


class SequenceGraphSource:
    """Kind "seq": SR-GNN's session graph of the plain history, the paper's no-LLM control. `max_len` keeps the
    same most recent window the base model reads (None: the whole prefix).

    In training windows (`position_graphs`) position p's graph is the session graph of the window's items up to p,
    the items the base model reads there. Sequences are deduplicated, so that graph is a path, and with one
    propagation step a node's state depends only on its item, its predecessor's and whether it has a successor.
    So one graph per window serves every position: the window's items as "inner" nodes (with successor, chained
    i -> i + 1) plus an "end" copy of each (no successor, fed by the inner predecessor). Position p reads out over
    inner nodes 0..p-1 and end node p, its anchor. An inner node then has two out-edges, weighted 1/2 each after
    SR-GNN's out-degree normalisation, to two nodes with the same initial state: the same message as one edge.
    That holds for the first step only, so more steps need prefix rows (`TrainConfig` refuses the combination)."""

    kinds: tuple[str, ...] = (GraphKind.SEQUENCE.value,)

    def __init__(self, max_len: int | None = None) -> None:
        self.max_len = max_len

    def graphs(self, user: int, history: Sequence[int]) -> Mapping[str, AnchoredGraph]:
        window = list(history) if self.max_len is None else list(history)[-self.max_len :]
        return {GraphKind.SEQUENCE.value: sequence_graph(window)}

    def position_graphs(self, user: int, inputs: Sequence[int], start: int, first: int) -> Mapping[str, PositionGraphs]:
        """The inner/end construction of the class docstring; position p reads inner 0..p-1 and end p."""
        items = torch.as_tensor(list(inputs), dtype=torch.long)  # [n]
        n = items.numel()
        inner = torch.arange(n - 1)
        edge_index = torch.cat([torch.stack([inner, inner + 1]), torch.stack([inner, n + inner + 1])], dim=1)
        positions = torch.arange(first, n)  # [P] window positions p
        local = torch.arange(positions.numel())  # [P] counted positions q
        member_position = torch.repeat_interleave(local, positions)  # p inner members at position p
        starts = torch.cumsum(positions, 0) - positions
        member_node = torch.arange(member_position.numel()) - torch.repeat_interleave(starts, positions)
        graphs = PositionGraphs(
            x=torch.cat([items, items]),
            edge_index=edge_index,
            anchor_node=n + positions,
            member_position=torch.cat([member_position, local]),
            member_node=torch.cat([member_node, n + positions]),
        )
        return {GraphKind.SEQUENCE.value: graphs}


def resolve_graph_source(
    graph_kinds: Sequence[str], max_len: int, graphs: GraphSource | None = None
) -> GraphSource | None:
    """The source a run's graph kinds come from: `graphs` if given; the plain-sequence control needs none passed
    (a `SequenceGraphSource` over the model's `max_len` window); no kinds, no source."""
    if not graph_kinds:
        return None
    if graphs is None and tuple(graph_kinds) == (GraphKind.SEQUENCE.value,):
        return SequenceGraphSource(max_len)
    if graphs is None:
        raise ValueError(f"graph kinds {list(graph_kinds)} need a GraphSource (only 'seq' has a default)")
    return graphs


class RowCollator:
    """Rows -> `SequenceBatch` with the graphs of `graph_kinds` from `graphs`, checking the graph contract."""

    def __init__(self, max_len: int, graph_kinds: Sequence[str] = (), graphs: GraphSource | None = None) -> None:
        self.max_len = max_len
        self.graph_kinds = tuple(graph_kinds)
        self.graphs = graphs
        if self.graph_kinds:
            if graphs is None:
                raise ValueError(f"graph kinds {list(self.graph_kinds)} need a GraphSource")
            missing = [kind for kind in self.graph_kinds if kind not in graphs.kinds]
            if missing:
                raise ValueError(f"the GraphSource provides {list(graphs.kinds)}, not {missing}")

    def row_graphs(self, row: Row) -> Mapping[str, AnchoredGraph]:
        assert self.graphs is not None
        found = self.graphs.graphs(row.user, row.history)
        for kind in self.graph_kinds:
            graph = found[kind]
            if int(graph.x[graph.anchor]) != row.history[-1]:
                raise ValueError(
                    f"user {row.user}: the '{kind}' graph is anchored on item {int(graph.x[graph.anchor])}, "
                    f"not on the most recent history item {row.history[-1]}"
                )
        return found

    def __call__(self, rows: Sequence[Row]) -> SequenceBatch:
        graphs: dict[str, list[AnchoredGraph]] = {kind: [] for kind in self.graph_kinds}
        if self.graph_kinds:
            for row in rows:
                found = self.row_graphs(row)
                for kind in self.graph_kinds:
                    graphs[kind].append(found[kind])
        return SequenceBatch.from_lists(
            [row.history for row in rows], [row.target for row in rows], self.max_len, graphs
        )


def row_loader(
    rows: RowSet,
    batch_size: int,
    collate: Callable[[Sequence[Row]], SequenceBatch],
    generator: torch.Generator | None = None,
) -> DataLoader[Row]:
    """Batches of rows in order, or shuffled by `generator` (whose state alone fixes the order, so a checkpoint
    that saves it resumes the same epoch order). Single-process: graph look-ups stay in the calling process."""
    return DataLoader(
        rows, batch_size=batch_size, shuffle=generator is not None, generator=generator, collate_fn=collate
    )
