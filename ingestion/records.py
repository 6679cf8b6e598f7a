"""What a dataset reader produces: plain, validated records ready to write.

Plain frozen dataclasses rather than pydantic models: a full dataset is a million interactions, and the
readers have already validated every field with file-and-line errors by the time these are built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ATTRIBUTE_KINDS = ("genre", "category", "brand")
"""The fixed vocabulary of attribute kinds (`Attribute.kind`)."""


@dataclass(frozen=True)
class ItemRecord:
    id: int
    title: str | None
    attributes: tuple[tuple[str, str], ...] = ()
    """(kind, name) pairs, kind from ATTRIBUTE_KINDS."""


@dataclass(frozen=True)
class UserRecord:
    id: int
    properties: dict[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class UserHistory:
    user: int
    items: tuple[int, ...]
    """Oldest first; position k becomes `INTERACTED.pos = k`."""


@dataclass(frozen=True)
class DatasetBundle:
    """One dataset, fully read and cross-checked, before anything is written."""

    name: str
    source: str
    variant: str | None
    items: tuple[ItemRecord, ...]
    users: tuple[UserRecord, ...]
    histories: tuple[UserHistory, ...]

    @property
    def interaction_count(self) -> int:
        return sum(len(history.items) for history in self.histories)

    @property
    def attributes(self) -> list[tuple[str, str]]:
        """Distinct (kind, name) pairs, sorted so batches are deterministic."""
        return sorted({pair for item in self.items for pair in item.attributes})
