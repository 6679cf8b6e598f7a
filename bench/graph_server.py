"""The benchmarks' own Neo4j (ports and state from `BENCH_ENVIRONMENT`), shared by every bench that reads it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.reason import BENCH_ENVIRONMENT


@contextmanager
def bench_neo4j() -> Iterator[tuple[Any, Any]]:
    """(settings, driver) of the started bench server with the schema applied; the server stops on exit, so the
    measurement that follows has the machine to itself."""
    os.environ.pop("NEO4J_PASSWORD", None)
    os.environ.update(BENCH_ENVIRONMENT)
    from llmrg import graph
    from llmrg.services.neo4j_server import LocalNeo4j
    from llmrg.settings import Settings

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    server = LocalNeo4j(settings)
    try:
        server.start()
        with graph.open_driver(settings) as driver:
            graph.apply_schema(driver, settings)
            yield settings, driver
    finally:
        server.stop()


def ensure_dataset(driver: Any, settings: Any, dataset: str, interactions: int | None = None) -> None:
    """Ingest the built-in `dataset` unless it is stored (with exactly `interactions`, when given)."""
    from ingestion import loader, registry
    from llmrg.stats import dataset_counts

    stored = dataset_counts(driver, settings).get(dataset)
    if stored is None or (interactions is not None and stored.get("interactions") != interactions):
        loader.write_dataset(driver, settings, registry.read_builtin(settings, dataset))
