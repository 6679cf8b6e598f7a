"""Fixtures over the toy dataset of `toy.py`."""

from __future__ import annotations

import pytest
import torch

from gnn.batch import SequenceBatch, sequence_graph
from tests.gnn.toy import MAX_LEN, N_ITEMS, NEXT_ITEM, divergent_graph, reasoning_graph, toy_histories


@pytest.fixture(scope="session")
def toy_batch() -> SequenceBatch:
    histories = toy_histories()
    graphs = {
        "rea": [reasoning_graph(history) for history in histories],
        "div": [divergent_graph(history) for history in histories],
        "seq": [sequence_graph(history) for history in histories],
    }
    targets = [NEXT_ITEM[history[-1] - 1] for history in histories]
    return SequenceBatch.from_lists(histories, targets, MAX_LEN, graphs)


@pytest.fixture(scope="session")
def item_features() -> torch.Tensor:
    """[n_items + 1, 2]: a 3-valued category (ids 1..3) and a 2-valued brand (ids 4..5); row 0 is padding."""
    features = torch.zeros(N_ITEMS + 1, 2, dtype=torch.long)
    features[1:, 0] = torch.arange(N_ITEMS) % 3 + 1
    features[1:, 1] = torch.arange(N_ITEMS) % 2 + 4
    return features
