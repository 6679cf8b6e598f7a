"""The JSON the LLM must answer with: JSON schemas sent to the server, and pydantic models to parse it.

The schema sent carries the run's limits (`maxItems`, `maxLength`), which a llama.cpp server enforces
during decoding; the pydantic models only check types, and `validation.py` checks meaning.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ProposedChain(BaseModel):
    items: list[int]
    reasons: list[str]


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


def chaining_schema(max_steps: int, max_chains: int, max_premises: int, reason_chars: int) -> dict[str, Any]:
    reason = {"type": "string", "maxLength": reason_chars}
    chain = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": max_premises},
            "reasons": {"type": "array", "items": reason, "minItems": 1, "maxItems": max_premises},
        },
        "required": ["items", "reasons"],
        "additionalProperties": False,
    }
    step = {
        "type": "object",
        "properties": {
            "target": {"type": "integer"},
            "chains": {"type": "array", "items": chain, "maxItems": max_chains},
        },
        "required": ["target", "chains"],
        "additionalProperties": False,
    }
    return {
        "title": "chaining_answer",
        "type": "object",
        "properties": {"steps": {"type": "array", "items": step, "maxItems": max_steps}},
        "required": ["steps"],
        "additionalProperties": False,
    }


def verify_schema(question_ids: list[str]) -> dict[str, Any]:
    answer = {
        "type": "object",
        "properties": {"id": {"type": "string", "enum": question_ids}, "choice": {"type": "integer"}},
        "required": ["id", "choice"],
        "additionalProperties": False,
    }
    return {
        "title": "verify_answer",
        "type": "object",
        "properties": {"answers": {"type": "array", "items": answer, "maxItems": len(question_ids)}},
        "required": ["answers"],
        "additionalProperties": False,
    }
