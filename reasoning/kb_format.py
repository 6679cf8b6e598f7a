"""The knowledge-base file: item-level reasoning knowledge as versioned, gzipped JSON Lines.

A knowledge base is the costly half of LLMRG (hours of LLM time per thousand users), so it must outlive the
Neo4j it was built in. The file carries verified chains, their causal edges and the items they name; no user
id, history or usage count leaves with it. It is deterministic: the same stored knowledge always writes the
same bytes (records sorted by id, keys sorted, no export time, gzip without name or mtime), so a round trip
through an empty database gives an identical file and the sha256 identifies a knowledge base.

Format version 1, one JSON object per line:

    {"format": "llmrg-knowledge-base", "version": 1, "dataset": D, "model": M | null,
     "prompt_version": V | null, "counts": {"items": n, "chains": n, "edges": n}}
    {"record": "item", "id": 1, "title": "Toy Story (1995)"}                       (every item named below)
    {"record": "chain", "id", "kind", "premises", "target", "recent_premises", "reasons", "status": "verified",
     "score", "evidence": [{"id", "masks", "hits"}, ...], "model", "prompt_version", "created_at",
     "imagined": {"item", "text", "reason", "similarity"} | null}
    {"record": "edge", "id", "source", "target", "reason", "model", "prompt_version", "created_at",
     "chains": [ids of the chains in this file that hold the link source -> target]}

A chain's `kind` is `reasoning`, `divergent` (with its imagined step) or `pair` (one link a -> b from the
item-pair warm start, `llmrg kb warm`, made for no user). `model` and `prompt_version` in the header are the
export's filters (null: all). Evidence records are the
verifications behind a chain (masks asked, masks recovered), each with an id, so merging two knowledge bases
adds only the evidence one of them lacks and a second import adds nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import DataFormatError
from core.vocabulary import ChainKind
from reasoning.chains import Candidate, edge_id
from reasoning.validation import unsafe_text

FORMAT = "llmrg-knowledge-base"
VERSION = 1
R = TypeVar("R", bound=BaseModel)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Header(_Record):
    format: Literal["llmrg-knowledge-base"]
    version: int
    dataset: str = Field(min_length=1)
    model: str | None
    prompt_version: str | None
    counts: dict[Literal["items", "chains", "edges"], int]


class ItemRecord(_Record):
    record: Literal["item"] = "item"
    id: int
    title: str | None


class Evidence(_Record):
    """One verification of a chain: `hits` of its `masks` hidden elements recovered."""

    id: str = Field(min_length=1)
    masks: int = Field(ge=0)
    hits: int = Field(ge=0)

    @model_validator(mode="after")
    def _hits_within_masks(self) -> Evidence:
        if self.hits > self.masks:
            raise ValueError(f"evidence {self.id}: {self.hits} hits of {self.masks} masks")
        return self


class Imagined(_Record):
    item: int
    text: str
    reason: str
    similarity: float


class ChainRecord(_Record):
    record: Literal["chain"] = "chain"
    id: str
    kind: ChainKind
    premises: list[int] = Field(min_length=1)
    target: int
    recent_premises: list[int]
    reasons: list[str]
    status: Literal["verified"]
    score: float
    evidence: list[Evidence] = Field(min_length=1)
    model: str
    prompt_version: str
    created_at: str
    imagined: Imagined | None

    @model_validator(mode="after")
    def _consistent(self) -> ChainRecord:
        if len(self.reasons) != len(self.premises):
            raise ValueError(f"{len(self.reasons)} reasons for {len(self.premises)} links")
        if not set(self.recent_premises) <= set(self.premises):
            raise ValueError("recent_premises must be premises")
        if (self.imagined is not None) != (self.kind is ChainKind.DIVERGENT):
            raise ValueError("a divergent chain, and only one, carries `imagined`")
        if self.imagined is not None and self.imagined.item != self.target:
            raise ValueError("`imagined.item` must be the chain's target")
        for text in (*self.reasons, *((self.imagined.text, self.imagined.reason) if self.imagined else ())):
            if not text.strip() or unsafe_text(text):
                raise ValueError(f"reason {text!r} is empty or unsafe text")
        return self

    @property
    def items(self) -> list[int]:
        return [*self.premises, self.target]

    def expected_id(self, dataset: str) -> str:
        """The id this chain has in `dataset` (ids are derived from content, like the engine's)."""
        candidate = Candidate(dataset, self.kind, tuple(self.premises), self.target, tuple(self.reasons), 0, ())
        return candidate.chain_id(self.model, self.prompt_version)

    def links(self) -> set[tuple[int, int]]:
        return set(pairwise(self.items))


class EdgeRecord(_Record):
    record: Literal["edge"] = "edge"
    id: str
    source: int
    target: int
    reason: str
    model: str
    prompt_version: str
    created_at: str
    chains: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _safe_reason(self) -> EdgeRecord:
        if not self.reason.strip() or unsafe_text(self.reason):
            raise ValueError(f"reason {self.reason!r} is empty or unsafe text")
        return self

    def expected_id(self, dataset: str) -> str:
        return edge_id(dataset, self.source, self.target, self.model, self.prompt_version)


@dataclass(frozen=True)
class KnowledgeBaseFile:
    """A parsed, checked file: records and the line each came from (errors after parsing still name it)."""

    path: Path
    header: Header
    items: dict[int, tuple[int, ItemRecord]]
    chains: list[tuple[int, ChainRecord]]
    edges: list[tuple[int, EdgeRecord]]
    sha256: str


def dumps(record: BaseModel | dict[str, Any]) -> str:
    payload = record.model_dump(mode="json") if isinstance(record, BaseModel) else record
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def write(path: Path, header: Header, records: Iterable[BaseModel]) -> str:
    """Write the file atomically and deterministically; returns its sha256."""
    text = io.StringIO()
    text.write(dumps(header) + "\n")
    for record in records:
        text.write(dumps(record) + "\n")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as packed:
        packed.write(text.getvalue().encode("utf-8"))
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)
    return hashlib.sha256(data).hexdigest()


