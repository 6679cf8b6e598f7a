"""A chain's verdict follows all its evidence, up and down: each user whose LLM proposes a stored chain adds one
check, and the summed score against τ decides, so one lucky pass does not make a chain verified forever."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import scale
from core.gateway import Neo4jGateway
from core.settings import Settings
from core.vocabulary import ChainKind, ChainStatus
from reasoning import evidence, kb_transfer, store
from reasoning.chains import Candidate, Rejection, ScoredChain
from reasoning.kb_format import Evidence
from tests.reasoning.test_kb_transfer import MODEL, PROMPT, ingest, lines, query

DATASET = "evidence-fixture"
SEQUENCES = "1 1 2 3 4\n2 1 2 3 5\n3 1 2 3 6\n4 1 2 3 7\n"
TAU = 50.0


def check(hits: int, masks: int = 3, premises: tuple[int, ...] = (1, 2), target: int = 3) -> ScoredChain:
    candidate = Candidate(
        DATASET, ChainKind.REASONING, premises, target, ("same studio", "same director")[-len(premises) :], 2, premises
    )
    score = 100.0 * hits / masks
    status = ChainStatus.VERIFIED if score >= TAU else ChainStatus.REJECTED
    return ScoredChain(candidate, status, score, masks, hits, None if score >= TAU else Rejection.LOW_SCORE)


def state(db: Neo4jGateway) -> dict[str, Any]:
    (chain,) = query(
        db,
        "MATCH (c:Chain {dataset: $d, items: [1, 2, 3]}) RETURN c.status AS status, c.masks AS masks, c.hits AS hits, "
        "size(coalesce(c.evidence_ids, [c.id])) AS records",
        d=DATASET,
    )
    links = query(
        db,
        "MATCH (u:User {dataset: $d})-[l]->(:Chain {dataset: $d, items: [1, 2, 3]}) "
        "RETURN u.id AS user, type(l) AS link ORDER BY user",
        d=DATASET,
    )
    edges = query(db, "MATCH (e:Edge {dataset: $d}) RETURN e.support AS support ORDER BY e.source", d=DATASET)
    return chain | {
        "links": {link["user"]: link["link"] for link in links},
        "edge_support": [edge["support"] for edge in edges],
    }


@pytest.mark.integration
def test_every_users_check_adds_evidence_and_the_sum_moves_the_verdict_both_ways(
    services: Settings, db: Neo4jGateway, tmp_path: Path
) -> None:
    ingest(db, services, tmp_path, DATASET, sequences=SEQUENCES)

    def write(user: int, scored: ScoredChain) -> ChainStatus:
        return store.write_chain(db, user, scored, model=MODEL, prompt_version=PROMPT, tau=TAU)

    assert write(1, check(2)) is ChainStatus.VERIFIED  # 2/3: one lucky pass
    assert state(db) | {"links": None} == {
        "status": "verified",
        "masks": 3,
        "hits": 2,
        "records": 1,
        "links": None,
        "edge_support": [1, 1],
    }
    # user 2's LLM proposes the same chain, and it fails: 2 of 6 in all, below τ, so it is retired, leaves the
    # graphs (user 1's link follows it to PROPOSED) and stops supporting its edges
    assert write(2, check(0)) is ChainStatus.RETIRED
    assert state(db) == {
        "status": "retired",
        "masks": 6,
        "hits": 2,
        "records": 2,
        "links": {1: "PROPOSED", 2: "PROPOSED"},
        "edge_support": [],
    }
    # a redelivered write for user 2 adds nothing
    assert write(2, check(3)) is ChainStatus.RETIRED
    assert state(db)["masks"] == 6
    # user 3 recovers every mask: 5 of 9, verified again, its edges come back and every link follows
    assert write(3, check(3)) is ChainStatus.VERIFIED
    assert state(db) == {
        "status": "verified",
        "masks": 9,
        "hits": 5,
        "records": 3,
        "links": {1: "HAS_CHAIN", 2: "HAS_CHAIN", 3: "HAS_CHAIN"},
        "edge_support": [1, 1],
    }
    # the records travel in a knowledge-base file, one per check, none naming a user
    exported = kb_transfer.export_knowledge_base(db, DATASET, tmp_path / "kb.jsonl.gz")
    (chain,) = [record for record in lines(exported.path) if record.get("premises") == [1, 2]]
    assert [(record["masks"], record["hits"]) for record in chain["evidence"]] == [(3, 2), (3, 0), (3, 3)]

    # a chain rejected first rises with later evidence; a user linked already never counts twice
    assert write(1, check(0, premises=(2,))) is ChainStatus.REJECTED
    assert write(4, check(3, premises=(2,))) is ChainStatus.VERIFIED  # 3 of 6 = τ


@pytest.mark.integration
def test_two_users_checks_in_either_order_store_the_same(services: Settings, db: Neo4jGateway, tmp_path: Path) -> None:
    """What `bench.scale` compares across a fault-free and a faulted run: the chain's verdict, summed checks,
    links and edges do not depend on which user's check lands first (a link follows the chain's verdict as
    later checks move it), only whether a chain ending below τ is called rejected or retired does."""
    ingest(db, services, tmp_path, DATASET, sequences=SEQUENCES)

    def stored(hits: dict[int, int], order: tuple[int, ...], tau: float) -> dict[str, Any]:
        store.delete_chains(db, DATASET)
        for user in order:
            store.write_chain(db, user, check(hits[user]), model=MODEL, prompt_version=PROMPT, tau=tau)
        return dict(db.run("stats/reasoning_totals", dataset=DATASET)[0]) | {"links": state(db)["links"]}

    # 0 of 3 and 3 of 3 make 50: verified at τ 50 (user 1's first PROPOSED link turns HAS_CHAIN), refused at 60
    for tau, link, edges in ((50.0, "HAS_CHAIN", 2), (60.0, "PROPOSED", 0)):
        first, second = stored({1: 0, 2: 3}, (1, 2), tau), stored({1: 0, 2: 3}, (2, 1), tau)
        assert scale.order_free(first) == scale.order_free(second)
        assert first["links"] == second["links"] == {1: link, 2: link}
        assert (first["edges"], first["masks"], first["hits"], first["duplicate_links"]) == (edges, 6, 3, 0)
    assert (first["rejected"], first["retired"]) == (1, 0)  # never verified
    assert (second["rejected"], second["retired"]) == (0, 1)  # verified by user 2, then retired by user 1


@pytest.mark.unit
def test_the_summed_score_decides_and_a_fall_retires_only_a_chain_that_was_verified() -> None:
    records = [Evidence(id="a", masks=3, hits=2), Evidence(id="b", masks=3, hits=0)]
    assert evidence.judged(records, 50.0, ChainStatus.VERIFIED)["status"] == "retired"
    assert evidence.judged(records, 50.0, ChainStatus.REJECTED)["status"] == "rejected"
    assert evidence.judged(records, 30.0, ChainStatus.REJECTED) | {"evidence_ids": None} == {
        "evidence_ids": None,
        "evidence_masks": [3, 3],
        "evidence_hits": [2, 0],
        "masks": 6,
        "hits": 2,
        "score": pytest.approx(100 / 3),
        "status": "verified",
        "reject_reason": None,
    }
    one = evidence.check_evidence("c1", "2026-12-03T20:00:00+00:00", 3, 2)
    assert one == evidence.check_evidence("c1", "2026-12-03T20:00:00+00:00", 3, 2)
    assert one.id != evidence.check_evidence("c1", "2026-12-03T20:00:01+00:00", 3, 2).id
