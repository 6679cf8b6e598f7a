"""CL4SRec and DuoRec wire their views into NT-Xent as their papers say (checked in eval mode, where the
only randomness left is the augmentation or partner draw, so a reseeded replay must agree exactly)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from gnn.batch import SequenceBatch
from gnn.models import CL4SRec, DuoRec
from gnn.models.contrastive import nt_xent
from gnn.models.duorec import same_target_partner
from tests.gnn.toy import MAX_LEN, N_ITEMS

pytestmark = pytest.mark.unit


def test_duorec_contrasts_with_a_same_target_partner_and_drops_false_negatives(toy_batch: SequenceBatch) -> None:
    torch.manual_seed(0)
    model = DuoRec(N_ITEMS, MAX_LEN, hidden=16, n_heads=2, inner_size=32)
    model.eval()
    representation = model.encode(toy_batch)
    torch.manual_seed(5)
    loss = model.auxiliary_loss(toy_batch, representation)
    torch.manual_seed(5)
    partner = same_target_partner(toy_batch.targets)
    assert bool((partner != torch.arange(toy_batch.size)).any())  # the toy data has same-target rows
    positive = representation[partner]
    expected = 0.1 * nt_xent(representation, positive, 1.0, "dot", toy_batch.targets)
    assert torch.allclose(loss, expected, atol=1e-6)
    assert not torch.allclose(loss, 0.1 * nt_xent(representation, positive, 1.0, "dot"), atol=1e-4)


def test_duorec_contrasts_with_the_drawn_positive_prefixes_when_a_batch_carries_them(toy_batch: SequenceBatch) -> None:
    torch.manual_seed(0)
    model = DuoRec(N_ITEMS, MAX_LEN, hidden=16, n_heads=2, inner_size=32)
    model.eval()
    positives = toy_batch.items.roll(1, dims=0), toy_batch.lengths.roll(1, dims=0)  # stand-ins for drawn prefixes
    batch = replace(toy_batch, positive_items=positives[0], positive_lengths=positives[1])
    representation = model.encode(batch)
    expected = 0.1 * nt_xent(representation, model.encode_items(*positives), 1.0, "dot", batch.targets)
    assert torch.allclose(model.auxiliary_loss(batch, representation), expected, atol=1e-6)


def test_duorec_can_keep_same_target_views_among_its_negatives_as_the_authors_do(toy_batch: SequenceBatch) -> None:
    torch.manual_seed(0)
    model = DuoRec(N_ITEMS, MAX_LEN, hidden=16, n_heads=2, inner_size=32, keep_false_negatives=True)
    model.eval()
    positives = toy_batch.items.roll(1, dims=0), toy_batch.lengths.roll(1, dims=0)
    batch = replace(toy_batch, positive_items=positives[0], positive_lengths=positives[1])
    representation = model.encode(batch)
    expected = 0.1 * nt_xent(representation, model.encode_items(*positives), 1.0, "dot")  # no targets: all kept
    assert torch.allclose(model.auxiliary_loss(batch, representation), expected, atol=1e-6)


def test_cl4srec_contrasts_two_differently_augmented_views(toy_batch: SequenceBatch) -> None:
    torch.manual_seed(0)
    model = CL4SRec(N_ITEMS, MAX_LEN, hidden=16, n_heads=2, inner_size=32)
    model.eval()
    representation = model.encode(toy_batch)
    torch.manual_seed(5)
    loss = model.auxiliary_loss(toy_batch, representation)
    torch.manual_seed(5)
    first_operator = torch.randint(0, 3, (toy_batch.size,))
    second_operator = (first_operator + torch.randint(1, 3, (toy_batch.size,))) % 3
    assert bool((first_operator != second_operator).all())
    first = model.encode_items(*model.augment(toy_batch.items, toy_batch.lengths, first_operator))
    second = model.encode_items(*model.augment(toy_batch.items, toy_batch.lengths, second_operator))
    assert torch.allclose(loss, 0.1 * nt_xent(first, second, 1.0, "dot"), atol=1e-6)
    assert model.item_embedding.num_embeddings == N_ITEMS + 2  # the [MASK] row of the item-mask operator


def test_contrastive_weight_zero_leaves_plain_cross_entropy(toy_batch: SequenceBatch) -> None:
    torch.manual_seed(0)
    models = (CL4SRec(N_ITEMS, MAX_LEN, hidden=16, cl_weight=0.0), DuoRec(N_ITEMS, MAX_LEN, hidden=16, cl_weight=0.0))
    for model in models:
        model.eval()
        representation = model.encode(toy_batch)
        assert float(model.auxiliary_loss(toy_batch, representation)) == 0.0
        assert torch.allclose(model.loss(toy_batch), model.next_item_loss(representation, toy_batch.targets))
    with pytest.raises(ValueError, match="crop_ratio"):
        CL4SRec(N_ITEMS, MAX_LEN, crop_ratio=1.5)
