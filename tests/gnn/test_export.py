"""The PyG exporter against the real Neo4j: exact counts, exact tensors, reproducibility, no leakage."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import cypher
from core import vocabulary
from core.errors import ConfigError, DataFormatError
from core.gateway import Neo4jGateway
from core.settings import Settings
from core.vocabulary import ACCEPTED_STATUSES, UNFILTERED_STATUSES, VARIANTS, ChainKind, ChainStatus
from gnn import pipeline
from gnn.data import split
from gnn.export import ReasoningGraphSource, export_dataset, reasoned_users
from gnn.snapshot import load_snapshot, write_snapshot
from reasoning import store
from reasoning.chains import Candidate, Rejection, ScoredChain
from reasoning.llm import StructuredLLM, build_chat_model
from reasoning.run import reason_users
from tests.fakes.openai_server import ScriptedOpenAI
from tests.fakes.oracle import oracle
from tests.reasoning.test_reasoning import DATASET, fixture_dataset  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.integration


@pytest.fixture()
def reasoned(fixture_dataset: str, services: Settings, db: Neo4jGateway) -> Iterator[str]:  # noqa: F811
    with ScriptedOpenAI(oracle).running() as server:
        settings = services.updated(llm={"base_url": server.base_url}, divergent={"max_chains": 4})
        llm = StructuredLLM(build_chat_model(settings, 0.0), max_retries=0, retry_base_s=0.0)
        divergent = StructuredLLM(build_chat_model(settings, 0.8), max_retries=0, retry_base_s=0.0, usage=llm.usage)
        reason_users(db, settings, DATASET, [1, 2, 3], show_progress=False, llm=llm, divergent_llm=divergent)
    yield DATASET


def test_export_counts_and_tensors_are_exact(reasoned: str, services: Settings, db: Neo4jGateway) -> None:
    export = export_dataset(db, DATASET, page_size=2)
    data = export.data
    assert export.item_ids.tolist() == list(range(1, 10)) and data.n_items == 9
    assert {user: list(items) for user, items in data.sequences.items()} == {
        1: [1, 2, 3, 4, 5, 6],
        2: [9, 3, 4, 5, 6],
        3: [6, 7, 8, 9],
    }
    record = db.driver.execute_query(
        cypher.load("export/count_export"), dataset=DATASET, statuses=list(ACCEPTED_STATUSES)
    ).records[0]
    assert record["users"] == len(data.sequences) == 3
    assert record["interactions"] == sum(len(items) for items in data.sequences.values()) == 15
    assert (record["rea_links"], record["div_links"]) == (export.chain_links["rea"], export.chain_links["div"])
    assert export.chain_links["rea"] > 0 and export.chain_links["div"] > 0
    assert export.attributes[:3] == ("genre:Action", "genre:Adventure", "genre:Animation")
    assert data.item_features is not None and data.item_features.shape == (10, 3)
    assert data.item_features[0].tolist() == [0, 0, 0], "row 0 is the padding item"
    rea = export.edges["rea"][1]
    assert list(zip(rea.src.tolist(), rea.dst.tolist(), rea.t.tolist(), strict=True)) == [
        (1, 2, 4),
        (2, 3, 4),
        (3, 4, 4),
        (4, 5, 4),
        (5, 6, 5),
    ], "the oracle links each step to the item before it, stamped with the last position its prompt showed"


def test_without_verification_the_rejected_proposals_enter_too(
    reasoned: str, services: Settings, db: Neo4jGateway
) -> None:
    accepted = export_dataset(db, DATASET)
    users_before = reasoned_users(db, DATASET)
    proposal = Candidate(
        dataset=DATASET,
        kind=ChainKind.REASONING,
        premises=(6,),
        target=8,
        reasons=("same director",),
        t=2,
        recent_premises=(6,),
    )
    rejected = ScoredChain(proposal, ChainStatus.REJECTED, 0.0, masks=3, hits=0, reject_reason=Rejection.LOW_SCORE)
    store.write_chain(db, 3, rejected, model="scripted", prompt_version=services.reasoning.prompt_version, tau=50.0)

    assert export_dataset(db, DATASET).fingerprint() == accepted.fingerprint(), (
        "a rejected chain never enters LLMRG's graphs"
    )
    unfiltered = export_dataset(db, DATASET, statuses=UNFILTERED_STATUSES, page_size=2)
    user3 = unfiltered.edges["rea"][3]
    assert (6, 8, 2) in zip(user3.src.tolist(), user3.dst.tolist(), user3.t.tolist(), strict=True)
    assert unfiltered.chain_links["rea"] == accepted.chain_links["rea"] + 1
    record = db.driver.execute_query(
        cypher.load("export/count_export"), dataset=DATASET, statuses=list(UNFILTERED_STATUSES)
    ).records[0]
    assert (record["rea_links"], record["div_links"]) == (unfiltered.chain_links["rea"], unfiltered.chain_links["div"])
    assert reasoned_users(db, DATASET) == users_before == set(accepted.edges["rea"]), (
        "the ablation's users do not depend on which chains a variant admits"
    )


def test_export_is_reproducible(reasoned: str, services: Settings, db: Neo4jGateway) -> None:
    first = export_dataset(db, DATASET, page_size=1)
    second = export_dataset(db, DATASET, page_size=1000)
    assert first.fingerprint() == second.fingerprint()
    assert torch.equal(first.item_ids, second.item_ids) and first.attributes == second.attributes
    for kind in first.edges:
        assert first.edges[kind].keys() == second.edges[kind].keys()
        for user, edges in first.edges[kind].items():
            assert torch.equal(edges.src, second.edges[kind][user].src)
            assert torch.equal(edges.t, second.edges[kind][user].t)


def test_no_row_sees_its_target_or_a_held_out_item(reasoned: str, services: Settings, db: Neo4jGateway) -> None:
    export = export_dataset(db, DATASET)
    source = ReasoningGraphSource.of(export, ("rea", "div"))
    rows = split(export.data)
    checked = 0
    for stage, stage_rows in (("train", rows.train), ("valid", rows.valid), ("test", rows.test)):
        for row in stage_rows:
            sequence = list(export.data.sequences[row.user])
            held_out = {row.target, sequence[-1]} | ({sequence[-2]} if stage != "test" else set())
            for kind, graph in source.graphs(row.user, row.history).items():
                nodes = set(graph.x.tolist())
                assert not nodes & held_out, f"{stage} row of user {row.user} ({kind}) sees {nodes & held_out}"
                assert int(graph.x[graph.anchor]) == row.history[-1]
                if kind == "rea":
                    assert nodes <= set(row.history), "reasoning graphs hold only items the prefix has seen"
                checked += 1
    assert checked == 2 * (len(rows.train) + len(rows.valid) + len(rows.test)) > 0
    test_row = next(row for row in rows.test if row.user == 1)
    full = source.graphs(1, test_row.history)["rea"]
    assert full.edge_index.size(1) == 4, "the test row of user 1 sees the chains of steps 1..4, not step 5"


def test_a_snapshot_exports_what_the_database_does_for_every_variant(
    reasoned: str, services: Settings, db: Neo4jGateway, tmp_path: Path
) -> None:
    proposal = Candidate(DATASET, ChainKind.REASONING, (6,), 8, ("same director",), 2, (6,))
    rejected = ScoredChain(proposal, ChainStatus.REJECTED, 0.0, masks=3, hits=0, reject_reason=Rejection.LOW_SCORE)
    store.write_chain(db, 3, rejected, model="scripted", prompt_version=services.reasoning.prompt_version, tau=50.0)
    snapshot = write_snapshot(db, DATASET, tmp_path / "first.json.gz")
    assert snapshot.causal_edges, "the verified chains' causal edges travel as the knowledge base"
    for variant in VARIANTS.values():
        from_db = export_dataset(db, DATASET, statuses=variant.statuses)
        from_file = snapshot.export(variant.statuses)
        assert from_file.fingerprint() == from_db.fingerprint(), variant.name
        assert from_file.chain_links == from_db.chain_links and from_file.attributes == from_db.attributes
        assert from_file.causal_edges == from_db.causal_edges
        assert torch.equal(from_file.item_ids, from_db.item_ids)
    assert snapshot.reasoned_users() == reasoned_users(db, DATASET)
    assert snapshot.summary() == {
        "users": 3,
        "items": 9,
        "interactions": 15,
        "chains": len({link[5] for link in snapshot.chain_links}),
        "sha256": snapshot.sha256,
    }
    again = write_snapshot(db, DATASET, tmp_path / "second.json.gz")
    assert (tmp_path / "first.json.gz").read_bytes() != b"" and again.sha256 == snapshot.sha256
    damaged = tmp_path / "damaged.json.gz"
    with gzip.open(tmp_path / "first.json.gz") as original:
        document = json.loads(original.read())
    document["sequences"][0][0] = 9
    with gzip.open(damaged, "wt") as out:
        json.dump(document, out)
    with pytest.raises(DataFormatError, match=r"damaged\.json\.gz: content does not match its sha256"):
        load_snapshot(damaged)


def test_training_from_a_snapshot_equals_training_from_the_database(
    reasoned: str, services: Settings, db: Neo4jGateway, tmp_path: Path
) -> None:
    snapshot_path = tmp_path / "snapshot.json.gz"
    write_snapshot(db, DATASET, snapshot_path)
    for variant in ("llmrg", "llmrg-kb"):
        results = []
        for name, source in (
            ("db", pipeline.Neo4jSource(db)),
            ("file", pipeline.SnapshotSource(load_snapshot(snapshot_path), snapshot_path)),
        ):
            settings = services.updated(train={"dir": tmp_path / name, "hidden": 8, "max_len": {"*": 8}})
            result = pipeline.run_training(
                source, settings, DATASET, "sasrec", vocabulary.variant(variant), 0, 2, resume=False, progress=False
            )
            for key in ("epoch_s", "peak_memory_mb", "peak_rss_mib", "history", "config"):
                result.pop(key)
            results.append(result)
        assert results[0] == results[1], variant
        assert results[0]["train_scheme"] == "windows" and results[0]["rows_seeing_edges"]["train"] > 0, variant
    with pytest.raises(ConfigError, match="holds dataset"):
        pipeline.SnapshotSource(load_snapshot(snapshot_path), snapshot_path).export("ml-1m", (), False)
