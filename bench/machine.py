"""A description of the machine a benchmark ran on, stored with every result."""

from __future__ import annotations

import os
import platform
import shutil
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
    machine: dict[str, object] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "commit": checkout_commit(ROOT),
    }
    if gpus := gpu_names():
        machine["gpu"] = ", ".join(gpus)
    return machine


def gpu_names() -> list[str]:
    """The NVIDIA GPUs `nvidia-smi` lists (none where it is absent), read without importing torch, which takes
    seconds: a run trained on a GPU must say so beside its seconds per epoch."""
    if shutil.which("nvidia-smi") is None:
        return []
    listed = subprocess.run(
        ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, check=False
    )
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()] if listed.returncode == 0 else []


ROOT = Path(__file__).resolve().parents[1]
RESULT_PATHS = ("bench/results", "docs")
"""Where benchmarks write what they measure: changes there do not make a measurement's code uncommitted."""


def checkout_commit(root: Path) -> str | None:
    """The short commit of `root`'s checkout, marked "with uncommitted changes" when code differs from it (tracked
    or new files outside `RESULT_PATHS`), so a figure never claims a commit it was not measured on."""
    if shutil.which("git") is None:  # a copy of the tree on a machine without git (a lent GPU machine)
        return None
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
    gpu = f", GPU {machine['gpu']}" if machine.get("gpu") else ""
    return f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB{gpu}, Python {machine['python']}"
