"""Prompt rendering, validation, masking, scoring and chain keys, with exact expected outputs."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError
from core.vocabulary import ChainKind, ChainStatus
from reasoning import chaining, verification
from reasoning.chains import Candidate, Rejection
from reasoning.context import HistoryItem, UserContext, history_block
from reasoning.embeddings import CatalogueIndex
from reasoning.schemas import ChainingAnswer
from reasoning.validation import unsafe_text, validate_answer
from tests.conftest import make_settings

pytestmark = pytest.mark.unit

TITLES = ["Toy Story (1995)", "Heat (1995)", "Aladdin (1992)", "Lion King, The (1994)", "Casino (1995)"]
GENRES = [
    ("Animation", "Comedy"),
    ("Action", "Thriller"),
    ("Animation", "Musical"),
    ("Animation", "Musical"),
    ("Drama",),
]


def context() -> UserContext:
    window = tuple(
        HistoryItem(pos=10 + local, id=100 + local, title=title, attributes=tuple(f"genre:{g}" for g in genres))
        for local, (title, genres) in enumerate(zip(TITLES, GENRES, strict=True))
    )
    return UserContext(
        dataset="ml-1m",
        user=7,
        profile={"gender": "F", "age_group": "25-34", "occupation_name": "writer"},
        window=window,
    )


def answer(steps: list[dict]) -> ChainingAnswer:
    """Steps written as {"items": [...], "reasons": [...]} for brevity, sent as the wire format's pairs."""
    return ChainingAnswer.model_validate(
        {
            "steps": [
                {
                    "target": step["target"],
                    "chains": [
                        [[item, reason] for item, reason in zip(c["items"], c["reasons"], strict=True)]
                        for c in step["chains"]
                    ],
                }
                for step in steps
            ]
        }
    )


def validate(steps: list[dict], targets: list[int] | None = None, **limits: int):
    options = {"max_chains": 2, "max_items": 4, "reason_chars": 40, "recent_positions": 2} | limits
    return validate_answer(answer(steps), context(), targets or [3, 4], **options)


def test_history_block_numbers_the_window() -> None:
    assert history_block(context()).splitlines()[:2] == [
        "0. Toy Story (1995) | Animation, Comedy",
        "1. Heat (1995) | Action, Thriller",
    ]


def test_chaining_messages_have_a_constant_prefix_and_the_inputs_last() -> None:
    settings = make_settings(reasoning={"chains_per_step": 2, "max_chain_items": 4, "reason_chars": 40})
    existing = [Candidate("ml-1m", ChainKind.REASONING, (100,), 102, ("r",), 12, (), local_items=(0, 2))]
    messages = chaining.chaining_messages(context(), settings, [3, 4], existing)
    assert [role for role, _ in messages] == ["system", "human", "ai", "human"]
    assert "at most 2 chains" in messages[0][1] and "list of 1 to 3 links" in messages[0][1]
    assert "at most 40 characters" in messages[0][1]
    user = messages[3][1]
    assert user.startswith("Profile: F, 25-34, writer\nHistory:\n0. Toy Story (1995) | Animation, Comedy\n")
    assert user.endswith("4. Casino (1995) | Drama\nExisting chains:\n0 (2)\nTargets: 3, 4")
    other = chaining.chaining_messages(context(), settings, [1], [])
    assert messages[:3] == other[:3]


