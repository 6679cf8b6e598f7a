"""A training snapshot: one self-describing file with everything training reads from Neo4j, so a model trains
where the database is not (a worker on another machine, a GPU box) and gives the same result (tested).

`llmrg export --dataset D --out FILE` writes it; `llmrg train --snapshot FILE` trains from it. The file is
gzip-compressed JSON (written with a fixed gzip timestamp, so the same graph gives the same bytes):

    format, version       "llmrg-training-snapshot", 1
    dataset               the dataset's name
    items                 ids: catalogue id of item index k at [k - 1] (indices 1..n, ascending catalogue id);
                          attributes: `kind:name` of feature id f at [f - 1]; features: per item index 0..n its
                          feature ids (row 0 the padding item), or null when the dataset has no attributes
    users, sequences      user ids and each user's time-ordered item indices
    chain_links           every (user, chain, link type) with the earliest step t, the chain's kind and status
                          and its items (catalogue ids): [user, t, via, kind, status, chain, items]
    causal_edges          the knowledge base's verified causal edges [source, target] (catalogue ids), sorted;
                          version 2 on (a version 1 file reads as none)
    counts                users, items, interactions, chains (distinct chain ids)
    sha256                SHA-256 of the canonical JSON of everything above (not of `created_at`)

Chain links are kept with their status and link type, and each variant's rule (which statuses enter, and
whether a rejected chain's `PROPOSED` link counts) is applied on loading, exactly as
`cypher/export/export_user_chains.cypher` applies it in the database, so one snapshot serves every variant.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from core.errors import ConfigError, DataFormatError
from core.gateway import Neo4jGateway
from core.vocabulary import ACCEPTED_STATUSES, GRAPH_OF_CHAIN, ChainKind, ChainStatus
from gnn.data import SequenceData
from gnn.export import Export, UserEdges, add_chain, as_edges, export_dataset

FORMAT = "llmrg-training-snapshot"
VERSION = 2
READABLE_VERSIONS = (1, 2)
HAS_CHAIN, PROPOSED = "HAS_CHAIN", "PROPOSED"
REASONED_STATUSES = (ChainStatus.VERIFIED.value, ChainStatus.UNVERIFIED.value)

ChainLink = tuple[int, int, str, str, str, str, list[int]]
"""(user, t, via, kind, status, chain id, chain items as catalogue ids)."""


@dataclass(frozen=True)
class Snapshot:
    """A loaded (and verified) snapshot; `export(statuses)` is what `gnn.export.export_dataset` would return."""

    dataset: str
    item_ids: list[int]
    attributes: list[str]
    features: list[list[int]] | None
    users: list[int]
    sequences: list[list[int]]
    chain_links: list[ChainLink]
    sha256: str
    causal_edges: tuple[tuple[int, int], ...] = ()

    def summary(self) -> dict[str, Any]:
        """The `llmrg export --json` record."""
        return {**counts(self.users, self.item_ids, self.sequences, self.chain_links), "sha256": self.sha256}

    def export(self, statuses: Collection[str] = ACCEPTED_STATUSES) -> Export:
        features = None if self.features is None else torch.tensor(self.features, dtype=torch.long)
        data = SequenceData(
            dataset=self.dataset,
            n_items=len(self.item_ids),
            sequences=dict(zip(self.users, self.sequences, strict=True)),
            item_features=features,
            n_features=len(self.attributes) if features is not None else 0,
        )
        edges, links = chain_edges(self.chain_links, statuses, {item: k for k, item in enumerate(self.item_ids, 1)})
        return Export(
            data=data,
            item_ids=torch.tensor(self.item_ids, dtype=torch.long),
            attributes=tuple(self.attributes),
            edges=edges,
            chain_links=links,
            causal_edges=self.causal_edges,
        )

    def reasoned_users(self) -> set[int]:
        """Users holding an accepted reasoning chain (`cypher/export/reasoned_users.cypher`)."""
        return {
            user
            for user, _, via, kind, status, _, _ in self.chain_links
            if via == HAS_CHAIN and kind == ChainKind.REASONING.value and status in REASONED_STATUSES
        }


def admitted(via: str, status: str, statuses: Collection[str]) -> bool:
    """The rule of `export_user_chains.cypher`: the status enters, by `HAS_CHAIN`, or by `PROPOSED` when the
    variant admits rejected chains (w/o verification)."""
    return status in statuses and (via == HAS_CHAIN or ChainStatus.REJECTED.value in statuses)


def chain_edges(
    chain_links: Sequence[ChainLink], statuses: Collection[str], index_of: dict[int, int]
) -> tuple[dict[str, dict[int, UserEdges]], dict[str, int]]:
    """Per graph kind and user, the edges of the admitted chains, each at the earliest t that made it; and the
    admitted (user, chain) links per kind."""
    earliest_link: dict[tuple[int, str], tuple[int, str, list[int]]] = {}
    for user, t, via, kind, status, chain, items in chain_links:
        if admitted(via, status, statuses):
            known = earliest_link.get((user, chain))
            if known is None or t < known[0]:
                earliest_link[(user, chain)] = (t, kind, items)
    earliest: dict[str, dict[int, dict[tuple[int, int], int]]] = {graph: {} for graph in GRAPH_OF_CHAIN.values()}
    links = dict.fromkeys(GRAPH_OF_CHAIN.values(), 0)
    for (user, _), (t, kind, items) in earliest_link.items():
        graph = GRAPH_OF_CHAIN[kind]
        links[graph] += 1
        add_chain(earliest[graph].setdefault(user, {}), items, t, index_of)
    edges = {
        graph: {user: as_edges(found) for user, found in sorted(by_user.items())} for graph, by_user in earliest.items()
    }
    return edges, links


def counts(
    users: Sequence[int], item_ids: Sequence[int], sequences: Sequence[Sequence[int]], links: Sequence[ChainLink]
) -> dict[str, int]:
    return {
        "users": len(users),
        "items": len(item_ids),
        "interactions": sum(len(sequence) for sequence in sequences),
        "chains": len({link[5] for link in links}),
    }


def _content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def read_chain_links(db: Neo4jGateway, dataset: str, users: Sequence[int], page_size: int = 5000) -> list[ChainLink]:
    links: list[ChainLink] = []
    for start in range(0, len(users), page_size):
        after = users[start - 1] if start else -(2**62)
        for record in db.run("export/export_user_chain_links", dataset=dataset, after=after, limit=page_size):
            links.append(
                (
                    int(record["user"]),
                    int(record["t"]),
                    str(record["via"]),
                    str(record["kind"]),
                    str(record["status"]),
                    str(record["chain"]),
                    [int(item) for item in record["items"]],
                )
            )
    return links


def write_snapshot(db: Neo4jGateway, dataset: str, path: Path, progress: bool = False) -> Snapshot:
    """Export `dataset` from Neo4j into the snapshot file `path` (replaced atomically)."""
    export = export_dataset(db, dataset, progress=progress)
    data = export.data
    users = sorted(data.sequences)
    return _write(
        Snapshot(
            dataset=dataset,
            item_ids=export.item_ids.tolist(),
            attributes=list(export.attributes),
            features=None if data.item_features is None else data.item_features.tolist(),
            users=users,
            sequences=[list(data.sequences[user]) for user in users],
            chain_links=read_chain_links(db, dataset, users),
            sha256="",
            causal_edges=export.causal_edges,
        ),
        path,
    )


def with_causal_edges(snapshot: Snapshot, edges: Collection[tuple[int, int]], path: Path) -> Snapshot:
    """`snapshot` with `edges` (catalogue ids) as its knowledge base, written to `path`: how a released
    knowledge-base file joins a snapshot without a database (`bench.reproduce`). Every edge must name items of
    the snapshot."""
    known = set(snapshot.item_ids)
    unknown = sorted({item for edge in edges for item in edge} - known)
    if unknown:
        raise ConfigError(
            f"causal edges name {len(unknown)} items that dataset {snapshot.dataset!r} lacks: {unknown[:5]}"
        )
    return _write(replace(snapshot, causal_edges=tuple(sorted({(int(a), int(b)) for a, b in edges}))), path)


def _write(snapshot: Snapshot, path: Path) -> Snapshot:
    content: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "dataset": snapshot.dataset,
        "items": {"ids": snapshot.item_ids, "attributes": snapshot.attributes, "features": snapshot.features},
        "users": snapshot.users,
        "sequences": snapshot.sequences,
        "chain_links": [list(link) for link in snapshot.chain_links],
        "causal_edges": [list(edge) for edge in snapshot.causal_edges],
    }
    content["counts"] = counts(snapshot.users, snapshot.item_ids, snapshot.sequences, snapshot.chain_links)
    digest = _content_hash(content)
    document = {**content, "sha256": digest, "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as compressed:
        compressed.write(json.dumps(document, separators=(",", ":")).encode())
    partial.replace(path)
    return load_snapshot(path)


def load_snapshot(path: Path) -> Snapshot:
    """Read and verify a snapshot: format, version, content hash and shape, each failure naming the file."""
    try:
        with gzip.open(path, "rb") as compressed:
            document = json.loads(compressed.read())
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such snapshot (write one with `llmrg export --dataset D --out {path}`)"
        ) from None
    except (OSError, json.JSONDecodeError, EOFError) as exc:
        raise DataFormatError(path, f"not a gzip-compressed JSON snapshot ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataFormatError(path, f"not an LLMRG training snapshot (format {document.get('format')!r})")
    if document.get("version") not in READABLE_VERSIONS:
        readable = ", ".join(map(str, READABLE_VERSIONS))
        raise DataFormatError(path, f"snapshot version {document.get('version')}, this LLMRG reads {readable}")
    stated = document.pop("sha256", None)
    document.pop("created_at", None)
    if stated != _content_hash(document):
        raise DataFormatError(path, "content does not match its sha256 (the file is damaged or was edited)")
    items = document["items"]
    if len(document["users"]) != len(document["sequences"]):
        raise DataFormatError(path, f"{len(document['users'])} users but {len(document['sequences'])} sequences")
    return Snapshot(
        dataset=str(document["dataset"]),
        item_ids=[int(item) for item in items["ids"]],
        attributes=[str(name) for name in items["attributes"]],
        features=items["features"],
        users=[int(user) for user in document["users"]],
        sequences=document["sequences"],
        chain_links=[
            (int(u), int(t), str(v), str(k), str(s), str(c), list(i)) for u, t, v, k, s, c, i in document["chain_links"]
        ],
        sha256=str(stated),
        causal_edges=tuple((int(a), int(b)) for a, b in document.get("causal_edges", ())),
    )
