"""Training windows: every training target exactly once, the same outputs and loss as the prefix rows they
replace, DuoRec's positives from the whole training set (for prefix rows too), and BERT4Rec's cloze per window."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest
import torch

from gnn.batch import SequenceBatch
from gnn.data import RowCollator, SequenceData, split
from gnn.models import BERT4Rec, build_model
from gnn.windows import (
    SameTargetPrefixes,
    TrainingWindows,
    WithSameTargetPositives,
    training_segment,
    window_starts,
)
from tests.gnn.synthetic import cycle_data

pytestmark = pytest.mark.unit

N_ITEMS = 40


def random_data(users: int = 12, seed: int = 0, longest: int = 30) -> SequenceData:
    generator = torch.Generator().manual_seed(seed)
    sequences = {}
    for user in range(1, users + 1):
        length = int(torch.randint(1, longest, (1,), generator=generator))
        sequences[user] = (torch.randperm(N_ITEMS, generator=generator)[:length] + 1).tolist()
    features = torch.randint(1, 6, (N_ITEMS + 1, 3), generator=generator)
    features[0] = 0
    return SequenceData("random", N_ITEMS, sequences, features, n_features=5)


def all_windows(windows: TrainingWindows) -> list:
    return [windows.batch([index]) for index in range(len(windows.windows))]


@pytest.mark.parametrize(("max_len", "stride"), [(50, None), (8, 4), (8, 3), (5, 5), (3, 1)])
def test_every_training_target_is_counted_once_with_real_context(max_len: int, stride: int | None) -> None:
    data = random_data()
    windows = TrainingWindows(data.sequences, max_len, windows_per_batch=3, stride=stride)
    counted: Counter[tuple[int, int, int]] = Counter()
    for (user, _), batch in zip(windows.origins, all_windows(windows), strict=True):
        inputs = batch.items[0, : batch.lengths[0]].tolist()
        positions = batch.counted[0].nonzero().flatten().tolist()
        assert len(inputs) <= max_len and positions == list(range(positions[0], len(inputs)))
        if inputs[0] != data.sequences[user][0]:  # a later window: its targets keep max_len - stride of context
            assert positions[0] >= max_len - windows.stride
        for position in positions:  # items are distinct per user, so (user, target) names one training row
            counted[(user, int(batch.targets[0, position]), inputs[position])] += 1
    expected = Counter((row.user, row.target, row.history[-1]) for row in split(data).train)
    assert counted == expected
    assert windows.target_count == len(split(data).train)


def test_window_starts_cover_the_segment_and_end_at_its_end() -> None:
    assert window_starts(10, 20, 10) == [0]
    assert window_starts(25, 10, 5) == [0, 5, 10, 15]
    assert window_starts(23, 10, 5) == [0, 5, 10, 13]
    assert training_segment([1, 2, 3, 4, 5]) == [1, 2, 3] and training_segment([1, 2]) == [1, 2]


@pytest.mark.parametrize("name", ["sasrec", "fdsa", "cl4srec", "duorec"])
def test_the_output_at_every_position_equals_the_prefix_rows_encode(name: str) -> None:
    data = random_data(seed=1)
    model = build_model(name, N_ITEMS, 30, 16, item_features=data.item_features, n_features=data.n_features).eval()
    windows = TrainingWindows(data.sequences, 30, windows_per_batch=5)
    batch = windows.batch(list(range(len(windows.windows))))  # every window, padded to the longest
    with torch.no_grad():
        states = model.position_states(batch.items)  # [B, L, d]
        for row in range(batch.size):
            length = int(batch.lengths[row])
            prefixes = [batch.items[row, : end + 1].tolist() for end in range(length)]
            targets = batch.targets[row, :length].tolist()
            encoded = model.encode(SequenceBatch.from_lists(prefixes, targets, 30))  # [length, d]
            torch.testing.assert_close(states[row, :length], encoded, atol=1e-5, rtol=1e-4)


def test_the_window_loss_is_the_mean_of_the_prefix_rows_losses() -> None:
    data = random_data(seed=2)
    model = build_model("sasrec", N_ITEMS, 40, 16).eval()
    windows = TrainingWindows(data.sequences, 40, windows_per_batch=4)
    rows = list(split(data).train)
    with torch.no_grad():
        window_loss = model.window_loss(windows.batch(list(range(len(windows.windows)))))
        row_loss = model.loss(SequenceBatch.from_lists([r.history for r in rows], [r.target for r in rows], 40))
    torch.testing.assert_close(window_loss, row_loss)


def test_windows_are_batched_by_length_in_a_seeded_order() -> None:
    windows = TrainingWindows(random_data(users=40, seed=3).sequences, 10, windows_per_batch=6, stride=5)
    first = [batch.lengths.tolist() for batch in windows.batches(torch.Generator().manual_seed(0))]
    again = [batch.lengths.tolist() for batch in windows.batches(torch.Generator().manual_seed(0))]
    other = [batch.lengths.tolist() for batch in windows.batches(torch.Generator().manual_seed(1))]
    assert first == again != other
    assert len(first) == len(windows) and sum(map(len, first)) == len(windows.windows)
    spans = sorted((min(lengths), max(lengths)) for lengths in first)
    assert all(high <= low_next for (_, high), (low_next, _) in pairwise(spans))


def test_a_capped_epoch_keeps_a_seeded_subset_of_windows() -> None:
    windows = TrainingWindows(random_data(users=30, seed=4).sequences, 8, windows_per_batch=4)
    capped = windows.capped(60, torch.Generator().manual_seed(0))
    assert 0 < capped.target_count <= 60 < windows.target_count
    assert capped.origins == windows.capped(60, torch.Generator().manual_seed(0)).origins
    assert set(capped.origins) < set(windows.origins)


def test_duorec_positives_are_training_prefixes_with_the_same_target() -> None:
    data = cycle_data()  # every item follows one fixed item, so many prefixes share each target
    positives = SameTargetPrefixes(split(data).train)
    windows = TrainingWindows(data.sequences, 4, windows_per_batch=8, positives=positives)
    torch.manual_seed(0)
    for index, (user, end) in enumerate(windows.origins):
        batch = windows.batch([index])
        assert batch.positive_items is not None and batch.positive_lengths is not None
        positive = batch.positive_items[0, : batch.positive_lengths[0]].tolist()
        target = data.sequences[user][end]
        assert int(batch.last_targets[0]) == target
        assert any(
            sequence[cut] == target and sequence[max(0, cut - 4) : cut] == positive
            for sequence in data.sequences.values()
            for cut in range(1, len(training_segment(sequence)))
        )


def test_prefix_rows_carry_positives_from_the_whole_training_set() -> None:
    data = cycle_data()
    rows = split(data).train
    collate = WithSameTargetPositives(RowCollator(4), SameTargetPrefixes(rows), max_len=4)
    torch.manual_seed(0)
    chosen = [rows[index] for index in range(0, len(rows), 7)]
    batch = collate(chosen)
    assert batch.positive_items is not None and batch.positive_lengths is not None
    for row, original in enumerate(chosen):
        positive = batch.positive_items[row, : batch.positive_lengths[row]].tolist()
        assert any(
            sequence[cut] == original.target and sequence[max(0, cut - 4) : cut] == positive
            for user, sequence in data.sequences.items()
            for cut in range(1, len(training_segment(sequence)))
            if (user, cut) != (original.user, len(original.history))
        )
    assert batch.to("cpu").positive_items is not None


def test_a_positive_is_another_row_unless_none_shares_the_target() -> None:
    data = SequenceData("two", 9, {1: [1, 2, 3, 4, 5], 2: [6, 2, 7, 8, 9]})
    positives = SameTargetPrefixes(split(data).train)  # target 2: rows (1, 1) and (2, 1); target 3: (1, 2) alone
    for _ in range(10):
        items, lengths = positives.sample([(1, 1), (2, 1), (1, 2)], max_len=4)
        assert [items[row, : lengths[row]].tolist() for row in range(3)] == [[6], [1], [1, 2]]


def test_bert4rec_windows_always_mask_and_with_no_random_masks_predict_the_last_item() -> None:
    data = random_data(seed=5)
    model = BERT4Rec(N_ITEMS, 12, hidden=16, mask_prob=0.0).eval()
    windows = TrainingWindows(data.sequences, 11, windows_per_batch=4)
    batch = windows.batch(list(range(len(windows.windows))))
    histories = [batch.items[row, : batch.lengths[row]].tolist() for row in range(batch.size)]
    with torch.no_grad():
        cloze = model.window_loss(batch)
        last_item = model.loss(SequenceBatch.from_lists(histories, batch.last_targets.tolist(), 12))
    torch.testing.assert_close(cloze, last_item)
