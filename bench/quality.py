"""Reasoning quality harness: does the verifier tell the LLM's chains from placebo chains, and do the chains say
more than "the items just before"?

On a fixed sample of steps (the last `--steps` positions before each user's test item, first `--users` users
of each dataset), one chaining call per user proposes chains; the first valid chain of each step is kept. For
each kept chain the harness builds two placebos with the same reasons in the same link slots:

- random premises: the same target, as many premises drawn at random from the user's earlier items (oldest
  first, never the LLM's own set);
- shuffled: the LLM's items in another order (the target may move), so the reasons no longer fit their links.

Every verifier configuration (`--verifiers`) then scores all three sets with the same model and threshold τ:
`numbered` (the history as numbered lines, one question per call: today's engine), `lettered` (self-contained
questions with lettered options, one per call) and `lettered-packed` (`--packed` questions of many chains and
users per call, no call showing an item another of its questions hides). Reported per model, dataset and
verifier: each set's acceptance rate with a 95% Wilson interval, the real-minus-random difference with a 95%
Newcombe interval, the share of chains whose premises are exactly the k items before the target (recency
overlap), and calls, seconds and tokens the server computed per chain verified. A verifier whose difference
interval reaches 0 is reported plainly as not telling real chains from placebo.

Models: the packaged `qwen2.5-coder-0.5b` (this harness's default: the fast one) and `qwen2.5-coder-1.5b` (the
default for reasoning, chosen here), each on a fresh local server, and `endpoint`: whatever `LLMRG_LLM_BASE_URL` and
`LLMRG_LLM_MODEL` point at when this command starts.

The chaining prompt is the run's (`LLMRG_REASON_PROMPT_VERSION`, with its premise window): each prompt version
keeps its own journal and its own rows, so v3 and v4 (ranked premise candidates) compare side by side.

Long: a chunk of users at a time is journaled (`bench/results/quality-run/quality-journal-<prompt version>.json`,
committed with the results), and rerunning carries on, on this machine or a fresh one: a larger `--users` extends a
finished sample, and another `--verifiers` scores the chains already drawn. Results: `bench/results/quality.json`.

Run: `python -m bench.quality [--datasets ml-1m,beauty] [--users 50] [--models qwen2.5-coder-0.5b] [--json]`
(`make bench-quality`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Hashable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.table import Table

from bench.journal import Journal
from bench.machine import describe, one_line
from bench.paths import RESULTS
from bench.server_metrics import read_counters, since
from bench.statistics import difference_interval, wilson_interval

JOURNAL_DIR = RESULTS / "quality-run"
OUTPUT = RESULTS / "quality.json"
SETS = ("real", "random_premises", "shuffled")
VERIFIERS = ("numbered", "lettered", "lettered-packed")
CHUNK_USERS = 5
MIN_DIFFERENCE = 0.10
"""The issue's bar: real chains verified at least 10 points more often than random-premise placebos."""


@dataclass(frozen=True)
class ChainRecord:
    """One kept chain as the prompt showed it: window indices (the target last) and one reason per link."""

    user: int
    local_items: tuple[int, ...]
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"user": self.user, "local_items": list(self.local_items), "reasons": list(self.reasons)}

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> ChainRecord:
        return cls(payload["user"], tuple(payload["local_items"]), tuple(payload["reasons"]))


def recency_overlap(chain: ChainRecord) -> bool:
    """Whether the premises are exactly the k items just before the target (in any order)."""
    *premises, target = chain.local_items
    return set(premises) == set(range(target - len(premises), target))


def random_premises(chain: ChainRecord, seed: str) -> ChainRecord | None:
    """The same target and reasons, premises drawn from the items before it (never the LLM's own set); None
    when the earlier history allows no other set."""
    *premises, target = chain.local_items
    if math.comb(target, len(premises)) < 2:
        return None
    rng = random.Random(f"{seed}|{chain.user}|{chain.local_items}|random")
    for _ in range(100):
        drawn = tuple(sorted(rng.sample(range(target), len(premises))))
        if set(drawn) != set(premises):
            return replace(chain, local_items=(*drawn, target))
    return None


def shuffled(chain: ChainRecord, seed: str) -> ChainRecord:
    """The chain's items in another order, reasons left in their link slots."""
    rng = random.Random(f"{seed}|{chain.user}|{chain.local_items}|shuffled")
    items = list(chain.local_items)
    while tuple(items) == chain.local_items:
        rng.shuffle(items)
    return replace(chain, local_items=tuple(items))


