"""Progress written into a pipe or a CI log: whole plain lines, never a truncated bar."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.progress import Progress

from core.progress import PlainProgress, progress_display

pytestmark = pytest.mark.unit


def test_redirected_output_gets_complete_plain_lines() -> None:
    out = io.StringIO()
    display = progress_display("{task.description}", console=Console(file=out, width=40, force_terminal=False))
    assert isinstance(display, PlainProgress)
    with display as progress:
        task = progress.add_task("reason ml-1m, users", total=24, calls=0, hits=0)
        for _ in range(24):
            progress.update(task, advance=1, calls=310, hits=12)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("reason ml-1m, users: 1/24, calls 310, hits 12 (")  # the first update, then every 10 s
    assert lines[-1].startswith("reason ml-1m, users: 24/24, calls 310, hits 12 (")  # and once when it finishes
    assert len(lines) == 2 and "…" not in out.getvalue()


def test_a_terminal_keeps_the_live_bar_and_disable_prints_nothing() -> None:
    assert isinstance(progress_display(console=Console(file=io.StringIO(), force_terminal=True)), Progress)
    out = io.StringIO()
    with progress_display(console=Console(file=out, force_terminal=False), disable=True) as progress:
        task = progress.add_task("epochs", total=2)
        progress.advance(task, 2)
    assert out.getvalue() == ""
