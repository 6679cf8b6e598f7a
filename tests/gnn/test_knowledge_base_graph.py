"""The "LLMRG from knowledge-base edges" variant: every user's G_rea assembled from the knowledge base's verified
causal edges among their items, stamped so that no row sees an edge into its own target or a held-out item."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import cast

import pytest
import torch

from core import vocabulary
from core.errors import ConfigError
from core.gateway import Neo4jGateway
from gnn import pipeline
from gnn.data import SequenceData, split
from gnn.export import Export, ReasoningGraphSource
from gnn.knowledge_base import knowledge_base_edges, knowledge_base_graph, placebo_edges, placebo_sources
from gnn.snapshot import Snapshot, _content_hash, load_snapshot, with_causal_edges
from llmrg.cli_gnn import variant_name

pytestmark = pytest.mark.unit


def as_rows(edges: dict) -> dict[int, list[tuple[int, int, int]]]:
    return {user: sorted(zip(e.src.tolist(), e.dst.tolist(), e.t.tolist(), strict=True)) for user, e in edges.items()}


def test_an_edge_enters_at_the_step_of_its_target_with_its_source_in_the_window() -> None:
    sequences = {1: [5, 1, 2, 3, 4], 2: [2, 1], 3: [3, 9, 9, 4]}
    causal = [(1, 2), (1, 4), (5, 4), (3, 4), (2, 1)]
    assert as_rows(knowledge_base_edges(sequences, causal, window=2)) == {
        1: [(1, 2, 2), (3, 4, 4)],  # 1 and 5 are outside the 2 items before 4
        2: [(2, 1, 1)],  # never 1 -> 2: the user chose 2 first
    }  # user 3: the 2 items before 4 are 9 and 9
    wide = as_rows(knowledge_base_edges(sequences, causal, window=50))
    assert wide[1] == [(1, 2, 2), (1, 4, 4), (3, 4, 4), (5, 4, 4)]
    assert wide[3] == [(3, 4, 3)]


def export_of(sequences: dict[int, list[int]], causal: tuple[tuple[int, int], ...]) -> Export:
    n_items = max(item for items in sequences.values() for item in items)
    data = SequenceData("kb", n_items, sequences, None, 0)
    # catalogue ids are 10 x the index, so the id map is exercised
    return Export(data, torch.arange(1, n_items + 1) * 10, (), causal_edges=causal)


def test_no_row_sees_an_edge_into_its_target_or_a_held_out_item() -> None:
    sequences = {user: [(user + step) % 9 + 1 for step in range(7)] for user in range(1, 10)}
    causal = tuple((a * 10, b * 10) for a in range(1, 10) for b in range(1, 10) if a != b)  # every pair holds
    export = knowledge_base_graph(export_of(sequences, causal), window=3)
    assert set(export.edges) == {"rea", "div"} and export.edges["div"] == {}
    source = ReasoningGraphSource.of(export, ("rea",))
    rows = split(export.data)
    for stage, stage_rows in (("train", rows.train), ("valid", rows.valid), ("test", rows.test)):
        for row in stage_rows:
            graph = source.graphs(row.user, row.history)["rea"]
            nodes = set(graph.x.tolist())
            assert nodes <= set(row.history), f"{stage} row of user {row.user} sees {nodes - set(row.history)}"
            if len(row.history) > 1:  # every pair holds: the last item has an in-edge from the one before it
                assert graph.edge_index.size(1) > 0
    seeing = pipeline.rows_seeing_edges(export, ("rea",), export.data.sequences)
    assert seeing == {"train": 9 * 3, "valid": 9, "test": 9}, "every row from the second item on sees an edge"


def test_the_variant_refuses_a_dataset_without_causal_edges() -> None:
    class Source:
        def export(self, dataset: str, statuses: object, progress: bool) -> Export:
            return export_of({1: [1, 2, 3]}, ())

        def reasoned_users(self, dataset: str) -> set[int]:
            return set()

    with pytest.raises(ConfigError, match=r"holds no verified causal edge.*llmrg kb import"):
        pipeline.prepare(Source(), "kb", vocabulary.variant("llmrg-kb"), False, False)


def test_a_snapshot_carries_its_knowledge_base_and_reads_the_first_version(tmp_path: Path) -> None:
    path = tmp_path / "kb.json.gz"
    snapshot = Snapshot("kb", [10, 20, 30], [], None, [1, 2], [[1, 2, 3], [2, 3]], [], "", ())
    written = with_causal_edges(snapshot, [(20, 30), (10, 20), (20, 30)], path)
    loaded = load_snapshot(path)
    assert written == loaded
    assert loaded.causal_edges == ((10, 20), (20, 30)), "sorted, once each"
    assert loaded.export().causal_edges == loaded.causal_edges
    with gzip.open(path) as packed:
        document = json.loads(packed.read())
    assert document["version"] == 2
    with pytest.raises(ConfigError, match=r"name 1 items that dataset 'kb' lacks: \[40\]"):
        with_causal_edges(loaded, [(10, 40)], tmp_path / "bad.json.gz")
    # A version 1 file (before the knowledge base travelled with snapshots) still loads, with none.
    del document["causal_edges"], document["sha256"], document["created_at"]
    document["version"] = 1
    document["sha256"] = _content_hash(document)
    old = tmp_path / "v1.json.gz"
    with gzip.open(old, "wt") as out:
        json.dump(document, out)
    assert load_snapshot(old).causal_edges == ()


def random_histories(seed: int) -> tuple[dict[int, list[int]], list[tuple[int, int]]]:
    """29 users with 40 of 60 items each, and causal edges between about a fifth of the item pairs."""
    generator = torch.Generator().manual_seed(seed)
    sequences = {user: torch.randperm(60, generator=generator)[:40].add(1).tolist() for user in range(1, 30)}
    causal = [(a, b) for a in range(1, 61) for b in range(1, 61) if a != b and (a * 7 + b) % 5 == 0]
    return sequences, causal


def test_the_placebo_keeps_targets_steps_and_counts_and_draws_sources_from_the_window() -> None:
    sequences, causal = random_histories(3)
    sequences[30] = [3, 3, 3, 3, 1, 3]  # repeats: its one edge 1 -> 3 at step 5 keeps its source, never 3 itself
    real = knowledge_base_edges(sequences, causal, window=6)
    placebo = placebo_sources(real, sequences, window=6)
    assert placebo.keys() == real.keys()
    moved = 0
    for user, edges in real.items():
        drawn = as_rows({user: placebo[user]})[user]
        items = sequences[user]
        for source, target, t in drawn:
            assert items[t] == target and source != target
            assert source in items[max(0, t - 6) : t], f"user {user}: source {source} outside the window before {t}"
        real_rows = as_rows({user: edges})[user]
        # each real (target, step) is drawn once; draws landing on the same pair merge, so never more edges
        assert {(b, t) for _, b, t in drawn} <= {(b, t) for _, b, t in real_rows}
        assert len(drawn) <= len(real_rows)
        moved += len(set(drawn) - set(real_rows))
    assert as_rows({30: real[30]})[30] == as_rows({30: placebo[30]})[30] == [(1, 3, 5)]
    total = sum(edges.t.numel() for edges in real.values())
    assert total > 200 and moved > total / 2, "most sources change: five or six candidates each"
    assert as_rows(placebo) == as_rows(placebo_sources(real, sequences, window=6)), "one fixed draw"
    assert as_rows(placebo) != as_rows(placebo_sources(real, sequences, window=6, seed=1))


def test_the_placebo_variant_graphs_the_same_rows_with_other_sources() -> None:
    sequences = {user: [(user + step) % 9 + 1 for step in range(7)] for user in range(1, 10)}
    causal = tuple((a * 10, b * 10) for a in range(1, 10) for b in range(1, 10) if (a + b) % 3 == 0 and a != b)
    real = knowledge_base_graph(export_of(sequences, causal), window=3)
    placebo = knowledge_base_graph(export_of(sequences, causal), window=3, placebo=vocabulary.Placebo.SOURCES)
    assert placebo.edges["div"] == {} and placebo.edges["rea"].keys() == real.edges["rea"].keys()
    users = list(sequences)
    assert pipeline.rows_seeing_edges(placebo, ("rea",), users) == pipeline.rows_seeing_edges(real, ("rea",), users)
    assert as_rows(placebo.edges["rea"]) != as_rows(real.edges["rea"])


def test_the_random_edges_placebo_keeps_each_users_count_and_draws_steps_targets_and_sources() -> None:
    sequences, causal = random_histories(4)
    sequences[30] = [3, 3, 3, 3, 1, 3]  # repeats: a drawn step's source is never its own target
    real = knowledge_base_edges(sequences, causal, window=6)
    drawn = placebo_edges(real, sequences, window=6)
    assert drawn.keys() == real.keys()
    kept_steps = 0
    for user, edges in real.items():
        items, rows = sequences[user], as_rows({user: drawn[user]})[user]
        assert len(rows) <= edges.t.numel(), "as many draws as edges; draws landing on one pair merge"
        for source, target, t in rows:
            assert 1 <= t < len(items) and items[t] == target and source in items[max(0, t - 6) : t]
            assert source != target
        kept_steps += len({t for *_, t in rows} & set(edges.t.tolist()))
    total = sum(edges.t.numel() for edges in real.values())
    assert sum(drawn[user].t.numel() for user in drawn) > 0.9 * total
    assert kept_steps < total / 2, "steps are drawn over the whole sequence, not the knowledge base's"
    assert as_rows(drawn) == as_rows(placebo_edges(real, sequences, window=6)), "one fixed draw"
    in_ids = tuple((a * 10, b * 10) for a, b in causal)
    distinct = {user: items for user, items in sequences.items() if user != 30}  # an export's are deduplicated
    variant = knowledge_base_graph(export_of(distinct, in_ids), window=6, placebo=vocabulary.Placebo.EDGES)
    assert variant.edges["div"] == {}
    assert as_rows(variant.edges["rea"]) == {user: rows for user, rows in as_rows(drawn).items() if user != 30}


def test_the_cli_names_the_variant() -> None:
    assert variant_name(True, False, False, False, kb_graph=True) == "llmrg-kb"
    assert variant_name(True, False, False, False, kb_graph=True, kb_placebo=True) == "llmrg-kb-placebo"
    assert vocabulary.variant("llmrg-kb-placebo").placebo and not vocabulary.variant("llmrg-kb").placebo
    assert variant_name(True, False, False, False, kb_graph=True, kb_random_edges=True) == "llmrg-kb-random"
    assert vocabulary.variant("llmrg-kb-random").placebo is vocabulary.Placebo.EDGES
    with pytest.raises(ConfigError, match="--kb-placebo and --kb-random-edges modify"):
        variant_name(True, False, False, False, kb_placebo=True)
    with pytest.raises(ConfigError, match="--kb-placebo and --kb-random-edges modify"):
        variant_name(True, False, False, False, kb_random_edges=True)
    with pytest.raises(ConfigError, match="different placebos"):
        variant_name(True, False, False, False, kb_graph=True, kb_placebo=True, kb_random_edges=True)
    with pytest.raises(ConfigError, match="modify --llmrg"):
        variant_name(False, False, False, False, kb_graph=True)
    with pytest.raises(ConfigError, match="one ablation at a time"):
        variant_name(True, False, True, False, kb_graph=True)


def test_the_placebo_is_not_served() -> None:
    from core.settings import Settings
    from gnn.recommend import Recommender

    with pytest.raises(ConfigError, match="llmrg-kb-placebo is a control"):
        Recommender.load(
            cast(Neo4jGateway, None),
            Settings.load(env_file=None),
            "kb",
            "sasrec",
            vocabulary.variant("llmrg-kb-placebo"),
            0,
        )


def test_serving_names_items_the_model_was_not_trained_on() -> None:
    from gnn.recommend import model_indices

    index_of = {10: 1, 20: 2, 30: 3}
    assert model_indices([30, 10, 20], index_of, user=7) == [3, 1, 2]
    with pytest.raises(ConfigError, match=r"user 7 has interacted with 2 item\(s\) .* \(40, 50\); retrain"):
        model_indices([10, 50, 40, 50], index_of, user=7)
    many = list(range(100, 112))
    with pytest.raises(ConfigError, match=r"12 item\(s\) .*\(100, .*, 109 and 2 more\)"):
        model_indices(many, index_of, user=7)
