"""Moving a knowledge base between databases: export a dataset's verified chains and causal edges to a
knowledge-base file (`reasoning.kb_format`), import one back with its evidence merged.

An import reads and checks the whole file, then checks the dataset and every item it names against the
database, and only then writes, so a bad file loses nothing already stored. Writes MERGE on the chain and
edge ids; a chain already stored keeps its own verification and gains the file's evidence records it lacks
(by id), so importing the same file twice changes nothing. An import never demotes a chain: a chain retired
here stays retired, and a rejected one becomes verified by the file's evidence (a file holds only chains
verified where it was made). Later checks in the engine judge it on all its evidence (`reasoning.evidence`),
and the knowledge-base refresh re-judges chains on the current model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import neo4j

import cypher
from core.errors import DataFormatError, UnknownDatasetError
from core.gateway import Neo4jGateway
from core.vocabulary import ChainStatus
from reasoning import kb_format, store
from reasoning.evidence import evidence_properties, merge_evidence, stored_evidence
from reasoning.kb_format import ChainRecord, EdgeRecord, Header, ItemRecord, KnowledgeBaseFile

WRITE_BATCH = 500
"""Chains or edges per import transaction."""


@dataclass(frozen=True)
class TransferReport:
    """What `llmrg kb export` / `llmrg kb import` print; `created` and `merged` only for an import
    (chains and edges new to the database, and those it already held)."""

    dataset: str
    path: Path
    chains: int
    edges: int
    items: int
    sha256: str
    created: int | None = None
    merged: int | None = None

    def as_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "dataset": self.dataset,
            "path": str(self.path),
            "chains": self.chains,
            "edges": self.edges,
            "items": self.items,
            "sha256": self.sha256,
        }
        if self.created is not None:
            payload |= {"created": self.created, "merged": self.merged}
        return payload


def export_knowledge_base(
    db: Neo4jGateway, dataset: str, out: Path, *, model: str | None = None, prompt_version: str | None = None
) -> TransferReport:
    """Write the dataset's verified chains (of `model` / `prompt_version` when given), the edges they support
    and the items they name to `out`."""
    _require_dataset(db, dataset)
    filters = {"dataset": dataset, "model": model, "prompt_version": prompt_version}
    chains = [_chain_record(record) for record in db.run("kb/export_chains", **filters)]
    edges = [EdgeRecord.model_validate(dict(record)) for record in db.run("kb/export_edges", **filters)]
    named = sorted(
        {item for chain in chains for item in chain.items} | {e.source for e in edges} | {e.target for e in edges}
    )
    items = [
        ItemRecord(id=int(record["id"]), title=record["title"])
        for record in db.run("kb/fetch_items", dataset=dataset, ids=named)
    ]
    header = Header(
        format="llmrg-knowledge-base",
        version=kb_format.VERSION,
        dataset=dataset,
        model=model,
        prompt_version=prompt_version,
        counts={"items": len(items), "chains": len(chains), "edges": len(edges)},
    )
    sha256 = kb_format.write(out, header, [*items, *chains, *edges])
    return TransferReport(dataset, out, len(chains), len(edges), len(items), sha256)


def import_knowledge_base(db: Neo4jGateway, path: Path, dataset: str | None = None) -> TransferReport:
    """Check the whole file against the database, then MERGE it into `dataset` (default: the file's)."""
    kb = kb_format.read(path)
    target = dataset or kb.header.dataset
    _require_dataset(db, target)
    if target != kb.header.dataset:
        kb = _renamed(kb, target)
    _check_items(db, kb, target)
    stored_chains = {
        str(record["id"]): record for record in db.run("kb/fetch_chain_evidence", ids=[c.id for _, c in kb.chains])
    }
    stored_edges = {str(record["id"]) for record in db.run("kb/fetch_edge_ids", ids=[e.id for _, e in kb.edges])}
    chain_rows = [_chain_row(chain, stored_chains.get(chain.id)) for _, chain in kb.chains]
    edge_rows = [edge.model_dump(mode="json", exclude={"record"}) for _, edge in kb.edges]
    for batch in _batches(chain_rows):
        _write(db, "kb/import_chains", target, batch)
    merged_ids = list(stored_chains)  # merged evidence can move a stored chain's verdict; its links follow it
    for start in range(0, len(merged_ids), WRITE_BATCH):
        db.run("reasoning/relink_users", chain_ids=merged_ids[start : start + WRITE_BATCH])
    for batch in _batches(edge_rows):
        _write(db, "kb/import_edges", target, batch)
    merged = len(stored_chains) + len(stored_edges)
    return TransferReport(
        target,
        path,
        len(kb.chains),
        len(kb.edges),
        len(kb.items),
        kb.sha256,
        created=len(kb.chains) + len(kb.edges) - merged,
        merged=merged,
    )


def _chain_record(record: Any) -> ChainRecord:
    return ChainRecord(
        id=record["id"],
        kind=record["kind"],
        premises=record["premises"],
        target=record["target"],
        recent_premises=record["recent_premises"],
        reasons=record["reasons"],
        status="verified",
        score=float(record["score"]),
        evidence=stored_evidence(record),
        model=record["model"],
        prompt_version=record["prompt_version"],
        created_at=record["created_at"],
        imagined=record["imagined"],
    )


def _chain_row(chain: ChainRecord, stored: Any | None) -> dict[str, Any]:
    """One `$rows` entry of `kb/import_chains.cypher`."""
    created = {
        "kind": chain.kind.value,
        "target": chain.target,
        "premises": chain.premises,
        "items": chain.items,
        "recent_premises": chain.recent_premises,
        "score": chain.score,
        "status": chain.status,
        "model": chain.model,
        "prompt_version": chain.prompt_version,
    } | evidence_properties(chain.evidence)
    merged: dict[str, Any] = {}
    if stored is not None:
        before = stored_evidence(stored)
        after = merge_evidence(before, chain.evidence)
        if len(after) > len(before):
            merged = evidence_properties(after)
            merged["score"] = 100.0 * merged["hits"] / merged["masks"] if merged["masks"] else 0.0
        if stored["status"] == ChainStatus.REJECTED.value:  # the file's verification, as the engine's would
            merged |= {"status": ChainStatus.VERIFIED.value, "reject_reason": None}
    return {
        "id": chain.id,
        "created": created,
        "created_at": chain.created_at,
        "merged": merged,
        "steps": store.step_rows(chain.items, chain.reasons),
        "imagined": chain.imagined.model_dump() if chain.imagined else None,
    }


def _write(db: Neo4jGateway, statement: str, dataset: str, rows: list[dict[str, Any]]) -> None:
    @neo4j.unit_of_work(timeout=db.query_timeout_s)
    def work(tx: neo4j.ManagedTransaction) -> None:
        tx.run(cypher.load(statement), dataset=dataset, rows=rows).consume()

    with db.session() as session:
        session.execute_write(work)


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), WRITE_BATCH):
        yield rows[start : start + WRITE_BATCH]


