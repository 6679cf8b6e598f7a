"""The fused readout kernels against the eager readout they replace (`gnn.models.fused_readout`)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch.utils import cpp_extension

from gnn.data import SequenceGraphSource
from gnn.models import SRGNN, fused_readout, srgnn
from gnn.windows import TrainingWindows
from tests.gnn.test_windows import N_ITEMS, random_data

pytestmark = pytest.mark.unit

needs_compiler = pytest.mark.skipif(
    shutil.which("c++") is None or not cpp_extension.is_ninja_available(),
    reason="no C++ compiler or no ninja to build the kernels (scripts/system-deps.sh installs both)",
)


def random_pairs(generator: torch.Generator, readouts: int, nodes: int, pairs: int) -> tuple[torch.Tensor, ...]:
    owner = torch.randint(0, readouts, (pairs,), generator=generator)
    members = torch.randint(0, nodes, (pairs,), generator=generator)
    return owner, members


@needs_compiler
def test_the_kernels_build_here() -> None:
    """Where a compiler is, the kernels must build: a silent fall-back would hide a broken source."""
    assert fused_readout.kernels() is not None
    assert fused_readout.usable(torch.zeros(1))


@needs_compiler
def test_the_fused_energy_and_pool_pass_gradcheck() -> None:
    generator = torch.Generator().manual_seed(0)
    owner, members = random_pairs(generator, readouts=5, nodes=7, pairs=40)
    query = torch.randn(1, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    anchors = torch.randn(5, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    nodes = torch.randn(7, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    alpha = torch.randn(40, dtype=torch.float64, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda q, a, n: fused_readout.member_energy(q, a, n, owner, members), (query, anchors, nodes)
    )
    assert torch.autograd.gradcheck(lambda w, s: fused_readout.weighted_sum(w, s, owner, members, 5), (alpha, nodes))
    torch.testing.assert_close(
        fused_readout.member_energy(query, anchors, nodes, owner, members),
        srgnn._member_energy(query, anchors, nodes, owner, members),
    )
    torch.testing.assert_close(
        fused_readout.weighted_sum(alpha, nodes, owner, members, 5),
        srgnn._weighted_sum(alpha, nodes, owner, members, 5),
    )


@needs_compiler
@pytest.mark.parametrize("normalise_attention", [True, False])
def test_training_windows_read_out_fused_give_the_eager_outputs_and_gradients(
    monkeypatch: pytest.MonkeyPatch, normalise_attention: bool
) -> None:
    """Real position graphs of training windows (isolated anchors included), every output and every gradient."""
    data = random_data(users=16, seed=8)
    windows = TrainingWindows(data.sequences, 12, 16, graphs=SequenceGraphSource(12), graph_kinds=("seq",))
    batch = windows.batch(list(range(len(windows.windows))))
    graphs = batch.graphs["seq"]
    monkeypatch.setattr(srgnn, "FUSED_FROM", graphs.member_node.numel() // 7)  # this batch counts as a big one
    torch.manual_seed(3)
    encoder = SRGNN(8, steps=1, normalise_attention=normalise_attention)
    embedding = torch.nn.Embedding(N_ITEMS + 1, 8, padding_idx=0)
    weights = None

    def outputs_and_gradients(fused: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        nonlocal weights
        encoder.fused = fused
        encoder.zero_grad()
        embedding.zero_grad()
        found = encoder.read_positions(graphs, batch.items[batch.counted], embedding)
        if weights is None:
            weights = torch.randn(found.shape, generator=torch.Generator().manual_seed(4))
        (found * weights).sum().backward()
        return found.detach(), [parameter.grad.clone() for parameter in [*encoder.parameters(), embedding.weight]]

    calls = []
    real = fused_readout.member_energy
    monkeypatch.setattr(fused_readout, "member_energy", lambda *a: calls.append(1) or real(*a))
    eager, eager_gradients = outputs_and_gradients(fused=False)
    assert not calls
    fused, fused_gradients = outputs_and_gradients(fused=True)
    assert calls, "the fused kernels did not read this batch out"
    torch.testing.assert_close(fused, eager, atol=1e-6, rtol=1e-5)
    for found, expected in zip(fused_gradients, eager_gradients, strict=True):
        torch.testing.assert_close(found, expected, atol=1e-6, rtol=1e-4)


@needs_compiler
def test_a_batch_with_more_threads_gives_the_same_readout() -> None:
    """Per-thread buffers summed at the end: two threads agree with one, and with the eager code, up to rounding
    (50,000 pairs: several of the kernels' 4,096-pair grains, so two threads both work)."""
    generator = torch.Generator().manual_seed(5)
    owner, members = random_pairs(generator, readouts=300, nodes=200, pairs=50_000)
    query = torch.randn(1, 16, generator=generator)
    anchors = torch.randn(300, 16, generator=generator)
    states = torch.randn(200, 16, generator=generator)
    alpha = torch.rand(50_000, generator=generator)
    weights = torch.randn(300, 16, generator=generator)

    def readout(energy: Callable[..., torch.Tensor], pool: Callable[..., torch.Tensor]) -> list[torch.Tensor]:
        inputs = [tensor.clone().requires_grad_() for tensor in (query, anchors, states, alpha)]
        q, a, n, w = inputs
        energies = energy(q, a, n, owner, members)
        pooled = pool(w, n, owner, members, 300)
        (energies.sum() + (pooled * weights).sum()).backward()
        return [energies.detach(), pooled.detach(), *(tensor.grad for tensor in inputs)]

    threads = torch.get_num_threads()
    try:
        found = []
        for count in (1, 2):
            torch.set_num_threads(count)
            found.append(readout(fused_readout.member_energy, fused_readout.weighted_sum))
        expected = readout(srgnn._member_energy, srgnn._weighted_sum)
    finally:
        torch.set_num_threads(threads)
    for one, two, eager in zip(*found, expected, strict=True):
        torch.testing.assert_close(two, one, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(one, eager, atol=1e-3, rtol=1e-4)


@needs_compiler
def test_saturated_energies_have_the_eager_gradients_not_nan() -> None:
    """Sums far outside the logistic's range (the kernels are built with -ffast-math, which assumes no infinity)."""
    owner, members = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1])
    query = torch.ones(1, 3)
    anchors = torch.tensor([[-100.0, -89.0, 0.5], [100.0, 89.0, -20.0]])
    nodes = torch.tensor([[-5.0, 0.0, 0.0], [5.0, -1.0, 1.0]])
    gradients = []
    for energy in (fused_readout.member_energy, srgnn._member_energy):
        inputs = [tensor.clone().requires_grad_() for tensor in (query, anchors, nodes)]
        energy(*inputs, owner, members).sum().backward()
        gradients.append([tensor.grad for tensor in inputs])
    for found, expected in zip(*gradients, strict=True):
        assert torch.isfinite(found).all()
        torch.testing.assert_close(found, expected, atol=1e-6, rtol=1e-5)


