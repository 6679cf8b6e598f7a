"""`llmrg kb warm`: the item-pair warm start over a dataset, in journaled chunks, coverage measured after each.

Pairs are counted once from the stored histories and ranked (`item_pairs`); chunk k holds ranks
`[k x chunk_pairs, (k+1) x chunk_pairs)` with one placebo beside every `placebo_every`-th real pair, shuffled
together (seeded) so placebo and real pairs share calls. After each chunk its counts, calls, tokens and the
coverage of all verified edges so far go to the journal (`<state>/kb/warm-<dataset>.json` unless given), so a
stopped run carries on at the next chunk and a larger `--pairs` extends a finished one. Placebo targets and
distractors are drawn from the items of the N pairs asked for, so a run extended to a larger N draws its later
chunks from a larger pool than its first ones (the released build asks for one N throughout). Pairs already
stored as chains (from an earlier run, or a knowledge-base file) are not asked again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import UnknownDatasetError
from core.gateway import Neo4jGateway
from core.journal import Journal
from core.settings import Settings, for_dataset
from reasoning import item_pairs, store, warm
from reasoning.item_pairs import ItemPair
from reasoning.knowledge_base import PAIR_TASKS
from reasoning.llm import LLMOutputRejected, LLMUnavailable, StructuredLLM, build_chat_model
from reasoning.prompts import equivalent_versions

STAGE = "warm"
SEQUENCE_PAGE = 2000


@dataclass(frozen=True)
class WarmOptions:
    pairs: int
    """The most frequent N pairs (a rerun with a larger N carries on after the first N)."""
    within: int = 3
    """a counts for b when it is among the `within` items just before b."""
    holdout: int = 2
    """Items at the end of each history never counted (validation and test)."""
    pairs_per_call: int = 4
    questions_per_call: int = 1
    placebo_every: int = 4
    chunk_pairs: int = 40

    def fingerprint(self, settings: Settings, dataset: str) -> dict[str, Any]:
        """What makes two runs the same run (the pair count is not: it only says how far to go)."""
        return {
            "dataset": dataset,
            "model": settings.llm.model,
            "prompt_version": settings.reasoning.prompt_version,
            "within": self.within,
            "holdout": self.holdout,
            "pairs_per_call": self.pairs_per_call,
            "questions_per_call": self.questions_per_call,
            "placebo_every": self.placebo_every,
            "chunk_pairs": self.chunk_pairs,
            "masks": settings.verify.masks,
            "options": settings.verify.options,
            "tau": for_dataset(settings.verify.tau, dataset),
        }


def journal_path(settings: Settings, dataset: str) -> Path:
    return settings.paths.state_dir / "kb" / f"warm-{dataset}.json"


def load_sequences(db: Neo4jGateway, dataset: str) -> list[list[int]]:
    """Every user's item ids in time order, paged by user id."""
    sequences: list[list[int]] = []
    after = -(2**62)
    while records := db.run("export/export_sequences", dataset=dataset, after=after, limit=SEQUENCE_PAGE):
        sequences += [list(record["items"]) for record in records]
        after = int(records[-1]["user"])
    return sequences


def chunk_pairs(pairs: Sequence[ItemPair], options: WarmOptions) -> Iterator[tuple[int, list[ItemPair]]]:
    """`(chunk index, its real and placebo pairs in asking order)` over all `pairs` (the top N)."""
    pool = item_pairs.pool_of(pairs)
    linked = item_pairs.partners(pairs)
    for index, start in enumerate(range(0, len(pairs), options.chunk_pairs)):
        real = list(pairs[start : start + options.chunk_pairs])
        placebos = [
            placebo
            for pair in real
            if pair.rank % options.placebo_every == 0
            and (placebo := item_pairs.placebo_for(pair, pool, linked)) is not None
        ]
        mixed = real + placebos
        random.Random(f"warm-chunk|{index}").shuffle(mixed)
        yield index, mixed


def verified_edges(db: Neo4jGateway, settings: Settings, dataset: str) -> list[item_pairs.Pair]:
    records = db.run(
        "reasoning/verified_edges",
        dataset=dataset,
        model=settings.llm.model,
        prompt_versions=list(equivalent_versions(PAIR_TASKS, settings.reasoning.prompt_version)),
    )
    return [(int(r["source"]), int(r["target"])) for r in records]


