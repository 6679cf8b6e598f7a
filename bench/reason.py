"""Reasoning benchmark: the paper's naive procedure against the optimised engine, same model, same run.

- naive: one LLM call per step and one per verification mask, no knowledge base;
- optimised: multi-step prompts, a constant prompt prefix (the server's prompt cache), compact index
  answers, batched verification and the knowledge base.

Both start from an empty knowledge base on the same ML-1M users (the first `--naive-users` are common to
both, so the verified-chain rate can be compared). Divergent extension is off in both: it is measured
separately, and it would add the same two calls per user to each. Reported per stage: LLM calls, prompt
and completion tokens per user, KB hit rate in the first and second half of the users, chains verified /
rejected, users per hour. Targets (issue): >= 10x fewer calls per user, KB hit rate >= 30% on the second
half, >= 150 users per hour.

Run: `python -m bench.reason [--naive-users 5] [--users 200] [--max-targets 0]` (part of `make bench`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.ingest import RESULTS, ROOT
from bench.kb_ceiling import kb_ceiling
from bench.machine import describe, one_line

BENCH_ENVIRONMENT = {
    "LLMRG_STATE_DIR": str(ROOT / ".llmrg" / "bench"),
    "NEO4J_URI": "bolt://127.0.0.1:27687",
    "LLMRG_NEO4J_HTTP_PORT": "27474",
    "REDIS_URL": "redis://127.0.0.1:26379/0",
    "LLMRG_LLM_BASE_URL": "http://127.0.0.1:28088/v1",
}
DATASET = "ml-1m"
TARGETS = {
    "calls_per_user_ratio_at_least": 10.0,
    "kb_hit_rate_second_half_at_least": 0.30,
    "users_per_hour_at_least": 150.0,
}


def stage(driver: Any, settings: Any, users: list[int], common: list[int]) -> dict[str, Any]:
    from reasoning import store
    from reasoning.run import reason_users

    store.delete_chains(driver, settings, DATASET)
    half = len(users) // 2
    started = time.perf_counter()
    curve: list[dict[str, Any]] = []

    def reason_half(part: list[int]) -> dict[str, Any] | None:
        """The half's users in up to CURVE_POINTS_PER_HALF chunks, a point of the reuse curve after each."""
        if not part:
            return None
        size = -(-len(part) // CURVE_POINTS_PER_HALF)
        chunks = []
        for offset in range(0, len(part), size):
            chunk = reason_users(driver, settings, DATASET, part[offset : offset + size]).as_json()
            chunks.append(chunk)
            previous = curve[-1] if curve else {"users": 0, "kb_hits": 0, "kb_misses": 0, "llm_calls": 0}
            point = {key: previous[key] + chunk[key] for key in ("kb_hits", "kb_misses", "llm_calls")}
            point["users"] = previous["users"] + chunk["users"]
            point["seconds"] = time.perf_counter() - started
            point["kb_hit_rate"] = _hit_rate(point)
            curve.append(point)
        merged: dict[str, Any] = {key: sum(chunk[key] for chunk in chunks) for key in SUMMED}
        merged["rejected_by_reason"] = {}
        for chunk in chunks:
            for reason, count in chunk["rejected_by_reason"].items():
                merged["rejected_by_reason"][reason] = merged["rejected_by_reason"].get(reason, 0) + count
        return merged

    first = reason_half(users[:half])
    second = reason_half(users[half:])
    wall = time.perf_counter() - started
    halves = [h for h in (first, second) if h is not None]
    total = {key: sum(h[key] for h in halves) for key in SUMMED if key != "users"}
    n = len(users)
    rejected: dict[str, int] = {}
    for half_stats in halves:
        for reason, count in half_stats["rejected_by_reason"].items():
            rejected[reason] = rejected.get(reason, 0) + count
    return {
        "users": n,
        "wall_s": wall,
        "users_per_hour": 3600 * n / wall,
        "llm_calls_per_user": total["llm_calls"] / n,
        "prompt_tokens_per_user": total["prompt_tokens"] / n,
        "completion_tokens_per_user": total["completion_tokens"] / n,
        "kb_hit_rate_first_half": _hit_rate(first),
        "kb_hit_rate_second_half": _hit_rate(second),
        **total,
        "rejected_by_reason": rejected,
        "common_users_verified_rate": verified_rate(driver, settings, common),
        "kb_curve": curve,
    }


SUMMED = (
    "users",
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "kb_hits",
    "kb_misses",
    "chains_verified",
    "chains_rejected",
    "chains_proposed",
    "steps",
)
CURVE_POINTS_PER_HALF = 5
"""Each half of the users is reasoned in up to this many chunks: the knowledge-base reuse curve's points."""


def user_histories(driver: Any, settings: Any, users: list[int]) -> list[list[int]]:
    from llmrg import graph

    histories = []
    for user in users:
        records = graph.run(driver, settings, "reasoning/fetch_user_history", dataset=DATASET, user=user)
        histories.append([row["id"] for row in records[0]["history"]])
    return histories


def _hit_rate(half: dict[str, Any] | None) -> float | None:
    if not half or not half["kb_hits"] + half["kb_misses"]:
        return None
    return half["kb_hits"] / (half["kb_hits"] + half["kb_misses"])


def verified_rate(driver: Any, settings: Any, users: list[int]) -> float | None:
    from llmrg import graph

    rows = graph.run(driver, settings, "stats/chain_outcomes", dataset=DATASET, users=users)
    verified = sum(r["chains"] for r in rows if r["status"] == "verified")
    total = sum(r["chains"] for r in rows)
    return verified / total if total else None


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-users", type=int, default=5)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--max-targets", type=int, default=0, help="last N positions per user (0 = all)")
    parser.add_argument("--history-length", type=int, default=0, help="l_tru for the run (0 = the settings')")
    args = parser.parse_args()

    os.environ.pop("NEO4J_PASSWORD", None)
    os.environ.update(BENCH_ENVIRONMENT)
    from ingestion import loader, registry
    from llmrg import graph
    from llmrg.services.llm_server import LocalLLM
    from llmrg.services.neo4j_server import LocalNeo4j
    from llmrg.settings import Settings
    from llmrg.stats import dataset_counts
    from reasoning.options import ReasoningOptions

    base = ReasoningOptions(
        divergent=False, max_targets=args.max_targets, history_length=args.history_length or None
    ).apply(Settings(_env_file=None))  # type: ignore[call-arg]
    console = Console(width=130)
    neo4j_server, llm_server = LocalNeo4j(base), LocalLLM(base)
    try:
        neo4j_server.start()
        llm_server.start()
        with graph.open_driver(base) as driver:
            graph.apply_schema(driver, base)
            if dataset_counts(driver, base).get(DATASET, {}).get("interactions") != 999_611:
                loader.write_dataset(driver, base, registry.read_builtin(base, DATASET))
            users = list(range(1, args.users + 1))
            common = users[: args.naive_users]
            naive = base.model_copy(
                update={"reason_steps_per_call": 1, "verify_questions_per_call": 1, "kb_enabled": False}
            )
            stages = {"naive": stage(driver, naive, common, common), "optimised": stage(driver, base, users, common)}
            histories = user_histories(driver, base, users)
    finally:
        llm_server.stop()
        neo4j_server.stop()

    history_length = base.for_dataset(base.reason_history_length, DATASET)
    full = Settings(_env_file=None)  # type: ignore[call-arg]
    ceilings = {
        "this_run": kb_ceiling(histories, history_length, base.reason_max_targets, base.kb_recent_positions),
        "full_window": kb_ceiling(
            histories, full.for_dataset(full.reason_history_length, DATASET), 0, base.kb_recent_positions
        ),
    }
    ratio = stages["naive"]["llm_calls_per_user"] / max(stages["optimised"]["llm_calls_per_user"], 1e-9)
    second_half = stages["optimised"]["kb_hit_rate_second_half"] or 0.0
    machine = describe()
    payload = {
        "benchmark": "reason",
        "dataset": DATASET,
        "model": base.llm_model,
        "settings": {
            "reason_steps_per_call": base.reason_steps_per_call,
            "reason_chains_per_step": base.reason_chains_per_step,
            "reason_max_targets": base.reason_max_targets,
            "verify_questions_per_call": base.verify_questions_per_call,
            "history_length": base.for_dataset(base.reason_history_length, DATASET),
        },
        "machine": machine,
        "baseline": "naive",
        "stages": stages,
        "calls_per_user_ratio": ratio,
        "kb_ceiling": ceilings
        | {"full_window_settings": {"history_length": full.for_dataset(full.reason_history_length, DATASET)}},
        "targets": TARGETS
        | {
            "met": ratio >= TARGETS["calls_per_user_ratio_at_least"]
            and second_half >= TARGETS["kb_hit_rate_second_half_at_least"]
            and stages["optimised"]["users_per_hour"] >= TARGETS["users_per_hour_at_least"]
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reason.json").write_text(json.dumps(payload, indent=2) + "\n")
    table = Table(title=f"Reasoning on ML-1M with {base.llm_model} — {one_line(machine)}")
    rows = (
        "users",
        "llm_calls_per_user",
        "prompt_tokens_per_user",
        "completion_tokens_per_user",
        "kb_hit_rate_first_half",
        "kb_hit_rate_second_half",
        "chains_verified",
        "chains_rejected",
        "common_users_verified_rate",
        "users_per_hour",
    )
    table.add_column("measure")
    for name in stages:
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(row, *(_cell(stages[name][row]) for name in stages))
    console.print(table)
    console.print(f"naive / optimised LLM calls per user: {ratio:.1f}x; targets met: {payload['targets']['met']}")
    this_run, full_window = ceilings["this_run"]["second_half"] or 0.0, ceilings["full_window"]["second_half"] or 0.0
    console.print(
        f"knowledge-base ceiling (every step verified), second half: {this_run:.1%} with these settings, "
        f"{full_window:.1%} with every position of the full window"
    )
    return payload


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


if __name__ == "__main__":
    main()
