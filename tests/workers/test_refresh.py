"""The refresh's Cypher half against the real Neo4j: duplicate chains merged, hit counts recomputed, grown
users found, due chains selected; each rerun changes nothing more."""

from __future__ import annotations

import pytest

from core.gateway import Neo4jGateway
from core.settings import Settings
from reasoning import store
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


def links(db: Neo4jGateway) -> dict[int, tuple]:
    records = db.driver.execute_query(
        """MATCH (u:User {dataset: $d})-[l:HAS_CHAIN]->(:Chain {id: 'rf-old'})
           RETURN u.id AS user, l.t AS t, l.reused AS r""",
        d=DATASET,
    ).records
    return {r["user"]: (r["t"], r["r"]) for r in records}


def test_a_user_linked_to_both_duplicates_keeps_one_link_their_own_at_the_earlier_step_and_every_step_done(
    fixture: str, services: Settings, db: Neo4jGateway
) -> None:
    """User 1 wrote rf-old (own, t 1) and reused rf-new at step 2; user 2 reused rf-old at step 1 and wrote
    rf-new (own, t 0). Before, the merge kept whichever link it met on the keeper: user 1's step 2 and user
    2's step 1 became undone (a rerun asked them again), and user 2's own chain counted as knowledge to them."""
    db.driver.execute_query(
        """MATCH (u1:User {dataset: $d, id: 1}), (u2:User {dataset: $d, id: 2}), (new:Chain {id: 'rf-new'})
           CREATE (u1)-[:HAS_CHAIN {t: 2, reused: true}]->(new), (u2)-[:HAS_CHAIN {t: 0, reused: false}]->(new)""",
        d=DATASET,
    )
    done_before = {user: set(store.reasoned_positions(db, DATASET, user)) for user in (1, 2, 3)}
    assert done_before == {1: {2}, 2: {1}, 3: set()}
    plan_refresh(db, services.updated(llm={"model": "new-model"}), DATASET)
    assert links(db) == {1: (1, False), 2: (0, False), 3: (1, False)}
    done_after = {user: set(store.reasoned_positions(db, DATASET, user)) for user in (1, 2, 3)}
    assert done_after == done_before, "a step the knowledge base answered stays answered"
    assert chains(db)["rf-old"] == ("verified", None, 0, [1, 2, 3]), "no reuse link is left on the keeper"
    plan_refresh(db, services.updated(llm={"model": "new-model"}), DATASET)
    assert links(db) == {1: (1, False), 2: (0, False), 3: (1, False)}
