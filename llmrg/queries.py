"""The exploration query library (`cypher/queries/*.cypher`): list it, read each query's header, run one.

Each file's header says what it answers (`// Answers: ...`) and its parameters (`// Parameters: ...`); the
same files are what people paste into Neo4j Browser, so the CLI adds nothing to them but parameters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from neo4j.graph import Node, Path, Relationship

import cypher
from core.errors import ConfigError
from core.gateway import Neo4jGateway

FOLDER = "queries"
PARAMETER = re.compile(r"\$(\w+) \(([^)]*)\)")


@dataclass(frozen=True)
class LibraryQuery:
    name: str
    answers: str
    parameters: dict[str, str]
    """Name -> the type the header gives, e.g. {"dataset": "string", "user": "int"}."""


def library() -> list[LibraryQuery]:
    return [describe(name.split("/", 1)[1]) for name in cypher.names(FOLDER)]


def describe(name: str) -> LibraryQuery:
    path = cypher.CYPHER_DIR / FOLDER / f"{name}.cypher"
    if not path.is_file():
        known = ", ".join(query.name for query in library())
        raise ConfigError(f"no library query {name!r}; known: {known}")
    header = [line[2:].strip() for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("//")]
    text = " ".join(header)
    answers = text.split("Answers:", 1)[1].split("Parameters:", 1)[0].strip() if "Answers:" in text else ""
    declared = text.split("Parameters:", 1)[1] if "Parameters:" in text else ""
    return LibraryQuery(name=name, answers=answers, parameters=dict(PARAMETER.findall(declared)))


def parse_parameters(query: LibraryQuery, pairs: list[str]) -> dict[str, Any]:
    """`k=v` pairs: JSON values where they parse (numbers, true, null, lists), text otherwise; every declared
    parameter must be given, and no other."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, separator, raw = pair.partition("=")
        if not separator or not key:
            raise ConfigError(f"--param takes key=value, got {pair!r}")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    unknown = sorted(set(values) - set(query.parameters))
    missing = sorted(set(query.parameters) - set(values))
    if unknown or missing:
        expected = ", ".join(f"{name} ({kind})" for name, kind in query.parameters.items()) or "none"
        raise ConfigError(
            f"query {query.name!r} takes {expected}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    return values


def run_query(db: Neo4jGateway, name: str, pairs: list[str]) -> list[dict[str, Any]]:
    query = describe(name)
    records = db.run(f"{FOLDER}/{name}", **parse_parameters(query, pairs))
    return [_plain(dict(zip(record.keys(), record.values(), strict=True))) for record in records]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """The row as JSON values: temporal values as ISO text; nodes, relationships and paths (from queries meant
    for Browser's graph view) as their labels or type and properties."""
    return {key: _plain_value(value) for key, value in row.items()}


def _plain_value(value: Any) -> Any:
    if isinstance(value, Path):
        return {
            "nodes": [_plain_value(node) for node in value.nodes],
            "relationships": [_plain_value(relationship) for relationship in value.relationships],
        }
    if isinstance(value, Node):
        return {"labels": sorted(value.labels), "properties": _plain(dict(value))}
    if isinstance(value, Relationship):
        return {"type": value.type, "properties": _plain(dict(value))}
    if isinstance(value, list):
        return [_plain_value(item) for item in value]
    if isinstance(value, dict):
        return _plain(value)
    return value.iso_format() if hasattr(value, "iso_format") else value
