"""`llmrg kb warm` against the real Neo4j with a scripted model that knows which pairs are frequent: the
verified pairs become causal edges that answer later users' steps, placebo pairs are judged beside them and
never stored, the journal carries a run on, and the pairs travel in knowledge-base files."""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.gateway import Neo4jGateway
from core.settings import Settings
from core.vocabulary import ChainKind
from reasoning import item_pairs, kb_transfer, knowledge_base, store, warm_run
from reasoning.context import load_context
from reasoning.llm import StructuredLLM, build_chat_model
from reasoning.prompts import equivalent_versions
from reasoning.run import reason_users
from tests.conftest import run_cli
from tests.fakes.openai_server import Reply, ScriptedOpenAI, last_user_message, schema_name
from tests.reasoning.test_kb_transfer import chain, ingest
from tests.reasoning.test_reasoning import FIXTURE_GENRES, FIXTURE_TITLES, LINK

pytestmark = pytest.mark.integration

DATASET = "warm-fixture"
# 3 -> 4 -> 5 (the Star Wars trilogy) and 6 -> 7 (The Godfather) recur; each history's last 2 items are held out
SEQUENCES = "1 3 4 5 1 2 6 7\n2 3 4 5 6 7 1 2\n3 1 2 3 4 6 7 8 9\n4 3 4 5 8 9 1 2\n5 6 7 3 4 5 1 2\n6 9 3 4 5 6 7\n"
PAIRS = 6
PAIR_LINE = re.compile(r"^(p\d+): (.+?) \| [^>]* -> (.+?) \| ", re.MULTILINE)


def frequent_pairs() -> set[tuple[int, int]]:
    sequences = [[int(item) for item in line.split()[1:]] for line in SEQUENCES.splitlines()]
    counts = item_pairs.count_pairs(sequences, within=3, holdout=2)
    return {(pair.source, pair.target) for pair in item_pairs.top_pairs(counts, PAIRS)}


def knows_the_pairs(frequent: set[tuple[int, int]]) -> Any:
    """A model that knows which pairs are frequent: a reason for every pair; a hidden end of a frequent pair
    found among the options, an attribute of a frequent pair's target told right; anything else answered
    with the last option (right only by the draw)."""

    def respond(request: dict[str, Any]) -> Reply:
        text = last_user_message(request)
        if schema_name(request) == "warm_answer":
            reasons = {pair_id: "a shared story" for pair_id, _, _ in PAIR_LINE.findall(text)}
            return Reply(json.dumps(reasons), prompt_tokens=120, completion_tokens=10 * len(reasons))
        answers: dict[str, str] = {}
        for block in re.split(r"\n(?=q\d+: )", text.removeprefix("Questions:\n")):
            head, *option_lines = block.splitlines()
            question_id, body = head.split(": ", 1)
            options = {line[3:]: line[0] for line in option_lines}
            answers[question_id] = option_lines[-1][0]
            if "has attribute [MASK]" in body:
                a, b = (FIXTURE_TITLES[title] for title in LINK.split(body.split("; ")[0]))
                if (a, b) in frequent:
                    title = body.rsplit("; ", 1)[1].removesuffix(" has attribute [MASK]")
                    answers[question_id] = next(
                        letter for name, letter in options.items() if name in FIXTURE_GENRES[title]
                    )
                continue
            shown, hidden = LINK.split(body), "[MASK]"
            for name, letter in options.items():
                pair = (FIXTURE_TITLES[name], FIXTURE_TITLES[shown[1]]) if shown[0] == hidden else None
                pair = pair or (FIXTURE_TITLES[shown[0]], FIXTURE_TITLES[name])
                if pair in frequent:
                    answers[question_id] = letter
        return Reply(json.dumps(answers), prompt_tokens=200, completion_tokens=6 * len(answers))

    return respond


@pytest.fixture()
def dataset(services: Settings, db: Neo4jGateway, tmp_path: Path) -> str:
    ingest(db, services, tmp_path, DATASET, sequences=SEQUENCES)
    return DATASET


@pytest.fixture()
def scripted() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(knows_the_pairs(frequent_pairs())).running() as server:
        yield server


def warm(db: Neo4jGateway, settings: Settings, journal: Path, pairs: int = PAIRS) -> dict[str, Any]:
    llm = StructuredLLM(build_chat_model(settings, 0.0), max_retries=0, retry_base_s=0.0)
    options = warm_run.WarmOptions(pairs=pairs, chunk_pairs=3, placebo_every=2, pairs_per_call=4)
    return warm_run.warm_dataset(db, settings, DATASET, options, llm=llm, journal_file=journal, report=lambda _: None)


def stored(db: Neo4jGateway) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    chains = db.driver.execute_query(
        "MATCH (c:Chain {dataset: $d}) RETURN c.kind AS kind, c.status AS status, c.items AS items ORDER BY items",
        d=DATASET,
    ).records
    edges = db.driver.execute_query(
        "MATCH (e:Edge {dataset: $d}) RETURN e.source AS source, e.target AS target, e.support AS support, "
        "e.reason AS reason ORDER BY source, target",
        d=DATASET,
    ).records
    return [record.data() for record in chains], [record.data() for record in edges]


