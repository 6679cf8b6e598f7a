"""A chain's verification evidence: the records of every check it passed or failed, and the verdict they add up to.

A chain is one node however many users' prompts propose it, so it can be checked many times: by the user it
was first proposed for, by later users whose LLM proposes it again, and in other databases (knowledge-base
files carry the records). Each check is a record `(id, masks, hits)`; the chain's `masks` and `hits` are the
sums and its score 100 x hits / masks. A chain checked once keeps no lists: its one record is derived from
the chain and the dates of that check (`own_evidence`), so every export names it the same.

[ours] Evidence accumulates and the verdict follows it, up or down: one lucky pass does not make a chain
verified forever. A chain is verified while its summed score is at least τ; a verified (or retired) chain
whose score falls below becomes `retired`, like one a refresh fails, and a rejected one stays rejected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from core.vocabulary import ChainStatus
from reasoning.kb_format import Evidence


def own_evidence(chain_id: str, created_at: str, verified_at: str | None, masks: int, hits: int) -> Evidence:
    """The one evidence record of a chain verified in this database (no merged lists): its id is derived from
    the chain and the dates of its verification, so every export of it names it the same."""
    key = f"{chain_id}|{created_at}|{verified_at or ''}|{masks}|{hits}"
    return Evidence(id=hashlib.sha256(key.encode("utf-8")).hexdigest()[:24], masks=masks, hits=hits)


def stored_evidence(record: Any) -> list[Evidence]:
    """A stored chain's evidence records: its merged lists, or its own verification when it has none."""
    if record["evidence_ids"] is None:
        masks, hits = int(record["masks"] or 0), int(record["hits"] or 0)
        return [own_evidence(str(record["id"]), str(record["created_at"]), record["verified_at"], masks, hits)]
    return [
        Evidence(id=str(id_), masks=int(masks), hits=int(hits))
        for id_, masks, hits in zip(
            record["evidence_ids"], record["evidence_masks"], record["evidence_hits"], strict=True
        )
    ]


def merge_evidence(stored: Sequence[Evidence], incoming: Sequence[Evidence]) -> list[Evidence]:
    """The stored records, then the incoming ones the stored lack (by id)."""
    known = {evidence.id for evidence in stored}
    return [*stored, *(evidence for evidence in incoming if evidence.id not in known)]


def evidence_properties(evidence: Sequence[Evidence]) -> dict[str, Any]:
    masks = sum(record.masks for record in evidence)
    hits = sum(record.hits for record in evidence)
    return {
        "evidence_ids": [record.id for record in evidence],
        "evidence_masks": [record.masks for record in evidence],
        "evidence_hits": [record.hits for record in evidence],
        "masks": masks,
        "hits": hits,
    }


def check_evidence(chain_id: str, checked_at: str, masks: int, hits: int) -> Evidence:
    """The record of one more check of a stored chain; its id names no user (records leave in knowledge-base
    files), only the chain, the time of the check and its outcome."""
    key = f"{chain_id}|check|{checked_at}|{masks}|{hits}"
    return Evidence(id=hashlib.sha256(key.encode("utf-8")).hexdigest()[:24], masks=masks, hits=hits)


def judged(evidence: Sequence[Evidence], tau: float, status: ChainStatus) -> dict[str, Any]:
    """The properties a chain with `evidence` and current `status` takes: the lists, the sums, the summed score
    and the status they give (verified at score >= tau; below it a once-verified chain is retired)."""
    properties = evidence_properties(evidence)
    score = 100.0 * properties["hits"] / properties["masks"] if properties["masks"] else 0.0
    if score >= tau:
        verdict = ChainStatus.VERIFIED
    elif status in (ChainStatus.VERIFIED, ChainStatus.RETIRED):
        verdict = ChainStatus.RETIRED
    else:
        verdict = ChainStatus.REJECTED
    return properties | {
        "score": score,
        "status": verdict.value,
        "reject_reason": None if verdict is ChainStatus.VERIFIED else "low_score",
    }
