"""Reasoning benchmark: the paper's naive procedure against the optimised engine, same model, same run.

- naive: one LLM call per step and one per verification mask, no knowledge base;
- optimised: multi-step chaining prompts, a constant prompt prefix per task (one server slot each, so
  the prefix and the user's history are cached), compact index answers and the knowledge base. It verifies
  one question per call like the naive procedure (the default: batching cost the 0.5B model accuracy, not
  time), so its saving is in chaining calls, cached prompt tokens and knowledge-base hits.

Both start from an empty knowledge base of users' reasoning on the same ML-1M users (the first `--naive-users` are
common to both, so the verified-chain rate can be compared). The optimised stage's knowledge base also holds the
released warm start (`llmrg kb warm`: verified item pairs, no users, `data/kb/ml-1m.jsonl.gz`; its pairs only, not
the release's users' reasoning), imported at the start of each sitting and recorded with every chunk
(`--no-warm-start`: without, from the start or with `--fresh`; the report says from which user on a run held it).
Divergent extension is off in both: it is measured separately, and it would add the same two calls per user to
each. Reported per stage: LLM calls, prompt
and completion tokens per user (and the prompt tokens the server computed, beside the previous run's), KB
hit rate in the first and second half of the users with whole-chain and edge hits apart, chains verified /
rejected, users per hour. Defaults (issue 20): the first 1,000 ML-1M users, the last 4 positions before each
user's test item (holdout 1). Targets: at most a tenth of naive's calls per user, a knowledge-base hit rate
of at least 15% on the second half (users 501-1,000), at least 300 users per hour.

At full size this takes hours on a small machine, longer than one sitting and often longer than one machine:
the users are reasoned in chunks, each finished chunk is written to a journal (`bench/results/reason-run/ml-1m.json`,
committed), the optimised stage exports its knowledge base beside it after every chunk, and rerunning the same
command carries the run on (`--max-minutes` stops it cleanly between chunks), on a fresh machine from those two
files. Wall time and users per hour count the chunks' own seconds, split by the LLM server's thread count
(`LLMRG_LLM_THREADS`: one core beside a training run is a different pace from the whole machine), and the result
says in how many sittings and on which machines it ran.

Run: `python -m bench.reason [--naive-users 5] [--users 1000] [--max-targets 4] [--holdout 1] [--max-minutes M]
[--fresh] [--journal FILE] [--no-warm-start]`
(`make bench-reason`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.graph_server import BENCH_ENVIRONMENT
from bench.journal import Journal, JournalMismatch, plan_chunks
from bench.kb_ceiling import kb_ceiling
from bench.machine import describe, one_line
from bench.paths import RESULTS, ROOT
from bench.server_metrics import read_counters, since
from core.settings import for_dataset

DATASET = "ml-1m"
KB_STAGE = "optimised"
"""The stage whose knowledge base the release is made of: the engine as users run it."""
WARM_START = ROOT / "data" / "kb" / f"{DATASET}.jsonl.gz"
"""The released knowledge base, whose item pairs (`ChainKind.PAIR`: the warm start, no users) the optimised stage
holds beside its own users' reasoning."""
TARGETS = {
    "calls_per_user_ratio_at_least": 10.0,
    "kb_hit_rate_second_half_at_least": 0.15,
    "users_per_hour_at_least": 300.0,
}


