"""The reasoning engine against the real Neo4j: exact chains, provenance, reruns, knowledge-base reuse,
faults (scripted model), and one end-to-end run with the real local LLM."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import neo4j
import numpy as np
import pytest

from bench import reason as bench_reason
from bench.journal import Journal, JournalMismatch
from bench.reason import Sitting
from core.gateway import Neo4jGateway
from core.settings import Settings
from core.vocabulary import ChainKind, ChainStatus
from ingestion import loader
from llmrg.stats import dataset_counts
from reasoning import divergent, kb_transfer, store
from reasoning.chains import Candidate, ScoredChain
from reasoning.context import UserContext
from reasoning.embeddings import CatalogueIndex
from reasoning.engine import ReasoningEngine, ReasonStats
from reasoning.llm import StructuredLLM, build_chat_model
from reasoning.run import build_engine, reason_users
from tests.conftest import run_cli
from tests.fakes.neo4j_cuts import lose_neo4j_inside_an_extension
from tests.fakes.openai_server import Reply, ScriptedOpenAI, last_user_message, schema_name
from tests.fakes.oracle import oracle

pytestmark = pytest.mark.integration

DATASET = "reason-fixture"
ITEMS = """item_id\ttitle\tgenres
1\tToy Story (1995)\tAnimation|Children's|Comedy
2\tToy Story 2 (1999)\tAnimation|Children's|Comedy
3\tStar Wars: Episode IV - A New Hope (1977)\tAction|Adventure|Sci-Fi
4\tStar Wars: Episode V - The Empire Strikes Back (1980)\tAction|Adventure|Sci-Fi
5\tStar Wars: Episode VI - Return of the Jedi (1983)\tAction|Adventure|Sci-Fi
6\tGodfather, The (1972)\tCrime|Drama
7\tGodfather: Part II, The (1974)\tCrime|Drama
8\tAlien (1979)\tHorror|Sci-Fi
9\tAliens (1986)\tAction|Horror|Sci-Fi
"""
SEQUENCES = "1 1 2 3 4 5 6\n2 9 3 4 5 6\n3 6 7 8 9\n"


@pytest.fixture()
def fixture_dataset(services: Settings, db: Neo4jGateway, tmp_path: Path) -> str:
    loader.delete_dataset(db, DATASET)
    (tmp_path / "items.tsv").write_text(ITEMS)
    (tmp_path / "seq.txt").write_text(SEQUENCES)
    result = run_cli(
        "ingest",
        "--name",
        DATASET,
        "--sequences",
        str(tmp_path / "seq.txt"),
        "--items",
        str(tmp_path / "items.tsv"),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    return DATASET


@pytest.fixture()
def scripted() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(oracle).running() as server:
        yield server


def reason(db: Neo4jGateway, settings: Settings, users: list[int], *, divergent: bool = False) -> ReasonStats:
    """Reason with the models at `settings.llm.base_url`; divergent extension only when asked for."""
    settings = settings.updated(divergent={"enabled": divergent})
    llm = StructuredLLM(build_chat_model(settings, 0.0), max_retries=settings.llm.max_retries, retry_base_s=0.0)
    return reason_users(db, settings, DATASET, users, show_progress=False, llm=llm)


def rows(db: Neo4jGateway, query: str, **parameters: object) -> list[dict]:
    return [record.data() for record in db.driver.execute_query(query, parameters_=parameters).records]


def user_chains(db: Neo4jGateway, user: int) -> list[dict]:
    return rows(
        db,
        """
        MATCH (:User {dataset: $d, id: $u})-[l:HAS_CHAIN]->(c:Chain)
        RETURN l.t AS t, l.reused AS reused, c.items AS items, c.status AS status, c.score AS score,
               c.hit_count AS hits ORDER BY t, items""",
        d=DATASET,
        u=user,
    )


def test_oracle_user_gets_exact_verified_chains_with_provenance(
    fixture_dataset: str, services: Settings, db: Neo4jGateway, scripted: ScriptedOpenAI
) -> None:
    settings = services.updated(llm={"base_url": scripted.base_url})
    stats = reason(db, settings, [1])
    assert stats.as_json() | {"wall_s": 0} == {
        "users": 1,
        "steps": 5,
        "steps_already_done": 0,
        "steps_failed": 0,
        "llm_calls": 2 + 3 + 3,  # per window: one chaining call, and each chain's three masks in three calls
        "llm_retries": 0,
        "llm_failures": 0,
        "prompt_tokens": 300 * 2 + 250 * 6,
        "completion_tokens": 20 * 5 + 8 * 15,
        "kb_hits": 0,
        "kb_edge_hits": 0,
        "kb_edge_hits_warm_start": 0,
        "kb_misses": 5,
        "chains_proposed": 5,
        "chains_verified": 5,
        "chains_unverified": 0,
        "chains_rejected": 0,
        "chains_reused": 0,
        "divergent_chains": 0,
        "questions_per_call": 2.5,  # 15 questions in 6 calls
        "rejected_by_reason": {},
        "wall_s": 0,
    }
    # Two windows (targets at positions 1-4, then 5); a chain is stamped with the last position its prompt
    # showed, so the graph of a prefix never holds a chain chosen by an LLM that saw what came next.
    assert [(c["t"], c["items"], c["status"], c["reused"]) for c in user_chains(db, 1)] == [
        (4, [1, 2], "verified", False),
        (4, [2, 3], "verified", False),
        (4, [3, 4], "verified", False),
        (4, [4, 5], "verified", False),
        (5, [5, 6], "verified", False),
    ]
    (chain,) = rows(
        db,
        """
        MATCH (c:Chain {dataset: $d, target: 4})-[s:STEP]->(i:Item)
        WITH c, s, i ORDER BY s.i
        RETURN c.model AS model, c.prompt_version AS prompt, c.score AS score, c.masks AS masks,
               c.created_at IS NOT NULL AS dated, collect([s.i, i.id, s.reason]) AS steps""",
        d=DATASET,
    )
    assert chain == {
        "model": settings.llm.model,
        "prompt": settings.reasoning.prompt_version,
        "score": 100.0,
        "masks": 3,
        "dated": True,
        "steps": [[0, 3, None], [1, 4, "follows 2"]],
    }


def test_holdout_keeps_the_last_items_out_of_every_prompt(
    fixture_dataset: str, services: Settings, db: Neo4jGateway, scripted: ScriptedOpenAI
) -> None:
    # Holding out the test item (position 5) leaves one window, targets 1-4, stamped at 4: no chain points at
    # item 6, and no prompt shows it. One chaining call, then the chains' masks in three verification calls.
    settings = services.updated(llm={"base_url": scripted.base_url}, reasoning={"holdout": 1})
    stats = reason(db, settings, [1])
    assert (stats.steps, stats.as_json()["llm_calls"]) == (4, 4)
    chains = [(c["t"], c["items"]) for c in user_chains(db, 1)]
    assert chains == [(4, [1, 2]), (4, [2, 3]), (4, [3, 4]), (4, [4, 5])]
    assert scripted.requests and all("Godfather" not in last_user_message(request) for request in scripted.requests)


def test_rerun_adds_nothing_and_calls_no_llm(
    fixture_dataset: str, services: Settings, db: Neo4jGateway, scripted: ScriptedOpenAI
) -> None:
    settings = services.updated(llm={"base_url": scripted.base_url})
    reason(db, settings, [1, 2])
    before = (user_chains(db, 1), user_chains(db, 2), dataset_counts(db)[DATASET])
    again = reason(db, settings, [1, 2])
    assert (again.llm.calls, again.steps, again.steps_already_done) == (0, 0, 9)
    assert (user_chains(db, 1), user_chains(db, 2), dataset_counts(db)[DATASET]) == before
    duplicates = rows(
        db,
        "MATCH (c:Chain {dataset: $d}) WITH c.items AS items, count(*) AS n WHERE n > 1 RETURN count(*) AS dup",
        d=DATASET,
    )
    assert duplicates == [{"dup": 0}]


def test_second_user_reuses_the_knowledge_base(
    fixture_dataset: str, services: Settings, db: Neo4jGateway, scripted: ScriptedOpenAI
) -> None:
    settings = services.updated(llm={"base_url": scripted.base_url})
    first = reason(db, settings, [1]).llm.calls
    second = reason(db, settings, [2])
    # user 2's one new chain [9, 3] is asked one question: in a two-item prompt each item mask has one possible
    # answer, so only the attribute is asked
    assert (first, second.llm.calls, second.kb_hits, second.kb_misses, second.chains_reused) == (8, 2, 3, 1, 3)
    assert [(c["t"], c["items"], c["reused"], c["hits"]) for c in user_chains(db, 2)] == [
        (1, [9, 3], False, 0),
        (2, [3, 4], True, 1),
        (3, [4, 5], True, 1),
        (4, [5, 6], True, 1),
    ]
    counts = dataset_counts(db)[DATASET]
    assert (counts["chains"], counts["kb_chains"]) == (6, 6)
    no_kb = reason(db, settings.updated(kb={"enabled": False}), [3])
    assert (no_kb.kb_hits, no_kb.kb_misses, no_kb.llm.calls) == (0, 0, 4)
    # a reused chain that a later verdict retires moves the link to PROPOSED: its step stays answered
    rows(
        db,
        """
        MATCH (u:User {dataset: $d, id: 2})-[l:HAS_CHAIN {reused: true}]->(c:Chain)
        CREATE (u)-[p:PROPOSED]->(c) SET p = properties(l) DELETE l""",
        d=DATASET,
    )
    assert store.reasoned_positions(db, DATASET, 2) == {1, 2, 3, 4}


def test_the_knowledge_base_reuses_chains_of_the_same_model_unless_told_otherwise(
    fixture_dataset: str, services: Settings, db: Neo4jGateway, scripted: ScriptedOpenAI
) -> None:
    settings = services.updated(llm={"base_url": scripted.base_url, "model": "model-a"})
    reason(db, settings, [1])
    other_model = reason(db, settings.updated(llm={"model": "model-b"}), [2])
    assert (other_model.kb_hits, other_model.chains_reused) == (0, 0)
    store.forget_users(db, DATASET, [2])
    widened = reason(db, settings.updated(llm={"model": "model-b"}, kb={"any_model": True}), [2])
    assert (widened.kb_hits, widened.chains_reused) == (3, 3)


def two_premise_chains(request: dict[str, Any]) -> Reply:
    """The oracle, but chaining each target k to its two predecessors, `[k-2, k-1] -> k` (one where k = 1)."""
    if schema_name(request) != "chaining_answer":
        return oracle(request)
    targets = [int(part) for part in re.search(r"^Targets: (.+)$", last_user_message(request), re.M)[1].split(",")]  # type: ignore[index]
    steps = [{"target": k, "chains": [[[p, f"led to {k}"] for p in range(max(0, k - 2), k)]]} for k in targets]
    return Reply(json.dumps({"steps": steps}), prompt_tokens=300, completion_tokens=20 * len(targets))


def edges(db: Neo4jGateway) -> list[tuple[int, int, int]]:
    return [
        (row["a"], row["b"], row["support"])
        for row in rows(
            db,
            "MATCH (a:Item)<-[:FROM]-(e:Edge {dataset: $d})-[:TO]->(b:Item) "
            "RETURN a.id AS a, b.id AS b, e.support AS support ORDER BY a, b",
            d=DATASET,
        )
    ]


def test_a_step_whose_chains_miss_is_answered_by_causal_edges_of_verified_chains(
    fixture_dataset: str, services: Settings, db: Neo4jGateway
) -> None:
    with ScriptedOpenAI(two_premise_chains).running() as server:
        settings = services.updated(llm={"base_url": server.base_url})
        reason(db, settings, [1])  # 1 2 3 4 5 6: chains [1]->2, [1,2]->3, [2,3]->4, [3,4]->5, [4,5]->6
        assert edges(db) == [(1, 2, 2), (2, 3, 2), (3, 4, 2), (4, 5, 2), (5, 6, 1)]
        second = reason(db, settings, [2])  # 9 3 4 5 6
    # 3: no chain or edge into 3 starts in {9} (LLM); 4: chain [2,3,4] needs 2, edge 3 -> 4 does not (edge hit);
    # 5 and 6: chains [3,4]->5 and [4,5]->6 (chain hits)
    assert (second.kb_hits, second.kb_edge_hits, second.kb_misses, second.chains_reused) == (2, 1, 1, 3)
    assert second.as_json()["kb_edge_hits"] == 1
    assert second.as_json()["kb_edge_hits_warm_start"] == 0, "the edge is user 1's reasoning, not a warm pair"
    assert [(c["t"], c["items"], c["reused"]) for c in user_chains(db, 2)] == [
        (1, [9, 3], False),
        (2, [3, 4], True),
        (3, [3, 4, 5], True),
        (4, [4, 5, 6], True),
    ]
    (derived,) = rows(db, "MATCH (c:Chain {dataset: $d, items: [3, 4]}) RETURN c.from_edge AS edge", d=DATASET)
    assert derived["edge"] is not None
    assert edges(db) == [(1, 2, 2), (2, 3, 2), (3, 4, 2), (4, 5, 2), (5, 6, 1), (9, 3, 1)]
    store.forget_users(db, DATASET, [2])  # its own chain [9,3] goes, and the edge only it supported
    assert edges(db) == [(1, 2, 2), (2, 3, 2), (3, 4, 2), (4, 5, 2), (5, 6, 1)]
    store.forget_users(db, DATASET, [1])
    assert edges(db) == []


def test_forgetting_users_undoes_their_reasoning_and_nothing_else(
    fixture_dataset: str, services: Settings, db: Neo4jGateway, scripted: ScriptedOpenAI
) -> None:
    settings = services.updated(llm={"base_url": scripted.base_url})
    reason(db, settings, [1])
    first_run = reason(db, settings, [2]).as_json() | {"wall_s": 0}
    store.forget_users(db, DATASET, [2])
    # user 1 keeps its five chains, with the three hits user 2 counted on them taken back
    assert [(c["items"], c["hits"]) for c in user_chains(db, 1)] == [
        ([1, 2], 0),
        ([2, 3], 0),
        ([3, 4], 0),
        ([4, 5], 0),
        ([5, 6], 0),
    ]
    assert user_chains(db, 2) == []
    assert store.reasoned_positions(db, DATASET, 2) == set()
    assert dataset_counts(db)[DATASET]["kb_chains"] == 5  # user 2's own chain [9, 3] is gone
    # redone, user 2 costs exactly what it cost the first time
    assert reason(db, settings, [2]).as_json() | {"wall_s": 0} == first_run
    store.forget_users(db, DATASET, [1, 2])
    assert rows(db, "MATCH (c:Chain {dataset: $d}) RETURN count(c) AS n", d=DATASET) == [{"n": 0}]


@pytest.mark.fault
@pytest.mark.parametrize("kb", [False, True], ids=["kb-off", "kb-on"])
def test_a_window_cut_off_between_its_chain_writes_is_asked_again_whole(
    kb: bool,
    fixture_dataset: str,
    services: Settings,
    db: Neo4jGateway,
    scripted: ScriptedOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker killed, or Neo4j lost, after the first of a window's chains is written: every chain of the window
    is stamped with its last target, so that link must not count the last target as answered, or the rerun
    would ask for the first target alone and the last target's chain would never be written. With the knowledge
    base on, the chain already written is the user's own, not knowledge: the rerun must not count it a hit."""
    settings = services.updated(llm={"base_url": scripted.base_url}, kb={"enabled": kb})
    reason(db, settings, [1])
    clean = (user_chains(db, 1), store.reasoned_positions(db, DATASET, 1))
    store.forget_users(db, DATASET, [1])

    write_chain = store.write_chain
    writes: list[int] = []

    def lost_after_one_write(*args: Any, **kwargs: Any) -> Any:
        if len(writes) == 1:
            raise neo4j.exceptions.ServiceUnavailable("Neo4j went away mid-window")
        writes.append(1)
        return write_chain(*args, **kwargs)

    monkeypatch.setattr(store, "write_chain", lost_after_one_write)
    with pytest.raises(neo4j.exceptions.ServiceUnavailable):
        reason(db, settings, [1])
    monkeypatch.setattr(store, "write_chain", write_chain)
    assert len(user_chains(db, 1)) == 1 and store.reasoned_positions(db, DATASET, 1) == set()
    again = reason(db, settings, [1])
    assert (user_chains(db, 1), store.reasoned_positions(db, DATASET, 1)) == clean
    assert again.steps_already_done == 0  # the cut-off window was asked again whole
    assert (again.kb_hits, again.kb_edge_hits) == (0, 0)


