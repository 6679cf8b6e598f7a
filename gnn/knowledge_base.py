"""The knowledge base as every user's reasoning graph: the "LLMRG from knowledge-base edges" variant and its
placebos.

The knowledge base's verified causal edges a -> b are item-level knowledge, so a user's G_rea can be assembled
from the ones among the user's items with no reasoning call for that user, which is what lets the graphs cover a
whole dataset. Two placebos read it against chance: one keeps where and how often such edges enter each graph
and draws their sources at random, so what the LLM's choice of source adds is the gap to it; the other keeps only
how many edges each user has and draws where they go too, so what the knowledge base's choice of targets adds
over a random sparse graph of the same size is the gap between the two placebos.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from core.vocabulary import Placebo
from gnn.export import Export, UserEdges, as_edges


def knowledge_base_graph(export: Export, window: int, placebo: Placebo | None = None) -> Export:
    """The export with G_rea made of the knowledge base's causal edges instead of the users' own chains, and no
    G_div. An edge a -> b enters a user's graph at the step t where the user chose b with a among the `window`
    items just before it (l_tru, the window a step's knowledge-base lookup reads), stamped t like a chain
    reasoned at that step: prefixes that hold b see it, so a row never sees an edge into its target. A `placebo`
    then redraws every edge's source from that window (`placebo_sources`), or its step and source
    (`placebo_edges`)."""
    index_of = {int(item): index for index, item in enumerate(export.item_ids.tolist(), start=1)}
    edges = knowledge_base_edges(export.data.sequences, causal_indices(export.causal_edges, index_of), window)
    if placebo is Placebo.SOURCES:
        edges = placebo_sources(edges, export.data.sequences, window)
    elif placebo is Placebo.EDGES:
        edges = placebo_edges(edges, export.data.sequences, window)
    elif placebo is not None:
        raise ValueError(f"unknown placebo {placebo!r}; known: {', '.join(Placebo)}")
    return replace(export, edges={"rea": edges, "div": {}}, chain_links={"rea": 0, "div": 0})


PLACEBO_SEED = 0
"""The placebo graph is one fixed draw, the same for every run and seed, so seeds vary the training alone."""


def placebo_sources(
    edges: Mapping[int, UserEdges], sequences: Mapping[int, Sequence[int]], window: int, seed: int = PLACEBO_SEED
) -> dict[int, UserEdges]:
    """Per user, each edge a -> b stamped t with a replaced by one of the `window` items before t other than b,
    drawn uniformly over those positions (the true source among them, so it comes back by chance as often as any
    other item): every target and the earliest stamp of each stay, so the same rows see edges, and the choice of
    source is random. Draws that land on the same pair merge into one edge at the earlier stamp, as real edges
    do, so a user has at most as many edges as before (ML-1M: 216,359 against 221,136). Users in sorted order
    from one seeded generator, so the draw is reproducible."""
    generator = np.random.default_rng(seed)
    drawn: dict[int, UserEdges] = {}
    for user in sorted(edges):
        items, found = sequences[user], edges[user]
        earliest: dict[tuple[int, int], int] = {}
        for target, t in zip(found.dst.tolist(), found.t.tolist(), strict=True):
            before = [item for item in items[max(0, t - window) : t] if item != target]  # no self-loop on repeats
            if not before:
                continue
            source = before[int(generator.integers(len(before)))]
            earliest[(source, target)] = min(earliest.get((source, target), t), t)
        drawn[user] = as_edges(earliest)
    return drawn


def placebo_edges(
    edges: Mapping[int, UserEdges], sequences: Mapping[int, Sequence[int]], window: int, seed: int = PLACEBO_SEED
) -> dict[int, UserEdges]:
    """Per user, as many draws as the knowledge base placed edges. Each draws a step t uniformly from the user's
    steps after the first (its target is the item chosen at t) and a source as `placebo_sources` does, from the
    `window` items before t: no edge's target, step or source is chosen by the knowledge base, only each user's
    count of draws. Draws landing on one pair merge at the earlier step. Users in sorted order from one seeded
    generator, so the draw is reproducible."""
    generator = np.random.default_rng(seed)
    drawn: dict[int, UserEdges] = {}
    for user in sorted(edges):
        items = sequences[user]
        earliest: dict[tuple[int, int], int] = {}
        for t in generator.integers(1, len(items), size=edges[user].dst.numel()) if len(items) > 1 else []:
            target = items[int(t)]
            before = [item for item in items[max(0, int(t) - window) : int(t)] if item != target]
            if before:
                source = before[int(generator.integers(len(before)))]
                earliest[(source, target)] = min(earliest.get((source, target), int(t)), int(t))
        drawn[user] = as_edges(earliest)
    return drawn


def causal_indices(causal: Iterable[tuple[int, int]], index_of: Mapping[int, int]) -> list[tuple[int, int]]:
    """Causal edges in catalogue ids -> item indices, leaving out any that names an item the model lacks."""
    return [(index_of[a], index_of[b]) for a, b in causal if a in index_of and b in index_of]


def knowledge_base_edges(
    sequences: Mapping[int, Sequence[int]], causal: Iterable[tuple[int, int]], window: int
) -> dict[int, UserEdges]:
    """Per user, the causal edges (in item indices) among their items, each at the earliest step t whose item
    is the edge's target with its source among the `window` items before t."""
    sources_of: dict[int, set[int]] = defaultdict(set)
    for source, target in causal:
        sources_of[target].add(source)
    graphs: dict[int, UserEdges] = {}
    for user in sorted(sequences):
        items = sequences[user]
        earliest: dict[tuple[int, int], int] = {}
        for t, target in enumerate(items):
            sources = sources_of.get(target)
            if not sources:
                continue
            for source in sources.intersection(items[max(0, t - window) : t]):
                earliest.setdefault((source, target), t)
        if earliest:
            graphs[user] = as_edges(earliest)
    return graphs