def stage(
    db: Any,
    settings: Any,
    name: str,
    users: list[int],
    common: list[int],
    journal: Journal,
    sitting: Sitting,
    warm_start: Path | None = None,
) -> dict[str, Any] | None:
    """The stage's result, reasoning only the chunks of users the journal lacks; None if time ran out first.

    A fresh stage starts from an empty knowledge base. A resumed one carries on from the database the journal
    left (`carry_on`), then forgets the users of a chunk it was stopped in the middle of, so they are reasoned
    again at full cost instead of hitting their own earlier chains. After each chunk a stage that reuses
    knowledge exports its knowledge base beside the journal, so a machine whose database never held this run
    can carry it on: the journal and that file are the whole state, and both can be committed."""
    from reasoning import kb_transfer, store
    from reasoning.run import reason_users

    record = journal.stage(name)
    if record["result"] is not None:
        return record["result"]
    done = set(journal.done_users(name))
    carried_by_file = False
    if record["chunks"]:
        carried_by_file = carry_on(db, settings, journal, name)
        store.forget_users(db, DATASET, [user for user in users if user not in done])
    else:
        store.delete_chains(db, DATASET)
    warm = None
    if settings.kb.enabled and warm_start is not None:
        warm = import_warm_start(db, warm_start)
    elif settings.kb.enabled and (held := pair_chains(db)):
        raise JournalMismatch(
            f"the bench database holds {held} warm-start pairs, which this run was told to leave out; carry it on "
            "as it began (without --no-warm-start), or pass --fresh to start over without them"
        )
    for chunk in plan_chunks(users, sitting.chunk_users):
        if set(chunk) <= done:
            continue
        if sitting.spent():
            return None
        counters = read_counters(settings.llm.base_url)
        started = time.perf_counter()
        stats = reason_users(db, settings, DATASET, chunk).as_json()
        seconds = time.perf_counter() - started
        knowledge: dict[str, Any] = {}
        exported_file = kb_file(journal.path, name)
        if settings.kb.enabled:  # staged, then moved into place once the journal names it (`carry_on`)
            exported = kb_transfer.export_knowledge_base(db, DATASET, staged_file(exported_file))
            knowledge = {"kb_chains": exported.chains, "kb_edges": exported.edges, "kb_sha256": exported.sha256}
        journal.add_chunk(
            name,
            {
                "users": chunk,
                "stats": stats,
                "server": since(counters, read_counters(settings.llm.base_url)),
                "seconds": seconds,
                "llm_threads": settings.llm.threads,
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "sitting": journal.sittings,
                "machine": one_line(sitting.machine),
                "commit": sitting.machine["commit"],
                "carried_by_file": carried_by_file,
                "chains_of_done_users": linked_chains(db, journal.done_users(name) + chunk),
                "common_chains": chain_counts(db, [user for user in chunk if user in common]),
                **knowledge,
                **({"warm_start": warm} if warm else {}),
            },
        )
        if settings.kb.enabled:
            staged_file(exported_file).replace(exported_file)
        carried_by_file = False
        sitting.chunk_took(seconds)
    result = summarise(users, record["chunks"])
    result["common_users_verified_rate"] = common_verified_rate(record["chunks"])
    journal.finish(name, result)
    return result


def import_warm_start(db: Any, release: Path) -> dict[str, Any] | None:
    """Merge the release's item pairs and the edges they support into the bench database (nothing of any user's
    reasoning: the run's own is its journal's); what was imported, or None when the release holds no pairs.
    Idempotent (MERGE), so each sitting imports it again, and a release the warm start has grown since reaches the
    rest of the run (each chunk records what it held)."""
    from core.vocabulary import ChainKind
    from reasoning import kb_format, kb_transfer

    if not release.is_file():
        return None
    kb = kb_format.read(release)
    if not any(chain.kind is ChainKind.PAIR for _, chain in kb.chains):
        return None
    with tempfile.TemporaryDirectory() as folder:
        pairs = Path(folder) / "pairs.jsonl.gz"
        header, sha256 = kb_format.combine([(kb, frozenset({ChainKind.PAIR}))], pairs)
        kb_transfer.import_knowledge_base(db, pairs, DATASET)
    return {
        "file": str(release.relative_to(ROOT)) if release.is_relative_to(ROOT) else str(release),
        "pair_chains": header.counts["chains"],
        "edges": header.counts["edges"],
        "sha256": sha256,
    }


def kb_file(journal_path: Path, name: str) -> Path:
    """Where a stage's knowledge base is exported after each chunk: beside its journal (`bench.kb_build` makes
    the released knowledge base from the `KB_STAGE`'s)."""
    return journal_path.with_name(f"{journal_path.stem}.{name}.jsonl.gz")


def staged_file(path: Path) -> Path:
    """Where a chunk's export waits until the journal records it: a run killed between the two leaves either the
    journal's file in place or the staged one matching the journal, never a file the journal does not name."""
    return path.with_name(f".{path.name}")


