"""`LLMRG_TRAIN_SCHEME` picks the training rows (auto keeps windows wherever they are exact), and
`LLMRG_TRAIN_FALSE_NEGATIVES` reaches DuoRec without changing the fingerprint of runs made before it existed, and
`LLMRG_TRAIN_MASK_PROB` replaces BERT4Rec's reference cloze proportion."""

from __future__ import annotations

import hashlib
import json

import pytest
from pydantic import ValidationError

from core.settings import Settings
from core.vocabulary import variant
from gnn.config import RESUMABLE_CHANGES
from gnn.models import DuoRec, build_model
from gnn.pipeline import train_config

pytestmark = pytest.mark.unit


def scheme_of(model: str, chosen: str) -> str:
    return train_config(Settings.load(env_file=None), "beauty", model, variant(chosen), 0, 1).train_scheme


def test_auto_trains_on_windows_where_exact_and_on_prefix_rows_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMRG_TRAIN_SCHEME", raising=False)
    assert scheme_of("duorec", "base") == "windows"
    assert scheme_of("bert4rec", "llmrg") == "prefix"


def test_the_setting_forces_prefix_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMRG_TRAIN_SCHEME", "prefix")
    assert scheme_of("duorec", "base") == "prefix"
    assert scheme_of("sasrec", "llmrg") == "prefix"


def test_windows_where_they_are_not_exact_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMRG_TRAIN_SCHEME", "windows")
    assert scheme_of("duorec", "base") == "windows"
    with pytest.raises(ValidationError, match="bidirectional"):
        scheme_of("bert4rec", "llmrg")


def test_an_unknown_scheme_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMRG_TRAIN_SCHEME", "rows")
    with pytest.raises(ValidationError, match="LLMRG_TRAIN_SCHEME"):
        Settings.load(env_file=None)


def test_the_false_negatives_setting_reaches_duorec_and_old_fingerprints_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMRG_TRAIN_FALSE_NEGATIVES", "keep")
    config = train_config(Settings.load(env_file=None), "beauty", "duorec", variant("base"), 0, 1)
    assert config.false_negatives == "keep"
    model = build_model("duorec", 10, 8, 16, keep_false_negatives=config.false_negatives == "keep")
    assert isinstance(model, DuoRec) and model.keep_false_negatives
    default = config.model_copy(update={"false_negatives": "drop"})
    assert config.fingerprint() != default.fingerprint()
    # A checkpoint written before the setting existed hashed the same settings without it.
    before = {key: value for key, value in default.model_dump(mode="json").items() if key != "false_negatives"}
    fixed = {key: value for key, value in before.items() if key not in RESUMABLE_CHANGES}
    assert default.fingerprint() == hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()


def test_the_mask_setting_replaces_bert4recs_reference_proportion_and_only_its(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMRG_TRAIN_MASK_PROB", raising=False)
    assert train_config(Settings.load(env_file=None), "beauty", "bert4rec", variant("base"), 0, 1).mask_prob == 0.6
    monkeypatch.setenv("LLMRG_TRAIN_MASK_PROB", "0.2")
    assert train_config(Settings.load(env_file=None), "beauty", "bert4rec", variant("base"), 0, 1).mask_prob == 0.2
    assert train_config(Settings.load(env_file=None), "beauty", "sasrec", variant("base"), 0, 1).mask_prob is None
    monkeypatch.setenv("LLMRG_TRAIN_MASK_PROB", "1.5")
    with pytest.raises(ValidationError, match="LLMRG_TRAIN_MASK_PROB"):
        Settings.load(env_file=None)


def test_windows_a_batch_are_the_models_on_the_dataset_unless_the_setting_names_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """BERT4Rec, CL4SRec and DuoRec on ML-1M take 32 windows a batch (at 128 an epoch made 80 optimiser steps and early
    stopping met a model still at popularity level); other models and datasets keep 128."""
    monkeypatch.delenv("LLMRG_TRAIN_WINDOWS_PER_BATCH", raising=False)

    def per_batch(dataset: str, model: str) -> int:
        return train_config(Settings.load(env_file=None), dataset, model, variant("base"), 0, 1).windows_per_batch

    assert [per_batch("ml-1m", model) for model in ("bert4rec", "cl4srec", "duorec", "sasrec", "fdsa")] == [
        32,
        32,
        32,
        128,
        128,
    ]
    assert per_batch("beauty", "bert4rec") == per_batch("beauty", "cl4srec") == per_batch("beauty", "duorec") == 128
    monkeypatch.setenv("LLMRG_TRAIN_WINDOWS_PER_BATCH", "64")
    assert (per_batch("ml-1m", "bert4rec"), per_batch("ml-1m", "sasrec")) == (64, 64)
