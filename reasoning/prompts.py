"""Versioned prompt templates: `prompts/<task>/<version>/{task.md, example_input.md, example_output.json}`.

Every call of a task starts with the same system message and example exchange, so an LLM server with a
prompt cache (llama.cpp) reuses that prefix; only the final user message varies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"

Message = tuple[str, str]


@dataclass(frozen=True)
class PromptTemplate:
    task: str
    version: str
    description: str
    example_input: str
    example_output: str

    def messages(self, user_input: str, **parameters: object) -> list[Message]:
        """system (task description) + one example exchange + this input."""
        return [
            ("system", self.description.format(**parameters)),
            ("human", self.example_input),
            ("ai", self.example_output),
            ("human", user_input),
        ]

    @property
    def id(self) -> str:
        return f"{self.task}/{self.version}"


@cache
def load_prompt(task: str, version: str) -> PromptTemplate:
    folder = PROMPTS_DIR / task / version
    if not folder.is_dir():
        available = sorted(p.name for p in (PROMPTS_DIR / task).glob("*")) if (PROMPTS_DIR / task).is_dir() else []
        raise FileNotFoundError(f"no prompt {task}/{version} in {PROMPTS_DIR} (available: {available})")
    example_output = (folder / "example_output.json").read_text(encoding="utf-8").strip()
    json.loads(example_output)
    return PromptTemplate(
        task=task,
        version=version,
        description=(folder / "task.md").read_text(encoding="utf-8").strip(),
        example_input=(folder / "example_input.md").read_text(encoding="utf-8").strip(),
        example_output=example_output,
    )
