"""The periodic knowledge-base refresh (celery beat): keep the stored chains trustworthy and current.

Per dataset: merge duplicate chains (same items from another model or prompt version), recompute hit
counts from the reuse links, send every due chain to re-verification with the current model and prompt
(`llmrg.verify_chain`, one task each, which runs `reasoning.reverify`), and start an incremental reasoning
run for users whose history grew since they were last reasoned for. Only reasoning chains are re-verified:
they are what the knowledge base reuses; divergent chains are verified against their catalogue match when
made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.gateway import Neo4jGateway
from core.settings import Settings, for_dataset


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


def plan_refresh(db: Neo4jGateway, settings: Settings, dataset: str) -> RefreshPlan:
    """The Cypher-only half (merges, hit counts) done now; the LLM half returned as work to fan out."""
    merged = db.run("workers/merge_duplicate_chains", dataset=dataset)
    changed = db.run("workers/recompute_hit_counts", dataset=dataset)
    tau = for_dataset(settings.verify.tau, dataset)
    due = db.run(
        "workers/find_due_chains",
        dataset=dataset,
        stale_s=int(settings.refresh.max_age_days * 86400),
        recheck_s=int(settings.refresh.interval_s),
        min_score=tau + settings.refresh.score_margin,
        model=settings.llm.model,
        prompt_version=settings.reasoning.prompt_version,
        limit=settings.refresh.batch,
    )
    grown = (
        db.run("workers/find_grown_users", dataset=dataset, limit=settings.refresh.batch)
        if settings.refresh.grown_users
        else []
    )
    return RefreshPlan(
        dataset=dataset,
        merged=int(merged[0]["merged"]) if merged else 0,
        hit_counts_changed=int(changed[0]["changed"]) if changed else 0,
        due_chains=[str(record["id"]) for record in due],
        grown_users=[int(record["id"]) for record in grown],
    )


def stored_datasets(db: Neo4jGateway) -> list[str]:
    return [str(record["name"]) for record in db.run("workers/list_datasets")]
