"""Re-verification of a stored chain with the current model and prompt: kept verified, or retired.

The knowledge-base refresh sends each due chain here. The chain is checked against the user it was made
for, seen only up to the chain's step (as when it was first verified), with the same mask questions in the
configured style (`LLMRG_VERIFY_STYLE`), batched by the same no-leak rule as the engine
(`verification.batches`), so a refresh never scores a chain on easier questions than the run that accepted it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.gateway import Neo4jGateway
from core.settings import Settings, for_dataset
from core.vocabulary import ChainKind, ChainStatus
from reasoning import multiple_choice, verification
from reasoning.chains import Candidate
from reasoning.context import UserContext, load_context
from reasoning.llm import StructuredLLM


@dataclass(frozen=True)
class Reverification:
    chain: str
    outcome: str
    """`verified` or `retired` when asked, `skipped` when the chain cannot be re-verified."""
    why: str | None = None
    score: float | None = None
    previous_score: float | None = None

    def as_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"chain": self.chain, "outcome": self.outcome}
        if self.outcome == "skipped":
            return payload | {"why": self.why}
        return payload | {"score": self.score, "previous_score": self.previous_score}


def reverify_chain(
    db: Neo4jGateway, settings: Settings, llm: StructuredLLM, chain_id: str, refresh_id: str
) -> Reverification:
    """Ask the current model the chain's mask questions again and store the outcome once per refresh."""
    records = db.run("reasoning/fetch_chain_for_check", chain_id=chain_id)
    if not records or records[0]["status"] != ChainStatus.VERIFIED.value:
        return Reverification(chain_id, "skipped", why="not a verified chain")
    record = records[0]
    if record["user"] is None or record["kind"] != ChainKind.REASONING.value:
        return Reverification(chain_id, "skipped", why="no user to verify against")
    dataset, t = str(record["dataset"]), int(record["t"])
    context = load_context(db, settings, dataset, int(record["user"]), until=t)
    candidate = stored_candidate(record, context)
    if candidate is None:
        return Reverification(chain_id, "skipped", why="chain items outside the user's window")
    tau = for_dataset(settings.verify.tau, dataset)
    if settings.verify.style == "lettered":
        (scored,), _ = multiple_choice.verify_chains(llm, settings, context, [candidate], tau)
    else:
        questions = verification.mask_questions([candidate], context, settings.verify.masks)
        choices: dict[str, int] = {}
        for batch in verification.batches(questions, settings.verify.questions_per_call):
            choices |= verification.ask_questions(llm, context, settings, batch)
        (scored,) = verification.score_chains([candidate], questions, choices, tau)
    status = ChainStatus.VERIFIED if scored.status is ChainStatus.VERIFIED else ChainStatus.RETIRED
    db.run(
        "reasoning/set_chain_verification",
        chain_id=chain_id,
        refresh_id=refresh_id,
        score=scored.score,
        hits=scored.hits,
        masks=scored.masks,
        status=status.value,
        model=settings.llm.model,
        prompt_version=settings.reasoning.prompt_version,
    )
    if status is ChainStatus.RETIRED:
        db.run("reasoning/unsupport_edges", chain_ids=[chain_id])
        db.run("reasoning/relink_users", chain_ids=[chain_id])
    return Reverification(chain_id, status.value, score=scored.score, previous_score=record["score"])


def stored_candidate(record: Any, context: UserContext) -> Candidate | None:
    """The stored chain as the candidate verification asks about, or None when the window lacks one of its items."""
    items = [int(item) for item in record["items"]]
    local_of = {item.id: index for index, item in enumerate(context.window)}
    if any(item not in local_of for item in items):
        return None
    return Candidate(
        dataset=str(record["dataset"]),
        kind=ChainKind.REASONING,
        premises=tuple(items[:-1]),
        target=items[-1],
        reasons=tuple(str(reason) for reason in record["reasons"][1:]),
        t=int(record["t"]),
        recent_premises=tuple(record["recent_premises"] or ()),
        local_items=tuple(local_of[item] for item in items),
    )
