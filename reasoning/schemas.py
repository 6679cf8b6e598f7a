"""Pydantic models that parse the LLM's answers.

The JSON schema sent to the server is part of each prompt version (`prompts/<task>/<version>/schema.json`)
and carries the run's limits (`maxItems`, `maxLength`, allowed numbers), which a llama.cpp server enforces
during decoding; these models only check types, and `validation.py` checks meaning.
"""

from __future__ import annotations

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


class ChoiceAnswer(RootModel[dict[str, str]]):
    """The chosen letter by question id, `{"q1": "B", "q2": "A"}`."""


class WarmAnswer(RootModel[dict[str, str]]):
    """The reason for each item pair by pair id, `{"p1": "another Disney animated comedy", "p2": "none"}`."""
