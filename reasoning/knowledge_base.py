"""(d) The knowledge base: verified chains from earlier users, reused instead of calling the LLM.

[ours] A stored chain answers a step when its target is the step's item, its recent premises (the key)
are among this user's last `kb_recent_positions` items before the step, and every premise is in this
user's history before the step. Lookups run before every LLM call; low scorers are never stored as
verified, so they are never found.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.gateway import Neo4jGateway
from core.settings import Settings
from reasoning.context import UserContext


@dataclass(frozen=True)
class KnowledgeHit:
    chain_id: str
    items: tuple[int, ...]
    score: float
    t: int


def lookup(db: Neo4jGateway, settings: Settings, context: UserContext, local_target: int) -> list[KnowledgeHit]:
    target = context.item_at(local_target)
    earlier = context.window[:local_target]
    recent = [item.id for item in earlier if target.pos - item.pos <= settings.kb.recent_positions]
    records = db.run(
        "reasoning/find_kb_chains",
        dataset=context.dataset,
        target=target.id,
        recent=recent,
        history=[item.id for item in earlier],
        limit=settings.kb.chains_per_step,
    )
    return [
        KnowledgeHit(chain_id=r["id"], items=tuple(r["items"]), score=float(r["score"]), t=target.pos) for r in records
    ]