def placebo_sets(chains: list[ChainRecord], seed: str) -> dict[str, list[ChainRecord]]:
    """The three sets over the chains that have a random-premise placebo, aligned by index."""
    sets: dict[str, list[ChainRecord]] = {name: [] for name in SETS}
    for chain in chains:
        placebo = random_premises(chain, seed)
        if placebo is None:
            continue
        sets["real"].append(chain)
        sets["random_premises"].append(placebo)
        sets["shuffled"].append(shuffled(chain, seed))
    return sets


def rate(hits: int, trials: int) -> dict[str, Any]:
    value = hits / trials if trials else 0.0
    low, high = wilson_interval(value, trials)
    return {"rate": round(value, 4), "ci95": [round(low, 4), round(high, 4)], "accepted": hits, "chains": trials}


def verdict(real: dict[str, Any], placebo: dict[str, Any]) -> dict[str, Any]:
    """Real minus placebo acceptance with its interval, and what it means in words."""
    low, high = difference_interval(real["rate"], real["chains"], placebo["rate"], placebo["chains"])
    difference = real["rate"] - placebo["rate"]
    if low > 0:
        words = f"tells real chains from this placebo ({difference:+.0%}, 95% interval {low:+.0%} to {high:+.0%})"
    else:
        words = (
            f"does NOT tell real chains from this placebo ({difference:+.0%}, 95% interval {low:+.0%} to "
            f"{high:+.0%} reaches 0)"
        )
    return {
        "difference": round(difference, 4),
        "ci95": [round(low, 4), round(high, 4)],
        "discriminates": low > 0,
        "meets_bar": low >= MIN_DIFFERENCE,
        "words": words,
    }


def candidate_of(context: Any, chain: ChainRecord) -> Any:
    """The engine's `Candidate` for a chain of this user's context."""
    from reasoning.schemas import ProposedChain
    from reasoning.validation import candidate_of_proposal

    *premises, target = chain.local_items
    proposal = ProposedChain([(item, reason) for item, reason in zip(premises, chain.reasons, strict=True)])
    return candidate_of_proposal(context, proposal, target, recent_positions=0)


# ---------------------------------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Sample:
    dataset: str
    users: list[int]
    steps: int


def harness_settings(settings: Any, steps: int) -> Any:
    """The engine's settings for the sample: the last `steps` positions before the test item, in one call."""
    from reasoning.options import ReasoningOptions

    chosen = ReasoningOptions(divergent=False, kb=False, max_targets=steps, holdout=1).apply(settings)
    return chosen.updated(reasoning={"steps_per_call": steps})


def journal_path(prompt_version: str) -> Path:
    return JOURNAL_DIR / f"quality-journal-{prompt_version}.json"


def propose(
    db: Any,
    settings: Any,
    llm: Any,
    dataset: str,
    user: int,
    rejected: Counter[str] | None = None,
    catalogue: Any = None,
) -> list[ChainRecord]:
    """One chaining call for the user's sampled steps; the first valid chain of each step. Refused proposals
    (and a malformed or failed call) are counted in `rejected` by reason. `catalogue` gives the embeddings a
    prompt that ranks premise candidates needs."""
    from reasoning import chaining
    from reasoning.context import load_context
    from reasoning.llm import LLMOutputRejected, LLMUnavailable

    context = load_context(db, settings, dataset, user)
    (targets,) = chaining.target_windows(context, settings, set()) or [[]]
    if not targets:
        return []
    rejected = rejected if rejected is not None else Counter()
    try:
        result = chaining.propose_chains(llm, context.up_to(max(targets)), settings, targets, [], catalogue)
    except LLMOutputRejected:
        rejected["malformed_output"] += 1
        return []
    except LLMUnavailable:
        rejected["llm_unavailable"] += 1
        return []
    rejected.update({reason.value: count for reason, count in result.rejected.items()})
    first: dict[int, ChainRecord] = {}
    for candidate in result.candidates:
        first.setdefault(
            candidate.local_items[-1], ChainRecord(user, tuple(candidate.local_items), tuple(candidate.reasons))
        )
    return [first[target] for target in sorted(first)]


def propose_users(
    db: Any, settings: Any, llm: Any, dataset: str, users: list[int], catalogue: Any = None
) -> tuple[list[ChainRecord], dict[str, int]]:
    rejected: Counter[str] = Counter()
    chains = [chain for user in users for chain in propose(db, settings, llm, dataset, user, rejected, catalogue)]
    return chains, dict(sorted(rejected.items()))


