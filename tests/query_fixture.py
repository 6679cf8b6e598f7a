"""A small hand-built reasoning graph (six items, two users, six chains, two runs) for the query library's tests
and the Neo4j Browser test: every expected row is known by hand. `tests/conftest.py` loads it."""

from __future__ import annotations

DATASET = "query-fixture"
FIXTURE = """
UNWIND [[1, 'Toy Story'], [2, 'Toy Story 2'], [3, 'Star Wars'], [4, 'Empire Strikes Back'], [5, 'Alien'],
        [6, 'Aliens']] AS item
CREATE (:Item {dataset: $d, id: item[0], title: item[1]})
WITH count(*) AS items
UNWIND [1, 2] AS user
CREATE (:User {dataset: $d, id: user})
WITH count(*) AS users
UNWIND [
  {id: 'qf-c1', kind: 'reasoning', items: [1, 2], status: 'verified', score: 100.0, hits: 1, reasons: ['sequel']},
  {id: 'qf-c2', kind: 'reasoning', items: [3, 4], status: 'verified', score: 66.7, hits: 0, reasons: ['same saga']},
  {id: 'qf-c3', kind: 'reasoning', items: [1, 3], status: 'rejected', score: 33.3, hits: 0, reasons: ['toys'],
   reject_reason: 'low_score'},
  {id: 'qf-c4', kind: 'reasoning', items: [2, 4], status: 'retired', score: 0.0, previous: 100.0, hits: 0,
   reasons: ['sequels']},
  {id: 'qf-c5', kind: 'divergent', items: [3, 4, 6], status: 'verified', score: 50.0, hits: 0,
   reasons: ['same saga', 'more space monsters']},
  {id: 'qf-c6', kind: 'reasoning', items: [5, 6], status: 'verified', score: 100.0, previous: 66.7, hits: 0,
   reasons: ['sequel']}
] AS chain
CREATE (c:Chain {id: chain.id, dataset: $d, kind: chain.kind, items: chain.items, target: last(chain.items),
                 status: chain.status, score: chain.score, previous_score: chain.previous, hit_count: chain.hits,
                 reject_reason: chain.reject_reason})
WITH c, chain
UNWIND range(0, size(chain.items) - 1) AS i
MATCH (item:Item {dataset: $d, id: chain.items[i]})
CREATE (c)-[:STEP {i: i, reason: CASE WHEN i = 0 THEN null ELSE chain.reasons[i - 1] END}]->(item)
WITH count(*) AS steps
MATCH (u1:User {dataset: $d, id: 1}), (u2:User {dataset: $d, id: 2})
MATCH (c1:Chain {id: 'qf-c1'}), (c2:Chain {id: 'qf-c2'}), (c3:Chain {id: 'qf-c3'}), (c5:Chain {id: 'qf-c5'}),
      (c6:Chain {id: 'qf-c6'}), (aliens:Item {dataset: $d, id: 6})
CREATE (u1)-[:HAS_CHAIN {t: 1, reused: false}]->(c1), (u1)-[:HAS_CHAIN {t: 3, reused: false}]->(c2),
       (u1)-[:HAS_CHAIN {t: 3, reused: false}]->(c5), (u1)-[:PROPOSED {t: 2}]->(c3),
       (u2)-[:HAS_CHAIN {t: 2, reused: true}]->(c1), (u2)-[:HAS_CHAIN {t: 4, reused: false}]->(c6),
       (c5)-[:IMAGINED {text: 'Aliens (1986)', reason: 'more space monsters', similarity: 0.9134}]->(aliens),
       (:Run {id: 'qf-run-a', dataset: $d, status: 'success', users_done: 2, llm_calls: 8, prompt_tokens: 1000,
              completion_tokens: 200, kb_hits: 1, created_at: datetime('2026-01-01T00:00:00Z')}),
       (:Run {id: 'qf-run-b', dataset: $d, status: 'running', created_at: datetime('2026-01-02T00:00:00Z')})
"""
