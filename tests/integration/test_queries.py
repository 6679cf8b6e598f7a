"""The exploration query library against a hand-built fixture graph in the real Neo4j: exact rows per query,
through `llmrg query NAME --param k=v --json` (the interface the maintainers' checks use)."""

from __future__ import annotations

import json

import neo4j
import pytest

from llmrg import queries
from llmrg.errors import ConfigError
from llmrg.settings import Settings
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

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


@pytest.fixture(scope="module")
def fixture_graph(services: Settings, driver: neo4j.Driver) -> str:
    driver.execute_query("MATCH (n) WHERE n.dataset = $d DETACH DELETE n", d=DATASET)
    driver.execute_query(FIXTURE, d=DATASET)
    return DATASET


def query(name: str, **parameters: object) -> list[dict]:
    pairs = [f"--param={key}={json.dumps(value)}" for key, value in parameters.items()]
    result = run_cli("query", name, *pairs, "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


def test_the_library_lists_every_query_with_what_it_answers() -> None:
    listed = json.loads(run_cli("query", "--list", "--json").stdout)
    assert [entry["name"] for entry in listed] == [
        "causes_of_item",
        "chains_for_user",
        "changed_explanations",
        "divergent_interests",
        "effects_of_item",
        "llm_cost_per_run",
        "most_reused_chains",
        "rejected_chains",
    ]
    assert all(entry["answers"].endswith(("?", ".", ")")) for entry in listed)
    assert listed[1]["parameters"] == {"dataset": "string", "user": "int"}


def test_chains_for_user(fixture_graph: str) -> None:
    assert query("chains_for_user", dataset=DATASET, user=1) == [
        {"t": 1, "kind": "reasoning", "titles": ["Toy Story", "Toy Story 2"], "reasons": ["sequel"],
         "score": 100.0, "reused": False, "chain": "qf-c1"},
        {"t": 3, "kind": "divergent", "titles": ["Star Wars", "Empire Strikes Back", "Aliens"],
         "reasons": ["same saga", "more space monsters"], "score": 50.0, "reused": False, "chain": "qf-c5"},
        {"t": 3, "kind": "reasoning", "titles": ["Star Wars", "Empire Strikes Back"], "reasons": ["same saga"],
         "score": 66.7, "reused": False, "chain": "qf-c2"},
    ]  # fmt: skip
    assert [row["reused"] for row in query("chains_for_user", dataset=DATASET, user=2)] == [True, False]


def test_most_reused_chains(fixture_graph: str) -> None:
    assert query("most_reused_chains", dataset=DATASET, limit=5) == [
        {"chain": "qf-c1", "titles": ["Toy Story", "Toy Story 2"], "hits": 1, "score": 100.0}
    ]


def test_causes_and_effects_of_an_item(fixture_graph: str) -> None:
    assert query("causes_of_item", dataset=DATASET, item=4, limit=10) == [
        {"item": 3, "title": "Star Wars", "reason": "same saga", "chains": 2}
    ]
    assert query("effects_of_item", dataset=DATASET, item=3, limit=10) == [
        {"item": 4, "title": "Empire Strikes Back", "reason": "same saga", "chains": 2}
    ]
    assert query("effects_of_item", dataset=DATASET, item=6, limit=10) == []


def test_divergent_interests(fixture_graph: str) -> None:
    assert query("divergent_interests", dataset=DATASET, user=1) == [
        {"t": 3, "imagined": "Aliens (1986)", "item": 6, "title": "Aliens", "similarity": 0.913,
         "reason": "more space monsters", "score": 50.0}
    ]  # fmt: skip


def test_rejected_chains(fixture_graph: str) -> None:
    assert query("rejected_chains", dataset=DATASET) == [
        {"status": "rejected", "reason": "low_score", "kind": "reasoning", "chains": 1},
        {"status": "retired", "reason": "failed re-verification", "kind": "reasoning", "chains": 1},
    ]


def test_llm_cost_per_run(fixture_graph: str) -> None:
    assert query("llm_cost_per_run", dataset=DATASET, limit=10) == [
        {"run": "qf-run-a", "dataset": DATASET, "status": "success", "users": 2, "llm_calls": 8,
         "prompt_tokens": 1000, "completion_tokens": 200, "calls_per_user": 4.0, "kb_hits": 1}
    ]  # fmt: skip


def test_changed_explanations(fixture_graph: str) -> None:
    assert query("changed_explanations", dataset=DATASET) == [
        {"item": 4, "title": "Empire Strikes Back", "chain": "qf-c4", "previous_score": 100.0, "score": 0.0,
         "status": "retired"},
        {"item": 6, "title": "Aliens", "chain": "qf-c6", "previous_score": 66.7, "score": 100.0, "status": "verified"},
    ]  # fmt: skip


def test_parameters_are_checked_before_anything_runs() -> None:
    missing = run_cli("query", "chains_for_user", "--param", f"dataset={DATASET}", "--json")
    assert missing.returncode == 1 and "missing: user" in missing.stderr
    unknown = run_cli("query", "no_such_query", "--json")
    assert unknown.returncode == 1 and "no library query 'no_such_query'" in unknown.stderr
    with pytest.raises(ConfigError, match="key=value"):
        queries.parse_parameters(queries.describe("rejected_chains"), ["dataset"])
