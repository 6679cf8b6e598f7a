"""(d) The knowledge base: verified chains from earlier users, reused instead of calling the LLM.

[ours] A stored chain answers a step when its target is the step's item, its recent premises (the key)
are among this user's last `kb_recent_positions` items before the step, and every premise is in this
user's history before the step. Lookups run before every LLM call; low scorers are never stored as
verified, so they are never found. Only chains of the run's own model and prompt version are found unless
`LLMRG_KB_ANY_MODEL` is set: a chain is as good as the model that verified it. "Prompt version" means the prompts
that made the chain, not the set's name: a set that changed only chaining still finds pairs warmed under the last.

[ours] Edges (`LLMRG_KB_EDGES`): every verified chain also stores its links a -> b as causal edges, supported
by each verified chain that holds them. A step whose chains miss is answered by edges into its item from
any item of the user's window before it: users share item pairs far more often than whole chains.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.gateway import Neo4jGateway
from core.settings import Settings
from core.vocabulary import ChainKind
from reasoning.chains import Candidate
from reasoning.context import UserContext
from reasoning.prompts import equivalent_versions


@dataclass(frozen=True)
class KnowledgeHit:
    chain_id: str
    items: tuple[int, ...]
    score: float
    t: int


@dataclass(frozen=True)
class EdgeHit:
    edge_id: str
    source: int
    target: int
    reason: str
    support: int
    t: int
    pair_support: int = 0
    """How many of the `support` chains are warm-start pairs (`llmrg kb warm`), not users' reasoning."""

    def candidate(self, dataset: str, local_items: tuple[int, ...] = ()) -> Candidate:
        """The one-link chain `source -> target` with the edge's reason, at the step."""
        return Candidate(
            dataset=dataset,
            kind=ChainKind.REASONING,
            premises=(self.source,),
            target=self.target,
            reasons=(self.reason,),
            t=self.t,
            recent_premises=(),
            local_items=local_items,
        )


def lookup_edges(db: Neo4jGateway, settings: Settings, context: UserContext, local_target: int) -> list[EdgeHit]:
    """Verified causal edges into the step's item from an item the user chose earlier in the window, counting
    only support from chains that are not this user's own (a rerun must not "reuse" what it wrote itself)."""
    target = context.item_at(local_target)
    records = db.run(
        "reasoning/find_kb_edges",
        dataset=context.dataset,
        user=context.user,
        target=target.id,
        history=[item.id for item in context.window[:local_target]],
        **_made_like(settings),
        limit=settings.kb.chains_per_step,
    )
    return [
        EdgeHit(
            edge_id=r["id"],
            source=int(r["source"]),
            target=target.id,
            reason=str(r["reason"]),
            support=int(r["support"]),
            t=target.pos,
            pair_support=int(r["pair_support"]),
        )
        for r in records
    ]


def lookup(db: Neo4jGateway, settings: Settings, context: UserContext, local_target: int) -> list[KnowledgeHit]:
    target = context.item_at(local_target)
    earlier = context.window[:local_target]
    recent = [item.id for item in earlier if target.pos - item.pos <= settings.kb.recent_positions]
    made_like = _made_like(settings)  # whole chains are users' reasoning: the pairs' prompt sets do not apply
    records = db.run(
        "reasoning/find_kb_chains",
        dataset=context.dataset,
        user=context.user,
        target=target.id,
        recent=recent,
        history=[item.id for item in earlier],
        model=made_like["model"],
        prompt_versions=made_like["prompt_versions"],
        limit=settings.kb.chains_per_step,
    )
    return [
        KnowledgeHit(chain_id=r["id"], items=tuple(r["items"]), score=float(r["score"]), t=target.pos) for r in records
    ]


REASONING_TASKS = ("chain", "verify", "choose", "diverge")
"""The prompts that write and verify a reasoning or divergent chain (both kinds support edges; one set of prompts
for the two is stricter than each kind needs, never looser)."""
PAIR_TASKS = ("warm", "choose")
"""The prompts that reason about and verify an item pair (`reasoning.warm`)."""


def _made_like(settings: Settings) -> dict[str, object]:
    """The lookups' filters: the run's model, and the prompt sets that ask what the run's own set asks, per kind of
    chain (`prompts.equivalent_versions`); none with `kb.any_model`. A pair warmed under v3 thus answers a v4 run
    (v4 changed only chaining), which matching the set's name alone refused."""
    if settings.kb.any_model:
        return {"model": None, "prompt_versions": None, "pair_prompt_versions": None}
    version = settings.reasoning.prompt_version
    return {
        "model": settings.llm.model,
        "prompt_versions": list(equivalent_versions(REASONING_TASKS, version)),
        "pair_prompt_versions": list(equivalent_versions(PAIR_TASKS, version)),
    }
