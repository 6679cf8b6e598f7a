"""(c) Self-verification as multiple choice: self-contained questions with lettered options.

The numbered format (`verification.py`) shows the user's history as numbered lines and asks for the number
of a hidden chain item. A chain that lists the items just before its target can then be "recovered" by
arithmetic on the numbers (the item before 1687 is 1686) without reading a title, so it measures little.
Here a question is the chain written in titles with the reason of every link, one element hidden, and four
lettered options: the hidden item among distractors drawn from the user's own earlier history (items the
user did choose, so popularity gives nothing away), in a shuffled order. The answer is a letter, so only
the meaning of the titles and reasons can lead to it.

Questions carry everything they need, so questions of many chains and of many users can share one call
(`LLMRG_VERIFY_QUESTIONS_PER_CALL`). One rule keeps a call honest: no question in it shows, in its chain,
the item another question of the call hides (checked on catalogue ids; `verification.batches`). Options do
not count as showing: every question lists its own answer among its options.

[ours] Masks in priority order: the target, the premise nearest it, an attribute of the target (true one
among attribute names of the user's other items). A mask with no distractor is not asked. The option
order and the distractors are seeded by the user, the chain's items and the mask, so a rerun asks the same.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from core.settings import Settings
from reasoning import verification
from reasoning.chains import Candidate, ScoredChain
from reasoning.context import HistoryItem, UserContext
from reasoning.llm import LLMOutputRejected, LLMUnavailable, StructuredLLM
from reasoning.prompts import Message, load_prompt
from reasoning.schemas import ChoiceAnswer

TASK = "choose"
MASK = "[MASK]"
LETTERS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class ChoiceQuestion:
    """One masked element of one chain, with its lettered options."""

    owner: Hashable
    """Whose chain it is (the engine: the chain's index; packers across users: `(user, index)`)."""
    kind: str
    """`target`, `premise` or `attribute`."""
    text: str
    options: tuple[str, ...]
    correct: int
    """Index of the true option."""
    shows: frozenset[int]
    """Catalogue ids of the items the chain text names."""
    hides: frozenset[int]
    """Catalogue id of the hidden item (none for an attribute mask)."""

    def reveals_answer_of(self, other: ChoiceQuestion) -> bool:
        return bool(self.shows & other.hides)


def chain_in_titles(titles: Sequence[str], reasons: Sequence[str], hide: int | None = None) -> str:
    """`Toy Story (1995) -[another Disney animation]-> [MASK]`: element `hide` replaced by the mask."""
    parts = [MASK if index == hide else title for index, title in enumerate(titles)]
    text = parts[0]
    for reason, part in zip(reasons, parts[1:], strict=True):
        text += f" -[{reason}]-> {part}"
    return text


def chain_questions(
    candidate: Candidate, context: UserContext, owner: Hashable, *, masks: int, options: int
) -> list[ChoiceQuestion]:
    """The chain's first `masks` askable questions, each with at most `options` options (one true)."""
    by_local = {local: context.item_at(local) for local in candidate.local_items}
    chain_items = [by_local[local] for local in candidate.local_items]
    titles = [item.title for item in chain_items]
    chain_ids = {item.id for item in chain_items}
    last = max(candidate.local_items)
    earlier = _distinct(item for item in context.window[:last] if item.id not in chain_ids)
    seed = f"{context.dataset}|{context.user}|{','.join(str(item.id) for item in chain_items)}"
    questions: list[ChoiceQuestion] = []
    for kind, hide in (("target", len(chain_items) - 1), ("premise", len(chain_items) - 2)):
        if hide < 0 or not earlier:
            continue
        hidden = chain_items[hide]
        rng = random.Random(f"{seed}|{kind}")
        questions.append(
            lettered(
                owner,
                kind,
                chain_in_titles(titles, candidate.reasons, hide),
                hidden.title,
                [item.title for item in rng.sample(earlier, min(options - 1, len(earlier)))],
                rng,
                shows=frozenset(chain_ids - {hidden.id}),
                hides=frozenset({hidden.id}),
            )
        )
    attribute = _attribute_question(chain_items, candidate.reasons, context, owner, seed, options)
    if attribute is not None:
        questions.append(attribute)
    return questions[:masks]


def _attribute_question(
    chain_items: list[HistoryItem],
    reasons: Sequence[str],
    context: UserContext,
    owner: Hashable,
    seed: str,
    options: int,
) -> ChoiceQuestion | None:
    target = chain_items[-1]
    true_names = sorted({attribute.split(":", 1)[1] for attribute in target.attributes})
    others = sorted(
        {attribute.split(":", 1)[1] for item in context.window for attribute in item.attributes} - set(true_names)
    )
    if not true_names or not others:
        return None
    rng = random.Random(f"{seed}|attribute")
    labels = rng.sample(others, min(options - 1, len(others)))
    correct = rng.randrange(len(labels) + 1)
    labels.insert(correct, rng.choice(true_names))
    return ChoiceQuestion(
        owner=owner,
        kind="attribute",
        text=attribute_text([item.title for item in chain_items], reasons),
        options=tuple(labels),
        correct=correct,
        shows=frozenset(item.id for item in chain_items),
        hides=frozenset(),
    )


def attribute_text(titles: Sequence[str], reasons: Sequence[str]) -> str:
    """The whole chain, then `; <target> has attribute [MASK]`."""
    return chain_in_titles(titles, reasons) + f"; {titles[-1]} has attribute {MASK}"


def lettered(
    owner: Hashable,
    kind: str,
    text: str,
    answer: str,
    distractors: Sequence[str],
    rng: random.Random,
    *,
    shows: frozenset[int],
    hides: frozenset[int],
) -> ChoiceQuestion:
    """A question whose options are `distractors` with `answer` put in at a place drawn from `rng`."""
    labels = list(distractors)
    correct = rng.randrange(len(labels) + 1)
    labels.insert(correct, answer)
    return ChoiceQuestion(owner, kind, text, tuple(labels), correct, shows, hides)


def _distinct(items: Any) -> list[HistoryItem]:
    seen: dict[int, HistoryItem] = {}
    for item in items:
        seen.setdefault(item.id, item)
    return list(seen.values())


def question_block(questions: Sequence[ChoiceQuestion]) -> str:
    """`q1: chain` then one `A. option` line per option, for each question of a call."""
    lines = []
    for number, question in enumerate(questions, start=1):
        lines.append(f"q{number}: {question.text}")
        lines += [f"{LETTERS[index]}. {option}" for index, option in enumerate(question.options)]
    return "\n".join(lines)


def choice_messages(settings: Settings, questions: Sequence[ChoiceQuestion]) -> list[Message]:
    prompt = load_prompt(TASK, settings.reasoning.prompt_version)
    return prompt.messages({"questions": question_block(questions)})


def choice_schema(settings: Settings, questions: Sequence[ChoiceQuestion]) -> dict[str, Any]:
    """One key per question (`q1`, `q2`, ...), each restricted to that question's letters."""
    prompt = load_prompt(TASK, settings.reasoning.prompt_version)
    ids = [f"q{number}" for number in range(1, len(questions) + 1)]
    properties = {
        question_id: prompt.schema("question", letters=list(LETTERS[: len(question.options)]))
        for question_id, question in zip(ids, questions, strict=True)
    }
    return prompt.schema("answer", questions=properties, question_ids=ids)


def ask(llm: StructuredLLM, settings: Settings, questions: Sequence[ChoiceQuestion]) -> list[int | None]:
    """The chosen option of each question of one call (None where the answer has none); one LLM call.

    Raises LLMOutputRejected / LLMUnavailable like `StructuredLLM.ask`."""
    answer = llm.ask(choice_messages(settings, questions), choice_schema(settings, questions), ChoiceAnswer)
    chosen: list[int | None] = []
    for number, question in enumerate(questions, start=1):
        letter = answer.root.get(f"q{number}")
        index = LETTERS.find(letter) if isinstance(letter, str) and len(letter) == 1 else -1
        chosen.append(index if 0 <= index < len(question.options) else None)
    return chosen


FAILED = -1
"""The answer recorded for a question whose call failed."""


def answer_each(
    llm: StructuredLLM,
    settings: Settings,
    questions: Sequence[ChoiceQuestion],
    per_call: int,
    *,
    on_error: Callable[[LLMOutputRejected | LLMUnavailable], None] | None = None,
    on_call: Callable[[int], None] | None = None,
) -> list[tuple[ChoiceQuestion, int | None]]:
    """Every question with its chosen option (None: none chosen; `FAILED`: its call failed), asked `per_call`
    to a call under the no-leak rule. Errors and calls go to `on_error` / `on_call` as in `verify_chains`."""
    answers: list[tuple[ChoiceQuestion, int | None]] = []
    for batch in verification.batches(questions, per_call):
        if on_call is not None:
            on_call(len(batch))
        try:
            chosen: list[int | None] = ask(llm, settings, batch)
        except (LLMOutputRejected, LLMUnavailable) as error:
            if on_error is None:
                raise
            on_error(error)
            chosen = [FAILED] * len(batch)
        answers += zip(batch, chosen, strict=True)
    return answers


def answer_packed(
    llm: StructuredLLM,
    settings: Settings,
    questions: Sequence[ChoiceQuestion],
    per_call: int,
    *,
    on_error: Callable[[LLMOutputRejected | LLMUnavailable], None] | None = None,
    on_call: Callable[[int], None] | None = None,
) -> tuple[Counter[Hashable], set[Hashable]]:
    """Recovered masks per owner, and the owners a failed call left unanswered (`answer_each`, counted)."""
    answers = answer_each(llm, settings, questions, per_call, on_error=on_error, on_call=on_call)
    failed = {question.owner for question, chosen in answers if chosen == FAILED}
    hits = Counter(question.owner for question, chosen in answers if chosen == question.correct)
    return hits, failed


def verify_chains(
    llm: StructuredLLM,
    settings: Settings,
    context: UserContext,
    candidates: Sequence[Candidate],
    tau: float,
    *,
    on_error: Callable[[LLMOutputRejected | LLMUnavailable], None] | None = None,
    on_call: Callable[[int], None] | None = None,
) -> tuple[list[ScoredChain], set[int]]:
    """Scored chains of one user, and the indices of those a failed call left unscored.

    `questions_per_call` questions share a call under the no-leak rule. A failed call (malformed answer or
    an unreachable model) goes to `on_error`, which may raise; without one it propagates. `on_call` hears the
    number of questions of every call made."""
    verify = settings.verify
    questions = [
        question
        for index, candidate in enumerate(candidates)
        for question in chain_questions(candidate, context, index, masks=verify.masks, options=verify.options)
    ]
    hits, failed = answer_packed(
        llm, settings, questions, verify.questions_per_call, on_error=on_error, on_call=on_call
    )
    masks = Counter(question.owner for question in questions)
    scored = [
        verification.score_chain(candidate, hits[index], masks[index], tau)
        for index, candidate in enumerate(candidates)
        if index not in failed
    ]
    return scored, {index for index in range(len(candidates)) if index in failed}
