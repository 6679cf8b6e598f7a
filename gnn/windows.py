"""Training windows: one left-aligned window per user with a next-item target at every position (SASRec's scheme).

The prefix scheme (`gnn.data.split(...).train`) gives one row per training target and runs the whole transformer
for each row to read one output; with causal attention the output at position p of a window equals the `encode`
of the row whose prefix is the window up to p, so one pass per window serves all of its targets at a fraction of
the work (ML-1M: 6,040 users, 981,491 training targets; about 7,000 windows of at most 200 items).

A user's training segment is the part of the sequence the leave-one-out split trains on: s_0 .. s_{n-3} (the
validation and test items are never inputs or targets), or the whole sequence for a user too short to evaluate
(as in `gnn.data.split`). Inputs are segment[:-1], targets segment[1:]. A segment with more than `max_len`
inputs gives overlapping windows, starts 0, stride, 2·stride, ... and a last one ending at the segment's end
(stride about `max_len / 2`), so every target keeps at least `max_len - stride` items of real context; each
target is counted once, in the first window that holds it (`counted`), so the loss, a mean over counted targets,
weighs every target as the prefix scheme does.

With graph kinds (the LLMRG fusion, the sequence-graph control) each batch also carries, per kind, the graph of
every counted position (`PositionGraphs`, from a `WindowGraphSource`): position p of a window is the row whose
prefix is the user's sequence up to the window's item p, and it sees that row's graph.

Batches group windows of similar length (sorted by length with random tie-breaking, cut into batches, batches in
random order), so short windows are not padded to the longest of the epoch; the order comes from one
`torch.Generator`, which a checkpoint saves.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace

import torch
from torch import Tensor

from gnn.batch import PositionGraphs, SequenceBatch, WindowBatch
from gnn.data import MIN_EVALUATED_LENGTH, GraphSource, Row, RowSet, WindowGraphSource


def training_segment(sequence: Sequence[int]) -> Sequence[int]:
    """The items a user trains on (module docstring): all but the validation and test items, when it has them."""
    return sequence[: len(sequence) - 2] if len(sequence) >= MIN_EVALUATED_LENGTH else sequence


def window_starts(inputs: int, max_len: int, stride: int) -> list[int]:
    """Start positions of the windows over `inputs` input positions: 0, stride, ... and one ending at the end."""
    if inputs <= max_len:
        return [0]
    starts = list(range(0, inputs - max_len, stride))
    return [*starts, inputs - max_len]


class SameTargetPrefixes:
    """Every training prefix by its target, so DuoRec's supervised positive of a sequence can be any other training
    sequence with the same next item, drawn from the whole training set as the authors' code does (itself only when
    no other has that target)."""

    def __init__(self, rows: RowSet) -> None:
        self.rows = rows
        targets = torch.tensor(
            [rows.sequences[user][end] for user, end in zip(rows.users.tolist(), rows.ends.tolist(), strict=True)],
            dtype=torch.long,
        )
        self.order = torch.argsort(targets, stable=True)  # [R] row indices grouped by target
        self.position = torch.empty_like(self.order)
        self.position[self.order] = torch.arange(self.order.numel())  # [R] where each row sits in `order`
        items, counts = torch.unique_consecutive(targets[self.order], return_counts=True)
        starts = torch.cumsum(counts, 0) - counts
        self.span = {
            int(item): (int(start), int(count)) for item, start, count in zip(items, starts, counts, strict=True)
        }
        users, first = torch.unique_consecutive(rows.users, return_counts=True)
        offsets = torch.cumsum(first, 0) - first
        self.first_row = {
            int(user): (int(offset), int(rows.ends[int(offset)])) for user, offset in zip(users, offsets, strict=True)
        }

    def row_of(self, user: int, end: int) -> int:
        """Index of the training row (user, end): a user's rows are contiguous, ends ascending by one."""
        offset, first_end = self.first_row[user]
        return offset + end - first_end

    def sample(self, origins: Sequence[tuple[int, int]], max_len: int) -> tuple[Tensor, Tensor]:
        """For each (user, end) training row, another training prefix with the same target (its last `max_len`
        items), left-aligned: ([B, L], [B])."""
        chosen: list[Sequence[int]] = []
        for user, end in origins:
            own = self.row_of(user, end)
            start, count = self.span[self.rows.sequences[user][end]]
            pick = int(torch.randint(max(count - 1, 1), ()))
            if count > 1 and pick >= int(self.position[own]) - start:
                pick += 1  # skip the row itself
            index = own if count == 1 else int(self.order[start + pick])
            other_user, other_end = int(self.rows.users[index]), int(self.rows.ends[index])
            chosen.append(self.rows.sequences[other_user][max(0, other_end - max_len) : other_end])
        return left_aligned(chosen)


class WithSameTargetPositives:
    """A prefix-row collator whose batches also carry, per row, another training prefix with the same target drawn
    from the whole training set (DuoRec's supervised positive, as the authors' code draws it for every row)."""

    def __init__(
        self, collate: Callable[[Sequence[Row]], SequenceBatch], positives: SameTargetPrefixes, max_len: int
    ) -> None:
        self.collate = collate
        self.positives = positives
        self.max_len = max_len

    def __call__(self, rows: Sequence[Row]) -> SequenceBatch:
        batch = self.collate(rows)
        items, lengths = self.positives.sample([(row.user, len(row.history)) for row in rows], self.max_len)
        return replace(batch, positive_items=items, positive_lengths=lengths)