def chaining_prompts(server: ScriptedOpenAI) -> list[str]:
    return [last_user_message(request) for request in server.requests if schema_name(request) == "chaining_answer"]


@pytest.mark.fault
def test_a_rerun_shows_its_later_windows_the_chains_the_windows_answered_before_found(
    fixture_dataset: str,
    services: Settings,
    db: Neo4jGateway,
    scripted: ScriptedOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Neo4j lost after the user's first window is answered: the rerun asks the second window alone. Its prompt
    used to list no existing chains, though a clean run's lists the first window's; now it is the clean run's
    prompt, word for word."""
    settings = services.updated(llm={"base_url": scripted.base_url})
    reason(db, settings, [1])
    clean = chaining_prompts(scripted)
    assert len(clean) == 2 and "Existing chains:\nnone" not in clean[1], "the second window's prompt shows chains"
    store.forget_users(db, DATASET, [1])
    mark_reasoned, marks = store.mark_reasoned, []

    def lost_at_the_second_window(*args: Any, **kwargs: Any) -> None:
        marks.append(1)
        if len(marks) == 2:
            raise neo4j.exceptions.ServiceUnavailable("Neo4j went away before the second window was marked")
        mark_reasoned(*args, **kwargs)

    monkeypatch.setattr(store, "mark_reasoned", lost_at_the_second_window)
    with pytest.raises(neo4j.exceptions.ServiceUnavailable):
        reason(db, settings, [1])
    monkeypatch.undo()
    scripted.requests.clear()
    again = reason(db, settings, [1])
    assert again.steps_already_done > 0 and chaining_prompts(scripted) == clean[1:]


@dataclass
class StopAfter(Sitting):
    """A sitting whose time runs out after `chunks_left` chunks."""

    chunks_left: int = 99

    def spent(self) -> bool:
        return self.chunks_left <= 0

    def chunk_took(self, seconds: float) -> None:
        self.chunks_left -= 1


def test_the_reasoning_bench_carries_on_a_stopped_run_at_the_same_cost(
    fixture_dataset: str,
    services: Settings,
    db: Neo4jGateway,
    scripted: ScriptedOpenAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stopped in the middle of a chunk and carried on in a later sitting, the bench measures exactly what
    one sitting measures; carried on against a database that changed since, it refuses."""
    monkeypatch.setattr(bench_reason, "DATASET", DATASET)
    settings = services.updated(llm={"base_url": scripted.base_url}, divergent={"enabled": False})

    def optimised(journal: Path, chunks: int) -> dict[str, Any] | None:
        opened = Journal.open(journal, {}, fresh=False)
        sitting = StopAfter(chunk_users=1, max_seconds=None, chunks_left=chunks)
        return bench_reason.stage(db, settings, "optimised", [1, 2, 3], [1], opened, sitting)

    def untimed(result: dict[str, Any] | None) -> dict[str, Any]:
        assert result is not None
        timed = {
            "wall_s",
            "users_per_hour",
            "users_per_hour_by_llm_threads",
            "kb_curve",
            "sittings",
            "machines",
            "commits",
        }
        curve = [(point["users"], point["llm_calls"], point["kb_hits"]) for point in result["kb_curve"]]
        return {key: value for key, value in result.items() if key not in timed} | {"curve": curve}

    whole = optimised(tmp_path / "whole.json", chunks=99)
    assert optimised(tmp_path / "stopped.json", chunks=1) is None
    for name in ("copy", "moved", "tampered", "again", "late"):  # the same stopped run, taken elsewhere
        (tmp_path / f"{name}.json").write_text((tmp_path / "stopped.json").read_text())
    exported = tmp_path / "stopped.optimised.jsonl.gz"
    (tmp_path / "moved.optimised.jsonl.gz").write_bytes(exported.read_bytes())
    (tmp_path / "again.optimised.jsonl.gz").write_bytes(exported.read_bytes())
    (tmp_path / ".late.optimised.jsonl.gz").write_bytes(exported.read_bytes())  # killed before the move
    (tmp_path / "tampered.optimised.jsonl.gz").write_bytes(exported.read_bytes() + b"\n")
    reason(db, settings, [2])  # killed in the middle of the next chunk: user 2 reasoned, but not recorded
    resumed = optimised(tmp_path / "stopped.json", chunks=99)
    assert untimed(resumed) == untimed(whole)
    assert untimed(whole)["curve"] == [(1, 8, 0), (2, 10, 3), (3, 14, 3)]
    assert resumed is not None and resumed["sittings"] == 2
    store.delete_chains(db, DATASET)
    with pytest.raises(JournalMismatch, match=r"left 5 chains linked to its finished users, but .* holds 0"):
        optimised(tmp_path / "copy.json", chunks=99)
    with pytest.raises(JournalMismatch, match=r"tampered.optimised.jsonl.gz is not the knowledge base"):
        optimised(tmp_path / "tampered.json", chunks=99)
    # another machine: an empty database restored from the knowledge base the stopped run's chunk exported
    moved = optimised(tmp_path / "moved.json", chunks=99)
    assert untimed(moved) == untimed(whole)
    carried = [
        chunk["carried_by_file"]
        for chunk in Journal.open(tmp_path / "moved.json", {}, fresh=False).stage("optimised")["chunks"]
    ]
    assert carried == [False, True, False]
    # restored on another machine, then stopped in the middle of a chunk that reused the restored knowledge:
    # the next sitting restores again instead of refusing, and forgetting that chunk deletes none of it
    assert optimised(tmp_path / "again.json", chunks=0) is None
    reason(db, settings, [2])
    assert untimed(optimised(tmp_path / "again.json", chunks=99)) == untimed(whole)
    # killed after the journal named the chunk's export but before the export was moved into place
    store.delete_chains(db, DATASET)
    assert untimed(optimised(tmp_path / "late.json", chunks=99)) == untimed(whole)
    assert (tmp_path / "late.optimised.jsonl.gz").is_file() and not (tmp_path / ".late.optimised.jsonl.gz").exists()


def test_the_reasoning_bench_holds_the_released_warm_pairs_and_records_them(
    fixture_dataset: str,
    services: Settings,
    db: Neo4jGateway,
    scripted: ScriptedOpenAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The release's warm start (item pairs, no users) answers the run's steps as it answers a user's after `make
    demo`; only its pairs are taken, never the users' reasoning the release also holds, and each chunk records
    what the knowledge base held, so the curve says from which user on it helped."""
    monkeypatch.setattr(bench_reason, "DATASET", DATASET)
    settings = services.updated(llm={"base_url": scripted.base_url}, divergent={"enabled": False})
    alien = Candidate(DATASET, ChainKind.PAIR, (8,), 9, ("the sequel",), t=1, recent_premises=(8,))
    verified = ScoredChain(alien, ChainStatus.VERIFIED, 100.0, masks=2, hits=2)
    store.write_pair_chain(db, verified, model=settings.llm.model, prompt_version=settings.reasoning.prompt_version)
    reason(db, settings, [1])
    release = tmp_path / "release.jsonl.gz"
    kb_transfer.export_knowledge_base(db, DATASET, release)
    store.delete_chains(db, DATASET)

    journal = Journal.open(tmp_path / "run.json", {}, fresh=False)
    sitting = StopAfter(chunk_users=1, max_seconds=None, chunks_left=99)
    result = bench_reason.stage(db, settings, "optimised", [3], [3], journal, sitting, warm_start=release)
    assert result is not None
    assert (result["kb_edge_hits"], result["kb_edge_hits_warm_start"]) == (1, 1)
    assert result["warm_start"] == {"from_user": 3, "chunks": 1, "pair_chains": 1, "edges": 1}
    (chunk,) = journal.stage("optimised")["chunks"]
    assert (chunk["warm_start"]["file"], chunk["warm_start"]["pair_chains"]) == (str(release), 1)
    others = "MATCH (c:Chain {dataset: $d}) WHERE NOT EXISTS { (:User {dataset: $d, id: 3})-[:HAS_CHAIN]->(c) } "
    assert rows(db, others + "RETURN c.kind AS kind", d=DATASET) == [{"kind": "pair"}], "no user's reasoning came"
    assert bench_reason.import_warm_start(db, tmp_path / "none.jsonl.gz") is None
    # a run that began with the pairs cannot be carried on without them: its curve would mix the two
    begun = Journal.open(tmp_path / "begun.json", {}, fresh=False)
    one_chunk = StopAfter(chunk_users=1, max_seconds=None, chunks_left=1)
    assert bench_reason.stage(db, settings, "optimised", [3, 2], [3], begun, one_chunk, warm_start=release) is None
    with pytest.raises(JournalMismatch, match="holds 1 warm-start pairs, which this run was told to leave out"):
        bench_reason.stage(db, settings, "optimised", [3, 2], [3], begun, sitting, warm_start=None)


def test_a_stage_without_reuse_carries_on_in_an_empty_database(
    fixture_dataset: str,
    services: Settings,
    db: Neo4jGateway,
    scripted: ScriptedOpenAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The naive stage reuses nothing from user to user, so on another machine it carries on with nothing
    restored and exports no knowledge base; its common users' verified rate comes from the journal."""
    monkeypatch.setattr(bench_reason, "DATASET", DATASET)
    naive = services.updated(llm={"base_url": scripted.base_url}, divergent={"enabled": False}, kb={"enabled": False})

    def run(journal: Path, chunks: int) -> dict[str, Any] | None:
        opened = Journal.open(journal, {}, fresh=False)
        sitting = StopAfter(chunk_users=1, max_seconds=None, chunks_left=chunks)
        return bench_reason.stage(db, naive, "naive", [1, 2], [1, 2], opened, sitting)

    whole = run(tmp_path / "whole.json", chunks=99)
    assert run(tmp_path / "stopped.json", chunks=1) is None
    store.delete_chains(db, DATASET)
    moved = run(tmp_path / "stopped.json", chunks=99)
    assert whole is not None and moved is not None
    assert (moved["llm_calls"], moved["chains_verified"]) == (whole["llm_calls"], whole["chains_verified"])
    assert moved["common_users_verified_rate"] == whole["common_users_verified_rate"] is not None
    assert not list(tmp_path.glob("*.jsonl.gz"))


def test_a_chain_rejected_for_one_user_is_judged_on_both_users_checks(
    fixture_dataset: str, services: Settings, db: Neo4jGateway
) -> None:
    """Users 1 and 2 both lead 3 -> 4 -> 5 -> 6. The verifier fails every question about user 1 (whose
    history shows Toy Story), so its chains are rejected; user 2's identical chains are checked again, and
    each stored chain is judged on both checks: 0 of 3 and 3 of 3 is 50, verified at τ 50, while 0 of 3 and 2
    of 3 stays rejected. Both users' links follow the verdict: HAS_CHAIN to the chains that end verified (user
    1's PROPOSED links to them turn HAS_CHAIN), PROPOSED to the other, so no HAS_CHAIN link points at a rejected
    chain and neither user's graphs depend on which of them was reasoned first."""

    def fails_toy_story_users(request: dict[str, Any]) -> Reply:
        reply = oracle(request)
        text = last_user_message(request)
        if schema_name(request) != "verify_answer" or "Toy Story" not in text:
            return reply
        answers = {question: 99 for question in json.loads(reply.content)}
        return replace(reply, content=json.dumps(answers))

    with ScriptedOpenAI(fails_toy_story_users).running() as server:
        settings = services.updated(llm={"base_url": server.base_url})
        first, second = reason(db, settings, [1]), reason(db, settings, [2])
    assert (first.chains_verified, first.chains_rejected, second.chains_verified, second.kb_hits) == (0, 5, 3, 0)
    # the oracle's attribute answer (option 0, Action) is wrong for The Godfather: [5, 6] gets 2 of 3 masks
    assert [(c["items"], c["status"], round(c["score"], 2)) for c in user_chains(db, 2)] == [
        ([3, 4], "verified", 50.0),
        ([4, 5], "verified", 50.0),
        ([9, 3], "verified", 100.0),
    ]
    statuses = rows(
        db,
        """
        MATCH (c:Chain {dataset: $d})
        OPTIONAL MATCH (:User {dataset: $d, id: 1})-[one]->(c)
        OPTIONAL MATCH (:User {dataset: $d, id: 2})-[two]->(c)
        RETURN c.items AS items, c.status AS status, c.reject_reason AS why, type(one) AS link_1, type(two) AS link_2
        ORDER BY items""",
        d=DATASET,
    )
    assert statuses == [
        {"items": [1, 2], "status": "rejected", "why": "low_score", "link_1": "PROPOSED", "link_2": None},
        {"items": [2, 3], "status": "rejected", "why": "low_score", "link_1": "PROPOSED", "link_2": None},
        {"items": [3, 4], "status": "verified", "why": None, "link_1": "HAS_CHAIN", "link_2": "HAS_CHAIN"},
        {"items": [4, 5], "status": "verified", "why": None, "link_1": "HAS_CHAIN", "link_2": "HAS_CHAIN"},
        {"items": [5, 6], "status": "rejected", "why": "low_score", "link_1": "PROPOSED", "link_2": "PROPOSED"},
        {"items": [9, 3], "status": "verified", "why": None, "link_1": None, "link_2": "HAS_CHAIN"},
    ]


def test_divergent_extension_maps_imagined_items_and_verifies_them(
    fixture_dataset: str, services: Settings, db: Neo4jGateway, scripted: ScriptedOpenAI
) -> None:
    settings = services.updated(llm={"base_url": scripted.base_url}, divergent={"max_chains": 4})
    stats = reason(db, settings, [1], divergent=True)
    # Per window: chaining, its verification (three calls), one imagination call and the imagined chains'
    # verification (an extension's item mask hides the base chain's last item, which its sibling extensions'
    # attribute masks show, so the two windows need three and two calls), each seeing the history up to its window.
    assert (stats.llm.calls, stats.divergent_chains, stats.chains_verified) == (2 * 5 + 3 + 2, 10, 15)
    assert stats.rejected_by_reason == {"already_seen": 5}
    imagined = rows(
        db,
        """
        MATCH (:User {dataset: $d, id: 1})-[l:HAS_CHAIN]->(c:Chain {kind: 'divergent'})-[m:IMAGINED]->(i:Item)
        RETURN l.t AS t, c.premises AS premises, i.id AS item, m.text AS text, m.similarity >= 0.6 AS close,
               c.status AS status, c.score AS score
        ORDER BY t, premises, item""",
        d=DATASET,
    )
    assert [(r["t"], r["premises"], r["item"], r["text"], r["close"], r["status"], r["score"]) for r in imagined] == [
        (t, premises, item, text, True, "verified", score)
        for t, premises in ((4, [1, 2]), (4, [2, 3]), (4, [3, 4]), (4, [4, 5]), (5, [5, 6]))
        for item, text, score in ((7, "Godfather: Part II, The (1974)", 50.0), (9, "Aliens (1986)", 100.0))
    ]


def divergent_chains(db: Neo4jGateway, user: int) -> list[dict]:
    return rows(
        db,
        """
        MATCH (:User {dataset: $d, id: $u})-[l:HAS_CHAIN]->(c:Chain {kind: 'divergent'})-[:IMAGINED]->(i:Item)
        RETURN l.t AS t, c.premises AS premises, i.id AS item, c.status AS status ORDER BY t, premises, item""",
        d=DATASET,
        u=user,
    )


@pytest.mark.fault
@pytest.mark.parametrize("cut", ["before the extension", "inside the extension", "inside, then its stamp moves"])
def test_a_window_cut_off_around_its_divergent_extension_is_finished_once_on_a_rerun(
    cut: str,
    fixture_dataset: str,
    services: Settings,
    db: Neo4jGateway,
    scripted: ScriptedOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker killed, or Neo4j lost, after a window's reasoning chains are written. Before its extension: the
    window was already marked answered, so the rerun skipped it and its extension was never written; now the
    rerun asks it again whole and ends as a clean run does. Inside its extension: the rerun keeps what was
    written and does not imagine again (at the divergent temperature a second extension would add other
    chains on top), and finishes the other window. Its stamp moves when the knowledge base answers the window's
    last step before the rerun: the written extension still counts (before, one was imagined at the new stamp)."""
    settings = services.updated(llm={"base_url": scripted.base_url}, divergent={"max_chains": 4})
    reason(db, settings, [1], divergent=True)
    clean = (user_chains(db, 1), divergent_chains(db, 1), store.reasoned_positions(db, DATASET, 1))
    assert [chain["t"] for chain in clean[1]] == [4] * 8 + [5] * 2
    store.forget_users(db, DATASET, [1])

    def lost(*args: Any, **kwargs: Any) -> Any:
        raise neo4j.exceptions.ServiceUnavailable(f"Neo4j went away {cut}")

    if cut == "before the extension":
        monkeypatch.setattr(divergent, "extend_chains", lost)
    else:
        lose_neo4j_inside_an_extension(monkeypatch)
    with pytest.raises(neo4j.exceptions.ServiceUnavailable):
        reason(db, settings, [1], divergent=True)
    monkeypatch.undo()
    assert store.reasoned_positions(db, DATASET, 1) == set()
    assert len(divergent_chains(db, 1)) == (0 if cut == "before the extension" else 1)
    if cut == "inside, then its stamp moves":
        answered_by_the_knowledge_base(monkeypatch, position=4)
        again = reason(db, settings, [1], divergent=True)
        assert [chain["t"] for chain in divergent_chains(db, 1)] == [4, 5, 5]
        assert store.reasoned_positions(db, DATASET, 1) == clean[2] - {4}
        assert again.divergent_chains == 2
        return
    again = reason(db, settings, [1], divergent=True)
    assert store.reasoned_positions(db, DATASET, 1) == clean[2]
    assert [c for c in user_chains(db, 1) if c not in clean[0]] == [], "nothing a clean run would not write"
    if cut == "before the extension":
        assert (user_chains(db, 1), divergent_chains(db, 1)) == clean[:2]
        assert (again.steps_already_done, again.divergent_chains) == (0, 10)
    else:
        assert [chain["t"] for chain in divergent_chains(db, 1)] == [4, 5, 5]
        assert (again.steps_already_done, again.divergent_chains) == (0, 2)


def answered_by_the_knowledge_base(monkeypatch: pytest.MonkeyPatch, position: int) -> None:
    """The engine finds the step at `position` answered by the knowledge base (what another user's verified
    edge into its target would do), without linking anything: the step then stays unmarked."""
    reuse = ReasoningEngine._reuse

    def reuse_or_hit(engine: ReasoningEngine, context: UserContext, local: int, known: list[Any]) -> bool:
        return context.item_at(local).pos == position or reuse(engine, context, local, known)

    monkeypatch.setattr(ReasoningEngine, "_reuse", reuse_or_hit)


@pytest.mark.fault
def test_failing_llm_skips_steps_and_writes_nothing(fixture_dataset: str, services: Settings, db: Neo4jGateway) -> None:
    with ScriptedOpenAI(lambda request: Reply(status=503)).running() as failing:
        settings = services.updated(llm={"base_url": failing.base_url, "max_retries": 1})
        stats = reason(db, settings, [1, 3])
    assert (stats.users, stats.steps, stats.steps_failed, stats.llm.failures, stats.llm.calls) == (2, 8, 8, 3, 0)
    assert rows(db, "MATCH (c:Chain {dataset: $d}) RETURN count(c) AS n", d=DATASET) == [{"n": 0}]


@pytest.mark.fault
def test_a_ranking_prompt_offers_related_items_and_the_engine_keeps_only_chains_made_of_them(
    fixture_dataset: str, services: Settings, db: Neo4jGateway
) -> None:
    """Prompt v4 with one candidate per target: the engine shows each target the earlier item most related to it
    (here from made-up embeddings: Aliens is closest to The Godfather, the Star Wars films to each other), and a
    chain that uses an item it was not offered is refused (the scripted server, unlike llama.cpp, does not
    enforce the schema's enum)."""
    prompts: list[str] = []
    offered = re.compile(r"^Target (\d+)\..*\n- (\d+)\.", re.MULTILINE)

    def responder(request: dict) -> Reply:
        assert schema_name(request) == "chaining_answer"
        prompts.append(last_user_message(request))
        steps = [
            {"target": int(target), "chains": [[[int(first), "related"]], [[int(target) - 1, "just before"]]]}
            for target, first in offered.findall(prompts[-1])
        ]
        return Reply(json.dumps({"steps": steps}))

    points = {1: (1.0, 0.0), 2: (1.0, 0.0), 3: (0.0, 1.0), 4: (0.0, 1.0), 5: (0.0, 1.0), 6: (0.6, 0.8), 9: (0.7, 0.7)}
    ids = sorted(points)
    vectors = np.array([points[item] for item in ids], dtype=np.float32)
    index = CatalogueIndex(np.array(ids), vectors / np.linalg.norm(vectors, axis=1, keepdims=True), {}, {}, lambda t: t)
    with ScriptedOpenAI(responder).running() as server:
        settings = services.updated(
            llm={"base_url": server.base_url},
            reasoning={"prompt_version": "v4", "premise_candidates": 1, "premise_window": 0},
            verify={"enabled": False},
            divergent={"enabled": False},
        )
        llm = StructuredLLM(build_chat_model(settings, 0.0), max_retries=0, retry_base_s=0.0)
        engine = build_engine(db, settings, DATASET, llm=llm, catalogue=lambda: index)
        engine.reason_user(2)  # 9 3 4 5 6
    (prompt,) = prompts
    assert prompt.endswith(
        "Targets:\nTarget 1. Star Wars: Episode IV - A New Hope (1977) | Action, Adventure, Sci-Fi\n"
        "- 0. Aliens (1986) | Action, Horror, Sci-Fi\n"
        "Target 2. Star Wars: Episode V - The Empire Strikes Back (1980) | Action, Adventure, Sci-Fi\n"
        "- 1. Star Wars: Episode IV - A New Hope (1977) | Action, Adventure, Sci-Fi\n"
        "Target 3. Star Wars: Episode VI - Return of the Jedi (1983) | Action, Adventure, Sci-Fi\n"
        "- 2. Star Wars: Episode V - The Empire Strikes Back (1980) | Action, Adventure, Sci-Fi\n"
        "Target 4. Godfather, The (1972) | Crime, Drama\n- 0. Aliens (1986) | Action, Horror, Sci-Fi"
    )
    # the "just before" chains of targets 1-3 are the offered ones (kept once); target 4's is refused
    assert engine.stats.rejected_by_reason == {"not_offered": 1}
    assert [(c["t"], c["items"]) for c in user_chains(db, 2)] == [(4, [3, 4]), (4, [4, 5]), (4, [9, 3]), (4, [9, 6])]


def test_unsafe_or_invalid_chains_are_rejected_and_never_stored(
    fixture_dataset: str, services: Settings, db: Neo4jGateway
) -> None:
    evil = {
        "steps": [
            {"target": 1, "chains": [[[0, "`}) DETACH DELETE n //"]]]},
            {"target": 2, "chains": [[[3, "from the future"]]]},
            {"target": 3, "chains": [[[3, "loop"]]]},
            {"target": 4, "chains": [[[42, "no such item"]]]},
        ]
    }

    def responder(request: dict) -> Reply:
        assert schema_name(request) == "chaining_answer", "nothing valid should reach verification"
        return Reply(json.dumps(evil))

    with ScriptedOpenAI(responder).running() as server:
        settings = services.updated(llm={"base_url": server.base_url})
        stats = reason(db, settings, [1])
    assert stats.rejected_by_reason == {
        "unsafe_text": 1,
        "future_item": 1,
        "self_loop": 1,
        "not_in_catalogue": 1,
        "unknown_target": 4,
    }
    assert (stats.chains_proposed, stats.chains_rejected, stats.chains_verified) == (8, 8, 0)
    assert rows(db, "MATCH (c:Chain {dataset: $d}) RETURN count(c) AS n", d=DATASET) == [{"n": 0}]
    assert rows(db, "MATCH (n) WHERE n.dataset = $d RETURN count(n) AS n", d=DATASET) == [{"n": 21}]


