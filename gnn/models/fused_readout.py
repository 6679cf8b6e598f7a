"""SR-GNN's readout as fused CPU kernels (`kernels/readout.cpp`), built on first use.

Why: training windows read out every position of a window over the nodes its graph holds by then, so the
readout's (position, node) pairs grow with the square of the window: ML-1M's sequence-graph control reads
101 million pairs an epoch, the knowledge-base graphs 34 million. Eager PyTorch writes a [pairs, d] tensor for
each step of eqs. 6-7 (gather, add, sigmoid, product, and their gradients, recomputed under checkpointing), and
spent about 2.2 µs a pair at one thread: the readout was 4.9 s of a 5.8 s training step of the control. The
kernels read each pair's two rows and keep nothing per pair but its energy and weight.

The kernels are compiled by `torch.utils.cpp_extension` into torch's extension folder (`TORCH_EXTENSIONS_DIR`,
by default under ~/.cache) the first time a process asks for them, about a minute, then loaded from there. Where
they cannot be built (no C++ compiler or no ninja), `kernels()` says why once and returns None, and the readout
stays eager. Their gradients are first-order only (`once_differentiable`: a double backward raises).
CUDA tensors always take the eager path. The eager code in `srgnn.py` is the reference: the tests compare values
and gradients of the two.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

SOURCE = Path(__file__).with_name("kernels") / "readout.cpp"
log = logging.getLogger(__name__)


def _flags() -> tuple[str, list[str]]:
    """The build's name and compiler flags: AVX2 and FMA where this CPU has them, under a name of their own, so
    a build for one CPU is never loaded on another that lacks them."""
    capability = torch.backends.cpu.get_cpu_capability()
    flags = ["-O3", "-ffast-math", "-fopenmp"]
    if capability in ("AVX2", "AVX512"):
        flags += ["-mavx2", "-mfma"]
        return "llmrg_readout_avx2", flags
    return "llmrg_readout", flags


@functools.cache
def kernels() -> ModuleType | None:
    """The compiled kernels, or None (logged once) where they cannot be built."""
    from torch.utils.cpp_extension import load

    name, flags = _flags()
    try:
        return load(name=name, sources=[str(SOURCE)], extra_cflags=flags, extra_ldflags=["-fopenmp"], verbose=False)
    except Exception as error:  # a missing compiler raises several types; any of them means eager
        lines = str(error).splitlines() or [type(error).__name__]
        reason = next((line for line in lines if "error" in line.lower() and line is not lines[0]), lines[0])
        log.warning("fused SR-GNN readout unavailable, using the eager one: %s", reason.strip())
        return None


def _built() -> ModuleType:
    ops = kernels()
    if ops is None:
        raise RuntimeError("the fused readout kernels are not built; check `usable` first")
    return ops


class _Energy(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, query: Tensor, anchors: Tensor, nodes: Tensor, owner: Tensor, members: Tensor) -> Tensor:
        ctx.save_for_backward(query, anchors, nodes, owner, members)
        return _built().energy_forward(query, anchors, nodes, owner, members)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        query, anchors, nodes, owner, members = ctx.saved_tensors
        grad_query, grad_anchors, grad_nodes = _built().energy_backward(
            grad.contiguous(), query, anchors, nodes, owner, members
        )
        return grad_query, grad_anchors, grad_nodes, None, None


class _Pool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, alpha: Tensor, states: Tensor, owner: Tensor, members: Tensor, readouts: int) -> Tensor:
        ctx.save_for_backward(alpha, states, owner, members)
        return _built().pool_forward(alpha, states, owner, members, readouts)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        alpha, states, owner, members = ctx.saved_tensors
        grad_alpha, grad_states = _built().pool_backward(grad.contiguous(), alpha, states, owner, members)
        return grad_alpha, grad_states, None, None, None


def usable(*tensors: Tensor) -> bool:
    """Whether the kernels can take these tensors: all on the CPU, and the kernels built."""
    return all(tensor.device.type == "cpu" for tensor in tensors) and kernels() is not None


def member_energy(query: Tensor, anchors: Tensor, nodes: Tensor, owner: Tensor, members: Tensor) -> Tensor:
    """qᵀ sigmoid(anchors[owner] + nodes[members]) for each member: query [1, d], anchors [G, d], nodes [N, d] ->
    [M]; `srgnn._member_energy` fused."""
    return _Energy.apply(
        query.reshape(-1).contiguous(),
        anchors.contiguous(),
        nodes.contiguous(),
        owner.contiguous(),
        members.contiguous(),
    )


def weighted_sum(alpha: Tensor, states: Tensor, owner: Tensor, members: Tensor, readouts: int) -> Tensor:
    """Σ alpha_i states[members_i] per readout: alpha [M], states [N, d] -> [readouts, d]; `srgnn._weighted_sum`
    fused."""
    return _Pool.apply(alpha.contiguous(), states.contiguous(), owner.contiguous(), members.contiguous(), readouts)