def verify_sets(
    db: Any, settings: Any, llm: Any, dataset: str, verifier: str, packed: int, sets: dict[str, list[ChainRecord]]
) -> dict[str, list[list[int]]]:
    """`[hits, masks]` per chain of each set under `verifier` (chains whose calls failed count as rejected)."""
    from reasoning import verification
    from reasoning.context import load_context
    from reasoning.llm import LLMOutputRejected, LLMUnavailable

    contexts: dict[int, Any] = {}  # the window ends at the user's last sampled target, as in the chaining call
    for chain in sets["real"]:
        if chain.user not in contexts:
            contexts[chain.user] = load_context(db, settings, dataset, chain.user)
    outcome = {name: [[0, 0] for _ in chains] for name, chains in sets.items()}
    masks = settings.verify.masks
    if verifier == "numbered":
        for name, chains in sets.items():
            for index, chain in enumerate(chains):
                context = contexts[chain.user]
                questions = verification.mask_questions([candidate_of(context, chain)], context, masks)
                answers: dict[str, int] = {}
                for batch in verification.batches(questions, 1):
                    with suppress(LLMOutputRejected, LLMUnavailable):  # a failed call leaves its mask unanswered
                        answers.update(verification.ask_questions(llm, context, settings, batch))
                hits = sum(answers.get(question.id) in question.correct for question in questions)
                outcome[name][index] = [hits, len(questions)]
        return outcome
    return verify_lettered(llm, settings, packed if verifier == "lettered-packed" else 1, sets, contexts, outcome)


def verify_lettered(
    llm: Any,
    settings: Any,
    per_call: int,
    sets: dict[str, list[ChainRecord]],
    contexts: dict[int, Any],
    outcome: dict[str, list[list[int]]],
) -> dict[str, list[list[int]]]:
    from reasoning import multiple_choice

    questions: list[multiple_choice.ChoiceQuestion] = []
    for index in range(len(sets["real"])):  # the sets interleaved, so a packed call mixes real and placebo
        for name in SETS:
            chain = sets[name][index]
            context = contexts[chain.user]
            owner: Hashable = (name, index)
            questions += multiple_choice.chain_questions(
                candidate_of(context, chain),
                context,
                owner,
                masks=settings.verify.masks,
                options=settings.verify.options,
            )
    # a failed call leaves its questions unanswered: those masks count as missed
    hits, _ = multiple_choice.answer_packed(llm, settings, questions, per_call, on_error=lambda error: None)
    for question in questions:
        name, index = cast(tuple[str, int], question.owner)
        outcome[name][index][1] += 1
    for owner, recovered in hits.items():
        name, index = cast(tuple[str, int], owner)
        outcome[name][index][0] = recovered
    return outcome


@contextmanager
def served(settings: Any, model: str, endpoint: tuple[str, str] | None) -> Iterator[Any]:
    """Settings pointing at `model`: a fresh local server of the packaged weights, this run's own (`bench.own_llm`),
    or the captured endpoint."""
    from bench.own_llm import own_llm_server
    from llmrg.services.llm_weights import weights_for

    if model == "endpoint":
        if endpoint is None:
            raise SystemExit("--models endpoint needs LLMRG_LLM_BASE_URL (and LLMRG_LLM_MODEL) set")
        yield settings.updated(llm={"base_url": endpoint[0], "model": endpoint[1]})
        return
    weights = weights_for(model)
    with own_llm_server(settings.updated(llm={"weights": weights.name, "model": weights.chat_alias})) as chosen:
        yield chosen


def structured_llm(settings: Any) -> Any:
    from reasoning.llm import StructuredLLM, build_chat_model

    return StructuredLLM(
        build_chat_model(settings, settings.reasoning.temperature),
        max_retries=settings.llm.max_retries,
        retry_base_s=settings.llm.retry_base_s,
    )


