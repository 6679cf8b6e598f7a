"""Item-level warm start of the knowledge base (`llmrg kb warm`): reasons about the most frequent item pairs,
several to a call, verifies each by lettered questions and stores the verified ones as causal edges.

A verified edge a -> b answers any later user's step at b whose window holds a, with no call for that user
(`knowledge_base.lookup_edges`), and explains a recommended b to anyone who chose a. So a few hundred calls
about the pairs users share most give the graphs and the explanations reach that per-user reasoning would
need thousands of users for.

One call asks for a reason for each of `pairs_per_call` pairs (`prompts/warm/<version>`); the model may answer
"none". A reason is refused when it is empty or "none", looks like Cypher, or writes out either title (it
would hand the verifier its answer). Then each reasoned pair gets the engine's lettered questions
(`multiple_choice`), packed under the same no-leak rule: `a -[reason]-> [MASK]` with the true item among
distractors, `[MASK] -[reason]-> b`, and an attribute of b. Distractors come from the items of the run's
frequent pairs (about as popular as the answer) and are never a frequent partner of the shown item, so
popularity and co-occurrence give nothing away. score = 100 x hits / masks against the dataset's τ, as for
chains.

[ours] Placebo pairs (`item_pairs.placebo_for`) travel in the same calls as the real ones and are judged the
same way, but are never stored: their acceptance rate beside the real one is what the run's verification
is worth. A pair is stored as a `pair` chain (verified or rejected, linked to no user) and, when verified,
MERGEs its causal edge, so a rerun never asks a stored pair again and knowledge-base files carry the edges.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from core.gateway import Neo4jGateway
from core.settings import Settings, for_dataset
from core.vocabulary import ChainKind, ChainStatus
from reasoning import multiple_choice, store, validation, verification
from reasoning.chains import Candidate, Rejection, ScoredChain
from reasoning.item_pairs import ItemPair
from reasoning.llm import LLMOutputRejected, LLMUnavailable, StructuredLLM
from reasoning.prompts import Message, load_prompt
from reasoning.schemas import WarmAnswer

TASK = "warm"
NO_REASON = "none"


@dataclass(frozen=True)
class CatalogueItem:
    id: int
    title: str
    attributes: tuple[str, ...]
    """Attribute names (`Comedy`), as prompts show them."""

    def line(self) -> str:
        return f"{self.title} | {', '.join(self.attributes)}" if self.attributes else self.title


def load_catalogue(db: Neo4jGateway, dataset: str) -> dict[int, CatalogueItem]:
    return {
        int(r["id"]): CatalogueItem(int(r["id"]), r["title"] or f"item {r['id']}", tuple(r["attributes"]))
        for r in db.run("reasoning/fetch_catalogue", dataset=dataset)
    }


@dataclass
class WarmCounts:
    """What one batch of pairs gave, real and placebo apart."""

    asked: int = 0
    verified: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    """Pairs given no usable reason, by why (`empty_reason` is the model's "none")."""
    failed: int = 0
    """Pairs a failed call left without a verdict (asked again on a rerun)."""
    masks: Counter[str] = field(default_factory=Counter)
    """Questions asked by what they hide (`target`, `premise`, `attribute`)..."""
    hits: Counter[str] = field(default_factory=Counter)
    """...and those answered right: which masks tell real pairs from placebo."""

    def as_json(self) -> dict[str, Any]:
        return {
            "asked": self.asked,
            "verified": self.verified,
            "refused": sum(self.refused.values()),
            "refused_by_reason": dict(sorted(self.refused.items())),
            "failed": self.failed,
            "masks": dict(sorted(self.masks.items())),
            "hits": dict(sorted(self.hits.items())),
        }


@dataclass
class WarmBatch:
    real: WarmCounts = field(default_factory=WarmCounts)
    placebo: WarmCounts = field(default_factory=WarmCounts)
    reason_calls: int = 0
    verify_calls: int = 0
    verify_questions: int = 0
    stored: list[ScoredChain] = field(default_factory=list)

    def counts(self, pair: ItemPair) -> WarmCounts:
        return self.placebo if pair.placebo else self.real


def pair_block(pairs: Sequence[ItemPair], catalogue: Mapping[int, CatalogueItem]) -> str:
    """`p1: <source line> -> <target line>`, one pair a line."""
    return "\n".join(
        f"p{number}: {catalogue[pair.source].line()} -> {catalogue[pair.target].line()}"
        for number, pair in enumerate(pairs, start=1)
    )


def reason_messages(
    settings: Settings, pairs: Sequence[ItemPair], catalogue: Mapping[int, CatalogueItem]
) -> list[Message]:
    prompt = load_prompt(TASK, settings.reasoning.prompt_version)
    return prompt.messages({"pairs": pair_block(pairs, catalogue)}, reason_chars=settings.reasoning.reason_chars)


def reason_schema(settings: Settings, pairs: Sequence[ItemPair]) -> dict[str, Any]:
    prompt = load_prompt(TASK, settings.reasoning.prompt_version)
    ids = [f"p{number}" for number in range(1, len(pairs) + 1)]
    reason = prompt.schema("reason", reason_chars=settings.reasoning.reason_chars)
    return prompt.schema("answer", pairs={pair_id: reason for pair_id in ids}, pair_ids=ids)


def ask_reasons(
    llm: StructuredLLM, settings: Settings, pairs: Sequence[ItemPair], catalogue: Mapping[int, CatalogueItem]
) -> list[str]:
    """The raw reason written for each pair ("" where the answer has none); one call. Raises like `ask`."""
    answer = llm.ask(reason_messages(settings, pairs, catalogue), reason_schema(settings, pairs), WarmAnswer)
    return [answer.root.get(f"p{number}", "").strip() for number in range(1, len(pairs) + 1)]


def refusal(reason: str, pair: ItemPair, catalogue: Mapping[int, CatalogueItem]) -> Rejection | None:
    """Why `reason` cannot stand for the pair, or None when it can."""
    if len(reason) < 3 or reason.strip(" .!").lower() == NO_REASON:
        return Rejection.EMPTY_REASON
    if validation.unsafe_text(reason):
        return Rejection.UNSAFE_TEXT
    lowered = reason.lower()
    if any(bare_title(catalogue[item].title) in lowered for item in (pair.source, pair.target)):
        return Rejection.NAMES_ITEM
    return None


def bare_title(title: str) -> str:
    """`Lion King, The (1994)` -> `lion king`: the part of a title a reason would write out."""
    text = title.rsplit(" (", 1)[0] if title.endswith(")") else title
    for article in (", The", ", A", ", An"):
        if text.endswith(article):
            text = text[: -len(article)]
    return text.strip().lower()


def pair_questions(
    pair: ItemPair,
    reason: str,
    catalogue: Mapping[int, CatalogueItem],
    pool: Sequence[int],
    linked: Mapping[int, set[int]],
    owner: Hashable,
    *,
    masks: int,
    options: int,
) -> list[multiple_choice.ChoiceQuestion]:
    """The target, the source and an attribute of the target hidden in turn (the first `masks` of them)."""
    source, target = catalogue[pair.source], catalogue[pair.target]
    titles = [source.title, target.title]
    seed = f"warm|{pair.source}|{pair.target}"
    questions = []
    for kind, hidden, shown in (("target", target, source), ("premise", source, target)):
        excluded = linked.get(shown.id, set()) | {source.id, target.id}
        allowed = [item for item in pool if item not in excluded]
        if not allowed:
            continue
        rng = random.Random(f"{seed}|{kind}")
        distractors = [catalogue[item].title for item in rng.sample(allowed, min(options - 1, len(allowed)))]
        text = multiple_choice.chain_in_titles(titles, [reason], 1 if kind == "target" else 0)
        questions.append(
            multiple_choice.lettered(
                owner,
                kind,
                text,
                hidden.title,
                distractors,
                rng,
                shows=frozenset({shown.id}),
                hides=frozenset({hidden.id}),
            )
        )
    names = sorted({name for item in pool for name in catalogue[item].attributes} - set(target.attributes))
    if target.attributes and names:
        rng = random.Random(f"{seed}|attribute")
        questions.append(
            multiple_choice.lettered(
                owner,
                "attribute",
                multiple_choice.attribute_text(titles, [reason]),
                rng.choice(sorted(target.attributes)),
                rng.sample(names, min(options - 1, len(names))),
                rng,
                shows=frozenset({source.id, target.id}),
                hides=frozenset(),
            )
        )
    return questions[:masks]


def pair_candidate(dataset: str, pair: ItemPair, reason: str) -> Candidate:
    """The pair as a one-link chain of kind `pair`; it belongs to no user, so it has no position."""
    return Candidate(
        dataset=dataset,
        kind=ChainKind.PAIR,
        premises=(pair.source,),
        target=pair.target,
        reasons=(reason,),
        t=-1,
        recent_premises=(),
    )


def warm_batch(
    settings: Settings,
    llm: StructuredLLM,
    dataset: str,
    pairs: Sequence[ItemPair],
    catalogue: Mapping[int, CatalogueItem],
    pool: Sequence[int],
    linked: Mapping[int, set[int]],
    *,
    pairs_per_call: int,
    on_error: Callable[[LLMOutputRejected | LLMUnavailable], None] | None = None,
) -> WarmBatch:
    """Reason about `pairs` (real and placebo, in the given order) `pairs_per_call` to a call and verify the
    reasoned ones by lettered questions (`questions_per_call` to a call); the real ones come back scored in
    `stored`, for `store_pairs`. A failed call leaves its pairs unjudged (`failed`), so a rerun asks them
    again; `on_error` hears it (without one it propagates)."""
    batch = WarmBatch()
    reasoned: list[tuple[ItemPair, str]] = []
    for start in range(0, len(pairs), pairs_per_call):
        call = pairs[start : start + pairs_per_call]
        batch.reason_calls += 1
        try:
            reasons = ask_reasons(llm, settings, call, catalogue)
        except (LLMOutputRejected, LLMUnavailable) as error:
            if on_error is None:
                raise
            on_error(error)
            for pair in call:
                batch.counts(pair).failed += 1
            continue
        for pair, reason in zip(call, reasons, strict=True):
            counts = batch.counts(pair)
            counts.asked += 1
            why = refusal(reason, pair, catalogue)
            if why is not None:
                counts.refused[why.value] += 1
            else:
                reasoned.append((pair, reason))
    questions = [
        question
        for index, (pair, reason) in enumerate(reasoned)
        for question in pair_questions(
            pair,
            reason,
            catalogue,
            pool,
            linked,
            index,
            masks=settings.verify.masks,
            options=settings.verify.options,
        )
    ]

    def counted(questions_in_call: int) -> None:
        batch.verify_calls += 1
        batch.verify_questions += questions_in_call

    answers = multiple_choice.answer_each(
        llm, settings, questions, settings.verify.questions_per_call, on_error=on_error, on_call=counted
    )
    hits: Counter[Hashable] = Counter()
    failed = {question.owner for question, chosen in answers if chosen == multiple_choice.FAILED}
    for question, chosen in answers:
        if question.owner in failed:
            continue
        counts = batch.counts(reasoned[cast(int, question.owner)][0])
        counts.masks[question.kind] += 1
        if chosen == question.correct:
            hits[question.owner] += 1
            counts.hits[question.kind] += 1
    masks = Counter(question.owner for question in questions)
    tau = for_dataset(settings.verify.tau, dataset)
    for index, (pair, reason) in enumerate(reasoned):
        counts = batch.counts(pair)
        if index in failed:
            counts.failed += 1
            counts.asked -= 1
            continue
        scored = verification.score_chain(pair_candidate(dataset, pair, reason), hits[index], masks[index], tau)
        if scored.status is ChainStatus.VERIFIED:
            counts.verified += 1
        if not pair.placebo:
            batch.stored.append(scored)
    return batch


def store_pairs(db: Neo4jGateway, settings: Settings, chains: Sequence[ScoredChain]) -> None:
    for chain in chains:
        store.write_pair_chain(db, chain, model=settings.llm.model, prompt_version=settings.reasoning.prompt_version)
