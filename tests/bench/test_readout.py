"""`bench.readout`'s own arithmetic: how it compares the two readouts' gradients."""

from __future__ import annotations

import pytest
import torch

from bench.readout import gradient_difference

pytestmark = pytest.mark.unit


def test_the_gradient_difference_is_relative_to_all_gradients_together() -> None:
    """A parameter whose gradient is rounding noise (1e-12) must not make equal readouts look different, and a real
    difference in a large gradient must show."""
    expected = {"base.w": torch.tensor([3.0, 4.0]), "encoders.rea.query": torch.tensor([1e-12])}
    noise = {"base.w": torch.tensor([3.0, 4.0]), "encoders.rea.query": torch.tensor([2e-12])}
    assert gradient_difference(noise, expected) < 1e-12
    wrong = {"base.w": torch.tensor([3.0, 4.5]), "encoders.rea.query": torch.tensor([1e-12])}
    assert gradient_difference(wrong, expected) == pytest.approx(0.1)


def test_sr_gnn_s_own_gradients_are_compared_apart_from_the_base_s() -> None:
    """A wrong encoder gradient hides under the base's over the whole model, and shows over the encoders'."""
    expected = {"base.w": torch.tensor([300.0, 400.0]), "encoders.rea.gru": torch.tensor([0.3, 0.4])}
    wrong = {"base.w": torch.tensor([300.0, 400.0]), "encoders.rea.gru": torch.tensor([0.3, 0.0])}
    assert gradient_difference(wrong, expected) < 1e-3
    assert gradient_difference(wrong, expected, "encoders.") == pytest.approx(0.8)
    missing = {"base.w": torch.tensor([300.0, 400.0])}
    assert gradient_difference(missing, expected, "encoders.") == float("inf")
