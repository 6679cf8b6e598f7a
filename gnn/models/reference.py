"""Each base model's dataset-dependent settings as its paper or reference code has them.

The architecture settings that do not change with the dataset (layers, heads, FFN size, LayerNorm placement,
embedding scaling, activation) are the model classes' defaults and are cited in each model's docstring; this table
holds what the reference code sets per dataset: dropout, BERT4Rec's attention dropout and mask proportion.
`docs/REFERENCE_SETTINGS.md` lists the sources file by file. A dataset the reference code never ran takes the
model's "*" entry (the reference code's default). The maximum length is the method spec's (200 on ML-1M, 50 on
Amazon; `LLMRG_TRAIN_MAX_LEN`) for every model: the CL4SRec and DuoRec code uses 50 on ML-1M too, a departure
the reproduction table states.

One setting here is ours rather than the reference code's: the windows a training batch holds
(`windows_per_batch`), which exists only in our windows scheme (`gnn.windows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReferenceSettings:
    """`dropout`: hidden (and, unless `attention_dropout` says otherwise, attention) dropout; `mask_prob`:
    BERT4Rec's cloze proportion; `source`: where the values were read."""

    dropout: float
    source: str
    attention_dropout: float | None = None
    mask_prob: float | None = None

    def overrides(self) -> dict[str, Any]:
        """The keyword arguments `gnn.models.build_model` takes for these settings."""
        chosen = {"dropout": self.dropout, "attention_dropout": self.attention_dropout, "mask_prob": self.mask_prob}
        return {key: value for key, value in chosen.items() if value is not None}


REFERENCE: dict[str, dict[str, ReferenceSettings]] = {
    "sasrec": {
        "ml-1m": ReferenceSettings(0.2, "kang205/SASRec README.md, the ML-1M command (--dropout_rate=0.2)"),
        "*": ReferenceSettings(0.5, "kang205/SASRec main.py default (--dropout_rate 0.5), used for its Amazon data"),
    },
    "bert4rec": {
        "ml-1m": ReferenceSettings(
            0.2, "FeiSun/BERT4Rec bert_config_ml-1m_64.json, run_ml-1m.sh", attention_dropout=0.2, mask_prob=0.2
        ),
        "beauty": ReferenceSettings(
            0.5, "FeiSun/BERT4Rec bert_config_beauty_64.json, run_beauty.sh", attention_dropout=0.2, mask_prob=0.6
        ),
        "*": ReferenceSettings(0.2, "RecBole BERT4Rec.yaml", attention_dropout=0.2, mask_prob=0.2),
    },
    "fdsa": {"*": ReferenceSettings(0.5, "RecBole FDSA.yaml (one config for every dataset)")},
    "cl4srec": {"*": ReferenceSettings(0.5, "RuihongQiu/DuoRec recbole/properties/model/CL4SRec.yaml")},
    "duorec": {"*": ReferenceSettings(0.5, "RuihongQiu/DuoRec recbole/properties/model/DuoRec.yaml")},
}


def reference_settings(model: str, dataset: str) -> ReferenceSettings:
    """The reference settings of `model` on `dataset`, or the model's "*" entry for a dataset its code never ran."""
    if model not in REFERENCE:
        raise ValueError(f"no reference settings for model {model!r}; known: {', '.join(sorted(REFERENCE))}")
    per_dataset = REFERENCE[model]
    return per_dataset.get(dataset, per_dataset["*"])


WINDOWS_PER_BATCH = 128
"""Windows a training batch holds unless `TUNED_WINDOWS_PER_BATCH` says otherwise: SASRec's reference batch of 128
sequences."""

TUNED_WINDOWS_PER_BATCH: dict[str, dict[str, int]] = {
    "bert4rec": {"ml-1m": 32},
    "cl4srec": {"ml-1m": 32},
    "duorec": {"ml-1m": 32},
}
"""Where 128 windows a batch left too few optimiser steps an epoch for a model to learn before early stopping
(patience 10 epochs) ended it, measured on this project's machines. BERT4Rec on ML-1M: 6,040 users make 10,226
windows of up to 200 items, 80 steps an epoch at 128, and the cloze task supervises a fifth of the positions, so
after 6 epochs valid NDCG@10 was 0.012 (the most-popular baseline sits at 0.0113, `bench.popularity`; loss 7.18);
at 32 windows a batch (320 steps an epoch, the same 50 s an epoch on 2 cores) it was 0.030 and climbing (loss
6.49). The reference code gets its steps
otherwise: 400k steps of 256 sequences, each sequence copied ten times with fresh masks (`dupe_factor`).
DuoRec on ML-1M (dropout 0.5 on states and attention, so it leaves the popularity plateau later than SASRec at
0.2): at 128 valid NDCG@10 stayed at 0.011-0.012 for 8 epochs (loss 8.08, flat from epoch 3); at 32 it left it
at epoch 5 (0.0145, then 0.0171 at epoch 6), about 100 s an epoch either way. That is about 1,600 steps, as on
Beauty (10 epochs of 175 steps). CL4SRec (dropout 0.5 too) left it after about 700 steps on Beauty (4 epochs), 9
of patience's 10 epochs at 80 steps an epoch, so it takes 32 on ML-1M as well (not measured on ML-1M yet)."""


def windows_per_batch(model: str, dataset: str) -> int:
    """The windows a training batch of `model` on `dataset` holds by default (`LLMRG_TRAIN_WINDOWS_PER_BATCH`
    replaces it)."""
    return TUNED_WINDOWS_PER_BATCH.get(model, {}).get(dataset, WINDOWS_PER_BATCH)