def carry_on(db: Any, settings: Any, journal: Journal, name: str) -> bool:
    """Make the database what the journal's last chunk left before a stage carries on; True when it was rebuilt
    from the exported file.

    The database the journal left (its finished users' chains as the last chunk counted them) carries on as
    it is. Any other database (another machine, a rebuilt one, or one a sitting restored and then stopped in the
    middle of a chunk) drops the dataset's reasoning and imports the knowledge base the last chunk exported,
    when that file is the one the journal names (sha256): the verified chains and edges every later lookup
    reads. A stage without reuse (naive) needs nothing restored. What does not travel is the evidence of
    rejected chains (the file holds verified knowledge only), so a later user proposing a chain rejected before
    is judged on its own check alone; chunks record `carried_by_file`. A file that is not the journal's
    refuses: the run cannot be carried on as it was."""
    from reasoning import kb_transfer, store

    last = journal.stage(name)["chunks"][-1]
    found = linked_chains(db, journal.done_users(name))
    if found == last["chains_of_done_users"]:
        return False
    if not settings.kb.enabled:
        store.delete_chains(db, DATASET)
        return False
    path = kb_file(journal.path, name)
    for candidate in (path, staged_file(path)):  # the staged one when a kill came after the journal's write
        if candidate.is_file() and hashlib.sha256(candidate.read_bytes()).hexdigest() == last.get("kb_sha256"):
            if candidate != path:
                candidate.replace(path)
            store.delete_chains(db, DATASET)
            kb_transfer.import_knowledge_base(db, path, DATASET)
            return True
    raise JournalMismatch(
        f"{journal.path} says stage {name!r} left {last['chains_of_done_users']} chains linked to its finished "
        f"users, but the bench database holds {found}, and {path} is not the "
        "knowledge base the last chunk exported, so the run cannot be restored; pass --fresh to start over"
    )


def pair_chains(db: Any) -> int:
    """The warm start's item pairs the bench database holds for the run's dataset."""
    return int(db.run("stats/pair_chain_count", dataset=DATASET)[0]["chains"])


def dataset_chains(db: Any, dataset: str) -> int:
    """Every chain of `dataset`, linked to a user or not, of any kind and status."""
    return int(db.run("stats/dataset_chain_count", dataset=dataset)[0]["chains"])


def common_verified_rate(chunks: list[dict[str, Any]]) -> float | None:
    """The common users' verified rate from the chains each chunk counted for them when it finished, so it
    does not depend on the database a later sitting runs against."""
    counts: dict[str, int] = {}
    for chunk in chunks:
        for status, n in chunk.get("common_chains", {}).items():
            counts[status] = counts.get(status, 0) + n
    total = sum(counts.values())
    return counts.get("verified", 0) / total if total else None