def test_unknown_user_and_dataset_are_clear_errors(fixture_dataset: str, services: Settings) -> None:
    result = run_cli("reason", "--dataset", DATASET, "--user-ids", "999", "--json")
    assert result.returncode == 1
    assert "user 999 does not exist in dataset 'reason-fixture'" in " ".join(result.stderr.split())
    result = run_cli("reason", "--dataset", "nope", "--users", "2")
    assert result.returncode == 1
    assert "dataset 'nope' has no users" in " ".join(result.stderr.split())


@pytest.mark.slow
def test_real_local_llm_end_to_end(fixture_dataset: str, services: Settings, db: Neo4jGateway) -> None:
    """The default local model through the CLI, divergent extension included. Chains are kept to one
    premise (a setting), the size this 0.5B model handles, and τ is 30 (Beauty's): with no mask's answer in
    sight, this model recovers about one mask in three. Calls and tokens are counted, everything it proposes
    is stored with provenance or rejected with a reason, and a rerun calls no LLM. Verification asks one
    question per call, the default."""
    env = dict(os.environ, LLMRG_REASON_MAX_CHAIN_ITEMS="2", LLMRG_VERIFY_TAU='{"*": 30}')
    env.pop("LLMRG_VERIFY_QUESTIONS_PER_CALL")
    result = run_cli("reason", "--dataset", DATASET, "--user-ids", "1,2,3", "--json", env=env, timeout=900)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["users"] == 3 and summary["steps"] == 12 and summary["llm_calls"] >= 3
    assert summary["prompt_tokens"] > 1000 and summary["completion_tokens"] > 0
    assert summary["llm_failures"] == 0 and summary["steps_failed"] <= summary["steps"]
    stored = rows(
        db,
        """
        MATCH (c:Chain {dataset: $d})
        RETURN c.kind AS kind, c.status AS status, c.model AS model, c.prompt_version AS prompt,
               c.score AS score, COUNT { (c)-[:STEP]->() } AS steps""",
        d=DATASET,
    )
    assert all(
        row["model"] == services.llm.model and row["prompt"] == services.reasoning.prompt_version for row in stored
    )
    assert all(row["score"] is not None and row["steps"] >= 2 for row in stored)
    # one accepted link per verification (two users can verify the same stored chain)
    verified_links = rows(
        db,
        """
        MATCH (:User {dataset: $d})-[l:HAS_CHAIN {reused: false}]->(c:Chain {status: 'verified'})
        RETURN count(l) AS n""",
        d=DATASET,
    )
    assert verified_links == [{"n": summary["chains_verified"]}]
    assert sum(row["kind"] == "reasoning" and row["status"] == "verified" for row in stored) >= 1, summary
    again = json.loads(run_cli("reason", "--dataset", DATASET, "--user-ids", "1,2,3", "--json", env=env).stdout)
    assert (again["llm_calls"], again["steps"], again["chains_verified"]) == (0, 0, 0)


