"""The ablation switches of one reasoning run, applied to the settings in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmrg.settings import Settings


@dataclass(frozen=True)
class ReasoningOptions:
    """What a reasoning run changes from the settings (the CLI's ablation flags; workers get them with every
    task). None keeps the configured value."""

    verify: bool | None = None
    kb: bool | None = None
    divergent: bool | None = None
    naive: bool = False

    def apply(self, settings: Settings) -> Settings:
        update: dict[str, Any] = {
            name: value
            for name, value in (
                ("verify_enabled", self.verify),
                ("kb_enabled", self.kb),
                ("divergent_enabled", self.divergent),
            )
            if value is not None
        }
        if self.naive:
            update |= {"reason_steps_per_call": 1, "verify_questions_per_call": 1, "kb_enabled": False}
        return settings.model_copy(update=update)

    @classmethod
    def from_dict(cls, payload: Mapping[str, bool | None]) -> ReasoningOptions:
        """From a task's JSON arguments (unknown keys are an error, so a typo cannot silently ablate)."""
        unknown = set(payload) - {"verify", "kb", "divergent", "naive"}
        if unknown:
            raise ValueError(f"unknown run options {sorted(unknown)}")
        return cls(payload.get("verify"), payload.get("kb"), payload.get("divergent"), bool(payload.get("naive")))

    def as_dict(self) -> dict[str, bool | None]:
        return {"verify": self.verify, "kb": self.kb, "divergent": self.divergent, "naive": self.naive}
