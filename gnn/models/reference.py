"""Each base model's dataset-dependent settings as its paper or reference code has them.

The architecture settings that do not change with the dataset (layers, heads, FFN size, LayerNorm placement,
embedding scaling, activation) are the model classes' defaults and are cited in each model's docstring; this table
holds what the reference code sets per dataset: dropout, BERT4Rec's attention dropout and mask proportion.
`docs/REFERENCE_SETTINGS.md` lists the sources file by file. A dataset the reference code never ran takes the
model's "*" entry (the reference code's default). The maximum length is the method spec's (200 on ML-1M, 50 on
Amazon; `LLMRG_TRAIN_MAX_LEN`) for every model: the CL4SRec and DuoRec code uses 50 on ML-1M too, a departure
the reproduction table states.
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