def left_aligned(sequences: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor]:
    width = max(len(sequence) for sequence in sequences)
    items = torch.zeros(len(sequences), width, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        items[row, : len(sequence)] = torch.as_tensor(sequence, dtype=torch.long)
    return items, torch.tensor([len(sequence) for sequence in sequences], dtype=torch.long)


class TrainingWindows:
    """Every user's training windows (module docstring), built once; `batches(generator)` is one epoch."""

    def __init__(
        self,
        sequences: Mapping[int, Sequence[int]],
        max_len: int,
        windows_per_batch: int,
        stride: int | None = None,
        users: Sequence[int] | None = None,
        positives: SameTargetPrefixes | None = None,
        graphs: GraphSource | None = None,
        graph_kinds: Sequence[str] = (),
    ) -> None:
        if max_len < 1 or windows_per_batch < 1:
            raise ValueError(f"max_len and windows_per_batch must be positive; got {max_len}, {windows_per_batch}")
        self.graphs: WindowGraphSource | None = None
        if graph_kinds:
            if not isinstance(graphs, WindowGraphSource):
                raise ValueError(
                    f"graph kinds {list(graph_kinds)} in training windows need a source with position_graphs "
                    f"(gnn.data.WindowGraphSource); {type(graphs).__name__} has none: train on prefix rows"
                )
            self.graphs = graphs
        self.max_len = max_len
        self.stride = stride or max(1, max_len // 2)
        self.windows_per_batch = windows_per_batch
        self.positives = positives
        self.graph_kinds = tuple(graph_kinds)
        self.windows: list[tuple[Sequence[int], int]] = []  # (window items incl. the last target, first counted)
        self.origins: list[tuple[int, int]] = []  # (user, index of the window's last target in the sequence)
        for user in sorted(sequences) if users is None else users:
            segment = training_segment(sequences[user])
            inputs = len(segment) - 1
            covered = 0
            for start in window_starts(inputs, max_len, self.stride):
                end = min(start + max_len, inputs)
                if end > covered:
                    self.windows.append((segment[start : end + 1], max(covered, start) - start))
                    self.origins.append((user, end))
                    covered = end
        self.lengths = torch.tensor([len(items) - 1 for items, _ in self.windows], dtype=torch.long)
        self.target_count = sum(len(items) - 1 - first for items, first in self.windows)

    def capped(self, max_targets: int, generator: torch.Generator) -> TrainingWindows:
        """A seeded random subset of the windows holding at most `max_targets` counted targets (for quick runs,
        like `max_train_rows` in the prefix scheme; at least one window)."""
        kept = copy.copy(self)
        order = torch.randperm(len(self.windows), generator=generator).tolist()
        chosen: list[int] = []
        total = 0
        for index in order:
            items, first = self.windows[index]
            if chosen and total + len(items) - 1 - first > max_targets:
                continue
            chosen.append(index)
            total += len(items) - 1 - first
        chosen.sort()
        kept.windows = [self.windows[index] for index in chosen]
        kept.origins = [self.origins[index] for index in chosen]
        kept.lengths = self.lengths[chosen]
        kept.target_count = total
        return kept

    def __len__(self) -> int:
        """Batches per epoch."""
        return -(-len(self.windows) // self.windows_per_batch)

    def batches(self, generator: torch.Generator) -> Iterator[WindowBatch]:
        """One epoch: windows bucketed by length, batches in random order, all drawn from `generator`."""
        tie_break = torch.rand(len(self.windows), generator=generator)
        by_length = torch.argsort(self.lengths.to(torch.float64) + tie_break.to(torch.float64))
        chunks = list(torch.split(by_length, self.windows_per_batch))
        for chunk in torch.randperm(len(chunks), generator=generator).tolist():
            yield self.batch([int(index) for index in chunks[chunk]])

    def batch(self, indices: Sequence[int]) -> WindowBatch:
        chosen = [self.windows[index] for index in indices]
        width = max(len(items) - 1 for items, _ in chosen)
        items = torch.zeros(len(chosen), width, dtype=torch.long)
        targets = torch.zeros(len(chosen), width, dtype=torch.long)
        counted = torch.zeros(len(chosen), width, dtype=torch.bool)
        for row, (window, first) in enumerate(chosen):
            values = torch.as_tensor(window, dtype=torch.long)
            inputs = values.numel() - 1
            items[row, :inputs] = values[:-1]
            targets[row, :inputs] = values[1:]
            counted[row, first:inputs] = True
        lengths = torch.tensor([len(window) - 1 for window, _ in chosen], dtype=torch.long)
        origins = [self.origins[index] for index in indices]
        positive_items = positive_lengths = None
        if self.positives is not None:
            positive_items, positive_lengths = self.positives.sample(origins, self.max_len)
        graphs = self.position_graphs(chosen, origins) if self.graph_kinds else {}
        return WindowBatch(items, targets, counted, lengths, positive_items, positive_lengths, graphs)

    def position_graphs(
        self, chosen: Sequence[tuple[Sequence[int], int]], origins: Sequence[tuple[int, int]]
    ) -> dict[str, PositionGraphs]:
        """Per kind, the graphs of the chosen windows' counted positions, in the batch's row-major order."""
        assert self.graphs is not None
        parts: dict[str, list[PositionGraphs]] = {kind: [] for kind in self.graph_kinds}
        for (window, first), (user, end) in zip(chosen, origins, strict=True):
            found = self.graphs.position_graphs(user, window[:-1], end + 1 - len(window), first)
            for kind in self.graph_kinds:
                parts[kind].append(found[kind])
        return {kind: PositionGraphs.concat(kind_parts) for kind, kind_parts in parts.items()}
