"""The reasoning benchmark's knowledge-base ceiling, against hand-counted histories: it is what explains a
measured hit rate, so it must count exactly the steps the exact key could answer."""

from __future__ import annotations

import pytest

from bench.reason import kb_ceiling

# User 0 is the first half, users 1 and 2 the second. Item 3 is everyone's last item; users 0 and 1 share
# item 2 just before it, user 2 shares nothing.
HISTORIES = [[1, 2, 3], [9, 2, 3], [5, 6, 3]]


def test_every_position_counts_shared_target_and_recent_item() -> None:
    # second half: user 1 hits on 3 (shares 2 with user 0) and misses on 2 (premise 9 vs 1); user 2 misses both.
    assert kb_ceiling(HISTORIES, history_length=3, max_targets=0, recent_positions=5) == {
        "first_half": 0.0,
        "second_half": pytest.approx(1 / 4),
    }


def test_last_targets_only() -> None:
    assert kb_ceiling(HISTORIES, history_length=3, max_targets=1, recent_positions=5) == {
        "first_half": 0.0,
        "second_half": 0.5,
    }


def test_window_truncation_and_recent_positions() -> None:
    # windows [2, 3], [2, 3], [6, 3]: only user 1's step 3 can reuse user 0's chain 2 -> 3.
    assert kb_ceiling(HISTORIES, history_length=2, max_targets=0, recent_positions=1)["second_half"] == 0.5
    # with one recent position, user 1's step 3 still sees 2; a shared item further back would not count
    assert kb_ceiling([[2, 7, 3], [2, 8, 3]], history_length=3, max_targets=1, recent_positions=1) == {
        "first_half": 0.0,
        "second_half": 0.0,
    }
    assert kb_ceiling([[2, 7, 3], [2, 8, 3]], history_length=3, max_targets=1, recent_positions=2)["second_half"] == 1.0


def test_no_steps_is_none() -> None:
    assert kb_ceiling([[1], [2]], history_length=5, max_targets=0, recent_positions=5) == {
        "first_half": None,
        "second_half": None,
    }
