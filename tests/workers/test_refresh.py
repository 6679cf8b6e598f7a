"""The refresh's Cypher half against the real Neo4j: duplicate chains merged, hit counts recomputed, grown
users found, due chains selected; each rerun changes nothing more."""

from __future__ import annotations

import pytest

from core.gateway import Neo4jGateway
from core.settings import Settings
from workers.refresh import plan_refresh

pytestmark = pytest.mark.integration

DATASET = "refresh-fixture"
FIXTURE = """
UNWIND range(1, 4) AS id
CREATE (:Item {dataset: $d, id: id, title: 'item ' + id})
WITH count(*) AS items
UNWIND [1, 2, 3] AS user
CREATE (u:User {dataset: $d, id: user})
WITH u
MATCH (i:Item {dataset: $d}) WHERE i.id <= 3
CREATE (u)-[:INTERACTED {pos: i.id - 1}]->(i)
WITH count(*) AS interactions
CREATE (old:Chain {id: 'rf-old', dataset: $d, kind: 'reasoning', items: [1, 2], target: 2, status: 'verified',
                   score: 100.0, model: 'old-model', prompt_version: $pv, hit_count: 5,
                   created_at: datetime() - duration('P60D')}),
       (new:Chain {id: 'rf-new', dataset: $d, kind: 'reasoning', items: [1, 2], target: 2, status: 'verified',
                   score: 66.7, model: 'new-model', prompt_version: $pv, hit_count: 0, created_at: datetime()}),
       (fresh:Chain {id: 'rf-fresh', dataset: $d, kind: 'reasoning', items: [2, 3], target: 3,
                     status: 'verified', score: 100.0, model: 'new-model', prompt_version: $pv, hit_count: 0,
                     created_at: datetime()})
WITH old, new, fresh
MATCH (u1:User {dataset: $d, id: 1}), (u2:User {dataset: $d, id: 2}), (u3:User {dataset: $d, id: 3})
CREATE (u1)-[:HAS_CHAIN {t: 1, reused: false}]->(old), (u2)-[:HAS_CHAIN {t: 1, reused: true}]->(old),
       (u3)-[:HAS_CHAIN {t: 1, reused: false}]->(new), (u1)-[:HAS_CHAIN {t: 2, reused: false}]->(fresh)
SET u1.reasoned_length = 3, u2.reasoned_length = 2
"""


@pytest.fixture()
def fixture(services: Settings, db: Neo4jGateway) -> str:
    db.driver.execute_query("MATCH (n) WHERE n.dataset = $d DETACH DELETE n", d=DATASET)
    db.driver.execute_query(FIXTURE, d=DATASET, pv=services.reasoning.prompt_version)
    return DATASET


def chains(db: Neo4jGateway) -> dict[str, tuple]:
    records = db.driver.execute_query(
        """MATCH (c:Chain {dataset: $d})
           RETURN c.id AS id, c.status AS status, c.merged_into AS into, c.hit_count AS hits,
                  [(u:User)-[:HAS_CHAIN]->(c) | u.id] AS users""",
        d=DATASET,
    ).records
    return {r["id"]: (r["status"], r["into"], r["hits"], sorted(r["users"])) for r in records}


def test_plan_merges_duplicates_recomputes_hits_and_finds_due_chains_and_grown_users(
    fixture: str, services: Settings, db: Neo4jGateway
) -> None:
    settings = services.updated(llm={"model": "new-model"}, refresh={"max_age_days": 30.0})
    plan = plan_refresh(db, settings, DATASET)
    assert (plan.merged, plan.grown_users) == (1, [2])
    assert chains(db) == {
        "rf-old": ("verified", None, 1, [1, 2, 3]),
        "rf-new": ("merged", "rf-old", 0, []),
        "rf-fresh": ("verified", None, 0, [1]),
    }, "the higher-scoring chain keeps every user's link; its hit count is recounted from the reuse links"
    assert plan.due_chains == ["rf-old"], "made by another model, and 60 days old"
    again = plan_refresh(db, settings, DATASET)
    assert (again.merged, again.hit_counts_changed) == (0, 0)
    assert chains(db) == {
        "rf-old": ("verified", None, 1, [1, 2, 3]),
        "rf-new": ("merged", "rf-old", 0, []),
        "rf-fresh": ("verified", None, 0, [1]),
    }
