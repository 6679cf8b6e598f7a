"""The reasoning benchmark's knowledge-base ceiling, against hand-counted histories: it is what explains a
measured hit rate, so it must count exactly the steps the exact key could answer."""

from __future__ import annotations

import pytest

from bench.kb_ceiling import ceilings, kb_ceiling
from reports import sections

pytestmark = pytest.mark.unit

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


def test_the_window_key_finds_a_shared_item_further_back_and_the_target_key_needs_none() -> None:
    far = [[2, 7, 8, 3], [2, 5, 6, 3], [9, 4, 1, 3]]  # users 0 and 1 share 2, three positions before 3
    assert kb_ceiling(far, history_length=4, max_targets=1, recent_positions=2)["second_half"] == 0.0
    assert kb_ceiling(far, history_length=4, max_targets=1, recent_positions=4)["second_half"] == 0.5
    assert kb_ceiling(far, history_length=4, max_targets=1, recent_positions=None)["second_half"] == 1.0
    rows = ceilings(far, history_length=4, max_targets=1, recent_positions=2)
    assert [(row["key"], row["max_targets"]) for row in rows] == [
        ("exact", 1), ("exact", 0), ("window", 1), ("window", 0), ("target", 1), ("target", 0)
    ]  # fmt: skip
    assert [row["second_half"] for row in rows if row["max_targets"] == 1] == [0.0, 0.5, 1.0]


def ceiling_result(exact: float, window: float) -> dict[str, object]:
    rows = [
        {"key": key, "max_targets": targets, "first_half": 0.0, "second_half": rate * (1 if targets else 2)}
        for key, rate in (("exact", exact), ("window", window), ("target", 0.5))
        for targets in (4, 0)
    ]
    machine = {"cpu": "Test CPU", "cores": 2, "memory_gib": 8.0, "os": "Linux", "python": "3.11", "commit": "abc"}
    return {
        "machine": machine,
        "recent_positions": 5,
        "max_targets": 4,
        "results": [{"dataset": "ml-1m", "users": 200, "history_length": 50, "rows": rows}],
    }


def test_the_report_says_whether_the_hit_rate_target_is_reachable_at_the_throughput_setting() -> None:
    below = sections.kb_ceiling_section(ceiling_result(exact=0.075, window=0.12))
    assert "| ml-1m | 200 | 50 | exact (target + a premise in the last 5 items) | 7.5% (0.0%) | 15.0% (0.0%) |" in below
    assert "the 15% hit-rate target is out of reach there with any key that keeps the reuse rule" in below
    assert "raises the ceilings to 15.0% and 24.0%" in below
    within = sections.kb_ceiling_section(ceiling_result(exact=0.1, window=0.282))
    assert "the 15% target is within reach of the window key" in within and "out of reach" not in within
