"""Item pairs for the knowledge base's warm start: the ordered pairs users share most, their placebos, and the
share of steps a set of causal edges covers. Plain Python over id sequences, no database and no model.

Causal knowledge between two items does not depend on the user, and users share item pairs far more than
whole chains, so reasoning about the most frequent pairs once serves every user who chose them. A pair
(a, b) counts once for each step where a user chose b with a among the `within` items just before it. Pairs
are counted on the part of each history that training sees (its last `holdout` items, validation and test,
left out), so no pair is learnt from an evaluation target.

[ours] A placebo pair keeps a frequent pair's source and swaps its target for an item drawn from the run's
items that is in no frequent pair with that source, either way round. Reasoned about and verified in the
same calls as the real pairs (the model cannot tell them apart), it says what acceptance means: a verifier
that accepts placebo pairs as often as real ones does not know which pairs hold.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Pair = tuple[int, int]


@dataclass(frozen=True)
class ItemPair:
    rank: int
    """0 for the most frequent pair; a placebo carries the rank of the real pair it stands beside."""
    source: int
    target: int
    count: int
    """Steps with this pair (0 for a placebo)."""
    placebo: bool = False


def training_part(items: Sequence[int], holdout: int) -> Sequence[int]:
    return items[: max(0, len(items) - holdout)] if holdout else items


def count_pairs(sequences: Iterable[Sequence[int]], *, within: int, holdout: int) -> Counter[Pair]:
    """Steps per ordered pair (a within `within` positions before b, a != b; a repeated source once a step)."""
    counts: Counter[Pair] = Counter()
    for items in sequences:
        seen = training_part(items, holdout)
        for t in range(1, len(seen)):
            target = seen[t]
            counts.update((source, target) for source in set(seen[max(0, t - within) : t]) if source != target)
    return counts


def top_pairs(counts: Mapping[Pair, int], n: int) -> list[ItemPair]:
    """The `n` most frequent pairs, ties broken by ids so every run ranks the same."""
    ranked = heapq.nsmallest(n, counts.items(), key=lambda entry: (-entry[1], entry[0]))
    return [ItemPair(rank, a, b, count) for rank, ((a, b), count) in enumerate(ranked)]


def pool_of(pairs: Sequence[ItemPair]) -> list[int]:
    """The distinct items of the pairs, in id order: placebo targets and verification distractors come from
    here, so they are about as popular as the items they stand beside."""
    return sorted({item for pair in pairs for item in (pair.source, pair.target)})


def partners(pairs: Sequence[ItemPair]) -> dict[int, set[int]]:
    """Each item's partners in the frequent pairs, either way round."""
    linked: dict[int, set[int]] = defaultdict(set)
    for pair in pairs:
        linked[pair.source].add(pair.target)
        linked[pair.target].add(pair.source)
    return linked


def placebo_for(pair: ItemPair, pool: Sequence[int], linked: Mapping[int, set[int]]) -> ItemPair | None:
    """The placebo beside `pair`: its source with a target from `pool` it has no frequent pair with (seeded by
    the pair, so a rerun draws the same); None when the pool has no such item."""
    excluded = linked.get(pair.source, set()) | {pair.source}
    allowed = [item for item in pool if item not in excluded]
    if not allowed:
        return None
    target = random.Random(f"placebo|{pair.source}|{pair.target}").choice(allowed)
    return ItemPair(pair.rank, pair.source, target, 0, placebo=True)


@dataclass(frozen=True)
class Coverage:
    """Steps whose target has a causal in-edge from an item among the `window` items before it."""

    steps: int
    covered: int
    test_steps: int
    """Each user's last item (the test target), with its full history before it."""
    test_covered: int

    def as_json(self) -> dict[str, float | int]:
        return {
            "steps": self.steps,
            "covered": self.covered,
            "share": round(self.covered / self.steps, 4) if self.steps else 0.0,
            "test_steps": self.test_steps,
            "test_covered": self.test_covered,
            "test_share": round(self.test_covered / self.test_steps, 4) if self.test_steps else 0.0,
        }


def coverage(sequences: Iterable[Sequence[int]], edges: Iterable[Pair], *, window: int, holdout: int) -> Coverage:
    """How much of the dataset the edges cover: over every step of each history's training part, and over
    each user's test target (what a test row's reasoning graph and an explanation can use)."""
    sources: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        sources[b].add(a)
    steps = covered = test_steps = test_covered = 0
    for items in sequences:
        seen = training_part(items, holdout)
        for t in range(1, len(seen)):
            steps += 1
            covered += _has_in_edge(sources, seen, t, window)
        if len(items) > 1:
            test_steps += 1
            test_covered += _has_in_edge(sources, items, len(items) - 1, window)
    return Coverage(steps, covered, test_steps, test_covered)


def _has_in_edge(sources: Mapping[int, set[int]], items: Sequence[int], t: int, window: int) -> bool:
    into = sources.get(items[t])
    return into is not None and not into.isdisjoint(items[max(0, t - window) : t])
