"""A description of the machine a benchmark ran on, stored with every result."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def describe() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "commit": checkout_commit(ROOT),
    }


ROOT = Path(__file__).resolve().parents[1]
RESULT_PATHS = ("bench/results", "docs")
"""Where benchmarks write what they measure: changes there do not make a measurement's code uncommitted."""


def checkout_commit(root: Path) -> str | None:
    """The short commit of `root`'s checkout, marked "with uncommitted changes" when code differs from it (tracked
    or new files outside `RESULT_PATHS`), so a figure never claims a commit it was not measured on."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=False
    )
    if not head.stdout.strip():
        return None
    excluded = [f":(exclude){path}" for path in RESULT_PATHS]
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", ".", *excluded], cwd=root, capture_output=True, text=True, check=False
    )
    return head.stdout.strip() + (" with uncommitted changes" if status.stdout.strip() else "")


def one_line(machine: dict[str, object]) -> str:
    return f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, Python {machine['python']}"
