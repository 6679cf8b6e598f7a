"""The periodic knowledge-base refresh (celery beat): keep the stored chains trustworthy and current.

Per dataset: merge duplicate chains (same items from another model or prompt version), recompute hit
counts from the reuse links, send every due chain to re-verification with the current model and prompt
(`llmrg.verify_chain`, one task each), and start an incremental reasoning run for users whose history
grew since they were last reasoned for. Only reasoning chains are re-verified: they are what the
knowledge base reuses; divergent chains are verified against their catalogue match when made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import neo4j

from llmrg import graph
from llmrg.settings import Settings
from reasoning import verification
from reasoning.chains import Candidate, ChainKind, ChainStatus
from reasoning.context import load_context
from reasoning.llm import StructuredLLM

RETIRED = "retired"


@dataclass(frozen=True)
class RefreshPlan:
    dataset: str
    merged: int
    hit_counts_changed: int
    due_chains: list[str]
    grown_users: list[int]

    def as_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "merged": self.merged,
            "hit_counts_changed": self.hit_counts_changed,
            "reverify": len(self.due_chains),
            "grown_users": len(self.grown_users),
        }


def plan_refresh(driver: neo4j.Driver, settings: Settings, dataset: str) -> RefreshPlan:
    """The Cypher-only half (merges, hit counts) done now; the LLM half returned as work to fan out."""
    merged = graph.run(driver, settings, "workers/merge_duplicate_chains", dataset=dataset)
    changed = graph.run(driver, settings, "workers/recompute_hit_counts", dataset=dataset)
    tau = settings.for_dataset(settings.verify_tau, dataset)
    due = graph.run(
        driver,
        settings,
        "workers/find_due_chains",
        dataset=dataset,
        stale_s=int(settings.refresh_max_age_days * 86400),
        recheck_s=int(settings.refresh_interval_s),
        min_score=tau + settings.refresh_score_margin,
        model=settings.llm_model,
        prompt_version=settings.reason_prompt_version,
        limit=settings.refresh_batch,
    )
    grown = (
        graph.run(driver, settings, "workers/find_grown_users", dataset=dataset, limit=settings.refresh_batch)
        if settings.refresh_grown_users
        else []
    )
    return RefreshPlan(
        dataset=dataset,
        merged=int(merged[0]["merged"]) if merged else 0,
        hit_counts_changed=int(changed[0]["changed"]) if changed else 0,
        due_chains=[str(record["id"]) for record in due],
        grown_users=[int(record["id"]) for record in grown],
    )


def stored_datasets(driver: neo4j.Driver, settings: Settings) -> list[str]:
    return [str(record["name"]) for record in graph.run(driver, settings, "workers/list_datasets")]


def reverify_chain(
    driver: neo4j.Driver, settings: Settings, llm: StructuredLLM, chain_id: str, refresh_id: str
) -> dict[str, Any]:
    """Ask the current model the chain's mask questions again; keep it verified or retire it."""
    records = graph.run(driver, settings, "workers/fetch_chain_for_check", chain_id=chain_id)
    if not records or records[0]["status"] != ChainStatus.VERIFIED.value:
        return {"chain": chain_id, "outcome": "skipped", "why": "not a verified chain"}
    record = records[0]
    if record["user"] is None or record["kind"] != ChainKind.REASONING.value:
        return {"chain": chain_id, "outcome": "skipped", "why": "no user to verify against"}
    dataset, items, t = str(record["dataset"]), [int(item) for item in record["items"]], int(record["t"])
    context = load_context(driver, settings, dataset, int(record["user"]), until=t)
    local_of = {item.id: index for index, item in enumerate(context.window)}
    if any(item not in local_of for item in items):
        return {"chain": chain_id, "outcome": "skipped", "why": "chain items outside the user's window"}
    candidate = Candidate(
        dataset=dataset,
        kind=ChainKind.REASONING,
        premises=tuple(items[:-1]),
        target=items[-1],
        reasons=tuple(str(reason) for reason in record["reasons"][1:]),
        t=t,
        recent_premises=tuple(record["recent_premises"] or ()),
        local_items=tuple(local_of[item] for item in items),
    )
    questions = verification.mask_questions([candidate], context, settings.verify_masks)
    choices = verification.ask_questions(llm, context, settings, questions)
    tau = settings.for_dataset(settings.verify_tau, dataset)
    (scored,) = verification.score_chains([candidate], questions, choices, tau)
    status = ChainStatus.VERIFIED.value if scored.status is ChainStatus.VERIFIED else RETIRED
    graph.run(
        driver,
        settings,
        "workers/set_chain_verification",
        chain_id=chain_id,
        refresh_id=refresh_id,
        score=scored.score,
        hits=scored.hits,
        masks=scored.masks,
        status=status,
        model=settings.llm_model,
        prompt_version=settings.reason_prompt_version,
    )
    return {"chain": chain_id, "outcome": status, "score": scored.score, "previous_score": record["score"]}
