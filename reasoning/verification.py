"""(c) Self-verification: hide one element of a chain, ask the LLM to recover it, score the recoveries.

[ours] Up to three masks per chain: the target item, the premise nearest the target, and an attribute of
the target. Answers are numbers into the shown history / attribute list (compact output, exact matching).
The history is shown without attributes here, so the attribute question cannot be read off the prompt.
score = 100 x hits / masks; a chain is accepted when score >= τ (per dataset).

Questions are asked in batches (one call each), and a batch never holds a question whose hidden item another
question of the batch shows: masking the target and the premise of one chain side by side would print each
answer in the other question, and a capable model would copy it. So a chain's masks go to different calls,
as in the paper's one call per mask, while chains that share no items share calls.

Each question carries its possible answers, and the answer schema allows only those: a hidden item is never
one of the chain's visible items (a chain's items are distinct), and an attribute is one of the numbered
attributes. Small models otherwise echo the one number the question shows (seen with the 0.5B model: 92 of
96 answers), which tells nothing about the chain. A mask with a single possible answer is not asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

from core.settings import Settings
from core.vocabulary import ChainStatus
from reasoning.chains import Candidate, Rejection, ScoredChain
from reasoning.context import UserContext
from reasoning.llm import StructuredLLM
from reasoning.prompts import Message, load_prompt
from reasoning.schemas import VerifyAnswer

TASK = "verify"
MASK = "[MASK]"


@dataclass(frozen=True)
class Mask:
    """One question of a chain's plan, before numbering."""

    text: str
    correct: frozenset[int]
    choices: tuple[int, ...]
    """The answers the schema allows."""
    shows: frozenset[int]
    """Window indices of the history items the question's text names."""
    hides: frozenset[int]
    """Window index of the hidden item (none for an attribute mask): no question in the same batch may show it."""

    def reveals_answer_of(self, other: Mask) -> bool:
        return bool(self.shows & other.hides)


@dataclass(frozen=True)
class MaskQuestion(Mask):
    id: str
    chain: int
    """Index of the chain in the batch being verified."""


def attribute_options(context: UserContext) -> list[str]:
    """Distinct attribute names over the window, sorted: the numbered options of attribute masks."""
    return sorted({attribute.split(":", 1)[1] for item in context.window for attribute in item.attributes})


def chain_text(candidate: Candidate, hide: int | None = None) -> str:
    """`0 -[reason]-> 2 -[reason]-> 3` in window indices, with element `hide` replaced by [MASK]."""
    parts = [MASK if position == hide else str(local) for position, local in enumerate(candidate.local_items)]
    text = parts[0]
    for reason, part in zip(candidate.reasons, parts[1:], strict=True):
        text += f" -[{reason}]-> {part}"
    return text


def item_choices(window_size: int, candidate: Candidate, hide: int) -> tuple[int, ...]:
    """The window indices a hidden chain item can be: any but the chain's other (visible) items."""
    visible = {local for position, local in enumerate(candidate.local_items) if position != hide}
    return tuple(local for local in range(window_size) if local not in visible)


def mask_questions(candidates: list[Candidate], context: UserContext, masks: int) -> list[MaskQuestion]:
    options = attribute_options(context)
    size = len(context.window)
    plans: list[MaskPlan] = []
    for candidate in candidates:
        target_position = len(candidate.local_items) - 1
        plan: MaskPlan = [item_mask(candidate, hide, size) for hide in (target_position, target_position - 1)]
        target_attributes = context.item_at(candidate.local_items[-1]).attributes
        if target_attributes:
            names = {attribute.split(":", 1)[1] for attribute in target_attributes}
            plan.append(
                Mask(
                    f"{chain_text(candidate)}; item {candidate.local_items[-1]} has attribute {MASK}",
                    frozenset(options.index(name) for name in names),
                    tuple(range(len(options))),
                    shows=frozenset(candidate.local_items),
                    hides=frozenset(),
                )
            )
        plans.append(plan)
    return number_questions(plans, masks)


MaskPlan = list[Mask]
"""One chain's questions in priority order."""


