"""What every `llmrg` command shares: the stderr console, error reporting, JSON output, the settings."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from core.errors import LLMRGError
from core.settings import Settings

console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
DatasetOption = Annotated[str, typer.Option(help="A stored dataset.")]
UsersOption = Annotated[int | None, typer.Option(min=1, help="The first N users by id.")]
UserIdsOption = Annotated[str | None, typer.Option(help="Comma-separated user ids.")]
VerifyOption = Annotated[bool | None, typer.Option(help="Self-verification (default: settings).")]
KnowledgeBaseOption = Annotated[bool | None, typer.Option(help="Knowledge-base reuse (default: settings).")]
DivergentOption = Annotated[bool | None, typer.Option(help="Divergent extension (default: settings).")]
NaiveOption = Annotated[bool, typer.Option(help="The paper's naive procedure: one call per step and per mask.")]
MaxTargetsOption = Annotated[
    int | None,
    typer.Option(min=0, help="Reason about the last N positions of each window (0 = all; default: settings)."),
]
HistoryLengthOption = Annotated[
    int | None, typer.Option(min=2, help="l_tru: reasoning sees each history's last N items (default: settings).")
]
HoldoutOption = Annotated[
    int | None,
    typer.Option(
        min=0,
        help="Leave each history's last N items out of reasoning (1 = the leave-one-out test item; default: settings).",
    ),
]


def settings_of(ctx: typer.Context) -> Settings:
    """The Settings object the root command built (sub-commands reach it through the parent context)."""
    while ctx is not None and not isinstance(ctx.obj, Settings):
        ctx = ctx.parent  # type: ignore[assignment]
    assert ctx is not None and isinstance(ctx.obj, Settings)
    return ctx.obj


def reports_errors(command: F) -> F:
    """Turn the project's own errors into one red line on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LLMRGError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def print_json(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