@pytest.mark.fault
def test_reason_needs_a_user_selection(fixture_dataset: str, services: Settings) -> None:
    result = run_cli("reason", "--dataset", DATASET)
    assert result.returncode == 1
    assert "--users N" in result.stderr and "--user-ids" in result.stderr
    result = run_cli("reason", "--dataset", DATASET, "--user-ids", "1,x")
    assert result.returncode == 1
    assert "--user-ids must be comma-separated integers" in " ".join(result.stderr.split())


FIXTURE_TITLES = {line.split("\t")[1]: int(line.split("\t")[0]) for line in ITEMS.splitlines()[1:]}
FIXTURE_GENRES = {line.split("\t")[1]: set(line.split("\t")[2].split("|")) for line in ITEMS.splitlines()[1:]}
LINK = re.compile(r" -\[[^\]]*\]-> ")


def knows_the_fixture(request: dict[str, Any]) -> Reply:
    """The oracle, answering lettered questions as a model that knows the fixture would: a hidden item of an
    oracle chain `[k-1] -> k` of user 1 (items 1..6 in id order) is the next or previous id, a hidden
    attribute one of the item's genres. Every answer is read off the options, never off positions."""
    if schema_name(request) != "choice_answer":
        return oracle(request)
    answers: dict[str, str] = {}
    for block in re.split(r"\n(?=q\d+: )", last_user_message(request).removeprefix("Questions:\n")):
        head, *option_lines = block.splitlines()
        question_id, text = head.split(": ", 1)
        options = {line[3:]: line[0] for line in option_lines}
        if "has attribute [MASK]" in text:
            title = text.rsplit("; ", 1)[1].removesuffix(" has attribute [MASK]")
            answers[question_id] = next(letter for name, letter in options.items() if name in FIXTURE_GENRES[title])
            continue
        parts = LINK.split(text)
        hidden = parts.index("[MASK]")
        wanted = FIXTURE_TITLES[parts[hidden - 1]] + 1 if hidden else FIXTURE_TITLES[parts[hidden + 1]] - 1
        answers[question_id] = next(letter for name, letter in options.items() if FIXTURE_TITLES[name] == wanted)
    return Reply(json.dumps(answers), prompt_tokens=200, completion_tokens=6 * len(answers))


