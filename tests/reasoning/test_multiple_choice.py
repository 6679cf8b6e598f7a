"""Lettered verification: self-contained questions, distractors from the user's earlier items, no leaks in a call."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest

from core.vocabulary import ChainKind
from reasoning import multiple_choice, verification
from reasoning.chains import Candidate
from reasoning.context import HistoryItem, UserContext
from reasoning.multiple_choice import chain_questions
from reasoning.schemas import ChoiceAnswer
from tests.conftest import make_settings
from tests.reasoning.test_reasoning_core import context

pytestmark = pytest.mark.unit


def chain(ctx: UserContext, local_items: tuple[int, ...], reasons: tuple[str, ...] | None = None) -> Candidate:
    items = [ctx.item_at(local) for local in local_items]
    return Candidate(
        dataset=ctx.dataset,
        kind=ChainKind.REASONING,
        premises=tuple(item.id for item in items[:-1]),
        target=items[-1].id,
        reasons=reasons or tuple(f"reason {index}" for index in range(len(items) - 1)),
        t=items[-1].pos,
        recent_premises=(),
        local_items=local_items,
    )


def test_a_question_is_the_chain_in_titles_with_the_true_item_among_earlier_items() -> None:
    ctx = context()  # Toy Story, Heat, Aladdin, Lion King, Casino
    target, premise, attribute = chain_questions(
        chain(ctx, (0, 2, 3), ("another Disney animation", "Disney musical")), ctx, 0, masks=3, options=4
    )
    assert target.text == "Toy Story (1995) -[another Disney animation]-> Aladdin (1992) -[Disney musical]-> [MASK]"
    assert (
        premise.text
        == "Toy Story (1995) -[another Disney animation]-> [MASK] -[Disney musical]-> Lion King, The (1994)"
    )
    # the only earlier item the chain does not show is Heat: one distractor each
    assert sorted(target.options) == ["Heat (1995)", "Lion King, The (1994)"]
    assert target.options[target.correct] == "Lion King, The (1994)"
    assert sorted(premise.options) == ["Aladdin (1992)", "Heat (1995)"]
    assert premise.options[premise.correct] == "Aladdin (1992)"
    assert (target.hides, target.shows) == (frozenset({103}), frozenset({100, 102}))
    assert attribute.text.endswith("; Lion King, The (1994) has attribute [MASK]")
    assert attribute.options[attribute.correct] in {"Animation", "Musical"}
    assert len(attribute.options) == 4
    assert not set(attribute.options) - {attribute.options[attribute.correct]} & {"Animation", "Musical"}
    assert (attribute.hides, attribute.shows) == (frozenset(), frozenset({100, 102, 103}))
    assert [question.kind for question in chain_questions(chain(ctx, (0, 2, 3)), ctx, 0, masks=2, options=4)] == [
        "target",
        "premise",
    ]


def test_a_mask_with_no_distractor_is_not_asked() -> None:
    ctx = context()
    assert [question.kind for question in chain_questions(chain(ctx, (0, 1)), ctx, 0, masks=3, options=4)] == [
        "attribute"
    ]


def long_context(length: int = 30) -> UserContext:
    window = tuple(
        HistoryItem(pos=local, id=1000 + local, title=f"Film {local}", attributes=(f"genre:G{local % 7}",))
        for local in range(length)
    )
    return UserContext(dataset="ml-1m", user=3, profile={}, window=window)


def test_letters_are_shuffled_and_seeded_so_position_gives_nothing_and_reruns_ask_the_same() -> None:
    ctx = long_context()
    chains = [chain(ctx, (target - 2, target - 1, target)) for target in range(6, 30)]
    questions = [q for index, c in enumerate(chains) for q in chain_questions(c, ctx, index, masks=3, options=4)]
    assert Counter(question.correct for question in questions).keys() == {0, 1, 2, 3}
    again = [q for index, c in enumerate(chains) for q in chain_questions(c, ctx, index, masks=3, options=4)]
    assert again == questions
    for c, question in zip((c for c in chains for _ in range(3)), questions, strict=True):
        assert len(question.options) == 4 and len(set(question.options)) == 4
        if question.kind != "attribute":  # distractors: items the user chose before the chain, never its own
            distractors = [option for index, option in enumerate(question.options) if index != question.correct]
            assert all(int(option.split()[1]) < c.local_items[0] for option in distractors), question


def test_packed_calls_never_show_an_item_another_question_of_the_call_hides() -> None:
    ctx = long_context()
    # overlapping chains of two "users" (owners): many items shown by one chain are hidden by another
    chains = [chain(ctx, (a, b, c)) for a, b, c in itertools.combinations(range(8, 14), 3)]
    questions = [q for index, c in enumerate(chains) for q in chain_questions(c, ctx, index, masks=3, options=4)]
    calls = verification.batches(questions, 8)
    assert sorted(id(q) for call in calls for q in call) == sorted(id(q) for q in questions)
    assert max(len(call) for call in calls) == 8
    for call in calls:
        for first, second in itertools.permutations(call, 2):
            assert not first.shows & second.hides, (first.text, second.text)


class ScriptedChooser:
    """Answers each call with the given letters; records the calls."""

    def __init__(self, letters: list[dict[str, str]]) -> None:
        self.letters = letters
        self.calls: list[tuple[list[Any], dict[str, Any]]] = []

    def ask(self, messages: list[Any], schema: dict[str, Any], parse_as: type[ChoiceAnswer]) -> ChoiceAnswer:
        self.calls.append((messages, schema))
        return parse_as.model_validate(self.letters.pop(0))


def test_ask_renders_the_options_restricts_each_answer_to_its_letters_and_maps_letters_back() -> None:
    ctx = context()
    questions = chain_questions(chain(ctx, (0, 2, 3)), ctx, 0, masks=3, options=4)
    llm = ScriptedChooser([{"q1": "B", "q2": "A", "q3": "Z"}])
    chosen = multiple_choice.ask(llm, make_settings(), questions)  # type: ignore[arg-type]
    assert chosen == [1, 0, None]
    messages, schema = llm.calls[0]
    assert [role for role, _ in messages] == ["system", "human", "ai", "human"]
    user = messages[3][1]
    assert user.startswith("Questions:\nq1: Toy Story (1995) -[reason 0]-> Aladdin (1992) -[reason 1]-> [MASK]\nA. ")
    assert "history" not in user.lower()  # self-contained: no numbered history to count along
    assert schema["required"] == ["q1", "q2", "q3"]
    assert schema["properties"] == {
        "q1": {"enum": ["A", "B"]},
        "q2": {"enum": ["A", "B"]},
        "q3": {"enum": list("ABCD")},
    }
    assert schema["additionalProperties"] is False