def warm_dataset(
    db: Neo4jGateway,
    settings: Settings,
    dataset: str,
    options: WarmOptions,
    *,
    llm: StructuredLLM | None = None,
    journal_file: Path | None = None,
    fresh: bool = False,
    max_minutes: float = 0.0,
    report: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Warm the knowledge base with the top `options.pairs` pairs; returns the run's totals (`summary`)."""
    settings = settings.updated(verify={"questions_per_call": options.questions_per_call})
    llm = llm or StructuredLLM(
        build_chat_model(settings, settings.reasoning.temperature),
        max_retries=settings.llm.max_retries,
        retry_base_s=settings.llm.retry_base_s,
    )
    started = time.monotonic()
    sequences = load_sequences(db, dataset)
    if not sequences:
        raise UnknownDatasetError(f"dataset {dataset!r} has no users; ingest it first (`llmrg ingest`)")
    journal = Journal.open(
        journal_file or journal_path(settings, dataset), options.fingerprint(settings, dataset), fresh=fresh
    )
    window = for_dataset(settings.reasoning.history_length, dataset)
    counts = item_pairs.count_pairs(sequences, within=options.within, holdout=options.holdout)
    pairs = item_pairs.top_pairs(counts, options.pairs)
    ceiling = item_pairs.coverage(
        sequences, [(p.source, p.target) for p in pairs], window=window, holdout=options.holdout
    )
    journal.stage(STAGE)["ceiling"] = {"pairs": len(pairs)} | ceiling.as_json()
    journal.save()
    catalogue = warm.load_catalogue(db, dataset)
    pool = item_pairs.pool_of(pairs)
    linked = item_pairs.partners(pairs)
    done = {chunk["chunk"] for chunk in journal.stage(STAGE)["chunks"]}
    failures: list[str] = []

    def failed_call(error: LLMOutputRejected | LLMUnavailable) -> None:
        failures.append(type(error).__name__)
        if isinstance(error, LLMUnavailable):
            raise error

    for index, mixed in chunk_pairs(pairs, options):
        if index in done:
            continue
        if max_minutes and (time.monotonic() - started) / 60 > max_minutes:
            report(f"stopping after {max_minutes:g} minutes; rerun to carry on")
            break
        chunk_started = time.monotonic()
        usage_before = (llm.usage.calls, llm.usage.prompt_tokens, llm.usage.completion_tokens)
        ids = {p: _pair_chain_ids(settings, dataset, p) for p in mixed if not p.placebo}
        stored = store.stored_chain_ids(db, [chain_id for each in ids.values() for chain_id in each])
        ask = [p for p in mixed if p.placebo or not stored.intersection(ids[p])]
        batch = warm.warm_batch(
            settings,
            llm,
            dataset,
            ask,
            catalogue,
            pool,
            linked,
            pairs_per_call=options.pairs_per_call,
            on_error=failed_call,
        )
        warm.store_pairs(db, settings, batch.stored)
        edges = verified_edges(db, settings, dataset)
        covered = item_pairs.coverage(sequences, edges, window=window, holdout=options.holdout)
        ranks = [min(p.rank for p in mixed), max(p.rank for p in mixed)]
        shares = covered.as_json()
        record = {
            "chunk": index,
            "ranks": ranks,
            "already_stored": len(stored),
            "real": batch.real.as_json(),
            "placebo": batch.placebo.as_json(),
            "reason_calls": batch.reason_calls,
            "verify_calls": batch.verify_calls,
            "verify_questions": batch.verify_questions,
            "llm_calls": llm.usage.calls - usage_before[0],
            "prompt_tokens": llm.usage.prompt_tokens - usage_before[1],
            "completion_tokens": llm.usage.completion_tokens - usage_before[2],
            "malformed": failures.count(LLMOutputRejected.__name__),
            "seconds": round(time.monotonic() - chunk_started, 1),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "edges": len(edges),
            "coverage": shares,
        }
        failures.clear()
        journal.add_chunk(STAGE, record)
        so_far = summary(journal)
        report(
            f"pairs {ranks[0]}-{ranks[1]}: {time.monotonic() - chunk_started:.0f} s, "
            f"{llm.usage.calls - usage_before[0]} calls, real {batch.real.verified}/{batch.real.asked} verified, "
            f"placebo {batch.placebo.verified}/{batch.placebo.asked}; {len(edges)} edges cover "
            f"{100 * shares['share']:.1f}% of steps, {100 * shares['test_share']:.1f}% of test targets "
            f"({so_far['llm_calls']} calls so far)"
        )
    return summary(journal)


def _pair_chain_ids(settings: Settings, dataset: str, pair: ItemPair) -> list[str]:
    """The ids a pair's chain may be stored under (the reason is not part of a chain's id): one per prompt set that
    asks pairs as the run's set does, so a pair warmed under v3 is not asked again by a v4 run."""
    candidate = warm.pair_candidate(dataset, pair, "")
    versions = equivalent_versions(PAIR_TASKS, settings.reasoning.prompt_version)
    return [candidate.chain_id(settings.llm.model, version) for version in versions]


SUMMED = (
    "llm_calls",
    "reason_calls",
    "verify_calls",
    "verify_questions",
    "prompt_tokens",
    "completion_tokens",
    "seconds",
)


def summary(journal: Journal) -> dict[str, Any]:
    """The run so far from its journal: totals, real against placebo, and coverage against calls."""
    stage = journal.stage(STAGE)
    chunks = stage["chunks"]
    totals: dict[str, Any] = {key: sum(chunk[key] for chunk in chunks) for key in SUMMED}
    for side in ("real", "placebo"):
        totals[side] = {
            key: sum(chunk[side][key] for chunk in chunks) for key in ("asked", "verified", "refused", "failed")
        }
        refused: dict[str, int] = {}
        for chunk in chunks:
            for why, n in chunk[side]["refused_by_reason"].items():
                refused[why] = refused.get(why, 0) + n
        totals[side]["refused_by_reason"] = dict(sorted(refused.items()))
        for key in ("masks", "hits"):
            by_kind: dict[str, int] = {}
            for chunk in chunks:
                for kind, n in chunk[side].get(key, {}).items():
                    by_kind[kind] = by_kind.get(kind, 0) + n
            totals[side][key] = dict(sorted(by_kind.items()))
        asked = totals[side]["asked"]
        totals[side]["accept_rate"] = round(totals[side]["verified"] / asked, 4) if asked else None
    calls = 0
    curve = []
    for chunk in chunks:
        calls += chunk["llm_calls"]
        curve.append({"llm_calls": calls, "edges": chunk["edges"]} | chunk["coverage"])
    return {
        "dataset": journal.fingerprint["dataset"],
        "model": journal.fingerprint["model"],
        "prompt_version": journal.fingerprint["prompt_version"],
        "pairs": max((chunk["ranks"][1] for chunk in chunks), default=-1) + 1,
        "chunks": len(chunks),
        "sittings": journal.sittings,
        "coverage": curve[-1] if curve else None,
        "ceiling": stage.get("ceiling"),
        "curve": curve,
    } | totals
