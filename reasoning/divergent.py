"""(b) Divergent extension: interests the user has not shown yet, imagined by the LLM past a chain's end.

One call per user extends its most recent accepted chains ([ours]: `divergent_max_chains`, temperature
`divergent_temperature`). Imagined titles may not exist, so each is mapped to the nearest catalogue item
by text embedding and kept when the cosine similarity reaches `divergent_min_similarity` and the item is
new to the user. Extended chains are verified like the others, with two masks: the chain's last history
item, and an attribute of the mapped item (the history cannot give that one away).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from core.settings import Settings
from core.vocabulary import ChainKind
from reasoning.chains import Candidate, Rejection
from reasoning.context import UserContext, history_block
from reasoning.embeddings import CatalogueIndex
from reasoning.llm import StructuredLLM
from reasoning.prompts import Message, load_prompt
from reasoning.schemas import DivergentAnswer
from reasoning.validation import unsafe_text
from reasoning.verification import (
    MASK,
    Mask,
    MaskPlan,
    MaskQuestion,
    attribute_options,
    chain_text,
    item_mask,
    number_questions,
)

TASK = "diverge"


@dataclass(frozen=True)
class Extension:
    """A chain continued by one imagined item, mapped onto the catalogue."""

    base: Candidate
    candidate: Candidate
    text: str
    """What the LLM imagined, verbatim."""
    reason: str
    similarity: float
    title: str
    """The mapped catalogue item's title."""


def chain_label(index: int) -> str:
    return f"c{index + 1}"


def divergent_messages(context: UserContext, settings: Settings, chains: list[Candidate]) -> list[Message]:
    prompt = load_prompt(TASK, settings.reasoning.prompt_version)
    lines = [f"{chain_label(index)}: {chain_text(chain)}" for index, chain in enumerate(chains)]
    user_values = {"profile": context.profile_line(), "history": history_block(context), "chains": "\n".join(lines)}
    return prompt.messages(
        user_values, per_chain=settings.divergent.items_per_chain, reason_chars=settings.reasoning.reason_chars
    )


def divergent_schema(settings: Settings, chain_ids: list[str]) -> dict[str, Any]:
    """At most `items_per_chain` imagined items for each of the chains labelled `chain_ids`."""
    return load_prompt(TASK, settings.reasoning.prompt_version).schema(
        chain_ids=chain_ids,
        chain_count=len(chain_ids),
        per_chain=settings.divergent.items_per_chain,
        title_chars=settings.divergent.title_chars,
        reason_chars=settings.reasoning.reason_chars,
    )


def extend_chains(
    llm: StructuredLLM,
    context: UserContext,
    settings: Settings,
    chains: list[Candidate],
    index: CatalogueIndex,
    rejected: Counter[str],
) -> list[Extension]:
    """One LLM call; every imagined item that survives the checks becomes a divergent candidate."""
    labels = [chain_label(position) for position in range(len(chains))]
    schema = divergent_schema(settings, labels)
    answer = llm.ask(divergent_messages(context, settings, chains), schema, DivergentAnswer)
    proposals: list[tuple[Candidate, str, str]] = []
    for extension in answer.extensions:
        if extension.chain not in labels:
            rejected[Rejection.UNKNOWN_TARGET.value] += len(extension.items)
            continue
        base = chains[labels.index(extension.chain)]
        for item in extension.items[: settings.divergent.items_per_chain]:
            title, reason = item.title.strip(), item.reason.strip()
            if not title or not reason or len(reason) > settings.reasoning.reason_chars:
                rejected[Rejection.EMPTY_REASON.value] += 1
            elif unsafe_text(title) or unsafe_text(reason):
                rejected[Rejection.UNSAFE_TEXT.value] += 1
            else:
                proposals.append((base, title, reason))
    return _map_to_catalogue(proposals, context, settings, index, rejected)


def _map_to_catalogue(
    proposals: list[tuple[Candidate, str, str]],
    context: UserContext,
    settings: Settings,
    index: CatalogueIndex,
    rejected: Counter[str],
) -> list[Extension]:
    seen_by_user = {item.id for item in context.window}
    extensions: list[Extension] = []
    kept: set[tuple[tuple[int, ...], int]] = set()
    for (base, text, reason), (item, similarity) in zip(
        proposals, index.nearest([text for _, text, _ in proposals]), strict=True
    ):
        if similarity < settings.divergent.min_similarity:
            rejected[Rejection.NO_CATALOGUE_MATCH.value] += 1
            continue
        if item in seen_by_user or (base.items, item) in kept:
            rejected[Rejection.ALREADY_SEEN.value] += 1
            continue
        kept.add((base.items, item))
        candidate = Candidate(
            dataset=base.dataset,
            kind=ChainKind.DIVERGENT,
            premises=base.items,
            target=item,
            reasons=(*base.reasons, reason),
            t=base.t,
            recent_premises=(),
            local_items=base.local_items,
        )
        extensions.append(Extension(base, candidate, text, reason, similarity, index.titles[item]))
    return extensions


def divergent_options(context: UserContext, extensions: list[Extension], index: CatalogueIndex) -> list[str]:
    """Attribute options: the window's and the mapped items', so every correct answer is listed."""
    names = set(attribute_options(context))
    for extension in extensions:
        names.update(index.attributes.get(extension.candidate.target, ()))
    return sorted(names)


def divergent_questions(
    extensions: list[Extension], options: list[str], index: CatalogueIndex, masks: int, window_size: int
) -> list[MaskQuestion]:
    plans: list[MaskPlan] = []
    for extension in extensions:
        base = extension.base
        tail = f" -[{extension.reason}]-> «{extension.title}»"
        hide = len(base.local_items) - 1
        plan: MaskPlan = [item_mask(base, hide, window_size, tail)]
        attributes = index.attributes.get(extension.candidate.target, ())
        if attributes:
            plan.append(
                Mask(
                    f"{chain_text(base)}{tail}; «{extension.title}» has attribute {MASK}",
                    frozenset(options.index(name) for name in attributes),
                    tuple(range(len(options))),
                    shows=frozenset(base.local_items),
                    hides=frozenset(),
                )
            )
        plans.append(plan)
    return number_questions(plans, masks)
