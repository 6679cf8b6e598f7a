"""Turning a parsed chaining answer into candidate chains, refusing anything unsafe or impossible.

Everything the LLM writes is untrusted: indices must point into the prompt's window and before the
target, chains must not loop and must run forward in time (premises oldest first: a link says an item led
to the next one, which the user chose later), and reasons are short plain text (they are stored as
parameters only, but text shaped like Cypher is refused outright, so it never reaches a graph).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from itertools import pairwise

from core.vocabulary import ChainKind
from reasoning.chains import Candidate, Rejection
from reasoning.context import UserContext
from reasoning.schemas import ChainingAnswer, ProposedChain

CYPHER_LIKE = re.compile(
    r"`|[{}]|//|\$\w+|\)\s*-\s*\[|\]\s*->\s*\(|\(\s*\w*\s*:|\bLOAD\s+CSV\b|\bDETACH\s+DELETE\b"
    r"|\b(MATCH|OPTIONAL\s+MATCH|MERGE|CREATE|DELETE|REMOVE|UNWIND|CALL|RETURN|SET|WITH|FOREACH)\s*"
    r"(?:[(\[*]|\w+\s*[.=(]|\w+\s*,\s*\w+\s*$)",
    re.IGNORECASE,
)
"""Cypher's shapes, not its words: backticks, braces, parameters, comments, relationship arrows, node patterns
`(n:`, and a clause keyword followed by what a clause takes (`MATCH (`, `UNWIND [`, `CALL db.labels`,
`SET n.x`, `RETURN count(`). Ordinary phrases with the same words pass ("set in space", "Return of the
Jedi sequel", "a match made in heaven")."""
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def unsafe_text(text: str) -> bool:
    """Backticks, Cypher-looking statements or patterns, parameters, comments or control characters."""
    return bool(CYPHER_LIKE.search(text) or CONTROL_CHARACTERS.search(text))


@dataclass
class ValidationResult:
    candidates: list[Candidate] = field(default_factory=list)
    rejected: Counter[Rejection] = field(default_factory=Counter)

    @property
    def proposed(self) -> int:
        return len(self.candidates) + sum(self.rejected.values())


def validate_answer(
    answer: ChainingAnswer,
    context: UserContext,
    targets: list[int],
    *,
    max_chains: int,
    max_items: int,
    reason_chars: int,
    recent_positions: int,
    allowed: Mapping[int, Collection[int]] | None = None,
) -> ValidationResult:
    """Candidates for the requested local `targets`; each refused chain counted under its reason. `allowed`
    (target -> window indices the prompt offered) refuses premises outside them, for servers that do not
    enforce the answer's schema."""
    result = ValidationResult()
    seen: set[tuple[int, ...]] = set()
    kept_per_target: Counter[int] = Counter()
    for step in answer.steps:
        for raw_proposal in step.chains:
            proposal = _without_trailing_target(raw_proposal, step.target)
            reason = _check(proposal, step.target, targets, len(context.window), max_items, reason_chars)
            if reason is None and allowed is not None and not set(proposal.items) <= set(allowed[step.target]):
                reason = Rejection.NOT_OFFERED
            local = (*proposal.items, step.target)
            if reason is None and local in seen:
                continue
            if reason is None and kept_per_target[step.target] >= max_chains:
                reason = Rejection.TOO_MANY
            if reason is not None:
                result.rejected[reason] += 1
                continue
            seen.add(local)
            kept_per_target[step.target] += 1
            result.candidates.append(candidate_of_proposal(context, proposal, step.target, recent_positions))
    return result


def _without_trailing_target(proposal: ProposedChain, target: int) -> ProposedChain:
    """Small models often write the whole path, target included; that is the same chain."""
    if len(proposal.root) > 1 and proposal.items[-1] == target:
        return ProposedChain(proposal.root[:-1])
    return proposal


def _check(
    proposal: ProposedChain, target: int, targets: list[int], window: int, max_items: int, reason_chars: int
) -> Rejection | None:
    if target not in targets:
        return Rejection.UNKNOWN_TARGET
    if any(not 0 <= item < window for item in proposal.items):
        return Rejection.NOT_IN_CATALOGUE
    if any(item > target for item in proposal.items):
        return Rejection.FUTURE_ITEM
    if target in proposal.items or len(set(proposal.items)) != len(proposal.items):
        return Rejection.SELF_LOOP
    if any(earlier > later for earlier, later in pairwise(proposal.items)):
        return Rejection.NOT_OLDEST_FIRST  # a link says the earlier item led to the later one: time runs forward
    if len(proposal.items) + 1 > max_items:
        return Rejection.TOO_LONG
    if any(not reason.strip() or len(reason) > reason_chars for reason in proposal.reasons):
        return Rejection.EMPTY_REASON
    if any(unsafe_text(reason) for reason in proposal.reasons):
        return Rejection.UNSAFE_TEXT
    return None


def candidate_of_proposal(
    context: UserContext, proposal: ProposedChain, target: int, recent_positions: int
) -> Candidate:
    """The chain `proposal -> target` of window indices as catalogue ids (checked by `validate_answer` first)."""
    target_item = context.item_at(target)
    premises = [context.item_at(local) for local in proposal.items]
    return Candidate(
        dataset=context.dataset,
        kind=ChainKind.REASONING,
        premises=tuple(item.id for item in premises),
        target=target_item.id,
        reasons=tuple(reason.strip() for reason in proposal.reasons),
        t=target_item.pos,
        recent_premises=tuple(sorted(item.id for item in premises if target_item.pos - item.pos <= recent_positions)),
        local_items=(*proposal.items, target),
    )