def _require_dataset(db: Neo4jGateway, dataset: str) -> None:
    if not db.run("kb/dataset_status", dataset=dataset):
        raise UnknownDatasetError(f"dataset {dataset!r} is not stored; ingest it first (llmrg ingest)")


def _check_items(db: Neo4jGateway, kb: KnowledgeBaseFile, dataset: str) -> None:
    """Every item the file names exists in `dataset` under the same title (a file made for another id mapping
    would otherwise attach its reasons to the wrong items)."""
    stored = {
        int(record["id"]): record["title"] for record in db.run("kb/fetch_items", dataset=dataset, ids=list(kb.items))
    }
    for item_id, (line, item) in sorted(kb.items.items(), key=lambda entry: entry[1][0]):
        if item_id not in stored:
            raise DataFormatError(kb.path, f"item {item_id} is not in dataset {dataset!r}", line)
        if item.title is not None and stored[item_id] is not None and item.title != stored[item_id]:
            raise DataFormatError(
                kb.path,
                f"item {item_id} is {item.title!r} in the file but {stored[item_id]!r} in dataset {dataset!r}",
                line,
            )


def _renamed(kb: KnowledgeBaseFile, dataset: str) -> KnowledgeBaseFile:
    """The file's records with ids derived for `dataset` (ids hash the dataset name, like the engine's)."""
    chain_ids = {chain.id: chain.expected_id(dataset) for _, chain in kb.chains}
    chains = [(line, chain.model_copy(update={"id": chain_ids[chain.id]})) for line, chain in kb.chains]
    edges = [
        (line, edge.model_copy(update={"id": edge.expected_id(dataset), "chains": [chain_ids[c] for c in edge.chains]}))
        for line, edge in kb.edges
    ]
    header = kb.header.model_copy(update={"dataset": dataset})
    return KnowledgeBaseFile(kb.path, header, kb.items, chains, edges, kb.sha256)