def read(path: Path) -> KnowledgeBaseFile:
    """Parse and check every line before anything is written: a bad line raises `FILE:LINE: reason`."""
    if not path.is_file():
        raise DataFormatError(path, "no such file")
    data = path.read_bytes()
    lines = iter(_lines(path, data))
    try:
        number, first = next(lines)
    except StopIteration:
        raise DataFormatError(path, "empty file, expected a knowledge-base header", 1) from None
    header = _parse(path, number, first, Header)
    if header.version != VERSION:
        raise DataFormatError(path, f"format version {header.version}; this llmrg reads version {VERSION}", 1)
    items: dict[int, tuple[int, ItemRecord]] = {}
    chains: list[tuple[int, ChainRecord]] = []
    edges: list[tuple[int, EdgeRecord]] = []
    chain_links: dict[str, set[tuple[int, int]]] = {}
    seen_edges: set[str] = set()
    for number, payload in lines:
        kind = payload.get("record")
        if kind == "item":
            item = _parse(path, number, payload, ItemRecord)
            if item.id in items:
                raise DataFormatError(path, f"item {item.id} appears twice", number)
            items[item.id] = (number, item)
        elif kind == "chain":
            chain = _parse(path, number, payload, ChainRecord)
            _check_id(path, number, "chain", chain.id, chain.expected_id(header.dataset), header.dataset)
            if chain.id in chain_links:
                raise DataFormatError(path, f"chain {chain.id} appears twice", number)
            _check_named(path, number, items, chain.items)
            chain_links[chain.id] = chain.links()
            chains.append((number, chain))
        elif kind == "edge":
            edge = _parse(path, number, payload, EdgeRecord)
            _check_id(path, number, "edge", edge.id, edge.expected_id(header.dataset), header.dataset)
            if edge.id in seen_edges:
                raise DataFormatError(path, f"edge {edge.id} appears twice", number)
            seen_edges.add(edge.id)
            _check_named(path, number, items, [edge.source, edge.target])
            for chain_id in edge.chains:
                if (edge.source, edge.target) not in chain_links.get(chain_id, set()):
                    raise DataFormatError(
                        path,
                        f"edge {edge.source} -> {edge.target} names chain {chain_id}, which is not a chain "
                        "above holding that link",
                        number,
                    )
            edges.append((number, edge))
        else:
            raise DataFormatError(path, f"unknown record {kind!r}; expected item, chain or edge", number)
    counted = {"items": len(items), "chains": len(chains), "edges": len(edges)}
    if dict(header.counts) != counted:
        raise DataFormatError(path, f"the header counts {dict(header.counts)} but the file holds {counted}", 1)
    return KnowledgeBaseFile(path, header, items, chains, edges, hashlib.sha256(data).hexdigest())