def test_verified_pairs_become_edges_placebos_are_judged_beside_them_and_never_stored(
    dataset: str, services: Settings, db: Neo4jGateway, scripted: ScriptedOpenAI, tmp_path: Path
) -> None:
    settings = services.updated(llm={"base_url": scripted.base_url})
    summary = warm(db, settings, tmp_path / "warm.json")
    frequent = frequent_pairs()
    assert summary["pairs"] == PAIRS and summary["chunks"] == 2
    every_mask = {"target": PAIRS, "premise": PAIRS, "attribute": PAIRS}
    assert summary["real"] == {
        "asked": PAIRS,
        "verified": PAIRS,
        "refused": 0,
        "failed": 0,
        "accept_rate": 1.0,
        "refused_by_reason": {},
        "masks": every_mask,
        "hits": every_mask,
    }
    # one placebo beside ranks 0, 2 and 4; the model knows none of them, so only a lucky draw passes one
    assert summary["placebo"]["asked"] == 3 and summary["placebo"]["accept_rate"] < 1.0
    chains, edges = stored(db)
    assert {tuple(chain["items"]) for chain in chains} == frequent  # placebo pairs are never stored
    assert {(chain["kind"], chain["status"]) for chain in chains} == {("pair", "verified")}
    assert {(edge["source"], edge["target"]) for edge in edges} == frequent
    assert {edge["reason"] for edge in edges} == {"a shared story"}
    assert summary["coverage"]["edges"] == PAIRS and summary["coverage"]["covered"] > 0
    calls = summary["llm_calls"]
    assert calls == summary["reason_calls"] + summary["verify_calls"] == len(scripted.requests)

    # a rerun finds every chunk in the journal and asks nothing
    again = warm(db, settings, tmp_path / "warm.json")
    assert again["llm_calls"] == calls and len(scripted.requests) == calls
    assert stored(db) == (chains, edges)
    # a fresh journal asks the placebos again but no stored pair
    fresh = warm(db, settings, tmp_path / "fresh.json")
    assert fresh["real"]["asked"] == 0 and fresh["placebo"]["asked"] == 3
    assert stored(db) == (chains, edges)

    # a later user's steps at a pair's target are answered from the edges, without a chaining call
    settings = settings.updated(reasoning={"max_targets": 1, "holdout": 2})
    llm = StructuredLLM(build_chat_model(settings, 0.0), max_retries=0, retry_base_s=0.0)
    before = len(scripted.requests)
    stats = reason_users(db, settings, DATASET, [5], show_progress=False, llm=llm)
    assert (stats.kb_edge_hits, stats.llm.calls, len(scripted.requests)) == (1, 0, before)
    assert stats.kb_edge_hits_warm_start == 1

    # the pairs travel in a knowledge-base file, and back into an empty database unchanged
    exported = kb_transfer.export_knowledge_base(db, DATASET, tmp_path / "kb.jsonl.gz")
    assert (exported.chains, exported.edges) == (PAIRS, PAIRS)  # the chain the user reused is the edge's
    with gzip.open(tmp_path / "kb.jsonl.gz", "rt") as file:
        assert [json.loads(line).get("kind") for line in file].count("pair") == PAIRS
    store.delete_chains(db, DATASET)
    kb_transfer.import_knowledge_base(db, tmp_path / "kb.jsonl.gz", DATASET)
    assert kb_transfer.export_knowledge_base(db, DATASET, tmp_path / "again.jsonl.gz").sha256 == exported.sha256


def test_the_cli_warms_with_the_documented_shape(
    dataset: str, services: Settings, scripted: ScriptedOpenAI, tmp_path: Path
) -> None:
    environment = dict(os.environ, LLMRG_LLM_BASE_URL=scripted.base_url)
    result = run_cli(
        "kb",
        "warm",
        "--dataset",
        DATASET,
        "--pairs",
        "4",
        "--journal",
        str(tmp_path / "w.json"),
        "--json",
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {"dataset", "pairs", "llm_calls", "real", "placebo", "coverage", "ceiling", "curve"} <= set(summary)
    assert summary["pairs"] == 4 and summary["real"]["verified"] == 4
    bad = run_cli("kb", "warm", "--dataset", "no-such-dataset", "--pairs", "4", env=environment)
    assert bad.returncode != 0 and "no users" in bad.stderr


def test_a_step_finds_the_edges_its_run_s_prompts_would_have_made_and_no_others(
    dataset: str, services: Settings, db: Neo4jGateway
) -> None:
    """v4 changed only chaining. A pair warmed and verified under v3 was asked exactly as a v4 run would ask it,
    so it answers a v4 run's step; a v3 reasoning chain came from another chaining prompt, so its edge does not.
    Lookups used to match the set's name, which refused both: the released warm start (v3) answered none of the
    1,000-user v4 run's steps."""
    model = services.llm.model
    store.write_pair_chain(db, chain((3,), 4, kind=ChainKind.PAIR, dataset=DATASET), model=model, prompt_version="v3")
    scored = chain((9,), 4, dataset=DATASET)
    store.write_chain(db, 4, scored, model=model, prompt_version="v3", tau=50.0)

    def sources(**changes: Any) -> set[int]:
        settings = services.updated(**changes)
        context = load_context(db, settings, DATASET, 6)  # 9 3 4 5 6 7: the step at 4 has 9 and 3 before it
        local = next(local for local, item in enumerate(context.window) if item.id == 4)
        return {hit.source for hit in knowledge_base.lookup_edges(db, settings, context, local)}

    assert sources(reasoning={"prompt_version": "v4"}) == {3}
    assert sources(reasoning={"prompt_version": "v3"}) == {3, 9}
    assert sources(reasoning={"prompt_version": "v4"}, kb={"any_model": True}) == {3, 9}
    assert sources(reasoning={"prompt_version": "v4"}, llm={"model": "another-model"}) == set()
    assert equivalent_versions(knowledge_base.PAIR_TASKS, "v4") == ("v3", "v4")
    assert equivalent_versions(knowledge_base.REASONING_TASKS, "v4") == ("v4",)
