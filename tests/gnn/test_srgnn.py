from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch_geometric.utils import scatter

from gnn.batch import anchored_graph, batch_graphs
from gnn.models.srgnn import SRGNN, equal_rows, normalised_weights, one_step_classes

pytestmark = pytest.mark.unit

HIDDEN = 8


@pytest.fixture
def embedding() -> nn.Embedding:
    torch.manual_seed(0)
    return nn.Embedding(10, HIDDEN, padding_idx=0)


@pytest.fixture
def encoder() -> SRGNN:
    torch.manual_seed(1)
    return SRGNN(HIDDEN, steps=2)


def four_node_graph():
    """Items 1..4; edges 0->1, 1->2, 2->3 and the shortcut 0->2; anchored on node 3."""
    return anchored_graph([1, 2, 3, 4], [(0, 1), (1, 2), (2, 3), (0, 2)], 3)


def test_degree_normalisation_matches_the_srgnn_adjacency() -> None:
    edges = torch.tensor([[0, 1, 2], [2, 2, 3]])
    assert normalised_weights(edges, None, 4, by=1).tolist() == [0.5, 0.5, 1.0]
    assert normalised_weights(edges, None, 4, by=0).tolist() == [1.0, 1.0, 1.0]
    weights = torch.tensor([1.0, 3.0, 2.0])
    assert normalised_weights(edges, weights, 4, by=1).tolist() == [0.25, 0.75, 1.0]


def test_one_step_equals_the_dense_equation(embedding: nn.Embedding) -> None:
    torch.manual_seed(2)
    encoder = SRGNN(HIDDEN, steps=1)
    graph = four_node_graph()
    x = embedding(graph.x)
    adjacency = torch.zeros(4, 4)
    adjacency[graph.edge_index[0], graph.edge_index[1]] = 1.0  # adjacency[i, j] = 1 for i -> j
    a_in = adjacency.t() / adjacency.t().sum(1, keepdim=True).clamp(min=1)
    a_out = adjacency / adjacency.sum(1, keepdim=True).clamp(min=1)
    messages = torch.cat(
        [a_in @ encoder.edge_in(x) + encoder.bias_in, a_out @ encoder.edge_out(x) + encoder.bias_out], dim=-1
    )
    expected = encoder.gru(messages, x)
    assert torch.allclose(encoder.propagate_nodes(x, graph.edge_index), expected, atol=1e-6)


def test_shapes_and_attention_weights_sum_to_one_per_graph(encoder: SRGNN, embedding: nn.Embedding) -> None:
    graphs = batch_graphs([four_node_graph(), anchored_graph([5, 6, 7], [(0, 1), (1, 2)], 2)])
    h = encoder.propagate_nodes(embedding(graphs.x), graphs.edge_index)
    assert h.shape == (7, HIDDEN)
    pooled, alpha = encoder.readout(h, graphs.anchor, graphs.batch)
    assert pooled.shape == (2, HIDDEN)
    assert alpha.shape == (7,)
    assert torch.allclose(scatter(alpha, graphs.batch, reduce="sum"), torch.ones(2), atol=1e-6)
    assert bool((alpha > 0).all())
    assert encoder(graphs, embedding).shape == (2, HIDDEN)


def test_a_batch_of_graphs_agrees_with_each_graph_alone(encoder: SRGNN, embedding: nn.Embedding) -> None:
    first, second = four_node_graph(), anchored_graph([5, 6, 7], [(0, 1), (1, 2), (2, 0)], 1)
    together = encoder(batch_graphs([first, second]), embedding)
    alone = torch.cat([encoder(batch_graphs([first]), embedding), encoder(batch_graphs([second]), embedding)])
    assert torch.allclose(together, alone, atol=1e-6)
    assert torch.allclose(encoder(first, embedding), alone[:1], atol=1e-6)  # an unbatched graph works too


def test_an_isolated_node_reads_out_its_own_gru_state(encoder: SRGNN, embedding: nn.Embedding) -> None:
    single = batch_graphs([anchored_graph([5], [], 0)])
    x = embedding(single.x)
    h = x
    for _ in range(encoder.steps):  # no neighbours: the messages are the biases alone
        h = encoder.gru(torch.cat([encoder.bias_in, encoder.bias_out]).unsqueeze(0), h)
    expected = encoder.output(torch.cat([h, h], dim=-1))  # alpha = 1 on the only node
    assert torch.allclose(encoder(single, embedding), expected, atol=1e-6)


def test_edge_direction_matters_and_in_out_maps_are_mirror_images(encoder: SRGNN, embedding: nn.Embedding) -> None:
    graph = four_node_graph()
    flipped = anchored_graph(graph.x, graph.edge_index.flip(0), 3)
    forward_output = encoder(graph, embedding)
    assert not torch.allclose(forward_output, encoder(flipped, embedding), atol=1e-4)

    mirrored = copy.deepcopy(encoder)  # swap the in and out parameters, and the GRU input halves that read them
    with torch.no_grad():
        mirrored.edge_in.weight.copy_(encoder.edge_out.weight)
        mirrored.edge_out.weight.copy_(encoder.edge_in.weight)
        mirrored.bias_in.copy_(encoder.bias_out)
        mirrored.bias_out.copy_(encoder.bias_in)
        mirrored.gru.weight_ih.copy_(
            torch.cat([encoder.gru.weight_ih[:, HIDDEN:], encoder.gru.weight_ih[:, :HIDDEN]], 1)
        )
    assert torch.allclose(mirrored(flipped, embedding), forward_output, atol=1e-6)


