"""Knowledge-base files against the real Neo4j: an exact round trip through an empty database, idempotent
imports that merge evidence by id, and bad files refused by line with nothing written."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from core.errors import DataFormatError
from core.gateway import Neo4jGateway
from core.settings import Settings
from core.vocabulary import ChainKind, ChainStatus
from ingestion import loader, registry
from reasoning import kb_transfer, store
from reasoning.chains import Candidate, Rejection, ScoredChain
from reasoning.knowledge_base import EdgeHit
from tests.conftest import run_cli
from tests.reasoning.test_reasoning import ITEMS as REASONING_ITEMS

pytestmark = pytest.mark.integration

DATASET = "kb-fixture"
ITEMS = REASONING_ITEMS  # items 8 and 9 appear in no history, so ingestion leaves them out
SEQUENCES = "1 1 2 3 4 5\n2 3 4 5 6 7\n"
MODEL, PROMPT = "scripted-model", "chain/v3"


def ingest(
    db: Neo4jGateway, settings: Settings, folder: Path, name: str, items: str = ITEMS, sequences: str = SEQUENCES
) -> None:
    loader.delete_dataset(db, name)
    (folder / "items.tsv").write_text(items)
    (folder / "seq.txt").write_text(sequences)
    bundle = registry.read_custom(name, folder / "seq.txt", folder / "items.tsv")
    loader.write_dataset(db, settings, bundle, show_progress=False)


@pytest.fixture()
def dataset(services: Settings, db: Neo4jGateway, tmp_path: Path) -> str:
    ingest(db, services, tmp_path, DATASET)
    return DATASET


def chain(
    premises: tuple[int, ...],
    target: int,
    *,
    status: ChainStatus = ChainStatus.VERIFIED,
    hits: int = 2,
    kind: ChainKind = ChainKind.REASONING,
    dataset: str = DATASET,
) -> ScoredChain:
    reasons = tuple(f"link {a} then {b}" for a, b in pairwise((*premises, target)))
    candidate = Candidate(dataset, kind, premises, target, reasons, t=len(premises), recent_premises=premises[-1:])
    rejection = Rejection.LOW_SCORE if status is ChainStatus.REJECTED else None
    return ScoredChain(candidate, status, 100.0 * hits / 2, masks=2, hits=hits, reject_reason=rejection)


def reason_by_hand(db: Neo4jGateway, dataset: str = DATASET) -> None:
    """What the engine stores for two users: verified chains sharing links, a divergent chain with its imagined
    item, a rejected chain, and a step answered from an edge (a one-link chain marked from_edge)."""

    def write(user: int, scored: ScoredChain, **extra: Any) -> None:
        store.write_chain(db, user, scored, model=MODEL, prompt_version=PROMPT, tau=50.0, **extra)

    write(1, chain((1, 2), 3))
    write(1, chain((2, 3), 4, hits=1))
    write(2, chain((3, 4), 5))
    write(2, chain((3,), 4))
    write(1, chain((4,), 1, status=ChainStatus.REJECTED, hits=0))
    imagined = {"item": 7, "text": "a mafia sequel", "reason": "more of the family saga", "similarity": 0.71}
    write(2, chain((5, 6), 7, kind=ChainKind.DIVERGENT), imagined=imagined)
    (edge,) = query(db, "MATCH (e:Edge {dataset: $d, source: 1, target: 2}) RETURN e.id AS id", d=dataset)
    hit = EdgeHit(str(edge["id"]), 1, 2, "link 1 then 2", 1, t=1)
    store.link_edge_chain(db, dataset, 1, hit, model=MODEL, prompt_version=PROMPT)


def query(db: Neo4jGateway, statement: str, **parameters: object) -> list[dict[str, Any]]:
    return [record.data() for record in db.driver.execute_query(statement, parameters_=parameters).records]


def counts(db: Neo4jGateway, dataset: str = DATASET) -> dict[str, Any]:
    (record,) = query(
        db,
        """
        MATCH (d:Dataset {name: $d})
        RETURN COUNT { MATCH (c:Chain {dataset: $d}) } AS chains,
               COUNT { MATCH (:Chain {dataset: $d})-[:STEP]->() } AS steps,
               COUNT { MATCH (:Chain {dataset: $d})-[:IMAGINED]->() } AS imagined,
               COUNT { MATCH (e:Edge {dataset: $d}) } AS edges,
               COUNT { MATCH (:Edge {dataset: $d})-[:SUPPORTED_BY]->() } AS supports,
               COLLECT { MATCH (e:Edge {dataset: $d}) RETURN [e.source, e.target, e.support] ORDER BY e.id } AS support
        """,
        d=dataset,
    )
    return dict(record)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines()]


def rewrite(path: Path, change: Callable[[list[dict[str, Any]]], None]) -> Path:
    records = lines(path)
    change(records)
    out = path.with_name("changed-" + path.name)
    out.write_bytes(gzip.compress("".join(json.dumps(record) + "\n" for record in records).encode()))
    return out


def test_a_round_trip_through_an_empty_database_gives_the_identical_file(
    dataset: str, db: Neo4jGateway, tmp_path: Path
) -> None:
    reason_by_hand(db)
    first = kb_transfer.export_knowledge_base(db, dataset, tmp_path / "kb.jsonl.gz")
    # verified chains without the from_edge one: [1,2,3] [2,3,4] [3,4,5] [3,4] [5,6,7]; edges of the reasoning
    # chains and of the divergent chain's chosen link 5 -> 6; every item named
    assert (first.chains, first.edges, first.items) == (5, 5, 7)
    records = lines(first.path)
    assert records[0] == {
        "format": "llmrg-knowledge-base",
        "version": 1,
        "dataset": dataset,
        "model": None,
        "prompt_version": None,
        "counts": {"items": 7, "chains": 5, "edges": 5},
    }
    assert all("user" not in json.dumps(record) for record in records)
    (divergent,) = [r for r in records if r.get("kind") == "divergent"]
    assert divergent["imagined"] == {
        "item": 7,
        "text": "a mafia sequel",
        "reason": "more of the family saga",
        "similarity": 0.71,
    }
    (shared,) = [r for r in records if r.get("record") == "edge" and (r["source"], r["target"]) == (3, 4)]
    assert len(shared["chains"]) == 3  # [2,3,4], [3,4,5] and [3,4]
    before = counts(db)

    store.delete_chains(db, dataset)
    assert counts(db)["chains"] == 0
    imported = kb_transfer.import_knowledge_base(db, first.path)
    assert (imported.created, imported.merged, imported.sha256) == (10, 0, first.sha256)
    again = kb_transfer.export_knowledge_base(db, dataset, tmp_path / "again.jsonl.gz")
    assert again.path.read_bytes() == first.path.read_bytes()
    assert again.sha256 == first.sha256

    after_first = counts(db)
    second = kb_transfer.import_knowledge_base(db, first.path)
    assert (second.created, second.merged) == (0, 10)
    assert counts(db) == after_first
    # the rejected and from_edge chains stay behind; every edge keeps its support
    assert after_first["support"] == before["support"]
    assert (after_first["chains"], before["chains"]) == (5, 7)


def test_an_import_adds_the_evidence_the_database_lacks_once(dataset: str, db: Neo4jGateway, tmp_path: Path) -> None:
    reason_by_hand(db)
    exported = kb_transfer.export_knowledge_base(db, dataset, tmp_path / "kb.jsonl.gz", model=MODEL)

    def elsewhere(records: list[dict[str, Any]]) -> None:  # the same chains verified in another database
        for record in records:
            if record.get("record") == "chain":
                record["evidence"] = [{"id": "other-" + record["id"], "masks": 3, "hits": 3}]

    other = rewrite(exported.path, elsewhere)
    store.delete_chains(db, dataset)
    for scored in (chain((1, 2), 3, hits=1), chain((2, 3), 4, status=ChainStatus.REJECTED, hits=0)):
        store.write_chain(db, 1, scored, model=MODEL, prompt_version=PROMPT, tau=50.0)  # verified at 1 of 2, rejected

    report = kb_transfer.import_knowledge_base(db, other)
    # stored: chains [1,2,3] and [2,3,4], edges 1 -> 2 and 2 -> 3 (a rejection writes no edge)
    assert (report.created, report.merged) == (3 + 3, 2 + 2)
    stored = {
        tuple(record["items"]): dict(record)
        for record in query(
            db,
            "MATCH (c:Chain {dataset: $d}) RETURN c.items AS items, c.status AS status, c.masks AS masks, "
            "c.hits AS hits, c.score AS score, size(c.evidence_ids) AS records",
            d=dataset,
        )
    }
    assert stored[(1, 2, 3)] == {
        "items": [1, 2, 3],
        "status": "verified",
        "masks": 5,
        "hits": 4,
        "score": 80.0,
        "records": 2,
    }
    assert stored[(2, 3, 4)] | {"score": None} == {
        "items": [2, 3, 4],
        "status": "verified",
        "masks": 5,
        "hits": 3,
        "score": None,
        "records": 2,
    }
    assert stored[(3, 4, 5)]["masks"] == 3  # new here: the file's evidence only
    links = query(
        db,
        "MATCH (:User {dataset: $d, id: 1})-[l]->(c:Chain) RETURN c.items AS items, type(l) AS link ORDER BY items",
        d=dataset,
    )
    # user 1's rejected chain is verified on the file's evidence, and the user's link follows it
    assert [(record["items"], record["link"]) for record in links] == [
        ([1, 2, 3], "HAS_CHAIN"),
        ([2, 3, 4], "HAS_CHAIN"),
    ]
    before = counts(db)
    again = kb_transfer.import_knowledge_base(db, other)
    assert (again.created, again.merged) == (0, 10)
    assert counts(db) == before
    assert query(db, "MATCH (c:Chain {dataset: $d, items: [1, 2, 3]}) RETURN c.masks AS m", d=dataset)[0]["m"] == 5
    merged = lines(kb_transfer.export_knowledge_base(db, dataset, tmp_path / "merged.jsonl.gz").path)
    (first_chain,) = [r for r in merged if r.get("premises") == [1, 2]]
    assert [e["masks"] for e in first_chain["evidence"]] == [2, 3]


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (lambda r: r[0].update(version=2), 1, "format version 2; this llmrg reads version 1"),
        (lambda r: r[1].update(title="Toy Story 3 (2010)"), 2, "is 'Toy Story 3 (2010)' in the file"),
        (lambda r: r[8].update(id="0" * 24), 9, "does not match its content"),
        (lambda r: r[8].update(reasons=["MATCH (n) DETACH DELETE n"] * len(r[8]["reasons"])), 9, "unsafe text"),
        (lambda r: r[-1].update(chains=["0" * 24]), 18, "not a chain above holding that link"),
        (lambda r: r.insert(5, {"record": "cast", "id": 1}), 6, "unknown record 'cast'"),
        (lambda r: r[0]["counts"].update(edges=9), 1, "the header counts"),
    ],
)
def test_a_bad_file_is_refused_by_line_and_writes_nothing(
    dataset: str,
    db: Neo4jGateway,
    tmp_path: Path,
    change: Callable[[list[dict[str, Any]]], None],
    line: int,
    message: str,
) -> None:
    reason_by_hand(db)
    exported = kb_transfer.export_knowledge_base(db, dataset, tmp_path / "kb.jsonl.gz")
    store.delete_chains(db, dataset)
    bad = rewrite(exported.path, change)
    with pytest.raises(DataFormatError, match=re.escape(message)) as raised:
        kb_transfer.import_knowledge_base(db, bad)
    assert str(raised.value).startswith(f"{bad}:{line}: ")
    assert (counts(db)["chains"], counts(db)["edges"]) == (0, 0)


def test_the_cli_exports_and_imports_with_the_documented_shapes(
    dataset: str, services: Settings, db: Neo4jGateway, tmp_path: Path
) -> None:
    reason_by_hand(db)
    out = tmp_path / "kb.jsonl.gz"
    exported = run_cli("kb", "export", "--dataset", dataset, "--out", str(out), "--json")
    assert exported.returncode == 0, exported.stderr
    shape = json.loads(exported.stdout)
    assert {key: shape[key] for key in ("chains", "edges", "items")} == {"chains": 5, "edges": 5, "items": 7}
    assert len(shape["sha256"]) == 64
    ingest(db, services, tmp_path, "kb-copy")  # the same catalogue under another name: ids derived for it
    imported = run_cli("kb", "import", str(out), "--dataset", "kb-copy", "--json")
    assert imported.returncode == 0, imported.stderr
    payload = json.loads(imported.stdout)
    assert {key: payload[key] for key in ("chains", "edges", "items", "sha256", "created", "merged")} == {
        "chains": 5,
        "edges": 5,
        "items": 7,
        "sha256": shape["sha256"],
        "created": 10,
        "merged": 0,
    }
    assert sorted(counts(db, "kb-copy")["support"]) == sorted(counts(db)["support"])
    refused = run_cli("kb", "import", str(tmp_path / "missing.jsonl.gz"), "--json")
    assert refused.returncode == 1
    assert "missing.jsonl.gz:nosuchfile" in "".join(refused.stderr.split())  # rich wraps long lines
    loader.delete_dataset(db, "kb-copy")


def test_an_item_the_dataset_lacks_is_refused_on_its_line(
    dataset: str, services: Settings, db: Neo4jGateway, tmp_path: Path
) -> None:
    reason_by_hand(db)
    exported = kb_transfer.export_knowledge_base(db, dataset, tmp_path / "kb.jsonl.gz")
    ingest(db, services, tmp_path, "kb-small", ITEMS.rsplit("7\t", 1)[0], SEQUENCES.removesuffix(" 7\n"))  # no 7
    with pytest.raises(DataFormatError, match="item 7 is not in dataset 'kb-small'") as raised:
        kb_transfer.import_knowledge_base(db, exported.path, "kb-small")
    assert str(raised.value).startswith(f"{exported.path}:8: ")
    assert counts(db, "kb-small")["chains"] == 0
    loader.delete_dataset(db, "kb-small")