@needs_compiler
def test_an_index_out_of_range_is_refused_not_read() -> None:
    states = torch.randn(4, 3)
    with pytest.raises(RuntimeError, match="member index out of range"):
        fused_readout.weighted_sum(torch.ones(2), states, torch.tensor([0, 1]), torch.tensor([0, 4]), 2)


def test_where_the_kernels_cannot_be_built_the_readout_stays_eager(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "readout.cpp"
    broken.write_text("#error this source does not build\n")
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "extensions"))
    monkeypatch.setattr(fused_readout, "SOURCE", broken)
    monkeypatch.setattr(fused_readout, "_flags", lambda: ("llmrg_readout_broken_test", ["-O0"]))
    fused_readout.kernels.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=fused_readout.__name__):
            assert fused_readout.kernels() is None
            assert not fused_readout.usable(torch.zeros(1))
        assert "fused SR-GNN readout unavailable" in caplog.text
        generator = torch.Generator().manual_seed(6)
        owner, members = random_pairs(generator, readouts=3, nodes=5, pairs=20)
        monkeypatch.setattr(srgnn, "FUSED_FROM", 4)
        encoder = SRGNN(4, fused=True)
        h_anchor, states = torch.randn(3, 4, generator=generator), torch.randn(5, 4, generator=generator)
        found, _ = encoder.attend_indexed(h_anchor, states, owner, members)
        encoder.fused = False
        expected, _ = encoder.attend_indexed(h_anchor, states, owner, members)
        torch.testing.assert_close(found, expected)
    finally:
        fused_readout.kernels.cache_clear()
