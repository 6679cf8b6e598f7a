"""Graphs in training windows: the SR-GNN readout of every counted position (node states once per graph version,
one graph per window for the sequence-graph control) equals SR-GNN on that position's own prefix-row graph, so the
LLMRG fusion and the control train on windows with the prefix rows' outputs and loss."""

from __future__ import annotations

import pytest
import torch

from gnn.batch import batch_graphs, sequence_graph
from gnn.config import TrainConfig
from gnn.data import RowCollator, SequenceGraphSource, split
from gnn.export import ReasoningGraphSource, UserEdges
from gnn.models import SRGNN, LLMRGFusion, build_model
from gnn.train import train
from gnn.windows import TrainingWindows
from tests.gnn.synthetic import cycle_data
from tests.gnn.test_train import untrained_valid
from tests.gnn.test_windows import N_ITEMS, random_data

pytestmark = pytest.mark.unit


def random_edges(sequences: dict[int, list[int]], seed: int, new_items: bool) -> dict[int, UserEdges]:
    """Per user a few chains' edges over the user's items (and, for a divergence graph, items the user never saw),
    stamped at random steps, some users without any."""
    generator = torch.Generator().manual_seed(seed)
    edges = {}
    for user, sequence in sequences.items():
        if user % 4 == 0 or len(sequence) < 2:
            continue
        count = int(torch.randint(1, 12, (), generator=generator))
        pool = torch.tensor(sequence)
        src = pool[torch.randint(len(sequence), (count,), generator=generator)]
        dst = pool[torch.randint(len(sequence), (count,), generator=generator)]
        if new_items:
            dst = torch.randint(1, N_ITEMS + 1, (count,), generator=generator)
        t = torch.randint(0, len(sequence), (count,), generator=generator)
        keep = src != dst
        edges[user] = UserEdges(src[keep], dst[keep], t[keep])
    return edges


def reasoning_source(sequences: dict[int, list[int]]) -> ReasoningGraphSource:
    edges = {"rea": random_edges(sequences, 1, new_items=False), "div": random_edges(sequences, 2, new_items=True)}
    return ReasoningGraphSource(edges, ("rea", "div"))


@pytest.mark.parametrize(("max_len", "steps"), [(30, 1), (6, 1), (6, 2)])
def test_reasoning_readout_per_position_equals_srgnn_on_each_rows_graph(max_len: int, steps: int) -> None:
    data = random_data(users=16, seed=5)
    sequences = {user: list(sequence) for user, sequence in data.sequences.items()}
    source = reasoning_source(sequences)
    windows = TrainingWindows(sequences, max_len, windows_per_batch=4, graphs=source, graph_kinds=source.kinds)
    embedding = torch.nn.Embedding(N_ITEMS + 1, 8, padding_idx=0)
    visible_edges = 0
    for index, ((window, first), (user, end)) in enumerate(zip(windows.windows, windows.origins, strict=True)):
        batch = windows.batch([index])
        start = end + 1 - len(window)
        histories = [sequences[user][: start + p + 1] for p in range(first, len(window) - 1)]
        assert [history[-1] for history in histories] == batch.items[batch.counted].tolist()
        for kind in source.kinds:
            encoder = SRGNN(8, steps=steps)
            graphs = [source.graphs(user, history)[kind] for history in histories]
            visible_edges += sum(graph.edge_index.size(1) for graph in graphs)
            expected = encoder(batch_graphs(graphs), embedding)
            found = encoder.read_positions(batch.graphs[kind], batch.items[batch.counted], embedding)
            torch.testing.assert_close(found, expected, atol=1e-5, rtol=1e-4)
    assert visible_edges > 0  # the check saw real graphs, not only isolated anchors


