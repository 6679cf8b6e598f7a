"""The ablation switches of one reasoning run, applied to the settings in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from core.settings import Settings


@dataclass(frozen=True)
class ReasoningOptions:
    """What a reasoning run changes from the settings (the CLI's ablation flags; workers get them with every
    task). None keeps the configured value."""

    verify: bool | None = None
    kb: bool | None = None
    divergent: bool | None = None
    naive: bool = False
    max_targets: int | None = None
    """Reason only about the last N positions of each user's window (0 = every position)."""
    history_length: int | None = None
    """l_tru for every dataset: reasoning sees the last N items of each history."""
    holdout: int | None = None
    """Leave each history's last N items out of reasoning (1 = the leave-one-out test item)."""
    kb_any_model: bool | None = None
    """Reuse knowledge-base chains and edges whatever model and prompt version made them (an imported knowledge
    base made by another model, such as the released one's warm start)."""

    def __post_init__(self) -> None:
        if self.max_targets is not None and self.max_targets < 0:
            raise ValueError(f"max_targets must be 0 (every position) or more, not {self.max_targets}")
        if self.history_length is not None and self.history_length < 2:
            raise ValueError(f"history_length must be at least 2 (a premise and a target), not {self.history_length}")
        if self.holdout is not None and self.holdout < 0:
            raise ValueError(f"holdout must be 0 (every item) or more, not {self.holdout}")

    def apply(self, settings: Settings) -> Settings:
        reasoning: dict[str, Any] = {}
        if self.max_targets is not None:
            reasoning["max_targets"] = self.max_targets
        if self.holdout is not None:
            reasoning["holdout"] = self.holdout
        if self.history_length is not None:
            reasoning["history_length"] = dict.fromkeys([*settings.reasoning.history_length, "*"], self.history_length)
        verify: dict[str, Any] = {"enabled": self.verify} if self.verify is not None else {}
        kb: dict[str, Any] = {"enabled": self.kb} if self.kb is not None else {}
        if self.kb_any_model is not None:
            kb["any_model"] = self.kb_any_model
        divergent = {"enabled": self.divergent} if self.divergent is not None else {}
        if self.naive:
            reasoning["steps_per_call"] = 1
            verify["questions_per_call"] = 1
            kb["enabled"] = False
        return settings.updated(reasoning=reasoning, verify=verify, kb=kb, divergent=divergent)

    @classmethod
    def from_dict(cls, payload: Mapping[str, bool | int | None]) -> ReasoningOptions:
        """From a task's JSON arguments (unknown keys are an error, so a typo cannot silently ablate)."""
        unknown = set(payload) - set(fields_of_options())
        if unknown:
            raise ValueError(f"unknown run options {sorted(unknown)}")

        def flag(name: str) -> bool | None:
            value = payload.get(name)
            return None if value is None else bool(value)

        def number(name: str) -> int | None:
            value = payload.get(name)
            return None if value is None else int(value)

        return cls(
            verify=flag("verify"),
            kb=flag("kb"),
            divergent=flag("divergent"),
            naive=bool(payload.get("naive")),
            max_targets=number("max_targets"),
            history_length=number("history_length"),
            holdout=number("holdout"),
            kb_any_model=flag("kb_any_model"),
        )

    def as_dict(self) -> dict[str, bool | int | None]:
        return {name: getattr(self, name) for name in fields_of_options()}


def fields_of_options() -> tuple[str, ...]:
    return tuple(field.name for field in fields(ReasoningOptions))
