"""Every setting of one training run, built once (by the CLI) and passed down; nothing below reads the environment.

Defaults follow the design doc ("Encoding, fusion, training"): Adam 1e-3, d = 64, batch 256, early stopping on
validation NDCG@10. `max_len` is 50 here (the Amazon setting); pass 200 for ML-1M.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.vocabulary import ModelName

# Settings a resumed run may change: how far to train, where the checkpoints live, and how the readout is computed
# (the same values either way). Everything else must match the checkpoint, or the continuation would not be the run
# that was started.
RESUMABLE_CHANGES = frozenset({"epochs", "checkpoint_dir", "fused_readout"})
LATER_DEFAULTS = {"false_negatives": "drop", "item_features": "real"}
"""Settings added after runs were checkpointed: left out of the fingerprint at these defaults, so those runs, made
with the default before the setting existed, still resume."""


class TrainConfig(BaseModel):
    """One run. `graph_kinds`: () trains the base model alone, ("seq",) the plain-sequence-graph control,
    ("rea", "div") LLMRG, ("rea",) LLMRG without divergent extension.

    `n_layers`, `n_heads`, `dropout` at None keep each model's class default. `exclude_history`: at evaluation
    the items of the row's input history are removed from the ranking, like RecBole's full-sort evaluation of
    general recommenders (its sequential models rank every item); sequences are deduplicated, so a history item
    is never the answer, and the target itself is never excluded. `max_train_rows` trains on a seeded random
    subset of that many training rows (targets, in the windows scheme), a departure from the protocol for quick
    runs only: report it when used.

    `train_scheme`: "windows" (one window per user, a target at every position, `gnn.windows`; `batch_size` is
    then unused and `windows_per_batch` windows make a batch) or "prefix" (one row per training target,
    `batch_size` rows a batch); by default windows wherever they are exact (`windows_refusal`).
    `mask_prob`, `attention_dropout`: BERT4Rec's cloze proportion and attention-weight dropout (None: its
    defaults). `false_negatives`: DuoRec's NT-Xent drops the views that share the anchor's target from its
    negatives ("drop", ours) or keeps them as the authors' `info_nce` does ("keep"). `item_features`: FDSA reads
    each item's own attributes ("real") or, as a placebo, another item's ("shuffled": rows 1..n_items permuted by
    `seed`, `gnn.data.shuffled_features`), which keeps how many attributes there are and how often each occurs but
    breaks what they say about the item, so a gain FDSA owes to its attributes shows as a gap to the placebo.
    `fused_readout`: SR-GNN reads out training batches with the fused CPU kernels (`gnn.models.fused_readout`)
    where they are built; False keeps the eager code, to compare the two.
    `gnn.pipeline.train_config`
    fills the dropouts and the mask proportion with the model's reference values for the dataset
    (`gnn.models.reference`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: ModelName = "sasrec"
    hidden: int = Field(64, ge=1)
    n_layers: int | None = Field(None, ge=1)
    n_heads: int | None = Field(None, ge=1)
    dropout: float | None = Field(None, ge=0.0, lt=1.0)
    graph_kinds: tuple[str, ...] = ()
    fusion: Literal["linear", "mlp"] = "linear"
    gnn_steps: int = Field(1, ge=0)
    batch_size: int = Field(256, ge=1)
    eval_batch_size: int = Field(512, ge=1)
    lr: float = Field(1e-3, ge=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    epochs: int = Field(200, ge=1)
    patience: int = Field(10, ge=1)
    max_len: int = Field(50, ge=1)
    seed: int = 0
    device: Literal["cpu", "cuda"] = "cpu"
    exclude_history: bool = True
    checkpoint_dir: Path | None = None
    max_train_rows: int | None = Field(None, ge=1)
    train_scheme: Literal["windows", "prefix"] = "windows"
    windows_per_batch: int = Field(128, ge=1)
    mask_prob: float | None = Field(None, ge=0.0, le=1.0)
    attention_dropout: float | None = Field(None, ge=0.0, lt=1.0)
    false_negatives: Literal["drop", "keep"] = "drop"
    item_features: Literal["real", "shuffled"] = "real"
    fused_readout: bool = True

    @field_validator("graph_kinds")
    @classmethod
    def _distinct_kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"graph_kinds must be distinct; got {list(kinds)}")
        return kinds

    @model_validator(mode="before")
    @classmethod
    def _default_scheme(cls, values: Any) -> Any:
        """Windows wherever they are exact (`windows_refusal`), prefix rows elsewhere."""
        if isinstance(values, dict) and "train_scheme" not in values:
            refusal = windows_refusal(
                values.get("model", "sasrec"), tuple(values.get("graph_kinds", ())), values.get("gnn_steps", 1)
            )
            return {**values, "train_scheme": "prefix" if refusal else "windows"}
        return values

    @model_validator(mode="after")
    def _scheme_fits_the_model(self) -> TrainConfig:
        refusal = windows_refusal(self.model, self.graph_kinds, self.gnn_steps)
        if self.train_scheme == "windows" and refusal:
            raise ValueError(f"{refusal}: train on prefix rows (train_scheme='prefix')")
        return self

    def fingerprint(self) -> str:
        """SHA-256 of the settings a resumed run must share with its checkpoint (all but RESUMABLE_CHANGES, and
        LATER_DEFAULTS at their defaults)."""
        fixed = {
            key: value
            for key, value in self.model_dump(mode="json").items()
            if key not in RESUMABLE_CHANGES and LATER_DEFAULTS.get(key, object()) != value
        }
        return hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()


def windows_refusal(model: str, graph_kinds: tuple[str, ...], gnn_steps: int) -> str | None:
    """Why training windows cannot train this configuration exactly, or None. Graph variants read the base's state
    at every position, which BERT4Rec's bidirectional encoder does not have; the sequence-graph control's one graph
    per window is exact for one propagation step only (`gnn.data.SequenceGraphSource`)."""
    if graph_kinds and model == "bert4rec":
        return "the graph variants of BERT4Rec need a state per position, which a bidirectional encoder lacks"
    if "seq" in graph_kinds and gnn_steps != 1:
        return f"the sequence-graph control in training windows is exact for gnn_steps=1 only, not {gnn_steps}"
    return None
