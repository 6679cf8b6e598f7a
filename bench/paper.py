"""The paper's full-ranking numbers, as the design doc (`../shared/design/LLMRG.md`) quotes them: the base
models ("Original"), DuoRec with LLMRG on GPT-4, and DuoRec with SR-GNN on the plain sequence graph.

Keys are (dataset, model, variant) with our variant names: `base`, `llmrg`, `seq`. The paper has no SASRec row.
"""

from __future__ import annotations

import math

Metrics = dict[str, float]
ROUNDING = 0.00015
"""Slack for numbers printed to four places: each is off by up to 0.00005, a difference of two by 0.0001."""

PAPER: dict[tuple[str, str, str], Metrics] = {
    ("ml-1m", "duorec", "base"): {"hr@5": 0.2011, "hr@10": 0.2837, "ndcg@5": 0.1265, "ndcg@10": 0.1663},
    ("ml-1m", "duorec", "llmrg"): {"hr@5": 0.2307, "hr@10": 0.3277, "ndcg@5": 0.1594, "ndcg@10": 0.1891},
    ("ml-1m", "duorec", "seq"): {"hr@5": 0.2139, "hr@10": 0.3039, "ndcg@5": 0.1420, "ndcg@10": 0.1738},
    ("ml-1m", "bert4rec", "base"): {"hr@5": 0.1124, "hr@10": 0.1910, "ndcg@5": 0.0713, "ndcg@10": 0.0980},
    ("ml-1m", "cl4srec", "base"): {"hr@5": 0.1141, "hr@10": 0.1866, "ndcg@5": 0.0721, "ndcg@10": 0.1013},
    ("ml-1m", "fdsa", "base"): {"hr@5": 0.0909, "hr@10": 0.1631, "ndcg@5": 0.0599, "ndcg@10": 0.0878},
    ("beauty", "duorec", "base"): {"hr@5": 0.0552, "hr@10": 0.0839, "ndcg@5": 0.0350, "ndcg@10": 0.0447},
    ("beauty", "duorec", "llmrg"): {"hr@5": 0.0617, "hr@10": 0.0894, "ndcg@5": 0.0382, "ndcg@10": 0.0482},
    ("beauty", "duorec", "seq"): {"hr@5": 0.0570, "hr@10": 0.0862, "ndcg@5": 0.0363, "ndcg@10": 0.0459},
    ("beauty", "bert4rec", "base"): {"hr@5": 0.0201, "hr@10": 0.0413, "ndcg@5": 0.0192, "ndcg@10": 0.0263},
    ("beauty", "cl4srec", "base"): {"hr@5": 0.0398, "hr@10": 0.0664, "ndcg@5": 0.0221, "ndcg@10": 0.0322},
    ("beauty", "fdsa", "base"): {"hr@5": 0.0237, "hr@10": 0.0418, "ndcg@5": 0.0195, "ndcg@10": 0.0275},
}

VARIANT_LABELS = {
    "base": "base",
    "llmrg": "+ LLMRG",
    "seq": "+ SR-GNN on the plain sequence graph",
    "llmrg-no-div": "+ LLMRG w/o divergent",
    "llmrg-no-verify": "+ LLMRG w/o verification",
    "llmrg-kb": "+ LLMRG from knowledge-base edges",
    "llmrg-kb-placebo": "+ LLMRG from knowledge-base edges with random sources (placebo)",
    "llmrg-kb-random": "+ LLMRG from random edges, as many per user as the knowledge base's (placebo)",
}


def broken_bounds(metrics: Metrics) -> list[str]:
    """The bounds a row of leave-one-out metrics breaks, with the numbers. With one target per user, a hit at rank
    r adds 1/log2(r + 1) to NDCG and 1 to HR, so the hits at ranks 6-10 (HR@10 - HR@5 of the users) add between
    1/log2(11) and 1/log2(7) of that to NDCG@10 - NDCG@5, and NDCG@5 lies between HR@5/log2(6) and HR@5. Why: a
    paper row outside them was mistyped or mixes runs, and a gap to it says nothing about our run."""
    hits, gain = metrics["hr@10"] - metrics["hr@5"], metrics["ndcg@10"] - metrics["ndcg@5"]
    bounds = [
        ("NDCG@10 - NDCG@5", gain, hits / math.log2(11), hits / math.log2(7), "HR@10 - HR@5"),
        ("NDCG@5", metrics["ndcg@5"], metrics["hr@5"] / math.log2(6), metrics["hr@5"], "HR@5"),
    ]
    return [
        f"{name} = {value:.4f} lies outside the {low:.4f}-{high:.4f} that {source} allows"
        for name, value, low, high, source in bounds
        if not low - ROUNDING <= value <= high + ROUNDING
    ]
