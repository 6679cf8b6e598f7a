"""The JSON the LLM must answer with: JSON schemas sent to the server, and pydantic models to parse it.

The schema sent carries the run's limits (`maxItems`, `maxLength`), which a llama.cpp server enforces
during decoding; the pydantic models only check types, and `validation.py` checks meaning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, RootModel


class ProposedChain(RootModel[list[tuple[int, str]]]):
    """Links oldest first, each `[item, reason]`: the reason says why the user went from this item to the
    next one of the chain (the last link: to the target). Pairs rather than `{"item", "reason"}` objects
    because the server decodes every key token by token: with keys, answers were about 40% longer."""

    @property
    def items(self) -> list[int]:
        return [item for item, _ in self.root]

    @property
    def reasons(self) -> list[str]:
        return [reason for _, reason in self.root]


class StepProposal(BaseModel):
    target: int
    chains: list[ProposedChain]


class ChainingAnswer(BaseModel):
    steps: list[StepProposal]


class VerifyAnswer(RootModel[dict[str, int]]):
    """The chosen number by question id, `{"q1": 2, "q2": 0}`."""


class ImaginedItem(BaseModel):
    title: str
    reason: str


class ChainExtension(BaseModel):
    chain: str
    items: list[ImaginedItem]


class DivergentAnswer(BaseModel):
    extensions: list[ChainExtension]


def divergent_schema(chain_ids: list[str], per_chain: int, title_chars: int, reason_chars: int) -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": title_chars},
            "reason": {"type": "string", "maxLength": reason_chars},
        },
        "required": ["title", "reason"],
        "additionalProperties": False,
    }
    extension = {
        "type": "object",
        "properties": {
            "chain": {"type": "string", "enum": chain_ids},
            "items": {"type": "array", "items": item, "minItems": 1, "maxItems": per_chain},
        },
        "required": ["chain", "items"],
        "additionalProperties": False,
    }
    return {
        "title": "divergent_answer",
        "type": "object",
        "properties": {"extensions": {"type": "array", "items": extension, "maxItems": len(chain_ids)}},
        "required": ["extensions"],
        "additionalProperties": False,
    }


def chaining_schema(
    premises_by_target: dict[int, list[int]], max_chains: int, max_premises: int, reason_chars: int
) -> dict[str, Any]:
    """One schema entry per target (`prefixItems`): the target is a constant and each link's item an enum of
    the positions allowed before it, so a server that enforces the schema cannot produce a loop, a future
    item or an index outside the history. Validation still checks all of it for servers that do not."""

    def step(target: int, allowed: list[int]) -> dict[str, Any]:
        link = {
            "type": "array",
            "prefixItems": [{"enum": allowed}, {"type": "string", "minLength": 3, "maxLength": reason_chars}],
            "minItems": 2,
            "maxItems": 2,
        }
        chain = {"type": "array", "items": link, "minItems": 1, "maxItems": max_premises}
        return {
            "type": "object",
            "properties": {
                "target": {"const": target},
                "chains": {"type": "array", "items": chain, "maxItems": max_chains},
            },
            "required": ["target", "chains"],
            "additionalProperties": False,
        }

    steps = [step(target, allowed) for target, allowed in premises_by_target.items()]
    return {
        "title": "chaining_answer",
        "type": "object",
        "properties": {
            "steps": {"type": "array", "prefixItems": steps, "minItems": len(steps), "maxItems": len(steps)}
        },
        "required": ["steps"],
        "additionalProperties": False,
    }


def verify_schema(choices: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    """One key per question id, in order, each restricted to that question's possible choices."""
    return {
        "title": "verify_answer",
        "type": "object",
        "properties": {question: {"enum": list(allowed)} for question, allowed in choices.items()},
        "required": list(choices),
        "additionalProperties": False,
    }
