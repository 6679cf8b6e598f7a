"""Per-dataset counts read back from the graph (never from what a loader believes it wrote)."""

from __future__ import annotations

from typing import Any

import neo4j

from llmrg import graph
from llmrg.settings import Settings


def dataset_counts(driver: neo4j.Driver, settings: Settings) -> dict[str, dict[str, Any]]:
    """`{name: {users, items, interactions, attributes, chains, kb_chains, status, variant, source}}`."""
    return {
        record["dataset"]: {
            "users": record["users"],
            "items": record["items"],
            "interactions": record["interactions"],
            "attributes": record["attributes"],
            "status": record["status"],
            "variant": record["variant"],
            "source": record["source"],
            "chains": record["chains"],
            "kb_chains": record["kb_chains"],
        }
        for record in graph.run(driver, settings, "stats/count_datasets")
    }
