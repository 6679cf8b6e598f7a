"""Versioned prompts, shipped as package data like the Cypher files: `prompts/<task>/<version>/` holds

- `system.md`: the task description (the system message), with `{placeholders}` for the run's limits;
- `example_input.md`, `example_output.json`: one example exchange;
- `user.md`: the layout of the user message, with `{placeholders}` for the user's history and the question;
- `schema.json`: the answer's JSON schema as named parts (`answer`, and the parts it repeats), where a
  string that is exactly `"{name}"` stands for a value the code fills (a number, a list, a sub-schema).

A version is the whole conversation the model sees and the shape it must answer in, so changing any of it
is a new version, and a chain records the version it was made with. Every call of a task starts with the
same system message and example exchange, so an LLM server with a prompt cache (llama.cpp) reuses that
prefix; only the final user message varies.

`TASK_FIELDS` names, per task, the placeholders the code fills in each file; a version may use fewer, never
others (checked at load time and by the tests).
"""

from __future__ import annotations

import copy
import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from core.errors import ConfigError

Message = tuple[str, str]

FILES = ("system.md", "example_input.md", "example_output.json", "user.md", "schema.json")


@dataclass(frozen=True)
class PromptFields:
    """The placeholders the code fills for one task: in the system text, the user message and each schema part."""

    system: frozenset[str]
    user: frozenset[str]
    schema: Mapping[str, frozenset[str]]


TASK_FIELDS: dict[str, PromptFields] = {
    "chain": PromptFields(
        system=frozenset({"max_chains", "max_premises", "reason_chars", "candidates"}),
        user=frozenset({"profile", "history", "chains", "targets"}),
        schema={
            "answer": frozenset({"steps", "step_count"}),
            "step": frozenset({"target", "allowed", "max_chains", "max_premises", "reason_chars"}),
        },
    ),
    "verify": PromptFields(
        system=frozenset(),
        user=frozenset({"history", "attributes", "questions"}),
        schema={
            "answer": frozenset({"questions", "question_ids"}),
            "question": frozenset({"choices"}),
        },
    ),
    "choose": PromptFields(
        system=frozenset(),
        user=frozenset({"questions"}),
        schema={
            "answer": frozenset({"questions", "question_ids"}),
            "question": frozenset({"letters"}),
        },
    ),
    "warm": PromptFields(
        system=frozenset({"reason_chars"}),
        user=frozenset({"pairs"}),
        schema={"answer": frozenset({"pairs", "pair_ids"}), "reason": frozenset({"reason_chars"})},
    ),
    "diverge": PromptFields(
        system=frozenset({"per_chain", "reason_chars"}),
        user=frozenset({"profile", "history", "chains"}),
        schema={"answer": frozenset({"chain_ids", "chain_count", "per_chain", "title_chars", "reason_chars"})},
    ),
}


def prompts_root() -> Any:
    """The shipped prompt folder (a `Traversable`: a directory in a checkout, a wheel's files when installed)."""
    return resources.files("reasoning") / "prompts"


def available_versions(task: str) -> list[str]:
    folder = prompts_root() / task
    return sorted(entry.name for entry in folder.iterdir() if entry.is_dir()) if folder.is_dir() else []