def test_lettered_verification_packs_questions_without_leaks_and_verifies_what_the_model_recovers(
    fixture_dataset: str, services: Settings, db: Neo4jGateway
) -> None:
    requests: list[dict[str, Any]] = []

    def recorded(request: dict[str, Any]) -> Reply:
        requests.append(request)
        return knows_the_fixture(request)

    with ScriptedOpenAI(recorded).running() as server:
        settings = services.updated(
            llm={"base_url": server.base_url}, verify={"style": "lettered", "questions_per_call": 8}
        )
        stats = reason(db, settings, [1])
    # 13 questions (the first chain, 1 -> 2, has no earlier item to draw a distractor from: its attribute
    # mask only) in 3 calls per window: a question showing an item another hides never shares its call
    assert (stats.llm.calls, stats.chains_verified, stats.chains_rejected) == (2 + 3 + 3, 5, 0)
    calls = [r for r in requests if schema_name(r) == "choice_answer"]
    assert sorted(len(r["response_format"]["json_schema"]["schema"]["required"]) for r in calls) == [1, 1, 1, 3, 3, 4]
    for request in calls:
        shown = [
            LINK.split(line.split(": ", 1)[1].split("; ")[0])
            for line in last_user_message(request).splitlines()
            if re.match(r"q\d+: ", line)
        ]
        hidden_next = [parts for parts in shown if "[MASK]" in parts]
        named = {title for parts in shown for title in parts if title != "[MASK]"}
        for parts in hidden_next:
            index = parts.index("[MASK]")
            neighbour = FIXTURE_TITLES[parts[index - 1]] + 1 if index else FIXTURE_TITLES[parts[index + 1]] - 1
            assert neighbour not in {FIXTURE_TITLES[title] for title in named}, last_user_message(request)
    assert [(c["items"], c["status"], c["score"]) for c in user_chains(db, 1)] == [
        ([1, 2], "verified", 100.0),
        ([2, 3], "verified", 100.0),
        ([3, 4], "verified", 100.0),
        ([4, 5], "verified", 100.0),
        ([5, 6], "verified", 100.0),
    ]