def test_sequence_graph_readout_per_position_equals_srgnn_on_each_prefix_graph() -> None:
    data = random_data(users=16, seed=6)
    windows = TrainingWindows(data.sequences, 7, 5, graphs=SequenceGraphSource(7), graph_kinds=("seq",))
    encoder = SRGNN(8, steps=1)
    embedding = torch.nn.Embedding(N_ITEMS + 1, 8, padding_idx=0)
    batch = windows.batch(list(range(len(windows.windows))))
    prefixes = [
        batch.items[row, : position + 1].tolist()
        for row in range(batch.size)
        for position in batch.counted[row].nonzero().flatten().tolist()
    ]
    expected = encoder(batch_graphs([sequence_graph(prefix) for prefix in prefixes]), embedding)
    found = encoder.read_positions(batch.graphs["seq"], batch.items[batch.counted], embedding)
    torch.testing.assert_close(found, expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("kinds", [("rea", "div"), ("seq",)])
def test_the_fused_window_outputs_and_loss_equal_the_prefix_rows(kinds: tuple[str, ...]) -> None:
    data = random_data(users=16, seed=7)
    sequences = {user: list(sequence) for user, sequence in data.sequences.items()}
    source = SequenceGraphSource(30) if kinds == ("seq",) else reasoning_source(sequences)
    model = LLMRGFusion(build_model("sasrec", N_ITEMS, 30, 16), kinds).eval()
    windows = TrainingWindows(sequences, 30, windows_per_batch=4, graphs=source, graph_kinds=kinds)
    batch = windows.batch(list(range(len(windows.windows))))
    rows = list(split(data).train)
    row_batch = RowCollator(30, kinds, source)(rows)
    with torch.no_grad():
        fused, _ = model.window_states(batch)
        encoded = model.encode(row_batch)
        order = {(row.user, row.target): index for index, row in enumerate(rows)}
        users = [
            user
            for (user, _), (window, first) in zip(windows.origins, windows.windows, strict=True)
            for _ in window[first:-1]
        ]
        targets = batch.targets[batch.counted].tolist()
        matched = torch.tensor([order[(user, target)] for user, target in zip(users, targets, strict=True)])
        torch.testing.assert_close(fused, encoded[matched], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(model.window_loss(batch), model.loss(row_batch), atol=1e-5, rtol=1e-4)


def test_graph_variants_train_on_windows_where_exact_and_on_prefix_rows_elsewhere() -> None:
    assert TrainConfig(model="duorec", graph_kinds=("rea", "div")).train_scheme == "windows"
    assert TrainConfig(model="sasrec", graph_kinds=("seq",)).train_scheme == "windows"
    assert TrainConfig(model="bert4rec", graph_kinds=("rea",)).train_scheme == "prefix"
    assert TrainConfig(model="sasrec", graph_kinds=("seq",), gnn_steps=2).train_scheme == "prefix"
    assert TrainConfig(model="sasrec", graph_kinds=("rea",), gnn_steps=2).train_scheme == "windows"
    with pytest.raises(ValueError, match="bidirectional"):
        TrainConfig(model="bert4rec", graph_kinds=("rea",), train_scheme="windows")
    with pytest.raises(ValueError, match="gnn_steps=1"):
        TrainConfig(model="sasrec", graph_kinds=("seq",), gnn_steps=2, train_scheme="windows")


@pytest.mark.parametrize("name", ["sasrec", "duorec"])
def test_the_sequence_graph_control_trains_on_windows(name: str) -> None:
    config = TrainConfig(
        model=name, graph_kinds=("seq",), hidden=16, max_len=8, lr=1e-2, epochs=3, windows_per_batch=4, dropout=0.1
    )
    result = train(cycle_data(), config, progress=False)
    # Three epochs: at two, DuoRec's gain over seeds 0-5 ranged 0.17-0.48, too close to the bar; at three 0.29-0.54.
    assert result.train_scheme == "windows" and result.epochs_run == 3
    assert result.valid["ndcg@10"] > untrained_valid(config)["ndcg@10"] + 0.2


def test_a_source_without_position_graphs_is_refused_in_windows() -> None:
    class RowsOnly:
        kinds = ("rea",)

        def graphs(self, user: int, history: list[int]) -> dict:
            return {"rea": sequence_graph(history)}

    with pytest.raises(ValueError, match="position_graphs"):
        TrainingWindows(cycle_data().sequences, 8, 4, graphs=RowsOnly(), graph_kinds=("rea",))


def test_the_chunked_readout_gives_the_same_outputs_and_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    from gnn.models import srgnn

    data = random_data(users=16, seed=8)
    windows = TrainingWindows(data.sequences, 12, 16, graphs=SequenceGraphSource(12), graph_kinds=("seq",))
    batch = windows.batch(list(range(len(windows.windows))))
    encoder = SRGNN(8, steps=1, fused=False)  # the eager code's chunks (the fused kernels: test_fused_readout)
    embedding = torch.nn.Embedding(N_ITEMS + 1, 8, padding_idx=0)
    members = batch.graphs["seq"].member_node.numel()

    def outputs_and_gradients() -> tuple[torch.Tensor, list[torch.Tensor]]:
        encoder.zero_grad()
        embedding.zero_grad()
        found = encoder.read_positions(batch.graphs["seq"], batch.items[batch.counted], embedding)
        (found * torch.linspace(-1, 1, found.numel()).view_as(found)).sum().backward()
        return found.detach(), [parameter.grad.clone() for parameter in [*encoder.parameters(), embedding.weight]]

    whole, whole_gradients = outputs_and_gradients()
    monkeypatch.setattr(srgnn, "CHUNK", members // 7)  # several checkpointed chunks
    chunked, chunked_gradients = outputs_and_gradients()
    torch.testing.assert_close(chunked, whole)
    for found, expected in zip(chunked_gradients, whole_gradients, strict=True):
        torch.testing.assert_close(found, expected, atol=1e-6, rtol=1e-5)