def measured(settings: Any, llm: Any, work: Any) -> tuple[Any, dict[str, Any]]:
    """`work()` with the calls, tokens, server counters and seconds it took."""
    before_usage = (llm.usage.calls, llm.usage.prompt_tokens, llm.usage.completion_tokens)
    counters = read_counters(settings.llm.base_url)
    started = time.perf_counter()
    value = work()
    cost = {
        "seconds": round(time.perf_counter() - started, 3),
        "calls": llm.usage.calls - before_usage[0],
        "prompt_tokens": llm.usage.prompt_tokens - before_usage[1],
        "completion_tokens": llm.usage.completion_tokens - before_usage[2],
        "server": since(counters, read_counters(settings.llm.base_url)),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return value, cost


def run_model(
    db: Any,
    settings: Any,
    journal: Journal,
    model: str,
    samples: list[Sample],
    verifiers: list[str],
    packed: int,
    console: Console,
    machine_line: str,
) -> None:
    """Chains, then every verifier, for each sample: chunk by chunk, skipping what the journal holds."""
    llm = structured_llm(settings)
    indexes = CatalogueIndexes(db, settings)
    for sample in samples:
        chosen = harness_settings(settings, sample.steps)
        chain_stage = f"{model}|{sample.dataset}|chains"
        catalogue = partial(indexes.of, sample.dataset)
        for chunk in _chunks(sample.users, journal.done_users(chain_stage)):
            (chains, rejected), cost = measured(
                chosen,
                llm,
                partial(propose_users, db, chosen, llm, sample.dataset, chunk, catalogue),
            )
            journal.add_chunk(
                chain_stage,
                {
                    "users": chunk,
                    "chains": [c.as_json() for c in chains],
                    "rejected_by_reason": rejected,
                    "machine": machine_line,
                    **cost,
                },
            )
            console.print(
                f"{model} {sample.dataset}: chains for users {chunk[0]}-{chunk[-1]} ({cost['seconds']:.0f} s)"
            )
        by_user = chains_by_user(journal, chain_stage)
        for verifier in verifiers:
            stage = f"{model}|{sample.dataset}|{verifier}"
            for chunk in _chunks(sample.users, journal.done_users(stage)):
                sets = placebo_sets([chain for user in chunk for chain in by_user.get(user, [])], seed=sample.dataset)
                outcome, cost = measured(
                    chosen, llm, partial(verify_sets, db, chosen, llm, sample.dataset, verifier, packed, sets)
                )
                journal.add_chunk(stage, {"users": chunk, "outcome": outcome, "machine": machine_line, **cost})
                console.print(
                    f"{model} {sample.dataset} {verifier}: users {chunk[0]}-{chunk[-1]}, "
                    f"{len(sets['real'])} chains x 3 sets, {cost['calls']} calls ({cost['seconds']:.0f} s)"
                )


class CatalogueIndexes:
    """Each dataset's catalogue embeddings, built on first use (only a prompt that ranks premises needs them), the
    MiniLM loaded once."""

    def __init__(self, db: Any, settings: Any) -> None:
        self.db, self.settings = db, settings
        self.indexes: dict[str, Any] = {}
        self.encoder: Any = None

    def of(self, dataset: str) -> Any:
        from reasoning.embeddings import build_index, load_encoder

        if dataset not in self.indexes:
            self.encoder = self.encoder or load_encoder()
            self.indexes[dataset] = build_index(self.db, self.settings, dataset, self.encoder)
        return self.indexes[dataset]


def _chunks(users: list[int], done: list[int]) -> Iterator[list[int]]:
    finished = set(done)
    todo = [user for user in users if user not in finished]
    for start in range(0, len(todo), CHUNK_USERS):
        yield todo[start : start + CHUNK_USERS]


def chains_by_user(journal: Journal, stage: str) -> dict[int, list[ChainRecord]]:
    found: dict[int, list[ChainRecord]] = {}
    for chunk in journal.stage(stage)["chunks"]:
        for payload in chunk["chains"]:
            chain = ChainRecord.from_json(payload)
            found.setdefault(chain.user, []).append(chain)
    return found


def summarise(journal: Journal, model: str, sample: Sample, verifier: str, tau: float) -> dict[str, Any] | None:
    """One row of the report from the journal, over the sample's users; None while a stage lacks some."""
    users = set(sample.users)
    chain_stage = journal.stage(f"{model}|{sample.dataset}|chains")
    stage = journal.stage(f"{model}|{sample.dataset}|{verifier}")
    if not users <= set(journal.done_users(f"{model}|{sample.dataset}|{verifier}")):
        return None
    chains = [
        c
        for user, found in chains_by_user(journal, f"{model}|{sample.dataset}|chains").items()
        if user in users
        for c in found
    ]
    chunks = [chunk for chunk in stage["chunks"] if set(chunk["users"]) <= users]
    accepted = {name: 0 for name in SETS}
    trials = {name: 0 for name in SETS}
    for chunk in chunks:
        for name in SETS:
            for hits, masks in chunk["outcome"][name]:
                trials[name] += 1
                accepted[name] += bool(masks) and 100.0 * hits / masks >= tau
    rates = {name: rate(accepted[name], trials[name]) for name in SETS}
    recency = rate(sum(recency_overlap(chain) for chain in chains), len(chains))
    verified_chains = max(sum(trials.values()), 1)
    server_computed = sum(chunk["server"].get("prompt_tokens_computed", 0.0) for chunk in chunks)
    chain_chunks = [chunk for chunk in chain_stage["chunks"] if set(chunk["users"]) <= users]
    return {
        "model": model,
        "dataset": sample.dataset,
        "verifier": verifier,
        "prompt_version": journal.fingerprint.get("prompt_version", "v3"),
        "premise_window": journal.fingerprint.get("premise_window"),
        "premise_candidates": journal.fingerprint.get("premise_candidates"),
        "users": len(users),
        "steps_sampled": len(users) * sample.steps,
        "steps": len(chains),
        "chains_with_placebo": trials["real"],
        "recency_overlap": recency["rate"],
        "recency_overlap_ci95": recency["ci95"],
        "accept_real": rates["real"]["rate"],
        "accept_random_premises": rates["random_premises"]["rate"],
        "accept_shuffled": rates["shuffled"]["rate"],
        "rates": rates,
        "real_vs_random_premises": verdict(rates["real"], rates["random_premises"]),
        "real_vs_shuffled": verdict(rates["real"], rates["shuffled"]),
        "tau": tau,
        "verify_calls_per_chain": round(sum(c["calls"] for c in chunks) / verified_chains, 3),
        "verify_seconds_per_chain": round(sum(c["seconds"] for c in chunks) / verified_chains, 2),
        "verify_computed_prompt_tokens_per_chain": round(server_computed / verified_chains, 1),
        "chaining_seconds_per_user": round(sum(c["seconds"] for c in chain_chunks) / max(len(users), 1), 2),
        "proposals_rejected": dict(
            sorted(sum((Counter(c.get("rejected_by_reason", {})) for c in chain_chunks), Counter()).items())
        ),
        "users_without_chains": sorted(users - {c.user for c in chains}),
        "sittings_machines": sorted({chunk.get("machine", "") for chunk in chunks} - {""}),
    }


def print_table(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table(title="Verifier acceptance: real chains against placebo chains (95% intervals)")
    for column in (
        "model",
        "dataset",
        "verifier",
        "prompt",
        "chains",
        "recency",
        "real",
        "random prem.",
        "shuffled",
        "real-random",
        "s/chain",
    ):
        left = column in ("model", "dataset", "verifier", "prompt")
        table.add_column(column, justify="left" if left else "right")
    for row in rows:
        rates = row["rates"]
        table.add_row(
            row["model"],
            row["dataset"],
            row["verifier"],
            row.get("prompt_version", "v3"),
            str(row["chains_with_placebo"]),
            f"{row['recency_overlap']:.0%}",
            *(
                f"{rates[name]['rate']:.0%} [{rates[name]['ci95'][0]:.0%},{rates[name]['ci95'][1]:.0%}]"
                for name in SETS
            ),
            f"{row['real_vs_random_premises']['difference']:+.0%} [{row['real_vs_random_premises']['ci95'][0]:+.0%},"
            f"{row['real_vs_random_premises']['ci95'][1]:+.0%}]",
            f"{row['verify_seconds_per_chain']:.1f}",
        )
    console.print(table)
    for row in rows:
        console.print(
            f"{row['model']} {row['dataset']} {row['verifier']} {row.get('prompt_version', 'v3')}: "
            f"{row['real_vs_random_premises']['words']}"
        )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ml-1m,beauty")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--steps", type=int, default=4, help="positions per user, the last before the test item")
    parser.add_argument("--models", default="qwen2.5-coder-0.5b")
    parser.add_argument("--verifiers", default=",".join(VERIFIERS))
    parser.add_argument("--packed", type=int, default=8, help="questions per call of lettered-packed")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON (the table goes to stderr)")
    parser.add_argument("--fresh", action="store_true", help="discard the journal")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run no model: report every finished stage of the journal over the users it finished",
    )
    args = parser.parse_args(argv)
    verifiers = [name for name in args.verifiers.split(",") if name]
    unknown = set(verifiers) - set(VERIFIERS)
    if unknown:
        raise SystemExit(f"unknown verifiers {sorted(unknown)}; known: {', '.join(VERIFIERS)}")
    endpoint = None
    if os.environ.get("LLMRG_LLM_BASE_URL"):
        endpoint = (os.environ["LLMRG_LLM_BASE_URL"], os.environ.get("LLMRG_LLM_MODEL", "default"))
    console = Console(stderr=args.json)

    from bench.graph_server import bench_neo4j, ensure_dataset
    from core.settings import for_dataset
    from reasoning import chaining

    machine = describe()
    rows: list[dict[str, Any]] = []
    with bench_neo4j() as (settings, db):
        fingerprint = {
            "steps": args.steps,
            "packed": args.packed,
            "masks": settings.verify.masks,
            "options": settings.verify.options,
            "tau": settings.verify.tau,
            "prompt_version": settings.reasoning.prompt_version,
            "history_length": settings.reasoning.history_length,
            "premise_window": settings.reasoning.premise_window,
        }
        if chaining.ranks_premises(settings):
            fingerprint["premise_candidates"] = settings.reasoning.premise_candidates
        journal = Journal.open(journal_path(settings.reasoning.prompt_version), fingerprint, fresh=args.fresh)
        samples = []
        for dataset in args.datasets.split(","):
            ensure_dataset(db, settings, dataset)
            users = [int(r["id"]) for r in db.run("reasoning/list_users", dataset=dataset, limit=args.users)]
            samples.append(Sample(dataset, users, args.steps))
        if args.report_only:
            rows = journal_rows(journal, settings)
        else:
            for model in args.models.split(","):
                with served(settings, model, endpoint) as chosen:
                    run_model(db, chosen, journal, model, samples, verifiers, args.packed, console, one_line(machine))
            for model in args.models.split(","):
                for sample in samples:
                    for verifier in verifiers:
                        tau = for_dataset(settings.verify.tau, sample.dataset)
                        row = summarise(journal, model, sample, verifier, tau)
                        if row is not None:
                            rows.append(row)
    print_table(console, rows)
    result = {"machine": machine, "machine_line": one_line(machine), "commit": machine.get("commit"), "rows": rows}
    write_result(result)
    if args.json:
        json.dump(
            [
                {
                    key: row[key]
                    for key in (
                        "model",
                        "dataset",
                        "verifier",
                        "prompt_version",
                        "steps",
                        "recency_overlap",
                        "accept_real",
                        "accept_random_premises",
                        "accept_shuffled",
                    )
                }
                for row in rows
            ],
            sys.stdout,
        )
        print()
    return rows


