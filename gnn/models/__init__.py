"""Base sequential recommenders (one per file), the SR-GNN graph encoder and the LLMRG fusion model."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from gnn.models.base import Recommender, SequentialRecommender
from gnn.models.bert4rec import BERT4Rec
from gnn.models.cl4srec import CL4SRec
from gnn.models.duorec import DuoRec
from gnn.models.fdsa import FDSA
from gnn.models.fusion import LLMRGFusion
from gnn.models.sasrec import SASRec
from gnn.models.srgnn import SRGNN

MODELS: dict[str, type[SequentialRecommender]] = {
    "sasrec": SASRec,
    "bert4rec": BERT4Rec,
    "fdsa": FDSA,
    "cl4srec": CL4SRec,
    "duorec": DuoRec,
}


def build_model(
    name: str,
    n_items: int,
    max_len: int,
    hidden: int,
    dropout: float | None = None,
    item_features: Tensor | None = None,
    n_features: int = 0,
    n_layers: int | None = None,
    n_heads: int | None = None,
    mask_prob: float | None = None,
    attention_dropout: float | None = None,
    keep_false_negatives: bool = False,
) -> SequentialRecommender:
    """Build a base model; `dropout`, `n_layers` and `n_heads` left at None keep that model's class default, as does
    every setting not named here (`mask_prob` and `attention_dropout` are BERT4Rec's alone; the other models drop
    attention weights at `dropout`; `keep_false_negatives` is DuoRec's). The per-dataset reference values are
    `gnn.models.reference`'s. FDSA also needs the attribute table."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    chosen = {"dropout": dropout, "n_layers": n_layers, "n_heads": n_heads}
    overrides: dict[str, Any] = {key: value for key, value in chosen.items() if value is not None}
    if name == "bert4rec":
        bert_only = {"mask_prob": mask_prob, "attention_dropout": attention_dropout}
        overrides |= {key: value for key, value in bert_only.items() if value is not None}
    if name == "duorec":
        overrides["keep_false_negatives"] = keep_false_negatives
    if name == "fdsa":
        if item_features is None:
            raise ValueError("fdsa needs item_features [n_items + 1, F] and n_features")
        return FDSA(n_items, max_len, item_features, n_features, hidden=hidden, **overrides)
    return MODELS[name](n_items=n_items, max_len=max_len, hidden=hidden, **overrides)


__all__ = [
    "FDSA",
    "MODELS",
    "SRGNN",
    "BERT4Rec",
    "CL4SRec",
    "DuoRec",
    "LLMRGFusion",
    "Recommender",
    "SASRec",
    "SequentialRecommender",
    "build_model",
]
