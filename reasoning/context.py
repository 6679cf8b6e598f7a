"""What the LLM sees about one user: profile and the last l_tru items of the history."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from core.errors import UnknownDatasetError
from core.gateway import Neo4jGateway
from core.settings import Settings, for_dataset

PROFILE_FIELDS = ("gender", "age_group", "occupation_name")


@dataclass(frozen=True)
class HistoryItem:
    pos: int
    """Position in the user's full history (the `t` chains are stamped with)."""
    id: int
    title: str
    attributes: tuple[str, ...]
    """`kind:name` strings."""


@dataclass(frozen=True)
class UserContext:
    dataset: str
    user: int
    profile: dict[str, Any]
    window: tuple[HistoryItem, ...]
    """The last l_tru items; prompts number them 0..len-1 (local indices)."""

    def item_at(self, local: int) -> HistoryItem:
        return self.window[local]

    def up_to(self, local: int) -> UserContext:
        """The same user seen only up to window index `local`: what a prompt about steps <= local may show,
        so nothing the LLM writes for a step depends on items the user chose later."""
        return replace(self, window=self.window[: local + 1])

    def profile_line(self) -> str:
        parts = [str(self.profile[name]) for name in PROFILE_FIELDS if self.profile.get(name) not in (None, "")]
        return ", ".join(parts) if parts else "unknown"


def load_context(
    db: Neo4jGateway, settings: Settings, dataset: str, user: int, until: int | None = None
) -> UserContext:
    """The user's last l_tru items, or the l_tru items ending at position `until` (re-verifying an old step).

    Without `until`, the last `reason_holdout` items are left out first (the evaluation's held-out items)."""
    records = db.run("reasoning/fetch_user_history", dataset=dataset, user=user)
    if not records:
        raise UnknownDatasetError(f"user {user} does not exist in dataset {dataset!r}")
    history = records[0]["history"]
    if until is not None:
        history = [row for row in history if row["pos"] <= until]
    elif settings.reasoning.holdout:
        history = history[: max(0, len(history) - settings.reasoning.holdout)]
    length = for_dataset(settings.reasoning.history_length, dataset)
    window = tuple(
        HistoryItem(
            pos=row["pos"], id=row["id"], title=row["title"] or f"item {row['id']}", attributes=tuple(row["attributes"])
        )
        for row in history[-length:]
    )
    return UserContext(dataset=dataset, user=user, profile=records[0]["profile"], window=window)


def history_block(context: UserContext) -> str:
    """`k. title | attribute, attribute` lines, local index k."""
    return "\n".join(item_line(local, item) for local, item in enumerate(context.window))


def item_line(local: int, item: HistoryItem) -> str:
    """`k. title | attribute, attribute`: how a prompt shows the window's item k."""
    names = ", ".join(attribute.split(":", 1)[1] for attribute in item.attributes)
    return f"{local}. {item.title}" + (f" | {names}" if names else "")
