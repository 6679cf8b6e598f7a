"""Building the released knowledge base: reasoning for the first N users of a dataset, and a README of its
provenance written from journals.

ML-1M takes its reasoning from the reasoning benchmark's run (`bench.reason`, the first 1,000 users with the
default model, journaled with the knowledge base it exports after every chunk in `bench/results/reason-run/`):
this command joins that knowledge base with the warm start's pairs, file to file (`release`), so one long run
serves the benchmark and the release. Any other dataset is reasoned for by this command itself:

    LLMRG_STATE_DIR=/somewhere/outside python -m bench.kb_build --dataset beauty --users 1000 --out data/kb

Hours of LLM time on a small machine, so it carries on wherever it stopped. The journal (`<dataset>.build.json`)
and the exported file travel together in `--out`: on a machine whose database holds no reasoning for the
dataset yet, the file is imported first and reasoning goes on after the journal's last user. Each chunk's
counts come from the run itself; the README's totals from the journal, so the provenance is written by this
command, never by hand.

`--warm-pairs N` then runs the item-pair warm start (`llmrg kb warm`) with the packaged `--warm-weights` model
served for it, its journal (`<dataset>.warm.json`) beside the file, exports again, adds the warm start to the
README and writes `bench/results/kb_warm-<dataset>.json` (real pairs against placebo pairs, coverage against
calls). Several datasets share one `--out`: each has its own files and its own section of the README.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import machine, quality
from bench import reason as bench_reason
from bench.graph_server import ensure_dataset
from bench.journal import Journal
from bench.paths import ROOT
from core import gateway
from core.errors import ConfigError, DataFormatError
from core.gateway import Neo4jGateway
from core.settings import Settings, for_dataset
from core.vocabulary import ChainKind
from llmrg.services.llm_server import LocalLLM
from llmrg.services.neo4j_server import LocalNeo4j
from llmrg.stats import dataset_counts
from reasoning import kb_format, kb_transfer, warm_run
from reasoning.options import ReasoningOptions
from reasoning.run import reason_users, select_users

STAGE = "reason"
RESULTS = Path("bench/results")
SUMMED = (
    "steps",
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "kb_hits",
    "kb_edge_hits",
    "kb_misses",
    "chains_proposed",
    "chains_verified",
    "chains_rejected",
    "chains_reused",
    "divergent_chains",
)


def paths(out: Path, dataset: str) -> tuple[Path, Path, Path]:
    """The knowledge-base file, the journal and the README in `out`."""
    return out / f"{dataset}.jsonl.gz", out / f"{dataset}.build.json", out / "README.md"


def warm_result_path(dataset: str, results: Path = RESULTS) -> Path:
    """The warm start's benchmark result of one dataset (`make results` renders every one)."""
    return results / f"kb_warm-{dataset}.json"


def warm_journal_path(out: Path, dataset: str) -> Path:
    """The warm start's journal beside the file (`llmrg kb warm`'s, kept with the release)."""
    return out / f"{dataset}.warm.json"


def warm_summary(out: Path, dataset: str) -> dict[str, Any] | None:
    """The warm start so far, read from its journal without opening a sitting; None before one ran."""
    path = warm_journal_path(out, dataset)
    if not path.is_file():
        return None
    journal = Journal.read(path)
    return warm_run.summary(journal) if journal.stage(warm_run.STAGE)["chunks"] else None


def warm(
    settings: Settings, dataset: str, pairs: int, out: Path, weights: str, *, max_minutes: float = 0.0
) -> dict[str, Any]:
    """The item-pair warm start with the packaged `weights` (served for it), journaled beside the file, then
    the release made again (`export_release`) and the README rewritten. The release is imported first
    (`restore`), so the export holds every pair found so far."""
    with quality.served(settings, weights, None) as served, gateway.open_gateway(served) as db:
        gateway.apply_schema(db)
        ensure_dataset(db, served, dataset)
        restore(db, paths(out, dataset)[0], dataset)
        summary = warm_run.warm_dataset(
            db,
            served,
            dataset,
            warm_run.WarmOptions(pairs=pairs),
            journal_file=warm_journal_path(out, dataset),
            max_minutes=max_minutes,
            report=lambda line: print(line, flush=True),
        )
        export_release(db, out, dataset)
    write_warm_result(summary, warm_result_path(dataset))
    return summary


