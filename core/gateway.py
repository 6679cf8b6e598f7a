"""The Neo4j gateway: one small object, built once per process and handed to whatever talks to the graph.

It holds what every statement needs, the driver, the database and the server-side timeout, so callers pass
one object instead of a driver plus the whole settings, and nothing else constructs a driver.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import neo4j
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

import cypher
from core.errors import ServiceError
from core.settings import Settings

SCHEMA_FOLDER = "schema"


class Neo4jGateway:
    """Named statements from `cypher/` run against one database, each with the configured timeout."""

    def __init__(self, driver: neo4j.Driver, database: str, query_timeout_s: float | None) -> None:
        self.driver = driver
        self.database = database
        self.query_timeout_s = query_timeout_s

    def query(self, name: str) -> neo4j.Query:
        """The statement `cypher/<name>.cypher` wrapped with the server-side timeout."""
        return neo4j.Query(cypher.load(name), timeout=self.query_timeout_s)

    def run(self, statement: str, /, **parameters: Any) -> list[neo4j.Record]:
        """Run the named statement (`cypher/<statement>.cypher`) in its own auto-retried transaction and return its
        records. Positional-only, so a Cypher parameter may be called `statement` or `name`."""
        records, _, _ = self.driver.execute_query(
            self.query(statement), parameters_=parameters, database_=self.database
        )
        return records

    def session(self) -> neo4j.Session:
        """A session on the gateway's database, for work that spans several statements (`execute_write`)."""
        return self.driver.session(database=self.database)

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> Neo4jGateway:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def connect(settings: Settings) -> Neo4jGateway:
    """A verified gateway the caller closes (long-lived processes such as workers keep one).

    Fails fast with a readable message when Neo4j is unreachable or the password is wrong."""
    config = settings.neo4j
    driver = neo4j.GraphDatabase.driver(
        config.uri,
        auth=(config.username, settings.resolved_neo4j_password()),
        connection_timeout=config.connect_timeout_s,
        max_transaction_retry_time=config.retry_time_s,
        notifications_min_severity="OFF",
    )
    try:
        driver.verify_connectivity()
    except AuthError:
        driver.close()
        raise ServiceError(
            f"Neo4j at {config.uri} rejected user {config.username!r}: wrong NEO4J_USERNAME / NEO4J_PASSWORD"
        ) from None
    except (ServiceUnavailable, OSError) as exc:
        driver.close()
        raise ServiceError(
            f"Neo4j is not reachable at {config.uri} ({exc}); start it with `llmrg up` or set NEO4J_URI"
        ) from None
    return Neo4jGateway(driver, config.database, config.query_timeout_s)


@contextmanager
def open_gateway(settings: Settings) -> Iterator[Neo4jGateway]:
    """A verified gateway, closed on exit."""
    db = connect(settings)
    try:
        yield db
    finally:
        db.close()


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


def apply_schema(db: Neo4jGateway) -> int:
    """Create every constraint and index idempotently (`IF NOT EXISTS`); returns the statement count."""
    statements = schema_statements()
    for name, statement in statements:
        try:
            db.driver.execute_query(neo4j.Query(statement), database_=db.database)
        except Neo4jError as exc:
            raise ServiceError(f"applying cypher/{name}.cypher failed: {exc.message}") from exc
    db.run("admin/await_indexes")
    return len(statements)


def present_schema_names(db: Neo4jGateway) -> set[str]:
    constraints = {record["name"] for record in db.run("admin/show_constraints")}
    indexes = {record["name"] for record in db.run("admin/show_indexes")}
    return constraints | indexes


def as_dicts(records: list[neo4j.Record]) -> list[Mapping[str, Any]]:
    return [record.data() for record in records]
