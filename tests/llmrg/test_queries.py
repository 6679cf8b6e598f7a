"""The exploration query library against a hand-built fixture graph in the real Neo4j: exact rows per query,
through `llmrg query NAME --param k=v --json` (the interface the maintainers' checks use)."""

from __future__ import annotations

import json

import pytest

from core.errors import ConfigError
from llmrg import queries
from tests.conftest import run_cli
from tests.query_fixture import DATASET

pytestmark = pytest.mark.integration


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
        "reasoning_graph",
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


def test_reasoning_graph(fixture_graph: str) -> None:
    rows = query("reasoning_graph", dataset=DATASET, user=1)
    assert rows[0] == {
        "path": {
            "nodes": [
                {"labels": ["User"], "properties": {"dataset": DATASET, "id": 1}},
                {"labels": ["Chain"], "properties": {"id": "qf-c1", "dataset": DATASET, "kind": "reasoning",
                 "items": [1, 2], "target": 2, "status": "verified", "score": 100.0, "hit_count": 1}},
                {"labels": ["Item"], "properties": {"dataset": DATASET, "id": 1, "title": "Toy Story"}},
            ],
            "relationships": [
                {"type": "HAS_CHAIN", "properties": {"t": 1, "reused": False}},
                {"type": "STEP", "properties": {"i": 0}},
            ],
        }
    }  # fmt: skip
    elements = [
        (
            row["path"]["nodes"][1]["properties"]["id"],
            row["path"]["relationships"][1]["type"],
            row["path"]["relationships"][1]["properties"].get("reason"),
            row["path"]["nodes"][2]["properties"]["title"],
        )
        for row in rows
    ]
    assert elements == [
        ("qf-c1", "STEP", None, "Toy Story"),
        ("qf-c1", "STEP", "sequel", "Toy Story 2"),
        ("qf-c2", "STEP", None, "Star Wars"),
        ("qf-c2", "STEP", "same saga", "Empire Strikes Back"),
        ("qf-c5", "STEP", None, "Star Wars"),
        ("qf-c5", "STEP", "same saga", "Empire Strikes Back"),
        ("qf-c5", "STEP", "more space monsters", "Aliens"),
        ("qf-c5", "IMAGINED", "more space monsters", "Aliens"),
    ]
    assert len(query("reasoning_graph", dataset=DATASET, user=2)) == 4  # c1 (reused) and c6, two steps each


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