def bench_journal(dataset: str, journal: Path = bench_reason.JOURNAL) -> Path | None:
    """The reasoning benchmark's journal when it reasons for `dataset` and has run (carrying on or finished)."""
    if dataset != bench_reason.DATASET:
        return None
    finished = journal.with_name(f"{journal.stem}-finished.json")
    for path in (journal, finished):
        if path.is_file() and Journal.read(path).stage(bench_reason.KB_STAGE)["chunks"]:
            return path
    return None


def export_release(
    db: Neo4jGateway, out: Path, dataset: str, journal: Path = bench_reason.JOURNAL
) -> kb_transfer.TransferReport:
    """Export this command's database beside the release and make the release from it (`release`)."""
    staged = paths(out, dataset)[0].with_name(f".{dataset}.database.jsonl.gz")
    try:
        return release(out, dataset, kb_transfer.export_knowledge_base(db, dataset, staged), journal)
    finally:
        staged.unlink(missing_ok=True)


def release(
    out: Path, dataset: str, exported: kb_transfer.TransferReport | None, journal: Path = bench_reason.JOURNAL
) -> kb_transfer.TransferReport:
    """Write the released file and its README section from `exported` (this command's knowledge: its database,
    exported, or the release as it stands; None for none).

    A dataset the reasoning benchmark reasons for takes its reasoning from that run (`bench.reason`'s journal
    and the knowledge base its `KB_STAGE` exported after its last chunk, checked by sha256: its users' reasoning
    only, though the run holds the warm start's pairs too) and only the warm start's pairs from `exported`: one
    long run of the default model serves the benchmark and the release, instead of two runs reasoning for the same
    users; and a pair the warm start no longer holds does not come back through the run's file. Any other dataset
    releases `exported` as it is, with the provenance of this command's own reasoning."""
    kb_file, journal_path, readme = paths(out, dataset)
    source = bench_journal(dataset, journal)
    if source is None:
        if exported is None:
            raise ConfigError(
                f"{dataset}: no knowledge base to release, and no reasoning benchmark run to take it from"
            )
        exported.path.replace(kb_file)
        released = replace(exported, path=kb_file)
        write_readme(readme, build_provenance(Journal.read(journal_path)), released)
        return released
    chunks = Journal.read(source).stage(bench_reason.KB_STAGE)["chunks"]
    reasoned = kb_format.read(bench_reason.kb_file(source, bench_reason.KB_STAGE))
    if reasoned.sha256 != chunks[-1]["kb_sha256"]:
        raise DataFormatError(reasoned.path, f"not the knowledge base the last chunk of {source} exported")
    pairs = [] if exported is None else [(kb_format.read(exported.path), frozenset({ChainKind.PAIR}))]
    users_reasoning = frozenset({ChainKind.REASONING, ChainKind.DIVERGENT})  # its pairs are the release's own, imported
    header, sha256 = kb_format.combine([(reasoned, users_reasoning), *pairs], kb_file)
    counts = header.counts
    released = kb_transfer.TransferReport(dataset, kb_file, counts["chains"], counts["edges"], counts["items"], sha256)
    write_readme(readme, bench_provenance(source, dataset), released)
    return released


def from_bench(dataset: str, out: Path, source: Path) -> dict[str, Any]:
    """The release remade from the reasoning benchmark's run as it stands (`source`, its journal) and the warm
    start's pairs the release already holds, file to file (no database, no model); returns the run's totals."""
    kb_file = paths(out, dataset)[0]
    current = None
    if kb_file.is_file():
        kb = kb_format.read(kb_file)
        counts = kb.header.counts
        current = kb_transfer.TransferReport(
            dataset, kb_file, counts["chains"], counts["edges"], counts["items"], kb.sha256
        )
    released = release(out, dataset, current)
    print(f"{kb_file}: {released.chains} chains, {released.edges} edges, {released.items} items", flush=True)
    return bench_provenance(source, dataset).made


