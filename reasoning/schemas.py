"""The JSON the LLM must answer with: JSON schemas sent to the server, and pydantic models to parse it.

The schema sent carries the run's limits (`maxItems`, `maxLength`), which a llama.cpp server enforces
during decoding; the pydantic models only check types, and `validation.py` checks meaning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel


class ChainLink(BaseModel):
    item: int
    reason: str
    """Why the user went from this item to the next one of the chain (the last link: to the target)."""


class ProposedChain(BaseModel):
    links: list[ChainLink]

    @property
    def items(self) -> list[int]:
        return [link.item for link in self.links]

    @property
    def reasons(self) -> list[str]:
        return [link.reason for link in self.links]


class StepProposal(BaseModel):
    target: int
    chains: list[ProposedChain]


class ChainingAnswer(BaseModel):
    steps: list[StepProposal]


class VerifyAnswerItem(BaseModel):
    id: str
    choice: int


class VerifyAnswer(BaseModel):
    answers: list[VerifyAnswerItem]


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
            "type": "object",
            "properties": {
                "item": {"enum": allowed},
                "reason": {"type": "string", "minLength": 3, "maxLength": reason_chars},
            },
            "required": ["item", "reason"],
            "additionalProperties": False,
        }
        chain = {
            "type": "object",
            "properties": {"links": {"type": "array", "items": link, "minItems": 1, "maxItems": max_premises}},
            "required": ["links"],
            "additionalProperties": False,
        }
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
    """One answer per question, in order, each restricted to that question's possible choices."""
    answers = [
        {
            "type": "object",
            "properties": {
                "id": {"const": question},
                "choice": {"enum": list(allowed)},
            },
            "required": ["id", "choice"],
            "additionalProperties": False,
        }
        for question, allowed in choices.items()
    ]
    return {
        "title": "verify_answer",
        "type": "object",
        "properties": {
            "answers": {"type": "array", "prefixItems": answers, "minItems": len(answers), "maxItems": len(answers)}
        },
        "required": ["answers"],
        "additionalProperties": False,
    }
