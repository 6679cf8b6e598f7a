"""Shared pieces: token appending, CL4SRec's augmentations, DuoRec's partners, NT-Xent."""

from __future__ import annotations

import math

import pytest
import torch

from gnn.models.blocks import AttentionBlock, append_token, gather_last
from gnn.models.cl4srec import crop, mask, reorder
from gnn.models.contrastive import nt_xent
from gnn.models.duorec import same_target_partner

pytestmark = pytest.mark.unit

ITEMS = torch.tensor([[1, 2, 0], [3, 4, 5]])
LENGTHS = torch.tensor([2, 3])


def test_append_token_shifts_only_full_rows() -> None:
    token = torch.tensor([9, 9])
    items, lengths = append_token(ITEMS, LENGTHS, token, max_len=3)
    assert items.tolist() == [[1, 2, 9], [4, 5, 9]]
    assert lengths.tolist() == [3, 3]
    items, lengths = append_token(ITEMS, LENGTHS, torch.tensor([7, 8]), max_len=5)
    assert items.tolist() == [[1, 2, 7, 0], [3, 4, 5, 8]]
    assert lengths.tolist() == [3, 4]


def test_gather_last_reads_each_rows_last_real_position() -> None:
    output = torch.arange(12.0).view(2, 3, 2)
    assert gather_last(output, LENGTHS).tolist() == [[2.0, 3.0], [10.0, 11.0]]


def long_batch() -> tuple[torch.Tensor, torch.Tensor]:
    items = torch.zeros(64, 10, dtype=torch.long)
    lengths = torch.randint(1, 11, (64,))
    for row, length in enumerate(lengths.tolist()):
        items[row, :length] = torch.randperm(20)[:length] + 1
    return items, lengths


def test_crop_keeps_a_contiguous_window_moved_to_the_front() -> None:
    torch.manual_seed(0)
    items, lengths = long_batch()
    cropped, kept = crop(items, lengths, 0.6)
    for row in range(64):
        n, k = int(lengths[row]), int(kept[row])
        assert k == max(1, math.floor(0.6 * n))
        window = cropped[row, :k].tolist()
        original = items[row, :n].tolist()
        assert any(original[s : s + k] == window for s in range(n - k + 1))
        assert cropped[row, k:].eq(0).all()


def test_mask_hides_exactly_the_fraction_of_real_items() -> None:
    torch.manual_seed(0)
    items, lengths = long_batch()
    masked, same_lengths = mask(items, lengths, 0.3, mask_id=21)
    assert torch.equal(same_lengths, lengths)
    hidden = masked == 21
    assert hidden.sum(1).tolist() == [math.floor(0.3 * n) for n in lengths.tolist()]
    assert torch.equal(masked[~hidden], items[~hidden])


def test_reorder_permutes_only_inside_one_window() -> None:
    torch.manual_seed(0)
    items, lengths = long_batch()
    shuffled, same_lengths = reorder(items, lengths, 0.6)
    assert torch.equal(same_lengths, lengths)
    for row in range(64):
        n = int(lengths[row])
        assert sorted(shuffled[row, :n].tolist()) == sorted(items[row, :n].tolist())
        assert shuffled[row, n:].eq(0).all()
        moved = (shuffled[row] != items[row]).nonzero().flatten().tolist()
        if moved:
            assert moved[-1] - moved[0] + 1 <= math.floor(0.6 * n)


def test_a_single_item_survives_every_augmentation() -> None:
    items, lengths = torch.tensor([[4, 0]]), torch.tensor([1])
    assert crop(items, lengths, 0.6)[0].tolist() == [[4, 0]]
    assert mask(items, lengths, 0.3, 9)[0].tolist() == [[4, 0]]
    assert reorder(items, lengths, 0.6)[0].tolist() == [[4, 0]]


def test_same_target_partner_prefers_another_row_and_falls_back_to_itself() -> None:
    torch.manual_seed(0)
    assert same_target_partner(torch.tensor([1, 2, 1, 3])).tolist() == [2, 1, 0, 3]
    partners = same_target_partner(torch.tensor([5, 5, 5, 6]))
    assert partners[3] == 3
    assert all(int(partners[i]) != i for i in range(3))


