"""Neo4j access shared by every room: the driver, statements with timeouts, and the schema.

The driver is built here from the settings and passed in to whatever needs it; nothing else constructs one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import neo4j
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

import cypher
from llmrg.errors import ServiceError
from llmrg.settings import Settings

SCHEMA_FOLDER = "schema"


def query(name: str, timeout_s: float | None = None) -> neo4j.Query:
    """The statement `cypher/<name>.cypher` wrapped with a server-side timeout."""
    return neo4j.Query(cypher.load(name), timeout=timeout_s)


def connect(settings: Settings) -> neo4j.Driver:
    """A verified driver the caller closes (long-lived processes such as workers keep one).

    Fails fast with a readable message when Neo4j is unreachable or the password is wrong."""
    driver = neo4j.GraphDatabase.driver(
        settings.neo4j_uri,
        auth=(settings.neo4j_username, settings.resolved_neo4j_password()),
        connection_timeout=settings.neo4j_connect_timeout_s,
        notifications_min_severity="OFF",
    )
    try:
        driver.verify_connectivity()
    except AuthError:
        driver.close()
        raise ServiceError(
            f"Neo4j at {settings.neo4j_uri} rejected user {settings.neo4j_username!r}: "
            "wrong NEO4J_USERNAME / NEO4J_PASSWORD"
        ) from None
    except (ServiceUnavailable, OSError) as exc:
        driver.close()
        raise ServiceError(
            f"Neo4j is not reachable at {settings.neo4j_uri} ({exc}); start it with `llmrg up` or set NEO4J_URI"
        ) from None
    return driver


@contextmanager
def open_driver(settings: Settings) -> Iterator[neo4j.Driver]:
    """A verified driver, closed on exit."""
    driver = connect(settings)
    try:
        yield driver
    finally:
        driver.close()


def run(driver: neo4j.Driver, settings: Settings, name: str, **parameters: Any) -> list[neo4j.Record]:
    """Run one named statement in its own auto-retried transaction and return its records."""
    records, _, _ = driver.execute_query(
        query(name, settings.neo4j_query_timeout_s),
        parameters_=parameters,
        database_=settings.neo4j_database,
    )
    return records


def schema_statements() -> list[tuple[str, str]]:
    """(file name, statement) for every schema statement, in a stable order."""
    return [(name, statement) for name in cypher.names(SCHEMA_FOLDER) for statement in cypher.load_all(name)]


def expected_schema_names() -> set[str]:
    """Names of the constraints and indexes the schema files create (`CREATE ... <name> IF NOT EXISTS`)."""
    names = set()
    for _, statement in schema_statements():
        words = statement.split()
        names.add(words[words.index("IF") - 1])
    return names


def apply_schema(driver: neo4j.Driver, settings: Settings) -> int:
    """Create every constraint and index idempotently (`IF NOT EXISTS`); returns the statement count."""
    statements = schema_statements()
    for name, statement in statements:
        try:
            driver.execute_query(neo4j.Query(statement), database_=settings.neo4j_database)
        except Neo4jError as exc:
            raise ServiceError(f"applying cypher/{name}.cypher failed: {exc.message}") from exc
    run(driver, settings, "admin/await_indexes")
    return len(statements)


def present_schema_names(driver: neo4j.Driver, settings: Settings) -> set[str]:
    constraints = {record["name"] for record in run(driver, settings, "admin/show_constraints")}
    indexes = {record["name"] for record in run(driver, settings, "admin/show_indexes")}
    return constraints | indexes


def as_dicts(records: list[neo4j.Record]) -> list[Mapping[str, Any]]:
    return [record.data() for record in records]
