"""Ingestion into the real Neo4j: exact counts, idempotent reruns, interrupted loads, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from core.gateway import Neo4jGateway
from core.settings import Settings
from ingestion import loader, registry
from llmrg.stats import dataset_counts
from tests.conftest import LLMRG, SHARED_DATA, run_cli

pytestmark = pytest.mark.integration


def counts(db: Neo4jGateway, settings: Settings, dataset: str) -> dict[str, int]:
    row = dataset_counts(db).get(dataset)
    return {key: row[key] for key in ("users", "items", "interactions", "attributes")} if row else {}


def duplicate_interactions(db: Neo4jGateway, dataset: str) -> int:
    records, _, _ = db.driver.execute_query(
        "MATCH (u:User {dataset: $dataset})-[r:INTERACTED]->() "
        "WITH u, r.pos AS pos, count(*) AS n WHERE n > 1 RETURN count(*) AS duplicates",
        dataset=dataset,
    )
    return records[0]["duplicates"]


@pytest.fixture(scope="module")
def ml1m(services: Settings, db: Neo4jGateway) -> dict[str, int]:
    """ML-1M 5-core loaded through the CLI into an empty dataset."""
    loader.delete_dataset(db, "ml-1m")
    result = run_cli("ingest", "ml-1m", "--no-progress", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_ml1m_exact_counts(ml1m: dict[str, int], services: Settings, db: Neo4jGateway) -> None:
    assert (ml1m["users"], ml1m["items"], ml1m["interactions"]) == (6040, 3416, 999_611)
    assert counts(db, services, "ml-1m") == {
        "users": 6040,
        "items": 3416,
        "interactions": 999_611,
        "attributes": 18,
    }
    assert duplicate_interactions(db, "ml-1m") == 0


@pytest.mark.slow
def test_ml1m_content(ml1m: dict[str, int], db: Neo4jGateway) -> None:
    records, _, _ = db.driver.execute_query(
        "MATCH (u:User {dataset: 'ml-1m', id: 1})-[r:INTERACTED]->(i:Item) "
        "RETURN u.gender AS gender, u.age AS age, u.occupation_name AS job, i.id AS item ORDER BY r.pos LIMIT 5"
    )
    assert [r["item"] for r in records] == [3186, 1721, 1022, 1270, 2340]
    assert (records[0]["gender"], records[0]["age"], records[0]["job"]) == ("F", 1, "K-12 student")
    records, _, _ = db.driver.execute_query(
        "MATCH (i:Item {dataset: 'ml-1m', id: 73})-[:HAS_ATTRIBUTE]->(a:Attribute) "
        "RETURN i.title AS title, collect(a.kind + ':' + a.name) AS attrs"
    )
    assert records[0]["title"] == "Misérables, Les (1995)"
    assert sorted(records[0]["attrs"]) == ["genre:Drama", "genre:Musical"]
    records, _, _ = db.driver.execute_query(
        "MATCH (u:User {dataset: 'ml-1m'})-[r:INTERACTED]->() WITH u, max(r.pos) AS top, count(r) AS n "
        "WHERE top <> n - 1 RETURN count(u) AS gaps"
    )
    assert records[0]["gaps"] == 0


@pytest.mark.slow
def test_stats_json_shape(ml1m: dict[str, int]) -> None:
    result = run_cli("stats", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["datasets"]["ml-1m"]["users"] == 6040
    assert payload["datasets"]["ml-1m"]["items"] == 3416
    assert payload["datasets"]["ml-1m"]["interactions"] == 999_611


@pytest.mark.slow
def test_beauty_exact_counts_and_idempotent_rerun(services: Settings, db: Neo4jGateway) -> None:
    loader.delete_dataset(db, "beauty")
    expected = {"users": 22_363, "items": 12_101, "interactions": 198_502, "attributes": 637}
    for _ in range(2):
        result = run_cli("ingest", "beauty", "--no-progress")
        assert result.returncode == 0, result.stderr
        assert counts(db, services, "beauty") == expected
    assert duplicate_interactions(db, "beauty") == 0
    records, _, _ = db.driver.execute_query(
        "MATCH (a:Attribute {dataset: 'beauty'}) RETURN a.kind AS kind, count(*) AS n ORDER BY kind"
    )
    assert {r["kind"]: r["n"] for r in records} == {"brand": 435, "category": 202}
    records, _, _ = db.driver.execute_query(
        "MATCH (:Item {dataset: 'beauty'})-[h:HAS_ATTRIBUTE]->() RETURN count(h) AS links"
    )
    item2attributes = json.loads((SHARED_DATA / "beauty" / "Beauty_item2attributes.json").read_text())
    assert records[0]["links"] == sum(len(set(v)) for v in item2attributes.values())


def test_interrupted_ingest_then_rerun_gives_exact_counts(services: Settings, db: Neo4jGateway, tmp_path: Path) -> None:
    name = "interrupted"
    loader.delete_dataset(db, name)
    sequences = SHARED_DATA / "beauty" / "Beauty.txt"
    command = [LLMRG, "ingest", "--name", name, "--sequences", str(sequences), "--batch-size", "1000", "--no-progress"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and counts(db, services, name).get("interactions", 0) < 20_000:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = counts(db, services, name)
    assert 20_000 <= partial["interactions"] < 198_502, "the kill should land mid-load"
    records, _, _ = db.driver.execute_query("MATCH (d:Dataset {name: $n}) RETURN d.status AS s", n=name)
    assert records[0]["s"] == "loading"

    result = run_cli("ingest", "--name", name, "--sequences", str(sequences), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert counts(db, services, name) == {
        "users": 22_363,
        "items": 12_101,
        "interactions": 198_502,
        "attributes": 0,
    }
    assert duplicate_interactions(db, name) == 0
    loader.delete_dataset(db, name)


@pytest.fixture()
def stored_custom(services: Settings, db: Neo4jGateway, tmp_path: Path) -> tuple[str, dict[str, int]]:
    """A small custom dataset already stored, so bad-input tests can check nothing is lost."""
    name = "custom-good"
    loader.delete_dataset(db, name)
    (tmp_path / "good.txt").write_text("1 10 11 12\n2 11 12\n3 12 10 11\n")
    (tmp_path / "items.tsv").write_text("item_id\ttitle\tgenres\n10\tAlpha\tA|B\n11\tBeta\tB\n12\tGamma\t\n")
    result = run_cli(
        "ingest", "--name", name, "--sequences", str(tmp_path / "good.txt"), "--items", str(tmp_path / "items.tsv")
    )
    assert result.returncode == 0, result.stderr
    before = counts(db, services, name)
    assert before == {"users": 3, "items": 3, "interactions": 8, "attributes": 2}
    return name, before


@pytest.mark.fault
@pytest.mark.parametrize(
    ("sequences", "items", "expected"),
    [
        ("1 10 11\n2 10 11 x\n", None, "bad.txt:2: item id 'x' is not an integer"),
        ("1 10 11\n2:10 11\n", None, "bad.txt:2: user id '2:10' is not an integer"),
        ("1 10 11\n2 10 13\n", "item_id\ttitle\n10\tA\n11\tB\n", "bad.txt:2: item 13 of user 2 is missing"),
        (b"1 10 11\n2 10 \xe9\n", None, "bad.txt:2: cannot decode byte 0xe9"),
        ("", None, "bad.txt: file is empty"),
        ("1 10 11\n", "item_id\ttitle\n10\tA\n11\n", "bad-items.tsv:3: expected 2 tab-separated fields"),
    ],
    ids=["non-integer-item", "malformed-line", "item-missing-from-table", "undecodable", "empty", "bad-item-row"],
)
def test_bad_input_names_file_and_line_and_loses_nothing(
    stored_custom: tuple[str, dict[str, int]],
    db: Neo4jGateway,
    services: Settings,
    tmp_path: Path,
    sequences: str | bytes,
    items: str | None,
    expected: str,
) -> None:
    name, before = stored_custom
    bad = tmp_path / "bad.txt"
    bad.write_bytes(sequences if isinstance(sequences, bytes) else sequences.encode())
    args = ["ingest", "--name", name, "--sequences", str(bad)]
    if items is not None:
        (tmp_path / "bad-items.tsv").write_text(items)
        args += ["--items", str(tmp_path / "bad-items.tsv")]
    result = run_cli(*args)
    assert result.returncode == 1
    assert expected in " ".join(result.stderr.split())
    assert counts(db, services, name) == before


@pytest.mark.fault
def test_unknown_dataset_name(services: Settings) -> None:
    result = run_cli("ingest", "movielens-99")
    assert result.returncode == 1
    assert "unknown dataset 'movielens-99'" in " ".join(result.stderr.split())


def test_builtin_names_round_trip() -> None:
    assert set(registry.BUILTINS) == {"ml-1m", "ml-1m-all", "beauty"}


def plan_operators(plan: dict) -> list[str]:
    return [plan["operatorType"], *(op for child in plan.get("children", []) for op in plan_operators(child))]


def test_interaction_merge_plan_expands_from_bound_nodes(services: Settings, db: Neo4jGateway) -> None:
    """Regression: an index on INTERACTED(pos) made the planner seek it on an empty store (quadratic load)."""

    _, summary, _ = db.driver.execute_query(
        "EXPLAIN " + db.query("ingestion/merge_interactions").text, dataset="x", rows=[], database_=db.database
    )
    operators = [op.split("@")[0] for op in plan_operators(summary.plan)]
    assert not [op for op in operators if "RelationshipIndex" in op], operators
    assert sum("NodeUniqueIndexSeek" in op for op in operators) == 2, operators


def test_a_dataset_stored_complete_is_not_written_again_unless_its_content_changed(
    services: Settings, db: Neo4jGateway, tmp_path: Path
) -> None:
    """What the demo loads: a second load of the same content writes nothing; changed content, or a load that
    was cut off (status 'loading'), is written."""
    name = "ensure-stored"
    loader.delete_dataset(db, name)
    (tmp_path / "seq.txt").write_text("1 10 11 12\n2 11 12\n")
    bundle = registry.read_custom(name, tmp_path / "seq.txt", None)
    first = loader.ensure_stored(db, services, bundle, show_progress=False)
    again = loader.ensure_stored(db, services, bundle, show_progress=False)
    assert (first.already_stored, first.batches > 0, again.already_stored, again.batches) == (False, True, True, 0)
    assert (
        (again.users, again.items, again.interactions)
        == (2, 3, 5)
        == tuple(counts(db, services, name)[key] for key in ("users", "items", "interactions"))
    )

    (tmp_path / "seq.txt").write_text("1 10 11 12\n2 11 12 10\n")
    changed = loader.ensure_stored(
        db, services, registry.read_custom(name, tmp_path / "seq.txt", None), show_progress=False
    )
    assert not changed.already_stored and counts(db, services, name)["interactions"] == 6

    db.driver.execute_query("MATCH (d:Dataset {name: $n}) SET d.status = 'loading'", n=name)
    cut_off_bundle = registry.read_custom(name, tmp_path / "seq.txt", None)
    cut_off = loader.ensure_stored(db, services, cut_off_bundle, show_progress=False)
    assert not cut_off.already_stored
    db.run("ingestion/unfinish_dataset", dataset=name)  # a drop cut off after its first step
    assert not loader.ensure_stored(db, services, cut_off_bundle, show_progress=False).already_stored
    assert loader.ensure_stored(db, services, cut_off_bundle, show_progress=False).already_stored
    loader.delete_dataset(db, name)
