from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
import torch

from gnn.batch import AnchoredGraph, anchored_graph, sequence_graph
from gnn.data import GraphSource, Row, RowCollator, SequenceData, SequenceGraphSource, row_loader, split
from tests.gnn.synthetic import cycle_data

pytestmark = pytest.mark.unit


class RecordingSource:
    """Kind "rea" = the sequence graph of the prefix; remembers every (user, history) it was asked about."""

    kinds = ("rea",)

    def __init__(self) -> None:
        self.calls: list[tuple[int, tuple[int, ...]]] = []
        self.returned: list[AnchoredGraph] = []

    def graphs(self, user: int, history: Sequence[int]) -> Mapping[str, AnchoredGraph]:
        self.calls.append((user, tuple(history)))
        graph = sequence_graph(list(history))
        self.returned.append(graph)
        return {"rea": graph}


def three_users() -> SequenceData:
    return SequenceData("hand", 6, {1: [1, 2, 3, 4, 5], 2: [3, 1, 2], 3: [5, 4]})


def test_split_gives_the_exact_leave_one_out_rows() -> None:
    parts = split(three_users())
    assert list(parts.train) == [Row(1, (1,), 2), Row(1, (1, 2), 3), Row(3, (5,), 4)]
    assert list(parts.valid) == [Row(1, (1, 2, 3), 4), Row(2, (3,), 1)]
    assert list(parts.test) == [Row(1, (1, 2, 3, 4), 5), Row(2, (3, 1), 2)]
    assert parts.short_users == (3,)


def test_one_item_users_give_no_rows() -> None:
    parts = split(SequenceData("hand", 6, {7: [6], 8: [1, 2, 3]}))
    assert (list(parts.train), [row.user for row in parts.valid], parts.short_users) == ([], [8], (7,))


@pytest.mark.parametrize(
    ("sequences", "message"),
    [
        ({1: [1, 7]}, r"outside 1\.\.6"),
        ({1: [0, 2]}, r"outside 1\.\.6"),
        ({1: [1, 2, 1]}, "repeats an item"),
        ({1: []}, "empty sequence"),
    ],
)
def test_invalid_sequences_are_refused(sequences: dict[int, list[int]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SequenceData("bad", 6, sequences)


def test_invalid_item_features_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[n_items \+ 1, F\]"):
        SequenceData("bad", 6, {1: [1, 2]}, torch.zeros(6, 2, dtype=torch.long), 3)
    with pytest.raises(ValueError, match=r"0\.\.3"):
        SequenceData("bad", 6, {1: [1, 2]}, torch.full((7, 2), 4, dtype=torch.long), 3)


def test_no_training_row_sees_its_users_valid_or_test_item() -> None:
    data = cycle_data()
    parts = split(data)
    held_out = {row.user: {row.target} for row in parts.valid}
    for row in parts.test:
        held_out[row.user].add(row.target)
    assert len(parts.train) == sum(len(sequence) - 3 for sequence in data.sequences.values()) == 105
    for row in parts.train:
        assert held_out[row.user].isdisjoint({*row.history, row.target})


def test_training_graphs_never_see_held_out_items() -> None:
    data = cycle_data()
    parts = split(data)
    source = RecordingSource()
    collate = RowCollator(max_len=3, graph_kinds=("rea",), graphs=source)
    batches = list(row_loader(parts.train, 16, collate, torch.Generator().manual_seed(0)))
    assert sum(batch.size for batch in batches) == len(parts.train)
    expected = sorted((row.user, row.history) for row in parts.train)
    assert sorted(source.calls) == expected  # full prefixes, each training row exactly once
    held_out = {row.user: {row.target, data.sequences[row.user][-1]} for row in parts.valid}
    for (user, history), graph in zip(source.calls, source.returned, strict=True):
        assert held_out[user].isdisjoint(history)
        assert held_out[user].isdisjoint(graph.x.tolist())


def test_max_len_keeps_the_most_recent_items_and_graphs_get_the_full_prefix() -> None:
    row = split(three_users()).test[0]
    assert row.window(2) == (3, 4)
    source = RecordingSource()
    batch = RowCollator(max_len=2, graph_kinds=("rea",), graphs=source)([row])
    assert batch.items.tolist() == [[3, 4]]
    assert batch.lengths.tolist() == [2]
    assert batch.targets.tolist() == [5]
    assert source.calls == [(1, (1, 2, 3, 4))]
    seq = SequenceGraphSource(max_len=2).graphs(1, [1, 2, 3, 4])["seq"]
    assert (seq.x.tolist(), seq.edge_index.tolist(), int(seq.anchor)) == ([3, 4], [[0], [1]], 1)
    assert SequenceGraphSource().graphs(1, [1, 2, 3, 4])["seq"].x.tolist() == [1, 2, 3, 4]


def test_the_order_depends_on_the_generator_seed_only() -> None:
    parts = split(cycle_data())
    collate = RowCollator(max_len=8)

    def targets(seed: int) -> list[int]:
        loader = row_loader(parts.train, 16, collate, torch.Generator().manual_seed(seed))
        return [target for batch in loader for target in batch.targets.tolist()]

    in_order = [target for batch in row_loader(parts.train, 16, collate) for target in batch.targets.tolist()]
    assert targets(3) == targets(3)
    assert targets(3) != targets(4)
    assert targets(3) != in_order
    assert sorted(targets(3)) == sorted(in_order) == sorted(row.target for row in parts.train)


def test_graph_contract_is_checked() -> None:
    row = split(three_users()).test[0]
    assert isinstance(SequenceGraphSource(), GraphSource)
    with pytest.raises(ValueError, match="need a GraphSource"):
        RowCollator(4, ("rea",))
    with pytest.raises(ValueError, match=r"provides \['seq'\], not \['rea'\]"):
        RowCollator(4, ("rea",), SequenceGraphSource())

    class FirstItemAnchor:
        kinds = ("rea",)

        def graphs(self, user: int, history: Sequence[int]) -> Mapping[str, AnchoredGraph]:
            return {"rea": anchored_graph(list(history), [], 0)}

    with pytest.raises(ValueError, match="anchored on item 1, not on the most recent history item 4"):
        RowCollator(4, ("rea",), FirstItemAnchor())([row])
