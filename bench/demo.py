"""The main job's wall time: `llmrg demo` (default plan) step by step, against the issue's 15-minute budget.

Run: `python -m bench.demo` times a fresh `llmrg demo --json` in this checkout (the services it needs are started
by the demo itself, on the default ports and state), or `python -m bench.demo --from-summary PATH` collects a
demo that already ran (its `summary.json`, e.g. from `make demo` on a fresh clone). The machine and commit
are recorded either way. Writes bench/results/demo.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.machine import describe, one_line
from bench.paths import RESULTS, ROOT

BUDGET_S = 15 * 60.0


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-summary", type=Path, help="A finished demo's summary.json instead of a new run.")
    args = parser.parse_args()
    if args.from_summary:
        summary = json.loads(args.from_summary.read_text(encoding="utf-8"))
        source = f"collected from {args.from_summary}"
        wall = None
    else:
        started = time.perf_counter()
        llmrg = str(Path(sys.executable).with_name("llmrg"))
        finished = subprocess.run([llmrg, "demo", "--json"], cwd=ROOT, capture_output=True, text=True, check=False)
        if finished.returncode != 0:
            raise SystemExit(f"llmrg demo failed:\n{finished.stderr[-4000:]}")
        wall = time.perf_counter() - started
        summary = json.loads(finished.stdout)
        source = "timed by bench.demo (services already up are reused, so their start is not counted)"
    steps = {name: step["seconds"] for name, step in summary["steps"].items()}
    payload = {
        "benchmark": "demo",
        "machine": describe(),
        "source": source,
        "baseline": f"the issue's budget: {BUDGET_S / 60:.0f} minutes on 2 cores",
        "plan": summary["plan"],
        "steps_s": steps,
        "steps_total_s": sum(steps.values()),
        "wall_s": wall,
        "reason": {key: summary["steps"]["reason"][key] for key in ("users_done", "llm_calls", "chains_verified")},
        "train": {key: summary["steps"]["train"][key] for key in ("test", "epoch_s")},
        "recommend": {key: summary["steps"]["recommend"][key] for key in ("user", "explained", "ms")},
        "targets": {"budget_s": BUDGET_S, "met": sum(steps.values()) <= BUDGET_S},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "demo.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    table = Table("step", "seconds", title=f"llmrg demo — {one_line(payload['machine'])}")
    for name, seconds in steps.items():
        table.add_row(name, f"{seconds:.1f}")
    table.add_row("total", f"{payload['steps_total_s']:.1f}")
    Console().print(table)
    return payload


if __name__ == "__main__":
    main()
