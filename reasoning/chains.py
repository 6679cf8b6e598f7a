"""Candidate chains: what chaining proposes, verification scores and the store writes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise

from core.vocabulary import ChainKind, ChainStatus


class Rejection(StrEnum):
    """Why a proposal or chain was refused; every one is counted in the run summary."""

    MALFORMED_OUTPUT = "malformed_output"
    UNKNOWN_TARGET = "unknown_target"
    NOT_IN_CATALOGUE = "not_in_catalogue"
    FUTURE_ITEM = "future_item"
    SELF_LOOP = "self_loop"
    NOT_OLDEST_FIRST = "not_oldest_first"
    NOT_OFFERED = "not_offered"
    TOO_LONG = "too_long"
    TOO_MANY = "too_many"
    EMPTY_REASON = "empty_reason"
    UNSAFE_TEXT = "unsafe_text"
    LOW_SCORE = "low_score"
    NO_CATALOGUE_MATCH = "no_catalogue_match"
    ALREADY_SEEN = "already_seen"
    NAMES_ITEM = "names_item"


@dataclass(frozen=True)
class Candidate:
    """A chain for one user: catalogue ids `premises... -> target`, one reason per link."""

    dataset: str
    kind: ChainKind
    premises: tuple[int, ...]
    target: int
    reasons: tuple[str, ...]
    t: int
    """Position of the target in the user's full history."""
    recent_premises: tuple[int, ...]
    """Premises within the last `kb_recent_positions` before the target: the knowledge-base key."""
    local_items: tuple[int, ...] = field(default=(), compare=False)
    """The same items as window indices (what prompts show)."""

    @property
    def items(self) -> tuple[int, ...]:
        return (*self.premises, self.target)

    def links(self) -> list[tuple[int, int, str]]:
        """`(source, target, reason)` of each link, oldest first: the causal edges the chain asserts."""
        return [(a, b, reason) for (a, b), reason in zip(pairwise(self.items), self.reasons, strict=True)]

    def chain_id(self, model: str, prompt_version: str) -> str:
        """Deterministic: the same chain from the same model and prompt is one node, whoever proposes it."""
        key = json.dumps([self.kind.value, self.dataset, list(self.items), prompt_version, model])
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class ScoredChain:
    candidate: Candidate
    status: ChainStatus
    score: float | None
    masks: int
    hits: int
    reject_reason: Rejection | None = None


def edge_id(dataset: str, source: int, target: int, model: str, prompt_version: str) -> str:
    """Deterministic, like chain ids: one Edge node per (dataset, a -> b, model, prompt version)."""
    key = json.dumps(["edge", dataset, source, target, prompt_version, model])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
