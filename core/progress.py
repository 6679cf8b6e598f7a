"""Progress for long work: a live rich bar on a terminal, plain lines everywhere else.

A rich bar rendered into a pipe or a CI log comes out as one truncated line (`24/… users … 0:… 0:00…`), so
when the console is not a terminal the same calls print a complete line per task instead, at most every
`every_s` seconds, and once more when a task finishes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, ProgressColumn, TaskID

PLAIN_EVERY_S = 10.0


@dataclass
class _PlainTask:
    description: str
    total: float | None
    completed: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    printed_at: float = 0.0
    finished: bool = False


class PlainProgress:
    """The part of `rich.progress.Progress`'s interface the project uses, written as plain lines."""

    def __init__(self, console: Console, *, disable: bool = False, every_s: float = PLAIN_EVERY_S) -> None:
        self.console = console
        self.disable = disable
        self.every_s = every_s
        self._tasks: list[_PlainTask] = []

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *_: object) -> None:
        for task in self._tasks:
            if not task.finished and task.completed:
                self._print(task)

    def add_task(self, description: str, total: float | None = None, completed: float = 0, **fields: Any) -> TaskID:
        self._tasks.append(_PlainTask(description, total, float(completed), dict(fields)))
        return TaskID(len(self._tasks) - 1)

    def update(
        self,
        task_id: TaskID,
        *,
        total: float | None = None,
        completed: float | None = None,
        advance: float | None = None,
        description: str | None = None,
        **fields: Any,
    ) -> None:
        task = self._tasks[task_id]
        if total is not None:
            task.total = total
        if completed is not None:
            task.completed = float(completed)
        if advance is not None:
            task.completed += advance
        if description is not None:
            task.description = description
        task.fields.update(fields)
        self._maybe_print(task)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def reset(
        self, task_id: TaskID, *, total: float | None = None, description: str | None = None, **fields: Any
    ) -> None:
        task = self._tasks[task_id]
        task.completed, task.started, task.finished, task.printed_at = 0.0, time.monotonic(), False, 0.0
        self.update(task_id, total=total, description=description, **fields)

    def _maybe_print(self, task: _PlainTask) -> None:
        done = task.total is not None and task.completed >= task.total
        if done and not task.finished:
            task.finished = True
            self._print(task)
        elif not done and time.monotonic() - task.printed_at >= self.every_s:
            self._print(task)

    def _print(self, task: _PlainTask) -> None:
        task.printed_at = time.monotonic()
        if self.disable:
            return
        count = f"{task.completed:,.0f}" + (f"/{task.total:,.0f}" if task.total is not None else "")
        extra = "".join(f", {name} {value}" for name, value in task.fields.items())
        elapsed = time.monotonic() - task.started
        line = f"{task.description}: {count}{extra} ({elapsed:.0f} s)"
        self.console.print(escape(line), highlight=False, soft_wrap=True)


def progress_display(
    *columns: str | ProgressColumn,
    console: Console | None = None,
    disable: bool = False,
    transient: bool = False,
) -> Progress | PlainProgress:
    """A rich `Progress` with `columns` on a terminal; `PlainProgress` lines when output is redirected."""
    shown = console or Console()
    if shown.is_terminal:
        return Progress(*columns, console=shown, disable=disable, transient=transient)
    return PlainProgress(shown, disable=disable)
