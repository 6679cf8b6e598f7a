"""Recommendations explained against the real Neo4j: the user's own reasoning first, then the knowledge
base's verified chains, then its causal edges, each path starting from items the user chose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.gateway import Neo4jGateway
from core.settings import Settings
from core.vocabulary import ChainKind, ChainStatus
from gnn.recommend import explain_items, explanation_sentence, history_causal_edges
from reasoning import store
from reasoning.chains import ScoredChain
from tests.reasoning.test_kb_transfer import DATASET, MODEL, PROMPT, chain, ingest

pytestmark = pytest.mark.integration


def write(db: Neo4jGateway, user: int, scored: ScoredChain, **extra: Any) -> None:
    store.write_chain(db, user, scored, model=MODEL, prompt_version=PROMPT, tau=50.0, **extra)


def test_an_item_is_explained_by_the_user_first_then_knowledge_base_chains_then_edges(
    services: Settings, db: Neo4jGateway, tmp_path: Path
) -> None:
    ingest(db, services, tmp_path, DATASET)  # user 1: 1 2 3 4 5; user 2: 3 4 5 6 7
    imagined = {"item": 6, "text": "a crime classic", "reason": "after the trilogy", "similarity": 0.8}
    write(db, 1, chain((4, 5), 6, kind=ChainKind.DIVERGENT), imagined=imagined)
    write(db, 2, chain((3, 5), 7))
    write(db, 2, chain((4, 6), 7))  # edges 4 -> 6 and 6 -> 7

    found = explain_items(db, DATASET, 1, [6, 7, 1], [1, 2, 3, 4, 5])
    assert set(found) == {6, 7}, "nothing ends at 1"
    own, shared = found[6], found[7]
    assert (own["source"], own["kind"], own["support"]) == ("user", "divergent", 1)
    assert [step["item"] for step in own["path"]] == [4, 5, 6]
    # [3,5,7] starts from items user 1 chose; [4,6,7] does not (6 is unseen); the chain beats edge 5 -> 7
    assert (shared["source"], shared["kind"], shared["edge"]) == ("knowledge_base", "reasoning", None)
    assert [step["item"] for step in shared["path"]] == [3, 5, 7]
    assert explanation_sentence(shared) == (
        "You watched Star Wars: Episode IV - A New Hope (1977), then Star Wars: Episode VI - Return of the Jedi "
        "(1983): link 3 then 5; Star Wars: Episode VI - Return of the Jedi (1983) → Godfather: Part II, The (1974): "
        "link 5 then 7 (the knowledge base, 1 verification)"
    )

    (edge,) = explain_items(db, DATASET, 1, [6], [1, 2, 3, 4]).values()  # before 5: only edge 4 -> 6 starts here
    assert (edge["source"], edge["kind"], edge["chain"], edge["support"]) == ("knowledge_base", "edge", None, 1)
    assert [step["item"] for step in edge["path"]] == [4, 6] and edge["reasons"] == ["link 4 then 6"]
    assert explanation_sentence(edge).startswith(
        "You watched Star Wars: Episode V - The Empire Strikes Back (1980), so Godfather, The (1972): link 4 then 6"
    )


def test_serving_reads_only_the_causal_edges_among_the_users_items(
    services: Settings, db: Neo4jGateway, tmp_path: Path
) -> None:
    ingest(db, services, tmp_path, DATASET)
    write(db, 2, chain((3, 5), 7))  # edges 3 -> 5, 5 -> 7
    write(db, 2, chain((4, 6), 7))  # edges 4 -> 6, 6 -> 7
    write(db, 2, chain((1, 2), 3, status=ChainStatus.REJECTED, hits=0))  # a rejected chain leaves no edge

    assert history_causal_edges(db, DATASET, [1, 2, 3, 4, 5]) == [(3, 5)]
    assert history_causal_edges(db, DATASET, [5, 4, 6, 7, 3, 5]) == [(3, 5), (4, 6), (5, 7), (6, 7)]
    assert history_causal_edges(db, DATASET, [7]) == []
    assert history_causal_edges(db, "another-dataset", [3, 5]) == []