def test_lettered_verification_rejects_chains_whose_hidden_items_the_model_cannot_recover(
    fixture_dataset: str, services: Settings, db: Neo4jGateway
) -> None:
    def wrong(request: dict[str, Any]) -> Reply:
        reply = knows_the_fixture(request)
        if schema_name(request) != "choice_answer":
            return reply
        options = re.findall(r"^q\d+: .*?((?:\n[A-J]\. .*)+)", last_user_message(request), re.MULTILINE)
        letters = [[line[0] for line in block.strip().splitlines()] for block in options]
        chosen = json.loads(reply.content)
        return replace(
            reply,
            content=json.dumps(
                {q: next(x for x in found if x != chosen[q]) for q, found in zip(chosen, letters, strict=True)}
            ),
        )

    with ScriptedOpenAI(wrong).running() as server:
        settings = services.updated(llm={"base_url": server.base_url}, verify={"style": "lettered"})
        stats = reason(db, settings, [1])
    assert (stats.chains_verified, stats.chains_rejected) == (0, 5)
    assert user_chains(db, 1) == []  # rejected chains are only PROPOSED to the user, never HAS_CHAIN
    statuses = rows(db, "MATCH (c:Chain {dataset: $d}) RETURN c.status AS status, count(*) AS n", d=DATASET)
    assert statuses == [{"status": "rejected", "n": 5}]
    assert edges(db) == []