def text_fields(template: str) -> set[str]:
    """The `{placeholder}` names of a `str.format` template."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def schema_fields(part: Any) -> set[str]:
    """The names of whole-string `"{name}"` values anywhere in a schema part."""
    if isinstance(part, str):
        return {part[1:-1]} if _is_placeholder(part) else set()
    if isinstance(part, dict):
        return set().union(*(schema_fields(value) for value in part.values()))
    if isinstance(part, list):
        return set().union(*(schema_fields(value) for value in part))
    return set()


def _is_placeholder(value: str) -> bool:
    return len(value) > 2 and value[0] == "{" and value[-1] == "}" and value[1:-1].isidentifier()


def _fill_schema(part: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(part, str):
        return copy.deepcopy(values[part[1:-1]]) if _is_placeholder(part) else part
    if isinstance(part, dict):
        return {key: _fill_schema(value, values) for key, value in part.items()}
    if isinstance(part, list):
        return [_fill_schema(value, values) for value in part]
    return part


@dataclass(frozen=True)
class PromptTemplate:
    task: str
    version: str
    system: str
    example_input: str
    example_output: str
    user: str
    schema_parts: Mapping[str, Any]

    @property
    def id(self) -> str:
        return f"{self.task}/{self.version}"

    def uses(self, field: str) -> bool:
        """Whether this version's system text names the placeholder `field` (a version may use fewer than the
        code fills; the chaining code reads `candidates` as "this version is shown ranked premise candidates")."""
        return field in text_fields(self.system)

    def messages(self, user_values: Mapping[str, object], **system_values: object) -> list[Message]:
        """system (task description) + one example exchange + this user message."""
        fields = TASK_FIELDS[self.task]
        _check_values(self.id, "system.md", fields.system, system_values)
        _check_values(self.id, "user.md", fields.user, user_values)
        return [
            ("system", self.system.format(**system_values)),
            ("human", self.example_input),
            ("ai", self.example_output),
            ("human", self.user.format(**user_values)),
        ]

    def schema(self, part: str = "answer", **values: Any) -> dict[str, Any]:
        """Schema part `part` with its placeholders replaced by `values` (copied, so callers may reuse them)."""
        fields = TASK_FIELDS[self.task].schema
        if part not in fields:
            raise ConfigError(f"prompt {self.id}: no schema part {part!r} (parts: {sorted(fields)})")
        _check_values(self.id, f"schema.json#{part}", fields[part], values)
        filled: dict[str, Any] = _fill_schema(self.schema_parts[part], values)
        return filled


def _check_values(prompt: str, file: str, declared: frozenset[str], values: Mapping[str, object]) -> None:
    if set(values) != declared:
        raise ConfigError(f"prompt {prompt} {file}: the code fills {sorted(values)}, declared {sorted(declared)}")


@cache
def load_prompt(task: str, version: str) -> PromptTemplate:
    """The shipped prompt `task/version`, checked complete: every file present, JSON valid, placeholders declared.

    A version names the whole prompt set: a task that did not change in it keeps its latest earlier version (v4
    changed only chaining, so `verify` under v4 is verify/v3). A version no task ships is an error."""
    if task not in TASK_FIELDS:
        raise ConfigError(f"no prompt task {task!r} (tasks: {sorted(TASK_FIELDS)})")
    return read_prompt(prompts_root(), task, resolve_version(task, version))


def resolve_version(task: str, version: str) -> str:
    """The folder of `task` that prompt set `version` uses: its own, else the latest one before it."""
    own = available_versions(task)
    if version in own:
        return version
    shipped = {name for other in TASK_FIELDS for name in available_versions(other)}
    earlier = [name for name in own if _version_key(name) < _version_key(version)]
    if version not in shipped or not earlier:
        raise ConfigError(f"no prompt {task}/{version} (available: {sorted(shipped, key=_version_key)})")
    return max(earlier, key=_version_key)


@cache
def equivalent_versions(tasks: tuple[str, ...], version: str) -> tuple[str, ...]:
    """The shipped prompt sets under which every one of `tasks` reads the same prompt folders as under `version`
    (`version` among them): knowledge made by those tasks under any of them was asked exactly as this set would
    ask it. v4 changed only chaining, so an item pair warmed and verified under v3 (warm/v3, choose/v3) is as good
    to a v4 run as one warmed under v4, while a v3 reasoning chain (chain/v3) is not."""
    own = {task: resolve_version(task, version) for task in tasks}
    shipped = {name for task in TASK_FIELDS for name in available_versions(task)}
    equivalent = []
    for name in shipped:
        try:
            if all(resolve_version(task, name) == folder for task, folder in own.items()):
                equivalent.append(name)
        except ConfigError:  # a set older than the first version of one of the tasks
            continue
    return tuple(sorted(equivalent, key=_version_key))


def _version_key(version: str) -> tuple[int, str]:
    """`v10` after `v9`: the number in the name first, then the name."""
    digits = "".join(character for character in version if character.isdigit())
    return (int(digits) if digits else -1, version)


def read_prompt(root: Any, task: str, version: str) -> PromptTemplate:
    """The prompt in `root/task/version` (a path or `Traversable`), checked like `load_prompt`."""
    folder = root / task / version
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"prompt {task}/{version} lacks {', '.join(missing)}")
    texts = {name: (folder / name).read_text(encoding="utf-8").strip() for name in FILES}
    for name in ("example_output.json", "schema.json"):
        try:
            json.loads(texts[name])
        except json.JSONDecodeError as exc:
            raise ConfigError(f"prompt {task}/{version}/{name}:{exc.lineno}: {exc.msg}") from exc
    prompt = PromptTemplate(
        task=task,
        version=version,
        system=texts["system.md"],
        example_input=texts["example_input.md"],
        example_output=texts["example_output.json"],
        user=texts["user.md"],
        schema_parts=json.loads(texts["schema.json"]),
    )
    _check_placeholders(prompt)
    return prompt


def _check_placeholders(prompt: PromptTemplate) -> None:
    fields = TASK_FIELDS[prompt.task]
    used = {"system.md": text_fields(prompt.system), "user.md": text_fields(prompt.user)}
    declared = {"system.md": fields.system, "user.md": fields.user}
    if set(prompt.schema_parts) != set(fields.schema):
        raise ConfigError(
            f"prompt {prompt.id}/schema.json: parts {sorted(prompt.schema_parts)}, expected {sorted(fields.schema)}"
        )
    for part, part_fields in fields.schema.items():
        used[f"schema.json#{part}"] = schema_fields(prompt.schema_parts[part])
        declared[f"schema.json#{part}"] = part_fields
    for file, names in used.items():
        unknown = names - declared[file]
        if unknown:
            raise ConfigError(
                f"prompt {prompt.id}/{file} uses {sorted(unknown)}, which the code does not fill "
                f"(it fills {sorted(declared[file])})"
            )
