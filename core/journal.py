"""A long run's record of the work it has finished, so it can stop and carry on in a later sitting.

Benchmarks, the knowledge-base build and its warm start take longer than one sitting on a small machine. Such
a run works in chunks (of users, of item pairs) and writes each finished chunk here (what it covered, its
statistics, seconds, when and where it ran) before it starts the next. A rerun with the same settings skips
the finished chunks. A journal is only valid with the database it was written against, so each chunk also
records a count the run can check the database against before it carries on. A run with other settings
refuses to touch the journal, rather than silently throwing away hours of work; `--fresh` discards it. Once
the run is finished and its result written, the journal is moved aside, so the next run measures afresh.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigError


class JournalMismatch(ConfigError):
    """The journal was written by a run with other settings, or against a database that has changed since."""


@dataclass
class Journal:
    path: Path
    fingerprint: dict[str, Any]
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    sittings: int = 0

    @classmethod
    def open(cls, path: Path, fingerprint: dict[str, Any], *, fresh: bool) -> Journal:
        """The journal at `path` for a run with `fingerprint`: a new one when there is none or `fresh` is set.

        Raises JournalMismatch, naming the settings that differ, when the stored one was written by a run
        with other settings."""
        if fresh or not path.exists():
            journal = cls(path, fingerprint)
        else:
            journal = cls.read(path)
            if journal.fingerprint != fingerprint:
                keys = sorted(set(journal.fingerprint) | set(fingerprint))
                differing = [
                    f"{key}: {journal.fingerprint.get(key)!r} there, {fingerprint.get(key)!r} now"
                    for key in keys
                    if journal.fingerprint.get(key) != fingerprint.get(key)
                ]
                raise JournalMismatch(
                    f"{path} holds a run with other settings ({'; '.join(differing)}); "
                    "rerun with those settings to carry it on, or pass --fresh to discard it"
                )
        journal.sittings += 1
        journal.save()
        return journal

    @classmethod
    def read(cls, path: Path) -> Journal:
        """The journal at `path` as stored, without opening a sitting: for what only reads a run (a release, a
        report), which must not count as one of its sittings."""
        stored = json.loads(path.read_text())
        return cls(path, stored["fingerprint"], stored["stages"], stored.get("sittings", 0))

    def stage(self, name: str) -> dict[str, Any]:
        """A stage's record: `{"chunks": [...], "result": None | {...}}`, created empty on first use."""
        return self.stages.setdefault(name, {"chunks": [], "result": None})

    def add_chunk(self, name: str, chunk: dict[str, Any]) -> None:
        self.stage(name)["chunks"].append(chunk)
        self.save()

    def finish(self, name: str, result: dict[str, Any]) -> None:
        self.stage(name)["result"] = result
        self.save()

    def retire(self) -> Path:
        """Move a finished run's journal aside (kept for reference), so the next run measures afresh instead of
        reporting this one's chunks again."""
        finished = self.path.with_name(f"{self.path.stem}-finished.json")
        os.replace(self.path, finished)
        return finished

    def done_users(self, name: str) -> list[int]:
        return [user for chunk in self.stage(name)["chunks"] for user in chunk["users"]]

    def save(self) -> None:
        """Write atomically: a run killed mid-write leaves the previous journal, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"fingerprint": self.fingerprint, "sittings": self.sittings, "stages": self.stages}
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(payload, indent=2) + "\n")
        os.replace(partial, self.path)
