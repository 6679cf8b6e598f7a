"""Per-dataset counts read back from the graph (never from what a loader believes it wrote)."""

from __future__ import annotations

from typing import Any

from core.gateway import Neo4jGateway


def dataset_counts(db: Neo4jGateway) -> dict[str, dict[str, Any]]:
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
        for record in db.run("stats/count_datasets")
    }