def restore(db: Neo4jGateway, kb_file: Path, dataset: str) -> None:
    """Import the release (idempotent: it merges), so the database's export holds every pair found so far even
    on a machine that never ran the warm start."""
    if kb_file.is_file():
        imported = kb_transfer.import_knowledge_base(db, kb_file, dataset)
        print(f"imported {kb_file}: {imported.created} new to this database, {imported.merged} already in it")


def warm_result(summary: dict[str, Any]) -> dict[str, Any]:
    """The warm start as a benchmark result: real against placebo acceptance with 95% intervals, overall and
    per mask, beside the coverage curve, the machine and the commit."""
    real, placebo = summary["real"], summary["placebo"]
    accepted = {side: quality.rate(summary[side]["verified"], summary[side]["asked"]) for side in ("real", "placebo")}
    masks = {
        kind: {
            side: quality.rate(summary[side]["hits"].get(kind, 0), summary[side]["masks"][kind])
            for side in ("real", "placebo")
        }
        for kind in sorted(set(real["masks"]) & set(placebo["masks"]))
    }
    return {
        "machine": machine.describe(),
        "commit": _head(),
        "accepted": accepted,
        "real_vs_placebo": quality.verdict(accepted["real"], accepted["placebo"]),
        "masks": {
            kind: rates | {"verdict": quality.verdict(rates["real"], rates["placebo"])} for kind, rates in masks.items()
        },
    } | summary


def write_warm_result(summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(warm_result(summary), indent=2) + "\n", encoding="utf-8")


def totals(journal: Journal) -> dict[str, Any]:
    chunks = journal.stage(STAGE)["chunks"]
    summed = {key: sum(int(chunk.get(key) or 0) for chunk in chunks) for key in SUMMED}
    return summed | {
        "users": sum(len(chunk["users"]) for chunk in chunks),
        "hours": round(sum(chunk["seconds"] for chunk in chunks) / 3600, 2),
        "sittings": journal.sittings,
    }


def build(
    settings: Settings,
    dataset: str,
    users: int,
    chunk_users: int,
    out: Path,
    *,
    max_minutes: float = 0.0,
    fresh: bool = False,
    bench_run: Path = bench_reason.JOURNAL,
) -> dict[str, Any]:
    """Reason for the first `users` users chunk by chunk; returns the totals so far. Refused for a dataset whose
    reasoning comes from the reasoning benchmark's run (`release`)."""
    if (source := bench_journal(dataset, bench_run)) is not None:
        raise ConfigError(
            f"{dataset}'s release takes its reasoning from the reasoning benchmark's run ({source}): carry that on "
            "with `make bench-reason`, then `make kb-release` remakes the release from it"
        )
    kb_file, journal_path, readme = paths(out, dataset)
    fingerprint = {
        "dataset": dataset,
        "model": settings.llm.model,
        "prompt_version": settings.reasoning.prompt_version,
        "max_targets": settings.reasoning.max_targets,
        "holdout": settings.reasoning.holdout,
        "history_length": settings.reasoning.history_length.get(dataset, settings.reasoning.history_length["*"]),
        "verify_style": settings.verify.style,
        "divergent": settings.divergent.enabled,
    }
    journal = Journal.open(journal_path, fingerprint, fresh=fresh)
    started = time.monotonic()
    with gateway.open_gateway(settings) as db:
        gateway.apply_schema(db)
        ensure_dataset(db, settings, dataset)
        if journal.done_users(STAGE) and kb_file.is_file() and not dataset_counts(db)[dataset]["kb_chains"]:
            imported = kb_transfer.import_knowledge_base(db, kb_file, dataset)
            print(f"a fresh database: imported {imported.chains} chains and {imported.edges} edges from {kb_file}")
        done = set(journal.done_users(STAGE))
        remaining = [user for user in select_users(db, dataset, users, None) if user not in done]
        for offset in range(0, len(remaining), chunk_users):
            if max_minutes and (time.monotonic() - started) / 60 > max_minutes:
                print(f"stopping after {max_minutes:g} minutes; rerun to carry on")
                break
            chunk = remaining[offset : offset + chunk_users]
            chunk_started = time.monotonic()
            stats = reason_users(db, settings, dataset, chunk, show_progress=False).as_json()
            exported = kb_transfer.export_knowledge_base(db, dataset, kb_file)
            record = {key: stats[key] for key in SUMMED} | {
                "users": chunk,
                "seconds": round(time.monotonic() - chunk_started, 1),
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "kb_chains": exported.chains,
                "kb_edges": exported.edges,
            }
            journal.add_chunk(STAGE, record)
            write_readme(readme, build_provenance(journal), exported)
            so_far = totals(journal)
            print(
                f"users {chunk[0]}-{chunk[-1]}: {record['seconds']:.0f} s, {stats['llm_calls']} calls, "
                f"{stats['chains_verified']}/{stats['chains_proposed']} chains verified; knowledge base "
                f"{exported.chains} chains, {exported.edges} edges after {so_far['users']} users",
                flush=True,
            )
    return totals(journal)