def combine(parts: Sequence[tuple[KnowledgeBaseFile, frozenset[ChainKind] | None]], out: Path) -> tuple[Header, str]:
    """Write one knowledge base from several files of one dataset: each file's chains of the given kinds (every
    kind for None), the edges those chains support and the items they name. Returns the header and the sha256.

    Why at the file level: a release joins runs made in different databases (the reasoning benchmark's users,
    the item-pair warm start). Chain ids carry the kind, the model and the prompt version; edge ids the model and
    the prompt version only, so a pair and a reasoning chain of one model and prompt can share an edge, which
    then names only the chains the output keeps. One chain id in two files must be one record; an edge in two
    files keeps the first file's reason and date and is supported by the kept chains of both."""
    if not parts:
        raise ValueError("nothing to combine")
    dataset = parts[0][0].header.dataset
    chains: dict[str, ChainRecord] = {}
    edges: dict[str, EdgeRecord] = {}
    items: dict[int, ItemRecord] = {}
    for kb, kinds in parts:
        if kb.header.dataset != dataset:
            raise DataFormatError(kb.path, f"a knowledge base of {kb.header.dataset!r}, not {dataset!r}", 1)
        kept = {chain.id: chain for _, chain in kb.chains if kinds is None or chain.kind in kinds}
        for number, chain in kb.chains:
            if chain.id in kept and chains.setdefault(chain.id, chain) != chain:
                raise DataFormatError(kb.path, f"chain {chain.id} differs from the one an earlier file holds", number)
        for _, edge in kb.edges:
            supported = [chain_id for chain_id in edge.chains if chain_id in kept]
            if not supported:
                continue
            earlier = edges.get(edge.id)
            chains_of = {*(earlier.chains if earlier else ()), *supported}  # never a chain a filter left out
            edges[edge.id] = (earlier or edge).model_copy(update={"chains": sorted(chains_of)})
        named = {item for chain in kept.values() for item in chain.items} | {
            end for _, edge in kb.edges if edge.id in edges for end in (edge.source, edge.target)
        }
        items |= {item: kb.items[item][1] for item in named if item not in items}
    models = {chain.model for chain in chains.values()} | {edge.model for edge in edges.values()}
    versions = {chain.prompt_version for chain in chains.values()} | {edge.prompt_version for edge in edges.values()}
    header = Header(
        format=FORMAT,
        version=VERSION,
        dataset=dataset,
        model=models.pop() if len(models) == 1 else None,
        prompt_version=versions.pop() if len(versions) == 1 else None,
        counts={"items": len(items), "chains": len(chains), "edges": len(edges)},
    )
    records = [
        *(items[item] for item in sorted(items)),
        *(chains[chain] for chain in sorted(chains)),
        *(edges[edge] for edge in sorted(edges)),
    ]
    return header, write(out, header, records)


def _lines(path: Path, data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = gzip.decompress(data).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"not a gzipped UTF-8 knowledge-base file ({exc})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            payload = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(path, f"not JSON ({exc.msg} at column {exc.colno})", number) from None
        if not isinstance(payload, dict):
            raise DataFormatError(path, "expected a JSON object", number)
        yield number, payload


def _parse(path: Path, number: int, payload: dict[str, Any], model: type[R]) -> R:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or model.__name__.removesuffix('Record').lower()}: "
            f"{error['msg']}"
            for error in exc.errors()
        )
        raise DataFormatError(path, problems, number) from None


def _check_id(path: Path, number: int, what: str, found: str, expected: str, dataset: str) -> None:
    if found != expected:
        raise DataFormatError(
            path, f"{what} id {found} does not match its content (expected {expected} in dataset {dataset!r})", number
        )


def _check_named(path: Path, number: int, items: dict[int, tuple[int, ItemRecord]], named: Iterable[int]) -> None:
    missing = sorted(set(named) - set(items))
    if missing:
        raise DataFormatError(path, f"items {missing} have no item record above this line", number)
