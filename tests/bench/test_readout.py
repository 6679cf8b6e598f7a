"""`bench.readout`'s own arithmetic: how it compares the two readouts' gradients."""

from __future__ import annotations

import pytest
import torch

from bench.readout import gradient_difference

pytestmark = pytest.mark.unit


def test_the_gradient_difference_is_relative_to_all_gradients_together() -> None:
    """A parameter whose gradient is rounding noise (1e-12) must not make equal readouts look different, and a real
    difference in a large gradient must show."""
    expected = [torch.tensor([3.0, 4.0]), torch.tensor([1e-12])]
    noise = [torch.tensor([3.0, 4.0]), torch.tensor([2e-12])]
    assert gradient_difference(noise, expected) < 1e-12
    wrong = [torch.tensor([3.0, 4.5]), torch.tensor([1e-12])]
    assert gradient_difference(wrong, expected) == pytest.approx(0.1)