def journal_rows(journal: Journal, settings: Any) -> list[dict[str, Any]]:
    """A row for every verifier stage of the journal, over the users it finished (with their chains)."""
    from core.settings import for_dataset

    rows = []
    for stage in sorted(journal.stages):
        model, dataset, verifier = stage.split("|")
        if verifier == "chains":
            continue
        users = sorted(journal.done_users(stage))
        if not users:
            continue
        sample = Sample(dataset, users, journal.fingerprint["steps"])
        row = summarise(journal, model, sample, verifier, for_dataset(settings.verify.tau, dataset))
        if row is not None:
            rows.append(row)
    return rows


def write_result(result: dict[str, Any]) -> None:
    """Merge into bench/results/quality.json: rows of other models or datasets measured before are kept, each with
    the commit and machine it was measured on (a row written before rows carried them takes the file's), so a
    newer run never claims an older row."""
    previous = json.loads(OUTPUT.read_text()) if OUTPUT.is_file() else {"rows": []}
    fresh = {row_key(row) for row in result["rows"]}
    kept = [stamped(row, previous) for row in previous["rows"] if row_key(row) not in fresh]
    rows = kept + [stamped(row, result) for row in result["rows"]]
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(
        json.dumps({key: value for key, value in result.items() if key != "commit_note"} | {"rows": rows}, indent=2)
        + "\n"
    )


def row_key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """A row per model, dataset, verifier and chaining prompt (rows from before prompts were told apart: v3)."""
    return (row["model"], row["dataset"], row["verifier"], row.get("prompt_version", "v3"))


def stamped(row: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The row with the commit, machine and any commit note of the run that measured it."""
    origin = {"commit": result.get("commit"), "machine_line": result.get("machine_line")}
    if result.get("commit_note"):
        origin["commit_note"] = result["commit_note"]
    return origin | row


if __name__ == "__main__":
    main()