@dataclass(frozen=True)
class Provenance:
    """How a release's reasoning was made, summed from a journal: `settings` has the model, prompt version,
    verification style, max targets, history length, holdout and divergent flag; `made` the totals (`SUMMED`,
    users, hours, sittings); `source` says which run, `carry_on` how to go on with it, and the last machine and
    commit that reasoned for it."""

    settings: dict[str, Any]
    made: dict[str, Any]
    first_user: int
    last_user: int
    source: str
    carry_on: str
    last_machine: str
    last_commit: str
    hours_are: str
    """What the hours count."""


def build_provenance(journal: Journal) -> Provenance:
    """The provenance of this command's own reasoning (`build`), from its journal."""
    chunks = journal.stage(STAGE)["chunks"]
    dataset = journal.fingerprint["dataset"]
    return Provenance(
        settings=journal.fingerprint,
        made=totals(journal),
        first_user=chunks[0]["users"][0],
        last_user=chunks[-1]["users"][-1],
        source="reasoning by `python -m bench.kb_build`",
        carry_on="Carry the build on: `LLMRG_STATE_DIR=<a folder outside the checkout> python -m bench.kb_build "
        f"--dataset {dataset} --users N --out data/kb` (a database without this reasoning imports the file first, "
        "then reasons after the journal's last user); add `--warm-pairs N` to carry the warm start on to the N most "
        "frequent pairs.",
        last_machine=machine.one_line(machine.describe()),
        last_commit=_head(),
        hours_are="wall time, pauses included",
    )


def bench_provenance(journal_path: Path, dataset: str) -> Provenance:
    """The provenance of the reasoning benchmark's optimised stage (`bench.reason`), from its journal."""
    journal = Journal.read(journal_path)
    chunks = journal.stage(bench_reason.KB_STAGE)["chunks"]
    settings = journal.fingerprint["settings"]
    summed = bench_reason.summarise(list(range(1, journal.fingerprint["users"] + 1)), chunks)  # the bench's own sums
    counted = ("users", "steps", "llm_calls", "chains_proposed", "chains_verified", "chains_rejected", "sittings")
    made = {key: summed[key] for key in (*counted, "kb_hits", "kb_edge_hits")}
    made["hours"] = round(summed["wall_s"] / 3600, 2)
    made["warm_start_from_user"] = (summed.get("warm_start") or {}).get("from_user")
    counting = [chunk for chunk in chunks if "kb_edge_hits_warm_start" in chunk["stats"]]
    made["warm_start_hits"] = sum(chunk["stats"]["kb_edge_hits_warm_start"] for chunk in counting)
    made["warm_start_hits_from_user"] = counting[0]["users"][0] if counting else None
    return Provenance(
        settings={
            "dataset": dataset,
            "model": settings["llm"]["model"],
            "prompt_version": settings["reasoning"]["prompt_version"],
            "verify_style": settings["verify"]["style"],
            "max_targets": settings["reasoning"]["max_targets"],
            "history_length": for_dataset(settings["reasoning"]["history_length"], dataset),
            "holdout": settings["reasoning"]["holdout"],
            "divergent": settings["divergent"]["enabled"],
        },
        made=made,
        first_user=chunks[0]["users"][0],
        last_user=chunks[-1]["users"][-1],
        source=f"the reasoning benchmark's run (`make bench-reason`, journal `{_shown(journal_path)}`, "
        f"{journal.fingerprint['users']:,} users planned)",
        carry_on="Carry it on: `make bench-reason` reasons for the next users (on any machine, from its journal and "
        "knowledge base in `bench/results/reason-run/`), then `make kb-release` rebuilds this file from the run "
        "and the warm start; `make kb-release KB_RELEASE_ARGS='--warm-pairs N'` carries the warm start on to the N "
        "most frequent pairs.",
        last_machine=chunks[-1]["machine"],
        last_commit=str(chunks[-1]["commit"]),
        hours_are="the chunks' own seconds, not the time between sittings",
    )