def test_edge_weights_change_the_messages(encoder: SRGNN, embedding: nn.Embedding) -> None:
    graph = four_node_graph()
    weighted = anchored_graph(graph.x, graph.edge_index, 3, [1.0, 1.0, 1.0, 5.0])
    uniform = anchored_graph(graph.x, graph.edge_index, 3, [2.0, 2.0, 2.0, 2.0])
    assert torch.allclose(encoder(uniform, embedding), encoder(graph, embedding), atol=1e-6)
    assert not torch.allclose(encoder(weighted, embedding), encoder(graph, embedding), atol=1e-4)


def test_unnormalised_attention_is_the_papers_raw_score(embedding: nn.Embedding) -> None:
    torch.manual_seed(3)
    paper = SRGNN(HIDDEN, steps=1, normalise_attention=False)
    graphs = batch_graphs([four_node_graph()])
    h = paper.propagate_nodes(embedding(graphs.x), graphs.edge_index)
    _, alpha = paper.readout(h, graphs.anchor, graphs.batch)
    raw = paper.query(torch.sigmoid(paper.anchor_map(h[3]) + paper.node_map(h))).squeeze(-1)
    assert torch.allclose(alpha, raw, atol=1e-6)


def test_reset_parameters_redraws_within_the_papers_bound(encoder: SRGNN) -> None:
    before = [parameter.clone() for parameter in encoder.parameters()]
    encoder.reset_parameters()
    bound = HIDDEN**-0.5
    for old, new in zip(before, encoder.parameters(), strict=True):
        assert not torch.equal(old, new)
        assert float(new.detach().abs().max()) <= bound


def test_one_step_states_of_some_nodes_equal_the_propagation_of_all(embedding: nn.Embedding) -> None:
    torch.manual_seed(7)
    encoder = SRGNN(HIDDEN, steps=1)
    items = torch.randint(1, 10, (12,))
    edges = torch.tensor([[0, 1, 2, 3, 3, 5, 6, 7, 7, 9], [1, 2, 3, 4, 1, 6, 7, 8, 8, 10]])  # a repeated edge 7->8
    at = torch.tensor([1, 3, 7, 8, 11])  # 11 is on no edge
    expected = encoder.propagate_nodes(embedding(items), edges)[at]
    parameters = [encoder.edge_in.weight, encoder.edge_out.weight, encoder.bias_in, encoder.bias_out,
                  *encoder.gru.parameters(), embedding.weight]  # fmt: skip
    (expected * torch.arange(expected.numel()).view_as(expected)).sum().backward()
    expected_gradients = [parameter.grad.clone() for parameter in parameters]
    encoder.zero_grad()
    embedding.zero_grad()
    found = encoder.one_step_states(embedding, items, edges, at)
    (found * torch.arange(found.numel()).view_as(found)).sum().backward()
    torch.testing.assert_close(found, expected)
    for parameter, expected_gradient in zip(parameters, expected_gradients, strict=True):
        torch.testing.assert_close(parameter.grad, expected_gradient)


def test_one_step_classes_join_nodes_with_the_same_item_and_neighbourhoods() -> None:
    # Nodes 0-3 and 4-7 are two copies of the graph 5 -> 6 -> 7 <- 8; node 9 is item 6 with predecessor 5 only;
    # node 10 is item 7 with predecessor 6 twice (a multiset, not the set {6}); node 11 is item 5 on no edge.
    items = torch.tensor([5, 6, 7, 8, 5, 6, 7, 8, 5, 6, 7, 5])
    edges = torch.tensor([[0, 1, 3, 4, 5, 7, 8, 9, 9], [1, 2, 2, 5, 6, 6, 9, 10, 10]])
    representatives, classes = one_step_classes(items, edges)
    assert classes[:4].tolist() == classes[4:8].tolist()
    assert len(set(classes[:4].tolist())) == 4
    assert classes[9] != classes[1]  # item 6 without its successor 7's
    assert classes[10] != classes[2]  # predecessors {6, 6} are not {6, 8}
    assert classes[11] != classes[0]  # item 5 with and without a successor
    assert classes[8] == classes[0]  # item 5 with a successor of item 6: one step reads items, not their states
    assert representatives.numel() == int(classes.max()) + 1
    assert (classes[representatives] == torch.arange(representatives.numel())).all()


def test_equal_rows_are_the_classes_of_torch_unique_over_rows() -> None:
    generator = torch.Generator().manual_seed(9)
    columns = [torch.randint(0, high, (500,), generator=generator) for high in (4, 3, 1 << 40, 5)]
    columns = [torch.cat([column, column[:200]]) for column in columns]  # 200 rows twice
    _, expected = torch.unique(torch.stack(columns, dim=1), dim=0, return_inverse=True)
    found = equal_rows(columns)
    pairs = torch.unique(torch.stack([found, expected], dim=1), dim=0)
    assert pairs.size(0) == int(expected.max()) + 1 == int(found.max()) + 1  # the same partition
