from __future__ import annotations

import pytest

from ingestion.loader import interaction_batches
from ingestion.records import UserHistory

pytestmark = pytest.mark.unit


def test_whole_histories_fill_batches_up_to_the_size() -> None:
    histories = [UserHistory(1, (1, 2, 3)), UserHistory(2, (4, 5)), UserHistory(3, (6, 7, 8, 9))]
    assert list(interaction_batches(histories, 5)) == [
        [{"user": 1, "items": [1, 2, 3], "offset": 0}, {"user": 2, "items": [4, 5], "offset": 0}],
        [{"user": 3, "items": [6, 7, 8, 9], "offset": 0}],
    ]


def test_a_history_longer_than_a_batch_is_split_with_offsets() -> None:
    histories = [UserHistory(1, (1,)), UserHistory(2, tuple(range(10, 17)))]
    batches = list(interaction_batches(histories, 3))
    assert batches == [
        [{"user": 1, "items": [1], "offset": 0}],
        [{"user": 2, "items": [10, 11, 12], "offset": 0}],
        [{"user": 2, "items": [13, 14, 15], "offset": 3}],
        [{"user": 2, "items": [16], "offset": 6}],
    ]
    positions = [
        (row["user"], row["offset"] + k) for batch in batches for row in batch for k in range(len(row["items"]))
    ]
    assert len(positions) == len(set(positions)) == 8