def _warm_hits(made: dict[str, Any]) -> str:
    """How many of the run's steps the warm start's pairs helped answer, as far as the run counted them."""
    if made.get("warm_start_hits_from_user") is None:
        return ""
    return (
        f", whose pairs helped answer {made['warm_start_hits']:,} of its steps (counted from user "
        f"{made['warm_start_hits_from_user']:,} on)"
    )


def _head() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return commit.stdout.strip() or "unknown"


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def write_readme(readme: Path, provenance: Provenance, exported: kb_transfer.TransferReport) -> None:
    """The provenance beside the file, from a journal and the last export: this dataset's section of the
    README, the other datasets' sections kept as they are (`readme_sections`)."""
    made, fingerprint = provenance.made, provenance.settings
    verified = made["chains_verified"] / made["chains_proposed"] if made["chains_proposed"] else 0.0
    lines = [
        f"## {fingerprint['dataset']}",
        "",
        f"- File: `{exported.path.name}` (sha256 `{exported.sha256}`), format version 1, documented in "
        "`reasoning/kb_format.py`. Import it with `llmrg kb import data/kb/" + exported.path.name + "`; "
        "`make demo` does.",
        f"- Holds {exported.chains:,} verified chains, {exported.edges:,} causal edges and the {exported.items:,} "
        "items they name; no user ids or histories.",
        f"- Reasoning: {provenance.source}, for {made['users']:,} users (ids {provenance.first_user} to "
        f"{provenance.last_user}, the first by id) with "
        f"`{fingerprint['model']}`, prompt `{fingerprint['prompt_version']}`, verification `"
        f"{fingerprint['verify_style']}`, the last {fingerprint['max_targets']} positions of each window of "
        f"{fingerprint['history_length']} items, holdout {fingerprint['holdout']}, divergent extension "
        f"{'on' if fingerprint['divergent'] else 'off'}.",
        f"- {made['chains_proposed']:,} chains proposed, {made['chains_verified']:,} verified "
        f"({100 * verified:.1f}%), {made['chains_rejected']:,} rejected; {made['llm_calls']:,} LLM calls, "
        f"{made['kb_hits']:,} knowledge-base chain hits and {made['kb_edge_hits']:,} edge hits over "
        f"{made['steps']:,} steps"
        + (
            f"; from user {made['warm_start_from_user']:,} on, the run's knowledge base also held the warm start "
            f"below{_warm_hits(made)}."
            if made.get("warm_start_from_user")
            else "."
        ),
        f"- {made['hours']} hours of reasoning ({provenance.hours_are}) in {made['sittings']} "
        f"sitting{'s' if made['sittings'] != 1 else ''}, the last on {provenance.last_machine}, "
        f"at commit `{provenance.last_commit}`.",
        '- What verification means with this model: `docs/RESULTS.md`, section "Does verification tell real '
        'chains from placebo?" (measured by `python -m bench.quality`).',
        *_warm_lines(warm_summary(exported.path.parent, fingerprint["dataset"])),
        "",
        provenance.carry_on,
    ]
    sections = readme_sections(readme.read_text(encoding="utf-8") if readme.is_file() else "")
    sections[fingerprint["dataset"]] = "\n".join(lines)
    readme.write_text(readme_text(sections), encoding="utf-8")


README_TITLE = "# The released knowledge bases"
SECTION_START, SECTION_END = "<!-- kb:{} -->", "<!-- /kb:{} -->"


def readme_sections(text: str) -> dict[str, str]:
    """Each dataset's section of a README `readme_text` wrote, by dataset (a README without markers has none)."""
    sections: dict[str, str] = {}
    for part in text.split("<!-- kb:")[1:]:
        dataset, _, rest = part.partition(" -->\n")
        body, found, _ = rest.partition(SECTION_END.format(dataset))
        if found:
            sections[dataset] = body.strip("\n")
    return sections


