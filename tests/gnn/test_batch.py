from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from gnn.batch import SequenceBatch, anchored_graph, batch_graphs, sequence_graph

pytestmark = pytest.mark.unit


def test_sequence_graph_is_the_srgnn_session_graph() -> None:
    graph = sequence_graph([1, 2, 1, 3])
    assert graph.x.tolist() == [1, 2, 3]
    assert graph.edge_index.tolist() == [[0, 1, 0], [1, 0, 2]]  # 1->2, 2->1, 1->3
    assert graph.anchor.tolist() == [2]
    assert "edge_weight" not in graph


def test_repeated_transitions_give_one_edge_and_a_single_item_gives_one_node() -> None:
    assert sequence_graph([4, 5, 4, 5]).edge_index.tolist() == [[0, 1], [1, 0]]
    single = sequence_graph([7])
    assert single.x.tolist() == [7]
    assert single.edge_index.shape == (2, 0)
    assert single.anchor.tolist() == [0]


def test_batched_anchors_are_global_node_indices() -> None:
    graphs = [sequence_graph([1, 2, 1, 3]), sequence_graph([7]), anchored_graph([4, 6], [(1, 0)], 1)]
    batch = batch_graphs(graphs)
    assert batch.num_graphs == 3
    assert batch.anchor.tolist() == [2, 3, 5]
    assert batch.x[batch.anchor].tolist() == [3, 7, 6]
    assert batch.edge_index.tolist() == [[0, 1, 0, 5], [1, 0, 2, 4]]
    assert batch.batch.tolist() == [0, 0, 0, 1, 2, 2]


def test_edge_weights_are_batched_and_must_be_all_or_none() -> None:
    weighted = [anchored_graph([1, 2], [(0, 1)], 1, [0.5]), anchored_graph([3, 4, 5], [(0, 2), (1, 2)], 2, [1, 2])]
    assert batch_graphs(weighted).edge_weight.tolist() == [0.5, 1.0, 2.0]
    with pytest.raises(ValueError, match="edge_weight"):
        batch_graphs([weighted[0], sequence_graph([1, 2])])


def test_malformed_graphs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one node"):
        anchored_graph([], [], 0)
    with pytest.raises(ValueError, match="anchor 2"):
        anchored_graph([1, 2], [(0, 1)], 2)
    with pytest.raises(ValueError, match="outside"):
        anchored_graph([1, 2], [(0, 2)], 1)
    with pytest.raises(ValueError, match="edge weights"):
        anchored_graph([1, 2], [(0, 1)], 1, [1.0, 2.0])
    with pytest.raises(TypeError, match="AnchoredGraph"):
        batch_graphs([Data(x=torch.tensor([1]), edge_index=torch.empty(2, 0, dtype=torch.long))])


def test_from_lists_left_aligns_and_keeps_the_most_recent_items() -> None:
    batch = SequenceBatch.from_lists([[1, 2], [3, 4, 5, 6, 7]], [3, 8], max_len=4)
    assert batch.items.tolist() == [[1, 2, 0, 0], [4, 5, 6, 7]]
    assert batch.lengths.tolist() == [2, 4]
    assert batch.targets.tolist() == [3, 8]
    assert batch.graphs == {}
    assert batch.size == 2


def test_from_lists_batches_each_graph_kind_and_to_moves_everything() -> None:
    histories = [[1, 2, 1, 3], [5]]
    batch = SequenceBatch.from_lists(histories, [4, 6], 4, {"seq": [sequence_graph(h) for h in histories]})
    moved = batch.to("cpu")
    assert moved.graphs["seq"].anchor.tolist() == [2, 3]
    assert torch.equal(moved.items, batch.items)
    with pytest.raises(ValueError, match="targets"):
        SequenceBatch(items=batch.items, lengths=batch.lengths, targets=torch.tensor([1]))
    with pytest.raises(ValueError, match="at least one item"):
        SequenceBatch.from_lists([[1], []], [2, 3], 4)
