"""A tiny deterministic dataset for the trainer: 30 users walk a fixed 12-item cycle from different starts, so the
next item is a function of the last one and any working model beats an untrained one within a few steps."""

from __future__ import annotations

import torch

from gnn.data import SequenceData

N_USERS = 30
N_ITEMS = 12
CYCLE = (1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12)  # CYCLE[k + 1] follows CYCLE[k]


def cycle_sequences() -> dict[int, list[int]]:
    """User u (1..30) starts at CYCLE[u % 12] and takes 5 + u % 4 steps (5..8 items)."""
    return {user: [CYCLE[(user + step) % N_ITEMS] for step in range(5 + user % 4)] for user in range(1, N_USERS + 1)}


def cycle_features() -> torch.Tensor:
    """[N_ITEMS + 1, 2]: a 3-valued category (ids 1..3) and a 2-valued brand (ids 4..5); row 0 is padding."""
    features = torch.zeros(N_ITEMS + 1, 2, dtype=torch.long)
    features[1:, 0] = torch.arange(N_ITEMS) % 3 + 1
    features[1:, 1] = torch.arange(N_ITEMS) % 2 + 4
    return features


def cycle_data() -> SequenceData:
    return SequenceData("cycle", N_ITEMS, cycle_sequences(), cycle_features(), n_features=5)
