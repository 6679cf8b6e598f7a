"""A benchmark's commit says when the code it measured differs from that commit; its own results do not count."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.machine import checkout_commit

pytestmark = pytest.mark.unit


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_commit_is_marked_only_when_code_differs(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "model.py").write_text("x = 1\n")
    (tmp_path / "bench" / "results" / "speed.json").write_text("{}\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "first")
    head = git(tmp_path, "rev-parse", "--short", "HEAD")
    assert checkout_commit(tmp_path) == head

    (tmp_path / "bench" / "results" / "speed.json").write_text('{"epoch_s": 1}\n')
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "RESULTS.md").write_text("rendered\n")
    assert checkout_commit(tmp_path) == head, "a benchmark's own output is not a code change"

    (tmp_path / "dropout.py").write_text("y = 2\n")
    assert checkout_commit(tmp_path) == f"{head} with uncommitted changes"
    (tmp_path / "dropout.py").unlink()
    (tmp_path / "model.py").write_text("x = 2\n")
    assert checkout_commit(tmp_path) == f"{head} with uncommitted changes"


def test_no_checkout_gives_no_commit(tmp_path: Path) -> None:
    assert checkout_commit(tmp_path) is None
