"""How often the knowledge base could answer at all: the reuse ceiling of each lookup key, from the data alone.

A knowledge-base hit needs an earlier user whose chain this user may reuse. Whether one exists depends on the
users, not on the LLM, so the most any run could reach is countable from the histories: had every step stored a
verified chain, which steps of later users would find one? Counted per half of the users in id order (the
reasoning bench's target is on the second half), for three keys:

- `exact` (the default, design doc (d)): the same target, and a premise among this user's last
  `kb_recent_positions` items before it (a one-premise chain on a shared recent item: the loosest chain the
  key admits);
- `window` (`LLMRG_KB_RECENT_POSITIONS` = the window length): the same target and a premise anywhere in this
  user's window before it, which still keeps the reuse rule (every chain item is in the user's history);
- `target`: any earlier chain into the same target. It breaks the reuse rule (the premises may be items the
  user never saw), so no lookup here uses it; it bounds what any fallback keyed on the target, a semantic
  one included, could add.

Each key is counted reasoning about each user's last `--max-targets` positions (what the optimised reasoning
bench does, for its throughput) and about every position of the window. The named baseline is the exact key
at the last positions, the setting the reasoning bench measured. No service is needed; it reads the datasets.

Run: `python -m bench.kb_ceiling [--users 200,1000,0]` (0 = every user; part of `make bench`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.machine import describe, one_line
from bench.paths import RESULTS
from core.settings import for_dataset

DATASETS = ("ml-1m", "beauty")
KEYS = ("exact", "window", "target")
BASELINE = "exact key, last positions"


def kb_ceiling(
    histories: Sequence[Sequence[int]], history_length: int, max_targets: int, recent_positions: int | None
) -> dict[str, float | None]:
    """The knowledge-base hit rate each half of the users would reach if every step had stored a verified chain.

    A step hits when an earlier user had the same target and shared at least one of its `recent_positions`
    items before it (None: no shared item needed, the `target` key). A measured hit rate near this ceiling
    means the knowledge base works and the users share too little; far below it, too few chains were verified.
    """
    seen: dict[int, list[frozenset[int]]] = {}
    hits, steps = [0, 0], [0, 0]
    for index, history in enumerate(histories):
        window = list(history)[-history_length:]
        first_target = max(1, len(window) - max_targets) if max_targets else 1
        half = 0 if index < len(histories) // 2 else 1
        stored = []
        for local in range(first_target, len(window)):
            target = window[local]
            recent = frozenset(window[max(0, local - (recent_positions or 0)) : local])
            steps[half] += 1
            earlier = seen.get(target, ())
            hits[half] += bool(earlier) if recent_positions is None else any(recent & other for other in earlier)
            stored.append((target, recent))
        for target, recent in stored:  # a user's own targets are distinct, so it never hits itself
            seen.setdefault(target, []).append(recent)
    rate = [hit / step if step else None for hit, step in zip(hits, steps, strict=True)]
    return {"first_half": rate[0], "second_half": rate[1]}


def key_positions(key: str, recent_positions: int, history_length: int) -> int | None:
    return {"exact": recent_positions, "window": history_length, "target": None}[key]


def ceilings(
    histories: Sequence[Sequence[int]], history_length: int, max_targets: int, recent_positions: int
) -> list[dict[str, Any]]:
    """One row per (key, positions reasoned about): the key, the setting, and each half's ceiling."""
    rows = []
    for key in KEYS:
        for targets in (max_targets, 0):
            rows.append(
                {
                    "key": key,
                    "max_targets": targets,
                    **kb_ceiling(
                        histories, history_length, targets, key_positions(key, recent_positions, history_length)
                    ),
                }
            )
    return rows


def main() -> dict[str, Any]:
    from core.settings import Settings
    from ingestion import registry

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="200,1000,0", help="first N users by id, comma-separated (0 = all)")
    parser.add_argument("--max-targets", type=int, default=4, help="the last positions the reasoning bench uses")
    args = parser.parse_args()
    settings = Settings.load(env_file=None)
    results = []
    for dataset in DATASETS:
        bundle = registry.read_builtin(settings, dataset)
        histories = [history.items for history in sorted(bundle.histories, key=lambda history: history.user)]
        history_length = for_dataset(settings.reasoning.history_length, dataset)
        for users in (int(value) for value in args.users.split(",")):
            chosen = histories[:users] if users else histories
            results.append(
                {
                    "dataset": dataset,
                    "users": len(chosen),
                    "history_length": history_length,
                    "rows": ceilings(chosen, history_length, args.max_targets, settings.kb.recent_positions),
                }
            )
    machine = describe()
    payload = {
        "benchmark": "kb_ceiling",
        "machine": machine,
        "baseline": BASELINE,
        "recent_positions": settings.kb.recent_positions,
        "max_targets": args.max_targets,
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "kb_ceiling.json").write_text(json.dumps(payload, indent=2) + "\n")
    table = Table(title=f"Knowledge-base ceiling, second half of the users (first half) — {one_line(machine)}")
    for column in ("dataset", "users", "key", "positions", "ceiling", "vs baseline"):
        table.add_column(column, justify="left" if column in ("dataset", "key") else "right")
    for result in results:
        baseline = result["rows"][0]["second_half"] or 0.0
        for row in result["rows"]:
            second, first = row["second_half"] or 0.0, row["first_half"] or 0.0
            table.add_row(
                result["dataset"],
                f"{result['users']:,}",
                row["key"],
                f"last {row['max_targets']}" if row["max_targets"] else f"all of {result['history_length']}",
                f"{second:.1%} ({first:.1%})",
                f"{second / baseline:.1f}x" if baseline else "-",
            )
    Console(width=140).print(table)
    return payload


if __name__ == "__main__":
    main()