def reference_nt_xent(first: torch.Tensor, second: torch.Tensor, targets: list[int] | None) -> float:
    """Explicit loops: each of the 2B views against its partner and the allowed negatives (dot, temperature 1)."""
    views = torch.cat([first, second]).tolist()
    labels = (targets or []) * 2
    size, total = len(first), 0.0
    for i in range(2 * size):
        partner = (i + size) % (2 * size)
        logits = [sum(a * b for a, b in zip(views[i], views[partner], strict=True))]
        for j in range(2 * size):
            if j in (i, partner) or (targets is not None and labels[j] == labels[i]):
                continue
            logits.append(sum(a * b for a, b in zip(views[i], views[j], strict=True)))
        total += -logits[0] + math.log(sum(math.exp(value) for value in logits))
    return total / (2 * size)


def test_nt_xent_matches_the_explicit_formula_with_and_without_false_negatives() -> None:
    torch.manual_seed(0)
    first, second = torch.randn(4, 3), torch.randn(4, 3)
    targets = [1, 2, 1, 3]
    assert float(nt_xent(first, second, 1.0, "dot")) == pytest.approx(reference_nt_xent(first, second, None), 1e-5)
    with_labels = float(nt_xent(first, second, 1.0, "dot", torch.tensor(targets)))
    assert with_labels == pytest.approx(reference_nt_xent(first, second, targets), 1e-5)
    assert with_labels != pytest.approx(reference_nt_xent(first, second, None), 1e-3)
    cosine = float(nt_xent(first, second, 0.5, "cos"))
    unit = torch.nn.functional.normalize(torch.cat([first, second]), dim=-1) / math.sqrt(0.5)
    assert cosine == pytest.approx(reference_nt_xent(unit[:4], unit[4:], None), 1e-5)


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize(("causal", "heads", "activation"), [(True, 1, "relu"), (False, 2, "gelu"), (True, 2, "gelu")])
def test_the_attention_block_is_the_stock_transformer_layer(
    norm_first: bool, causal: bool, heads: int, activation: str
) -> None:
    """With the stock layer's weights, the block computes what `nn.TransformerEncoderLayer` does (eval mode)."""
    torch.manual_seed(0)
    stock = torch.nn.TransformerEncoderLayer(
        8, heads, 16, dropout=0.1, activation=activation, batch_first=True, norm_first=norm_first
    ).eval()
    block = AttentionBlock(8, heads, 16, 0.1, norm_first, activation).eval()  # type: ignore[arg-type]
    pairs = [
        (block.qkv, (stock.self_attn.in_proj_weight, stock.self_attn.in_proj_bias)),
        (block.attention_out, (stock.self_attn.out_proj.weight, stock.self_attn.out_proj.bias)),
        (block.ffn_in, (stock.linear1.weight, stock.linear1.bias)),
        (block.ffn_out, (stock.linear2.weight, stock.linear2.bias)),
        (block.attention_norm, (stock.norm1.weight, stock.norm1.bias)),
        (block.ffn_norm, (stock.norm2.weight, stock.norm2.bias)),
    ]
    with torch.no_grad():
        for module, (weight, bias) in pairs:
            module.weight.copy_(weight)
            module.bias.copy_(bias)
        items = torch.tensor([[3, 1, 4, 1, 5], [9, 2, 6, 0, 0]])
        x = torch.randn(2, 5, 8)
        if causal:
            mask = torch.ones(5, 5, dtype=torch.bool).triu(diagonal=1)
            expected = stock(x, src_mask=mask)
            got = block(x, None, causal=True)
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
        else:
            expected = stock(x, src_key_padding_mask=items == 0)
            got = block(x, (items != 0)[:, None, None, :], causal=False)
            real = items != 0
            torch.testing.assert_close(got[real], expected[real], atol=1e-5, rtol=1e-4)
