"""The warm start's arithmetic and questions, without a database or a model: which pairs count, how they
rank, what a placebo may be, what coverage counts, which reasons are refused and what a pair's questions
show and hide."""

from __future__ import annotations

import pytest

from reasoning import item_pairs, warm
from reasoning.chains import Rejection
from reasoning.item_pairs import ItemPair

pytestmark = pytest.mark.unit


def test_a_pair_counts_once_a_step_within_the_window_and_never_from_held_out_items() -> None:
    # the last 2 items (9, 9) are validation and test: nothing involving them counts
    counts = item_pairs.count_pairs([[1, 2, 1, 3, 4, 9, 9]], within=2, holdout=2)
    assert counts == {
        (1, 2): 1,
        (2, 1): 1,
        (1, 3): 1,  # 1 twice among the 2 items before 3, counted once
        (2, 3): 1,
        (1, 4): 1,
        (3, 4): 1,
    }
    assert item_pairs.count_pairs([[5, 5, 6]], within=3, holdout=0) == {(5, 6): 1}  # no self-pair


def test_pairs_rank_by_count_then_by_ids() -> None:
    counts = {(3, 1): 2, (1, 2): 5, (2, 1): 2, (4, 4): 1}
    assert item_pairs.top_pairs(counts, 3) == [
        ItemPair(0, 1, 2, 5),
        ItemPair(1, 2, 1, 2),
        ItemPair(2, 3, 1, 2),
    ]


def test_a_placebo_keeps_the_source_and_takes_a_target_it_has_no_frequent_pair_with() -> None:
    pairs = [ItemPair(0, 1, 2, 9), ItemPair(1, 3, 1, 8), ItemPair(2, 4, 5, 7), ItemPair(3, 6, 7, 6)]
    pool, linked = item_pairs.pool_of(pairs), item_pairs.partners(pairs)
    placebo = item_pairs.placebo_for(pairs[0], pool, linked)
    assert placebo is not None and placebo.placebo and placebo.source == 1 and placebo.count == 0
    assert placebo.target in {4, 5, 6, 7}  # not 1 itself, not its partners 2 (after) and 3 (before)
    assert item_pairs.placebo_for(pairs[0], pool, linked) == placebo  # seeded by the pair
    assert item_pairs.placebo_for(pairs[0], [1, 2, 3], linked) is None


def test_coverage_counts_steps_with_an_in_edge_from_the_window_and_each_users_test_target() -> None:
    sequences = [[1, 2, 3, 4, 5], [2, 7, 8]]
    covered = item_pairs.coverage(sequences, [(1, 3), (2, 8), (3, 5)], window=2, holdout=1)
    # training steps: 2, 3, 4 (user 1) and 7 (user 2); only 3 has its source 1 within the 2 items before it
    assert (covered.steps, covered.covered) == (4, 1)
    # test targets: 5 (3 is within 2 before it) and 8 (2 is 2 before it)
    assert (covered.test_steps, covered.test_covered) == (2, 2)
    assert covered.as_json()["share"] == 0.25


CATALOGUE = {
    1: warm.CatalogueItem(1, "Lion King, The (1994)", ("Animation", "Musical")),
    2: warm.CatalogueItem(2, "Aladdin (1992)", ("Animation", "Comedy")),
    3: warm.CatalogueItem(3, "Heat (1995)", ("Action", "Crime")),
    4: warm.CatalogueItem(4, "Casino (1995)", ("Drama",)),
    5: warm.CatalogueItem(5, "Babe (1995)", ("Comedy",)),
    6: warm.CatalogueItem(6, "Seven (Se7en) (1995)", ("Thriller",)),
}


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        ("none", Rejection.EMPTY_REASON),
        ("None.", Rejection.EMPTY_REASON),
        ("ok", Rejection.EMPTY_REASON),
        ("MATCH (n) DETACH DELETE n", Rejection.UNSAFE_TEXT),
        ("more songs after The Lion King", Rejection.NAMES_ITEM),
        ("another aladdin-style tale", Rejection.NAMES_ITEM),
        ("another Disney animated musical", None),
    ],
)
def test_a_reason_that_is_missing_unsafe_or_writes_out_a_title_is_refused(reason: str, why: Rejection | None) -> None:
    assert warm.refusal(reason, ItemPair(0, 1, 2, 3), CATALOGUE) is why


def test_a_pairs_questions_hide_each_end_among_items_that_are_no_frequent_partner_of_the_shown_one() -> None:
    pairs = [ItemPair(0, 1, 2, 9), ItemPair(1, 1, 3, 5), ItemPair(2, 4, 2, 4), ItemPair(3, 5, 6, 3)]
    pool, linked = item_pairs.pool_of(pairs), item_pairs.partners(pairs)
    target, premise, attribute = warm.pair_questions(
        pairs[0], "Disney animation", CATALOGUE, pool, linked, "owner", masks=3, options=4
    )
    assert target.text == "Lion King, The (1994) -[Disney animation]-> [MASK]"
    assert target.options[target.correct] == "Aladdin (1992)"
    # 1's partners are 2 and 3: the distractors are 4, 5, 6
    assert sorted(target.options) == sorted(CATALOGUE[item].title for item in (2, 4, 5, 6))
    assert (target.shows, target.hides) == (frozenset({1}), frozenset({2}))
    assert premise.text == "[MASK] -[Disney animation]-> Aladdin (1992)"
    # 2's partners are 1 and 4: the distractors are 3, 5, 6
    assert sorted(premise.options) == sorted(CATALOGUE[item].title for item in (1, 3, 5, 6))
    assert premise.options[premise.correct] == "Lion King, The (1994)"
    assert attribute.text.endswith("; Aladdin (1992) has attribute [MASK]")
    assert attribute.options[attribute.correct] in {"Animation", "Comedy"}
    assert not {"Animation", "Comedy"} & (set(attribute.options) - {attribute.options[attribute.correct]})
    again = warm.pair_questions(pairs[0], "Disney animation", CATALOGUE, pool, linked, "owner", masks=2, options=4)
    assert again == [target, premise]  # seeded, and `masks` keeps the first ones