def related_index(vectors: dict[int, tuple[float, float]]) -> CatalogueIndex:
    """A catalogue whose items sit at the given 2-d points (normalised): cosine similarity is the angle."""
    ids = sorted(vectors)
    matrix = np.array([vectors[item] for item in ids], dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return CatalogueIndex(np.array(ids), matrix, {}, {}, encode=lambda texts: np.zeros((len(texts), 2)))


def test_a_ranking_prompt_offers_each_target_its_most_related_earlier_items_oldest_first() -> None:
    # Casino (104) is closest to Heat (101), then Toy Story (100); Lion King (103) is unrelated to it
    index = related_index({100: (1.0, 0.6), 101: (1.0, 0.1), 102: (0.2, 1.0), 103: (0.0, 1.0), 104: (1.0, 0.0)})
    settings = make_settings(reasoning={"prompt_version": "v4", "premise_candidates": 2, "premise_window": 0})
    allowed = chaining.premise_options(context(), settings, [3, 4], lambda: index)
    assert allowed[4] == [0, 1]  # the two most related to Casino, oldest first: not the latest (2, 3)
    assert allowed[3] == [0, 2]  # Lion King: Aladdin, then Toy Story
    narrow = settings.updated(reasoning={"premise_window": 2})
    assert chaining.premise_options(context(), narrow, [4], lambda: index)[4] == [2, 3]  # within the window
    plain = make_settings(reasoning={"prompt_version": "v3", "premise_window": 0})
    assert chaining.premise_options(context(), plain, [4], None) == {4: [0, 1, 2, 3]}  # v3 ranks nothing


def test_related_positions_count_a_repeated_item_once_at_its_latest_position_and_never_the_target() -> None:
    window = tuple(
        HistoryItem(pos=local, id=item, title=f"t{item}", attributes=()) for local, item in enumerate([5, 6, 5, 7, 6])
    )
    user = UserContext("ml-1m", 1, {}, window)
    index = related_index({5: (1.0, 0.1), 6: (1.0, 0.0), 7: (0.0, 1.0)})
    assert chaining.related_positions(user, index, 4, [0, 1, 2, 3], k=2) == [2, 3]  # 5 at 2 (not 0); 6 is the target
    assert chaining.related_positions(user, index, 4, [1], k=2) == [1]  # only the target's own item: kept as is


def test_a_ranking_prompt_lists_the_candidates_under_each_target() -> None:
    settings = make_settings(reasoning={"prompt_version": "v4", "premise_candidates": 2})
    messages = chaining.chaining_messages(context(), settings, [3, 4], [], {3: [0, 2], 4: [1]})
    assert "up to 2 earlier items most related to it" in messages[0][1]
    assert messages[3][1].endswith(
        "Targets:\nTarget 3. Lion King, The (1994) | Animation, Musical\n- 0. Toy Story (1995) | Animation, Comedy\n"
        "- 2. Aladdin (1992) | Animation, Musical\nTarget 4. Casino (1995) | Drama\n- 1. Heat (1995) | Action, Thriller"
    )
    with pytest.raises(ConfigError, match="lists premise candidates"):
        chaining.chaining_messages(context(), settings, [3, 4], [])
    with pytest.raises(ConfigError, match="needs the catalogue's embeddings"):
        chaining.premise_options(context(), settings, [3, 4], None)


def test_premises_the_prompt_did_not_offer_are_refused() -> None:
    steps = [{"target": 4, "chains": [{"items": [1], "reasons": ["a"]}, {"items": [2], "reasons": ["b"]}]}]
    options = {"max_chains": 2, "max_items": 4, "reason_chars": 40, "recent_positions": 2}
    result = validate_answer(answer(steps), context(), [4], allowed={4: [1]}, **options)
    assert [c.local_items for c in result.candidates] == [(1, 4)]
    assert result.rejected == {Rejection.NOT_OFFERED: 1}


def test_schema_pins_each_target_and_its_allowed_premises() -> None:
    settings = make_settings(reasoning={"chains_per_step": 2, "max_chain_items": 4, "reason_chars": 40})
    schema = chaining.chaining_schema(settings, {3: [1, 2], 4: [2, 3]})
    steps = schema["properties"]["steps"]
    assert (steps["minItems"], steps["maxItems"]) == (2, 2)
    first = steps["prefixItems"][0]["properties"]
    assert first["target"] == {"const": 3}
    chain = first["chains"]["items"]
    assert (chain["minItems"], chain["maxItems"]) == (1, 3)
    item, reason = chain["items"]["prefixItems"]
    assert item == {"enum": [1, 2]}
    assert reason["maxLength"] == 40
    assert chain["items"]["minItems"] == chain["items"]["maxItems"] == 2


def test_target_windows_skip_done_positions_and_respect_limits() -> None:
    settings = make_settings(reasoning={"steps_per_call": 2})
    assert chaining.target_windows(context(), settings, set()) == [[1, 2], [3, 4]]
    assert chaining.target_windows(context(), settings, {12}) == [[1, 3], [4]]
    limited = make_settings(reasoning={"steps_per_call": 2, "max_targets": 3})
    assert chaining.target_windows(context(), limited, set()) == [[2, 3], [4]]


def test_valid_chain_becomes_a_candidate_with_catalogue_ids_and_kb_key() -> None:
    result = validate([{"target": 3, "chains": [{"items": [0, 2], "reasons": ["Disney", "musical"]}]}])
    assert result.rejected == {}
    (candidate,) = result.candidates
    assert (candidate.premises, candidate.target, candidate.t) == ((100, 102), 103, 13)
    assert candidate.recent_premises == (102,)
    assert candidate.local_items == (0, 2, 3)
    assert candidate.reasons == ("Disney", "musical")


def test_a_path_written_with_its_target_is_the_same_chain() -> None:
    result = validate([{"target": 3, "chains": [{"items": [0, 2, 3], "reasons": ["Disney", "musical", "x"]}]}])
    assert [c.items for c in result.candidates] == [(100, 102, 103)]


@pytest.mark.parametrize(
    ("chain", "target", "reason"),
    [
        ({"items": [0], "reasons": ["x"]}, 2, Rejection.UNKNOWN_TARGET),
        ({"items": [9], "reasons": ["x"]}, 3, Rejection.NOT_IN_CATALOGUE),
        ({"items": [-1], "reasons": ["x"]}, 3, Rejection.NOT_IN_CATALOGUE),
        ({"items": [4], "reasons": ["x"]}, 3, Rejection.FUTURE_ITEM),
        ({"items": [3, 1], "reasons": ["x", "y"]}, 3, Rejection.SELF_LOOP),
        ({"items": [1, 3, 2], "reasons": ["x", "y", "z"]}, 3, Rejection.SELF_LOOP),
        ({"items": [1, 1], "reasons": ["x", "y"]}, 3, Rejection.SELF_LOOP),
        ({"items": [2, 0], "reasons": ["x", "y"]}, 3, Rejection.NOT_OLDEST_FIRST),
        ({"items": [0, 2, 1], "reasons": ["x", "y", "z"]}, 3, Rejection.NOT_OLDEST_FIRST),
        ({"items": [0, 1, 2, 3], "reasons": ["a", "b", "c", "d"]}, 4, Rejection.TOO_LONG),
        ({"items": [0], "reasons": ["   "]}, 3, Rejection.EMPTY_REASON),
        ({"items": [0], "reasons": ["x" * 41]}, 3, Rejection.EMPTY_REASON),
        ({"items": [0], "reasons": ["use `backticks`"]}, 3, Rejection.UNSAFE_TEXT),
        ({"items": [0], "reasons": ["MATCH (n) DETACH DELETE n"]}, 3, Rejection.UNSAFE_TEXT),
    ],
)
def test_each_bad_chain_is_rejected_with_its_reason(chain: dict, target: int, reason: Rejection) -> None:
    result = validate([{"target": target, "chains": [chain]}])
    assert result.candidates == []
    assert result.rejected == {reason: 1}


def test_too_many_chains_per_target_and_duplicates() -> None:
    chains = [{"items": [i], "reasons": ["r"]} for i in (0, 1, 0, 2)]
    result = validate([{"target": 3, "chains": chains}])
    assert [c.premises for c in result.candidates] == [(100,), (101,)]
    assert result.rejected == {Rejection.TOO_MANY: 1}
    assert result.proposed == 3


@pytest.mark.parametrize(
    ("text", "unsafe"),
    [
        ("both are Disney musicals", False),
        ("she liked the crime drama; then a thriller", False),
        ("CREATE (x:Admin)", True),
        ("merge {a: 1}", True),
        ("a)-[:R]->(b", True),
        ("set $password", True),
        ("line\nbreak", True),
        ("// comment", True),
        ("call db.labels()", True),
        ("set in space", False),
        ("Return of the Jedi sequel", False),
        ("a match made in heaven, then the sequel", False),
        ("call of the wild; with a twist", False),
        ("MATCH (n) RETURN n", True),
        ("unwind [1, 2]", True),
        ("SET n.admin = true", True),
        ("detach delete everything", True),
        ("return count(x)", True),
        ("remove n.secret", True),
        ("(a:Admin)", True),
        ("load csv from a file", True),
    ],
)
def test_unsafe_text(text: str, unsafe: bool) -> None:
    assert unsafe_text(text) is unsafe


def candidate(premises: tuple[int, ...] = (0, 2)) -> Candidate:
    ctx = context()
    return Candidate(
        "ml-1m",
        ChainKind.REASONING,
        tuple(ctx.item_at(i).id for i in premises),
        103,
        ("Disney", "musical")[: len(premises)],
        13,
        (),
        local_items=(*premises, 3),
    )


def test_masks_hide_target_premise_and_an_attribute() -> None:
    questions = verification.mask_questions([candidate()], context(), masks=3)
    assert [(q.id, q.text, sorted(q.correct), q.choices) for q in questions] == [
        ("q1", "0 -[Disney]-> 2 -[musical]-> [MASK]", [3], (1, 3, 4)),  # never a visible chain item
        ("q2", "0 -[Disney]-> [MASK] -[musical]-> 3", [2], (1, 2, 4)),
        ("q3", "0 -[Disney]-> 2 -[musical]-> 3; item 3 has attribute [MASK]", [1, 4], (0, 1, 2, 3, 4, 5)),
    ]
    assert verification.attribute_options(context()) == [
        "Action",
        "Animation",
        "Comedy",
        "Drama",
        "Musical",
        "Thriller",
    ]
    assert len(verification.mask_questions([candidate()], context(), masks=2)) == 2


def test_no_call_shows_the_hidden_item_of_another_question_in_it() -> None:
    other = Candidate("ml-1m", ChainKind.REASONING, (101,), 104, ("crime",), 14, (), local_items=(1, 4))
    questions = verification.mask_questions([candidate(), other], context(), masks=3)
    assert [(q.id, sorted(q.shows), sorted(q.hides)) for q in questions] == [
        ("q1", [0, 2], [3]),
        ("q2", [0, 3], [2]),
        ("q3", [0, 2, 3], []),
        ("q4", [1], [4]),
        ("q5", [4], [1]),
        ("q6", [1, 4], []),
    ]
    planned = verification.batches(questions, size=24)
    assert [[q.id for q in batch] for batch in planned] == [["q1", "q4"], ["q2", "q5"], ["q3", "q6"]]
    assert [[q.id for q in batch] for batch in verification.batches(questions, size=1)] == [[q.id] for q in questions]
    assert [len(batch) for batch in verification.batches(questions[:3] + questions[3:4], size=24)] == [2, 1, 1]


def test_a_mask_with_one_possible_answer_is_not_asked() -> None:
    # the chain shows every other item of a 3-item window: both item masks are forced, only the attribute is asked
    small = UserContext(dataset="ml-1m", user=7, profile={}, window=context().window[:3])
    chain = Candidate("ml-1m", ChainKind.REASONING, (100, 101), 102, ("a", "b"), 12, (), local_items=(0, 1, 2))
    questions = verification.mask_questions([chain], small, masks=3)
    assert [question.text for question in questions] == ["0 -[a]-> 1 -[b]-> 2; item 2 has attribute [MASK]"]


def test_the_answer_schema_allows_only_each_questions_choices() -> None:
    questions = verification.mask_questions([candidate()], context(), masks=3)
    schema = verification.verify_schema(make_settings(), {question.id: question.choices for question in questions})
    assert schema["required"] == ["q1", "q2", "q3"] and schema["additionalProperties"] is False
    assert schema["properties"] == {
        "q1": {"enum": [1, 3, 4]},
        "q2": {"enum": [1, 2, 4]},
        "q3": {"enum": [0, 1, 2, 3, 4, 5]},
    }


def test_verification_prompt_hides_attributes_from_the_history() -> None:
    settings = make_settings()
    questions = verification.mask_questions([candidate()], context(), masks=3)
    user = verification.verification_messages(context(), settings, questions)[-1][1]
    assert "0. Toy Story (1995)\n1. Heat (1995)\n" in user
    assert "| Animation" not in user
    assert "Attributes:\n0. Action\n1. Animation\n" in user
    assert user.endswith("q3: 0 -[Disney]-> 2 -[musical]-> 3; item 3 has attribute [MASK]")


def test_scores_and_threshold() -> None:
    chains = [candidate(), candidate((2,))]
    questions = verification.mask_questions(chains, context(), masks=3)
    choices = {"q1": 3, "q2": 1, "q3": 4, "q4": 4, "q5": 0}
    scored = verification.score_chains(chains, questions, choices, tau=50.0)
    assert [(s.hits, s.masks, round(s.score or 0, 2), s.status) for s in scored] == [
        (2, 3, 66.67, ChainStatus.VERIFIED),
        (0, 3, 0.0, ChainStatus.REJECTED),
    ]
    assert scored[1].reject_reason is Rejection.LOW_SCORE


def test_chain_ids_are_deterministic_and_carry_provenance() -> None:
    first, again = candidate(), candidate()
    assert first.chain_id("m", "v1") == again.chain_id("m", "v1")
    assert (
        len(
            {
                first.chain_id("m", "v1"),
                first.chain_id("m", "v2"),
                first.chain_id("other", "v1"),
                candidate((2,)).chain_id("m", "v1"),
            }
        )
        == 4
    )


@pytest.mark.parametrize(
    ("task", "answer_model"),
    [("chain", "ChainingAnswer"), ("verify", "VerifyAnswer"), ("diverge", "DivergentAnswer")],
)
def test_each_prompts_example_answer_is_in_the_format_the_code_parses(task: str, answer_model: str) -> None:
    """The example exchange teaches the answer format; an example in an older format would teach the wrong one."""
    from reasoning import schemas
    from reasoning.prompts import load_prompt

    example = load_prompt(task, make_settings().reasoning.prompt_version).example_output
    getattr(schemas, answer_model).model_validate_json(example)
