"""The cheap CPU dropout is dropout: the right share dropped, the expectation kept, the gradient through the kept
values; and attention built on it is `F.scaled_dot_product_attention` when nothing is dropped."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gnn.models.dropout import LEVELS, attention, fast_dropout, keep_mask

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.6])
def test_the_mask_drops_p_of_the_values_and_the_scale_restores_the_mean(p: float) -> None:
    torch.manual_seed(0)
    keep, scale = keep_mask((4, 250_001), p, torch.device("cpu"))  # an odd count: the last word is cut
    assert keep.shape == (4, 250_001) and keep.dtype == torch.bool
    rounded = round(p * LEVELS) / LEVELS
    assert abs(rounded - p) <= 0.5 / LEVELS
    assert scale * (1 - rounded) == pytest.approx(1.0, abs=1e-12)
    assert float(keep.float().mean()) == pytest.approx(1 - p, abs=0.002)  # 1M draws: 4 standard errors at most
    rows = keep.float().mean(dim=1)
    assert float(rows.max() - rows.min()) < 0.01, "every part of the mask is drawn alike"


def test_successive_masks_differ_and_follow_the_global_seed() -> None:
    torch.manual_seed(1)
    first, _ = keep_mask((1000,), 0.5, torch.device("cpu"))
    second, _ = keep_mask((1000,), 0.5, torch.device("cpu"))
    torch.manual_seed(1)
    again, _ = keep_mask((1000,), 0.5, torch.device("cpu"))
    assert not torch.equal(first, second)
    assert torch.equal(first, again)


def test_dropout_zeroes_or_scales_each_value_and_keeps_the_expectation() -> None:
    torch.manual_seed(0)
    x = torch.full((200_000,), 3.0)
    out = fast_dropout(x, 0.2, training=True)
    kept = out != 0
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 3.0 / (1 - round(0.2 * LEVELS) / LEVELS)))
    assert float(out.mean()) == pytest.approx(3.0, rel=0.01)
    assert fast_dropout(x, 0.2, training=False) is x
    assert fast_dropout(x, 0.0, training=True) is x
    assert float(fast_dropout(x, 1.0, training=True).abs().sum()) == 0.0


def test_the_gradient_flows_through_the_kept_values_only() -> None:
    torch.manual_seed(0)
    x = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)

    def same_mask(values: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(7)
        return fast_dropout(values, 0.4, training=True)

    assert torch.autograd.gradcheck(same_mask, (x,))
    out = same_mask(x)
    out.sum().backward()
    assert x.grad is not None
    assert torch.equal(x.grad != 0, out.detach() != 0)


def random_attention_inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    q, k, v = (torch.randn(3, 2, 7, 4) for _ in range(3))
    lengths = torch.tensor([7, 3, 1])
    keys = (torch.arange(7)[None, :] < lengths[:, None])[:, None, None, :]  # [B, 1, 1, L]
    return q, k, v, keys


@pytest.mark.parametrize("causal", [True, False])
def test_attention_without_drops_equals_the_fused_kernel(causal: bool) -> None:
    q, k, v, keys = random_attention_inputs(0)
    mask = None if causal else keys
    fused = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
    tiny = 0.4 / LEVELS  # rounds to no dropped level: the manual path runs and drops nothing
    torch.testing.assert_close(attention(q, k, v, mask, causal, tiny), fused)
    torch.testing.assert_close(attention(q, k, v, mask, causal, 0.0), fused)


def test_attention_with_dropout_keeps_the_expected_output() -> None:
    q, k, v, _ = random_attention_inputs(1)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.manual_seed(2)
    draws = torch.stack([attention(q, k, v, None, True, 0.3) for _ in range(4000)])
    assert not torch.allclose(draws[0], expected)
    torch.testing.assert_close(draws.mean(dim=0), expected, atol=0.05, rtol=0.0)
    first = draws[:, :, :, 0]  # position 0 sees only key 0: its one weight is kept (scaled) or dropped
    scaled = v[:, :, 0] / (1 - round(0.3 * LEVELS) / LEVELS)
    kept = (first - scaled).abs().amax(dim=-1) < 1e-5
    dropped = first.abs().amax(dim=-1) == 0
    assert bool((kept | dropped).all())
    assert float(dropped.float().mean()) == pytest.approx(0.3, abs=0.02)
