"""A tiny fixed dataset every gnn test can memorise: 8 items, 16 distinct histories, next item a fixed
permutation of the last item (so several rows share a target, which DuoRec's supervised positives need)."""

from __future__ import annotations

import torch

from gnn.batch import AnchoredGraph, anchored_graph

N_ITEMS = 8
MAX_LEN = 6
NEXT_ITEM = (3, 5, 7, 2, 8, 1, 4, 6)  # NEXT_ITEM[i - 1] follows item i


def toy_histories() -> list[list[int]]:
    generator = torch.Generator().manual_seed(0)
    histories: list[list[int]] = []
    while len(histories) < 16:
        length = int(torch.randint(2, MAX_LEN, (1,), generator=generator))
        history = [int(item) + 1 for item in torch.randperm(N_ITEMS, generator=generator)[:length]]
        if history not in histories:
            histories.append(history)
    return histories


def reasoning_graph(history: list[int]) -> AnchoredGraph:
    """Stand-in for G_rea: every earlier item is a premise of the most recent one."""
    last = len(history) - 1
    return anchored_graph(history, [(node, last) for node in range(last)], last)


def divergent_graph(history: list[int]) -> AnchoredGraph:
    """Stand-in for G_div: the last item extended to one imagined neighbour."""
    return anchored_graph([history[-1], history[-1] % N_ITEMS + 1], [(0, 1)], 0)