def readme_text(sections: dict[str, str]) -> str:
    """The README: a title, then every dataset's section between its markers, sorted by dataset."""
    parts = [
        README_TITLE,
        "",
        "Written by `python -m bench.kb_build`, one section per dataset, each rewritten after its build's last "
        "chunk; do not edit by hand.",
    ]
    for dataset in sorted(sections):
        parts += ["", SECTION_START.format(dataset), sections[dataset], SECTION_END.format(dataset)]
    return "\n".join(parts) + "\n"


def _warm_lines(made: dict[str, Any] | None) -> list[str]:
    if made is None:
        return []
    real, placebo, covered, ceiling = made["real"], made["placebo"], made["coverage"], made["ceiling"]
    return [
        f"- Warm start (`llmrg kb warm`, journal `{made['dataset']}.warm.json`): the {made['pairs']:,} most frequent "
        f"ordered item pairs (a among the 3 items just before b, each history's last 2 items never counted), "
        f"reasoned about and verified by `{made['model']}`, prompt `{made['prompt_version']}`: "
        f"{real['verified']:,} of {real['asked']:,} verified ({100 * (real['accept_rate'] or 0):.1f}%), beside "
        f"{placebo['verified']:,} of {placebo['asked']:,} placebo pairs ({100 * (placebo['accept_rate'] or 0):.1f}%: "
        f"the same source with a target it has no frequent pair with, asked in the same calls, never stored); "
        f"{made['llm_calls']:,} LLM calls in {made['seconds'] / 3600:.2f} hours.",
        f"- The knowledge base's verified edges cover {100 * covered['share']:.1f}% of the steps of every history "
        f"(an in-edge into the step's item from the 50 items before it) and {100 * covered['test_share']:.1f}% of "
        f"the test targets; the {ceiling['pairs']:,} pairs the run is asked for would cover "
        f"{100 * ceiling['share']:.1f}% and {100 * ceiling['test_share']:.1f}% if every one held.",
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--users", type=int, default=1000, help="the first N users by id")
    parser.add_argument("--chunk-users", type=int, default=10, help="users per chunk: the unit of carrying on")
    parser.add_argument("--max-targets", type=int, default=4, help="last N positions of each window")
    parser.add_argument("--holdout", type=int, default=1, help="leave each history's last N items out")
    parser.add_argument("--out", type=Path, default=Path("data/kb"))
    parser.add_argument("--max-minutes", type=float, default=0.0, help="stop before a chunk starts later (0 = none)")
    parser.add_argument("--fresh", action="store_true", help="discard the journal and start over")
    parser.add_argument("--warm-pairs", type=int, default=0, help="then warm with the N most frequent item pairs")
    parser.add_argument("--warm-weights", default="qwen2.5-coder-1.5b", help="packaged weights for the warm start")
    args = parser.parse_args(argv)
    settings = ReasoningOptions(max_targets=args.max_targets, holdout=args.holdout).apply(Settings.load())
    if (source := bench_journal(args.dataset)) is not None:
        print(
            f"{args.dataset}: reasoning from the reasoning benchmark's run ({source}); --users, --chunk-users, "
            "--max-targets, --holdout and --fresh are that run's to choose (`make bench-reason`)"
        )
        made = from_bench(args.dataset, args.out, source)
    else:
        LocalNeo4j(settings).start()
        if settings.llm.serve_local and settings.llm.is_local:
            LocalLLM(settings).start()
        made = build(
            settings,
            args.dataset,
            args.users,
            args.chunk_users,
            args.out,
            max_minutes=args.max_minutes,
            fresh=args.fresh,
        )
    print(made)
    if args.warm_pairs:
        LocalNeo4j(settings).start()
        warmed = warm(
            settings, args.dataset, args.warm_pairs, args.out, args.warm_weights, max_minutes=args.max_minutes
        )
        print({key: warmed[key] for key in ("pairs", "llm_calls", "real", "placebo", "coverage")})
    return made


if __name__ == "__main__":
    main()
