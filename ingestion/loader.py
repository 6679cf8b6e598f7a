"""Writing a validated dataset into Neo4j: batched `UNWIND $rows`, MERGE on constrained keys.

Each batch is one transaction (`execute_query`, which retries transient errors), so an interrupted load
leaves whole batches behind and a rerun MERGEs over them: the counts after any rerun are exact. Histories
are batched whole where they fit, and a history longer than a batch is split with a position offset.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from neo4j.exceptions import Neo4jError
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

from core import gateway
from core.errors import GraphWriteError
from core.gateway import Neo4jGateway
from core.progress import progress_display
from core.settings import Settings
from ingestion.records import DatasetBundle, UserHistory

T = TypeVar("T")


@dataclass(frozen=True)
class IngestReport:
    dataset: str
    source: str
    users: int
    items: int
    attributes: int
    interactions: int
    batches: int
    seconds: float
    already_stored: bool = False
    """Nothing was written: the same content was stored complete before (`ensure_stored`)."""

    @property
    def interactions_per_s(self) -> float:
        return self.interactions / self.seconds if self.seconds > 0 else 0.0


def chunks(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def interaction_batches(histories: Sequence[UserHistory], size: int) -> Iterator[list[dict[str, Any]]]:
    """Rows `{user, items, offset}` of about `size` interactions each, in history order."""
    batch: list[dict[str, Any]] = []
    filled = 0
    for history in histories:
        for offset in range(0, len(history.items), size):
            piece = history.items[offset : offset + size]
            if filled and filled + len(piece) > size:
                yield batch
                batch, filled = [], 0
            batch.append({"user": history.user, "items": list(piece), "offset": offset})
            filled += len(piece)
    if batch:
        yield batch


def write_dataset(
    db: Neo4jGateway,
    settings: Settings,
    bundle: DatasetBundle,
    *,
    show_progress: bool = True,
    after_batch: Callable[[int], None] | None = None,
    content_fingerprint: str | None = None,
) -> IngestReport:
    """Write `bundle` idempotently; `after_batch(n)` is called after each committed interaction batch.
    `content_fingerprint` is the bundle's `fingerprint`, when the caller has it already."""
    started = time.perf_counter()
    size = settings.ingest.batch_size
    gateway.apply_schema(db)
    write = _writer(db, bundle.name)
    write("ingestion/merge_dataset", name=bundle.name, source=bundle.source, variant=bundle.variant)
    attributes = [{"kind": kind, "name": name} for kind, name in bundle.attributes]
    for attribute_rows in chunks(attributes, size):
        write("ingestion/merge_attributes", rows=list(attribute_rows))
    items = [
        {
            "id": item.id,
            "title": item.title,
            "attributes": [{"kind": kind, "name": name} for kind, name in item.attributes],
        }
        for item in bundle.items
    ]
    for item_rows in chunks(items, max(1, size // 4)):
        write("ingestion/merge_items", rows=list(item_rows))
    users = [{"id": user.id, "properties": user.properties} for user in bundle.users]
    for user_rows in chunks(users, size):
        write("ingestion/merge_users", rows=list(user_rows))

    batches = 0
    with progress_display(
        TextColumn(f"ingest {bundle.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("interactions"),
        TimeRemainingColumn(),
        disable=not show_progress,
    ) as progress:
        task = progress.add_task(f"ingest {bundle.name}, interactions", total=bundle.interaction_count)
        for rows in interaction_batches(bundle.histories, size):
            write("ingestion/merge_interactions", rows=rows)
            batches += 1
            progress.advance(task, sum(len(row["items"]) for row in rows))
            if after_batch is not None:
                after_batch(batches)

    write(
        "ingestion/finish_dataset",
        name=bundle.name,
        users=len(bundle.users),
        items=len(bundle.items),
        interactions=bundle.interaction_count,
        fingerprint=content_fingerprint or fingerprint(bundle),
    )
    return IngestReport(
        dataset=bundle.name,
        source=bundle.source,
        users=len(bundle.users),
        items=len(bundle.items),
        attributes=len(attributes),
        interactions=bundle.interaction_count,
        batches=batches,
        seconds=time.perf_counter() - started,
    )


def ensure_stored(
    db: Neo4jGateway, settings: Settings, bundle: DatasetBundle, *, show_progress: bool = True
) -> IngestReport:
    """`write_dataset`, unless the last complete load under the bundle's name wrote this same content.

    A second `llmrg demo` should not MERGE a million interactions again to change nothing. A dataset whose load
    or drop was cut off has no fingerprint, and changed files have another: both are written. Like any rerun of
    `llmrg ingest`, a write MERGEs over what is stored (rows that only the old files had stay)."""
    started = time.perf_counter()
    content = fingerprint(bundle)
    records = db.run("ingestion/dataset_fingerprint", name=bundle.name)
    if not records or records[0]["fingerprint"] != content:
        return write_dataset(db, settings, bundle, show_progress=show_progress, content_fingerprint=content)
    gateway.apply_schema(db)
    return IngestReport(
        dataset=bundle.name,
        source=bundle.source,
        users=len(bundle.users),
        items=len(bundle.items),
        attributes=len(bundle.attributes),
        interactions=bundle.interaction_count,
        batches=0,
        seconds=time.perf_counter() - started,
        already_stored=True,
    )


def fingerprint(bundle: DatasetBundle) -> str:
    """sha256 of what a load writes (source, variant, items, users, histories), recorded when it completes."""
    digest = hashlib.sha256(json.dumps([bundle.source, bundle.variant]).encode())
    for item in bundle.items:
        digest.update(json.dumps([item.id, item.title, item.attributes]).encode())
    for user in bundle.users:
        digest.update(json.dumps([user.id, user.properties], sort_keys=True).encode())
    for history in bundle.histories:
        digest.update(json.dumps([history.user, history.items]).encode())
    return digest.hexdigest()


def delete_dataset(db: Neo4jGateway, dataset: str) -> None:
    """Remove one dataset entirely (batched inner transactions, so it needs an auto-commit session)."""
    with db.session() as session:
        for statement in ("ingestion/unfinish_dataset", "ingestion/delete_interactions", "ingestion/delete_dataset"):
            session.run(db.query(statement), dataset=dataset).consume()


def _writer(db: Neo4jGateway, dataset: str) -> Callable[..., None]:
    def write(statement: str, /, **parameters: Any) -> None:
        try:
            db.run(statement, dataset=dataset, **parameters)
        except Neo4jError as exc:
            raise GraphWriteError(f"writing {dataset} with cypher/{statement}.cypher failed: {exc.message}") from exc

    return write
