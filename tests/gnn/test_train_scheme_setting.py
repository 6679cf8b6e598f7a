"""`LLMRG_TRAIN_SCHEME` picks the training rows (auto keeps windows wherever they are exact), and
`LLMRG_TRAIN_FALSE_NEGATIVES` reaches DuoRec without changing the fingerprint of runs made before it existed, and
`LLMRG_TRAIN_MASK_PROB` replaces BERT4Rec's reference cloze proportion, and `LLMRG_TRAIN_ITEM_FEATURES=shuffled` gives
FDSA another item's attributes."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from pydantic import ValidationError

from core.errors import ConfigError
from core.settings import Settings
from core.vocabulary import variant
from gnn.config import RESUMABLE_CHANGES, TrainConfig
from gnn.data import SequenceData, shuffled_features
from gnn.models import FDSA, DuoRec, build_model
from gnn.pipeline import train_config
from gnn.train import build_recommender

pytestmark = pytest.mark.unit


def scheme_of(model: str, chosen: str) -> str:
    return train_config(Settings.load(env_file=None), "beauty", model, variant(chosen), 0, 1).train_scheme


def fingerprint_before(config: TrainConfig, *later: str) -> str:
    """The fingerprint a checkpoint written before the `later` settings existed has: the same settings without them."""
    before = {key: value for key, value in config.model_dump(mode="json").items() if key not in later}
    fixed = {key: value for key, value in before.items() if key not in RESUMABLE_CHANGES}
    return hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()


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
    assert default.fingerprint() == fingerprint_before(default, "false_negatives", "item_features")


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


def test_shuffled_features_move_whole_attribute_rows_between_items_and_keep_the_padding_row() -> None:
    features = torch.arange(1, 61).reshape(30, 2)
    features[0] = 0
    shuffled = shuffled_features(features, seed=3)
    assert torch.equal(shuffled[0], features[0])
    assert sorted(map(tuple, shuffled[1:].tolist())) == sorted(map(tuple, features[1:].tolist()))
    assert (shuffled[1:] != features[1:]).any(dim=1).float().mean() > 0.8  # nearly every item has another's
    assert torch.equal(shuffled, shuffled_features(features, seed=3))
    assert not torch.equal(shuffled, shuffled_features(features, seed=4))


def test_the_item_features_setting_reaches_fdsa_only_and_old_fingerprints_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    features = torch.randint(1, 6, (21, 3))
    features[0] = 0
    data = SequenceData("beauty", 20, {1: [1, 2, 3]}, item_features=features, n_features=5)
    monkeypatch.setenv("LLMRG_TRAIN_ITEM_FEATURES", "shuffled")
    config = train_config(Settings.load(env_file=None), "beauty", "fdsa", variant("base"), 7, 1)
    assert config.item_features == "shuffled"
    placebo = build_recommender(data, config)
    assert isinstance(placebo, FDSA) and torch.equal(placebo.item_features, shuffled_features(features, 7))
    real = build_recommender(data, config.model_copy(update={"item_features": "real"}))
    assert isinstance(real, FDSA) and torch.equal(real.item_features, features)
    with pytest.raises(ConfigError, match="placebo for fdsa"):
        train_config(Settings.load(env_file=None), "beauty", "sasrec", variant("base"), 0, 1)
    default = config.model_copy(update={"item_features": "real"})
    assert config.fingerprint() != default.fingerprint()
    assert default.fingerprint() == fingerprint_before(default, "false_negatives", "item_features")


def test_the_dropout_setting_replaces_the_reference_value_and_only_the_hidden_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LLMRG_TRAIN_DROPOUT", raising=False)
    assert train_config(Settings.load(env_file=None), "ml-1m", "cl4srec", variant("base"), 0, 1).dropout == 0.5
    monkeypatch.setenv("LLMRG_TRAIN_DROPOUT", "0.2")
    assert train_config(Settings.load(env_file=None), "ml-1m", "cl4srec", variant("base"), 0, 1).dropout == 0.2
    bert4rec = train_config(Settings.load(env_file=None), "beauty", "bert4rec", variant("base"), 0, 1)
    assert (bert4rec.dropout, bert4rec.attention_dropout) == (0.2, 0.2)  # its attention dropout is its own
    monkeypatch.setenv("LLMRG_TRAIN_DROPOUT", "1.0")
    with pytest.raises(ValidationError, match="LLMRG_TRAIN_DROPOUT"):
        Settings.load(env_file=None)


def test_the_max_length_setting_the_reproduction_passes_reaches_every_dataset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`bench.reproduce --max-len 50` sets LLMRG_TRAIN_MAX_LEN to {"*": 50}: ML-1M, whose own entry is 200, trains
    at 50 then, as the DuoRec repository does."""
    monkeypatch.delenv("LLMRG_TRAIN_MAX_LEN", raising=False)
    assert train_config(Settings.load(env_file=None), "ml-1m", "duorec", variant("base"), 0, 1).max_len == 200
    monkeypatch.setenv("LLMRG_TRAIN_MAX_LEN", '{"*": 50}')
    assert train_config(Settings.load(env_file=None), "ml-1m", "duorec", variant("base"), 0, 1).max_len == 50
    assert train_config(Settings.load(env_file=None), "beauty", "duorec", variant("base"), 0, 1).max_len == 50
