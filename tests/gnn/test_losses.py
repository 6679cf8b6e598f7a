"""The chunked linear cross entropy is the plain one: same loss, same gradients, any chunk size."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gnn.models.losses import linear_cross_entropy

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("rows", "chunk"), [(37, 8), (37, 512), (64, 64), (1, 3)])
def test_loss_and_gradients_equal_the_plain_cross_entropy(rows: int, chunk: int) -> None:
    torch.manual_seed(rows)
    hidden = torch.randn(rows, 16, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(30, 16, dtype=torch.float64, requires_grad=True)
    table = weight[1:26]  # a view, as the item table is of the embedding
    classes = torch.randint(0, 25, (rows,))
    plain = F.cross_entropy(hidden @ table.t(), classes)
    plain_grads = torch.autograd.grad(plain * 3.0, (hidden, weight))
    chunked = linear_cross_entropy(hidden, table, classes, chunk)
    chunked_grads = torch.autograd.grad(chunked * 3.0, (hidden, weight))
    torch.testing.assert_close(chunked, plain)
    for got, expected in zip(chunked_grads, plain_grads, strict=True):
        torch.testing.assert_close(got, expected)
    assert float(chunked_grads[1][0].abs().sum()) == 0.0, "rows outside the table get no gradient"


def test_no_rows_give_a_zero_loss_that_still_backpropagates() -> None:
    hidden = torch.zeros(0, 4, requires_grad=True)
    loss = linear_cross_entropy(hidden, torch.randn(5, 4), torch.zeros(0, dtype=torch.long))
    loss.backward()
    assert float(loss.detach()) == 0.0