def item_mask(candidate: Candidate, hide: int, window_size: int, tail: str = "") -> Mask:
    """The chain with its element `hide` as [MASK] (and `tail` appended), answered by that item's index."""
    hidden = candidate.local_items[hide]
    return Mask(
        chain_text(candidate, hide=hide) + tail,
        frozenset({hidden}),
        item_choices(window_size, candidate, hide),
        shows=frozenset(candidate.local_items) - {hidden},
        hides=frozenset({hidden}),
    )


def number_questions(plans: list[MaskPlan], masks: int) -> list[MaskQuestion]:
    """The first `masks` informative questions of each chain's plan (more than one possible answer), numbered
    q1, q2, ... across the batch."""
    questions: list[MaskQuestion] = []
    for chain, plan in enumerate(plans):
        informative = [mask for mask in plan if len(mask.choices) > 1]
        for mask in informative[:masks]:
            questions.append(MaskQuestion(**vars(mask), id=f"q{len(questions) + 1}", chain=chain))
    return questions


class Revealing(Protocol):
    def reveals_answer_of(self, other: Self) -> bool: ...


QuestionT = TypeVar("QuestionT", bound=Revealing)


def batches(questions: Sequence[QuestionT], size: int) -> list[list[QuestionT]]:
    """The questions in calls of at most `size`, none showing the hidden item of another in its call.

    First fit in question order: each question joins the first batch it neither reveals nor is revealed by.
    A chain's item masks reveal each other and its attribute mask shows every item, so its masks land in
    different batches; the number of calls is at least the number of masks per chain."""
    planned: list[list[QuestionT]] = []
    for question in questions:
        for batch in planned:
            if len(batch) < size and not any(
                question.reveals_answer_of(other) or other.reveals_answer_of(question) for other in batch
            ):
                batch.append(question)
                break
        else:
            planned.append([question])
    return planned


def verification_messages(
    context: UserContext, settings: Settings, questions: list[MaskQuestion], options: list[str] | None = None
) -> list[Message]:
    """The shared history (titles only) and numbered attribute `options`, then the questions."""
    prompt = load_prompt(TASK, settings.reasoning.prompt_version)
    history = "\n".join(f"{local}. {item.title}" for local, item in enumerate(context.window))
    numbered = options if options is not None else attribute_options(context)
    attributes = "\n".join(f"{index}. {name}" for index, name in enumerate(numbered))
    questions_block = "\n".join(f"{question.id}: {question.text}" for question in questions)
    return prompt.messages({"history": history, "attributes": attributes or "none", "questions": questions_block})


def verify_schema(settings: Settings, choices: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    """One key per question id, in order, each restricted to that question's possible choices."""
    prompt = load_prompt(TASK, settings.reasoning.prompt_version)
    questions = {question: prompt.schema("question", choices=list(allowed)) for question, allowed in choices.items()}
    return prompt.schema("answer", questions=questions, question_ids=list(choices))


def ask_questions(
    llm: StructuredLLM,
    context: UserContext,
    settings: Settings,
    questions: list[MaskQuestion],
    options: list[str] | None = None,
) -> dict[str, int]:
    """Choices by question id for one batch (one LLM call); unanswered questions are simply absent."""
    answer = llm.ask(
        verification_messages(context, settings, questions, options),
        verify_schema(settings, {question.id: question.choices for question in questions}),
        VerifyAnswer,
    )
    return answer.root


def score_chains(
    candidates: list[Candidate], questions: list[MaskQuestion], choices: dict[str, int], tau: float
) -> list[ScoredChain]:
    """Score = 100 x recovered masks / masks; verified when score >= tau, else rejected as low_score."""
    scored = []
    for index, candidate in enumerate(candidates):
        own = [question for question in questions if question.chain == index]
        hits = sum(choices.get(question.id) in question.correct for question in own)
        scored.append(score_chain(candidate, hits, len(own), tau))
    return scored


def score_chain(candidate: Candidate, hits: int, masks: int, tau: float) -> ScoredChain:
    """score = 100 x hits / masks (0 without masks); verified at score >= tau, else rejected as low_score."""
    score = 100.0 * hits / masks if masks else 0.0
    accepted = score >= tau
    return ScoredChain(
        candidate=candidate,
        status=ChainStatus.VERIFIED if accepted else ChainStatus.REJECTED,
        score=score,
        masks=masks,
        hits=hits,
        reject_reason=None if accepted else Rejection.LOW_SCORE,
    )