def summarise(users: list[int], chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """A stage's figures from its finished chunks: sums, per-user rates, each half's hit rate, the reuse curve.

    Wall time is the sum of the chunks' own seconds, so the time between sittings is not counted."""
    first_half = set(users[: len(users) // 2])
    halves: list[dict[str, Any]] = [{key: 0 for key in SUMMED}, {key: 0 for key in SUMMED}]
    rejected: dict[str, int] = {}
    curve: list[dict[str, Any]] = []
    counted = ("users", "kb_hits", "kb_edge_hits", "kb_edge_hits_warm_start", "kb_misses", "llm_calls")
    point: dict[str, Any] = dict.fromkeys(counted, 0) | {"seconds": 0.0}
    for chunk in chunks:
        stats = chunk["stats"]
        half = halves[0 if set(chunk["users"]) <= first_half else 1]
        for key in SUMMED:
            half[key] += stats.get(key, 0)  # chunks journaled before edges existed have no kb_edge_hits
        for reason, count in stats["rejected_by_reason"].items():
            rejected[reason] = rejected.get(reason, 0) + count
        point = {key: point[key] + stats.get(key, 0) for key in counted} | {
            "seconds": point["seconds"] + chunk["seconds"]
        }
        curve.append(point | {"kb_hit_rate": _hit_rate(point), "kb_edge_hit_rate": _hit_rate(point, "kb_edge_hits")})
    total = {key: halves[0][key] + halves[1][key] for key in SUMMED}
    n = max(total["users"], 1)
    wall = sum(chunk["seconds"] for chunk in chunks)
    server = {
        f"server_{name}_per_user": sum(chunk["server"][name] for chunk in chunks) / n
        for name in SERVER_COUNTERS
        if all(name in chunk.get("server", {}) for chunk in chunks)
    }
    return {
        "users": total["users"],
        "wall_s": wall,
        "users_per_hour": 3600 * total["users"] / wall if wall else None,
        "users_per_hour_by_llm_threads": pace_by_threads(chunks),
        "llm_calls_per_user": total["llm_calls"] / n,
        "prompt_tokens_per_user": total["prompt_tokens"] / n,
        "completion_tokens_per_user": total["completion_tokens"] / n,
        **server,
        "kb_hit_rate_first_half": _hit_rate(halves[0]),
        "kb_hit_rate_second_half": _hit_rate(halves[1]),
        "kb_edge_hit_rate_first_half": _hit_rate(halves[0], "kb_edge_hits"),
        "kb_edge_hit_rate_second_half": _hit_rate(halves[1], "kb_edge_hits"),
        "kb_edge_warm_start_hit_rate_second_half": _hit_rate(halves[1], "kb_edge_hits_warm_start"),
        **{key: value for key, value in total.items() if key != "users"},
        "rejected_by_reason": rejected,
        "kb_curve": curve,
        "warm_start": warm_start_summary(chunks),
        "sittings": len({chunk["sitting"] for chunk in chunks}),
        "machines": sorted({chunk["machine"] for chunk in chunks}),
        "commits": sorted({str(chunk["commit"]) for chunk in chunks}),
    }


def warm_start_summary(chunks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """From which user on the knowledge base held the warm start's pairs, and the most it held; None if never."""
    warm = [chunk for chunk in chunks if chunk.get("warm_start")]
    if not warm:
        return None
    largest = max((chunk["warm_start"] for chunk in warm), key=lambda held: held["pair_chains"])
    held = {"pair_chains": largest["pair_chains"], "edges": largest["edges"]}
    return {"from_user": min(warm[0]["users"]), "chunks": len(warm), **held}


def pace_by_threads(chunks: list[dict[str, Any]]) -> dict[str, float]:
    """Users per hour of the chunks served with each LLM thread count (a long run may have had the whole
    machine in one sitting and one core beside training in another; chunks from before this was recorded
    count under "unrecorded")."""
    users: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for chunk in chunks:
        threads = str(chunk.get("llm_threads", "unrecorded"))
        users[threads] = users.get(threads, 0) + len(chunk["users"])
        seconds[threads] = seconds.get(threads, 0.0) + chunk["seconds"]
    order = sorted(users, key=lambda threads: (not threads.isdigit(), int(threads) if threads.isdigit() else 0))
    return {threads: 3600 * users[threads] / seconds[threads] for threads in order if seconds[threads]}


def linked_chains(db: Any, users: list[int]) -> int:
    return sum(chain_counts(db, users).values())


@dataclass
class Sitting:
    """One invocation of the bench: where it runs (machine and commit, read once at its start, so every chunk
    names the code that reasoned it) and how long it may reason. It starts no chunk that the last one's pace
    says would end too late."""

    chunk_users: int
    max_seconds: float | None
    machine: dict[str, Any] = field(default_factory=describe)
    started: float = field(default_factory=time.perf_counter)
    last_chunk_s: float = 0.0

    def spent(self) -> bool:
        if self.max_seconds is None:
            return False
        return time.perf_counter() - self.started + self.last_chunk_s > self.max_seconds

    def chunk_took(self, seconds: float) -> None:
        self.last_chunk_s = seconds


SUMMED = (
    "users",
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "kb_hits",
    "kb_edge_hits",
    "kb_edge_hits_warm_start",
    "kb_misses",
    "chains_verified",
    "chains_rejected",
    "chains_proposed",
    "steps",
)
SERVER_COUNTERS = ("prompt_tokens_computed", "prompt_tokens_cached", "prompt_s", "generation_s")
"""The LLM server's own counts, per chunk (`bench.server_metrics`): what the prompt cache spared."""
JOURNAL = RESULTS / "reason-run" / f"{DATASET}.json"
"""Finished chunks of the current full-size run, committed with the knowledge base its stage exports beside it
(`kb_file`): a run of many hours goes on across sessions and machines from these two files."""


def user_histories(db: Any, users: list[int]) -> list[list[int]]:

    histories = []
    for user in users:
        records = db.run("reasoning/fetch_user_history", dataset=DATASET, user=user)
        histories.append([row["id"] for row in records[0]["history"]])
    return histories


def _hit_rate(half: dict[str, Any] | None, kind: str = "kb_hits") -> float | None:
    """Steps answered by whole chains (`kb_hits`) or by edges (`kb_edge_hits`), of the steps looked up."""
    looked_up = half and half["kb_hits"] + half.get("kb_edge_hits", 0) + half["kb_misses"]
    if not half or not looked_up:
        return None
    return half.get(kind, 0) / looked_up


def chain_counts(db: Any, users: list[int]) -> dict[str, int]:
    """Reasoning chains linked to `users` (accepted or proposed), by status."""

    rows = db.run("stats/chain_outcomes", dataset=DATASET, users=users)
    return {row["status"]: int(row["chains"]) for row in rows}


def main() -> dict[str, Any] | None:
    """The finished run's result (also written to bench/results/reason.json), or None when this sitting's
    time ran out first; the same command carries the run on from its journal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-users", type=int, default=5)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--max-targets", type=int, default=4, help="last N positions per user (0 = all)")
    parser.add_argument("--holdout", type=int, default=1, help="leave each history's last N items out (the test item)")
    parser.add_argument("--history-length", type=int, default=0, help="l_tru for the run (0 = the settings')")
    parser.add_argument("--chunk-users", type=int, default=10, help="users per chunk: the unit of resuming")
    parser.add_argument("--max-minutes", type=float, default=0, help="stop before a chunk would end later (0 = none)")
    parser.add_argument("--fresh", action="store_true", help="discard a stored unfinished run and start over")
    parser.add_argument(
        "--journal", type=Path, default=JOURNAL, help="the run's journal; its stages' knowledge bases go beside it"
    )
    parser.add_argument(
        "--no-warm-start",
        action="store_true",
        help=f"the optimised stage without the release's warm-start pairs ({WARM_START.relative_to(ROOT)})",
    )
    args = parser.parse_args()
    if args.chunk_users < 1:
        parser.error("--chunk-users must be at least 1")

    os.environ.pop("NEO4J_PASSWORD", None)
    os.environ.update(BENCH_ENVIRONMENT)
    from bench.graph_server import ensure_dataset, shared_server
    from bench.own_llm import own_llm_server
    from core import gateway
    from core.settings import Settings
    from llmrg.services.neo4j_server import LocalNeo4j
    from reasoning.options import ReasoningOptions

    base = ReasoningOptions(
        divergent=False,
        max_targets=args.max_targets,
        history_length=args.history_length or None,
        holdout=args.holdout,
    ).apply(Settings.load(env_file=None))
    console = Console(width=130)
    users = list(range(1, args.users + 1))
    common = users[: args.naive_users]
    try:
        journal = Journal.open(args.journal, fingerprint(base, args), fresh=args.fresh)
    except JournalMismatch as error:
        parser.exit(2, f"error: {error}\n")
    sitting = Sitting(args.chunk_users, args.max_minutes * 60 or None)
    try:
        with (
            shared_server(LocalNeo4j(base), writes=True),  # first: a refusal comes before the LLM's start-up
            own_llm_server(base) as base,  # one that other runs' prompts warmed would answer from its cache
            gateway.open_gateway(base) as db,
        ):
            gateway.apply_schema(db)
            ensure_dataset(db, base, DATASET)
            naive = base.updated(
                reasoning={"steps_per_call": 1}, verify={"questions_per_call": 1}, kb={"enabled": False}
            )
            outcomes = {"naive": stage(db, naive, "naive", common, common, journal, sitting)}
            if outcomes["naive"] is not None:
                warm_start = None if args.no_warm_start else WARM_START
                outcomes[KB_STAGE] = stage(db, base, KB_STAGE, users, common, journal, sitting, warm_start)
            finished = all(result is not None for result in outcomes.values()) and len(outcomes) == 2
            histories = user_histories(db, users) if finished else []
    except JournalMismatch as error:
        parser.exit(2, f"error: {error}\n")
    stages = {name: result for name, result in outcomes.items() if result is not None}
    if not finished:
        print_progress(console, journal, {"naive": common, "optimised": users}, base.llm.model)
        return None

    history_length = for_dataset(base.reasoning.history_length, DATASET)
    full = Settings.load(env_file=None)
    ceilings = {
        "this_run": kb_ceiling(histories, history_length, base.reasoning.max_targets, base.kb.recent_positions),
        "full_window": kb_ceiling(
            histories, for_dataset(full.reasoning.history_length, DATASET), 0, base.kb.recent_positions
        ),
    }
    ratio = stages["naive"]["llm_calls_per_user"] / max(stages["optimised"]["llm_calls_per_user"], 1e-9)
    optimised = stages["optimised"]
    second_half = (optimised["kb_hit_rate_second_half"] or 0.0) + (optimised["kb_edge_hit_rate_second_half"] or 0.0)
    machine = sitting.machine
    payload = {
        "benchmark": "reason",
        "dataset": DATASET,
        "model": base.llm.model,
        "settings": {
            "reason_steps_per_call": base.reasoning.steps_per_call,
            "reason_chains_per_step": base.reasoning.chains_per_step,
            "reason_max_targets": base.reasoning.max_targets,
            "reason_holdout": base.reasoning.holdout,
            "reason_prompt_version": base.reasoning.prompt_version,
            "verify_style": base.verify.style,
            "verify_questions_per_call": base.verify.questions_per_call,
            "history_length": for_dataset(base.reasoning.history_length, DATASET),
        },
        "machine": machine,
        "baseline": "naive",
        "stages": stages,
        "calls_per_user_ratio": ratio,
        "previous_run": previous_run(RESULTS / "reason.json"),
        "kb_ceiling": ceilings
        | {"full_window_settings": {"history_length": for_dataset(full.reasoning.history_length, DATASET)}},
        "targets": TARGETS
        | {
            "met": ratio >= TARGETS["calls_per_user_ratio_at_least"]
            and second_half >= TARGETS["kb_hit_rate_second_half_at_least"]
            and stages["optimised"]["users_per_hour"] >= TARGETS["users_per_hour_at_least"]
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reason.json").write_text(json.dumps(payload, indent=2) + "\n")
    finished = journal.retire()
    kb_file(args.journal, KB_STAGE).replace(kb_file(finished, KB_STAGE))  # the release's source, kept with it
    print_stages(console, stages, f"Reasoning on ML-1M with {base.llm.model} — {one_line(machine)}")
    console.print(f"naive / optimised LLM calls per user: {ratio:.1f}x; targets met: {payload['targets']['met']}")
    this_run, full_window = ceilings["this_run"]["second_half"] or 0.0, ceilings["full_window"]["second_half"] or 0.0
    console.print(
        f"knowledge-base ceiling (every step verified), second half: {this_run:.1%} with these settings, "
        f"{full_window:.1%} with every position of the full window"
    )
    return payload


def previous_run(path: Any) -> dict[str, Any] | None:
    """The optimised stage's cost per user in the result this run replaces (commit, users, calls, prompt tokens the
    server computed, tokens generated), so the report shows what changed; None on a first run."""
    if not path.is_file():
        return None
    before = json.loads(path.read_text())
    optimised = before["stages"]["optimised"]
    return {
        "commit": before["machine"].get("commit"),
        "users": optimised["users"],
        "llm_calls_per_user": optimised["llm_calls_per_user"],
        "computed_prompt_tokens_per_user": optimised.get("server_prompt_tokens_computed_per_user"),
        "completion_tokens_per_user": optimised["completion_tokens_per_user"],
        "users_per_hour": optimised["users_per_hour"],
    }


def fingerprint(settings: Any, args: argparse.Namespace) -> dict[str, Any]:
    """What a resumed run must share with the stored one: the users, the chunks and every reasoning setting."""
    llm = settings.llm.model_dump(mode="json", include={"model", "weights", "max_output_tokens", "context_tokens"})
    reasoning = {
        area: getattr(settings, area).model_dump(mode="json") for area in ("reasoning", "verify", "kb", "divergent")
    }
    reasoning["llm"] = llm
    return {
        "dataset": DATASET,
        "users": args.users,
        "naive_users": args.naive_users,
        "chunk_users": args.chunk_users,
        "settings": reasoning,
    }


def print_progress(console: Console, journal: Journal, users: dict[str, list[int]], model: str) -> None:
    """What an unfinished run has measured so far, and how to carry it on."""
    partial = {
        name: journal.stage(name)["result"] or summarise(users[name], journal.stage(name)["chunks"])
        for name in users
        if journal.stage(name)["chunks"]
    }
    if partial:
        print_stages(console, partial, f"Reasoning on ML-1M with {model} — unfinished, measured so far")
    done = ", ".join(f"{name} {len(journal.done_users(name))} of {len(users[name])} users" for name in users)
    console.print(f"stopped for time ({done}); the same command carries the run on from {journal.path}")


def print_stages(console: Console, stages: dict[str, dict[str, Any]], title: str) -> None:
    table = Table(title=title)
    rows = (
        "users",
        "llm_calls_per_user",
        "prompt_tokens_per_user",
        "completion_tokens_per_user",
        "server_prompt_tokens_computed_per_user",
        "server_prompt_s_per_user",
        "server_generation_s_per_user",
        "kb_hit_rate_first_half",
        "kb_hit_rate_second_half",
        "kb_edge_hit_rate_second_half",
        "chains_verified",
        "chains_rejected",
        "common_users_verified_rate",
        "users_per_hour",
    )
    table.add_column("measure")
    for name in stages:
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(row, *(_cell(stages[name].get(row)) for name in stages))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


if __name__ == "__main__":
    main()
