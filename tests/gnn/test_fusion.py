from __future__ import annotations

import pytest
import torch

from gnn.batch import SequenceBatch
from gnn.models import LLMRGFusion, build_model
from tests.gnn.toy import MAX_LEN, N_ITEMS

pytestmark = pytest.mark.unit


def fusion(kinds: tuple[str, ...], psi: str = "linear") -> LLMRGFusion:
    torch.manual_seed(0)
    base = build_model("duorec", N_ITEMS, MAX_LEN, 16, 0.1, None)
    return LLMRGFusion(base, kinds, fusion=psi)  # type: ignore[arg-type]


def test_graph_encoders_share_the_base_item_table(toy_batch: SequenceBatch) -> None:
    model = fusion(("rea", "div"))
    tables = [p for p in model.parameters() if p.shape == model.base.item_embedding.weight.shape]
    assert len(tables) == 1
    assert set(model.encoders) == {"rea", "div"}
    assert model.psi.in_features == 3 * 16
    model.eval()
    base_only = model.base.encode(toy_batch)
    graph_part = model.encoders["rea"](toy_batch.graphs["rea"], model.base.item_embedding)
    graph_part.sum().backward()
    assert model.base.item_embedding.weight.grad is not None
    assert float(model.base.item_embedding.weight.grad.abs().sum()) > 0
    assert base_only.shape == graph_part.shape == (toy_batch.size, 16)


def test_mlp_psi_has_two_layers() -> None:
    model = fusion(("seq",), "mlp")
    layers = [module for module in model.psi.modules() if isinstance(module, torch.nn.Linear)]
    assert [(layer.in_features, layer.out_features) for layer in layers] == [(32, 16), (16, 16)]


def test_missing_or_misaligned_graphs_are_refused(toy_batch: SequenceBatch) -> None:
    model = fusion(("rea", "div"))
    without = SequenceBatch(toy_batch.items, toy_batch.lengths, toy_batch.targets, {"rea": toy_batch.graphs["rea"]})
    with pytest.raises(KeyError, match="div"):
        model.loss(without)
    half = SequenceBatch(toy_batch.items[:8], toy_batch.lengths[:8], toy_batch.targets[:8], toy_batch.graphs)
    with pytest.raises(ValueError, match="16 'rea' graphs for a batch of 8"):
        model.encode(half)
    with pytest.raises(ValueError, match="distinct"):
        fusion(("rea", "rea"))
    with pytest.raises(ValueError, match="fusion must be"):
        fusion(("rea",), "attention")
