"""`llmrg train` / `llmrg evaluate` on a dataset ingested from a sequence file, with reasoning graphs from Neo4j.

The commands run inside the test process (`run_cli_here`: a new Python importing torch and PyG costs about
9 s a command, the training itself well under one); the snapshot test runs the real executable."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.gateway import Neo4jGateway
from core.settings import Settings
from ingestion import loader
from reasoning.llm import StructuredLLM, build_chat_model
from reasoning.run import reason_users
from tests.conftest import run_cli, run_cli_here
from tests.fakes.openai_server import ScriptedOpenAI
from tests.fakes.oracle import oracle

pytestmark = pytest.mark.integration

DATASET = "train-fixture"
METRICS = {"hr@5", "hr@10", "ndcg@5", "ndcg@10"}


@pytest.fixture(scope="module")
def trained_dataset(services: Settings, db: Neo4jGateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """40 users over a 12-item catalogue walking a cycle; the first 10 reasoned for with the rule oracle."""
    folder = tmp_path_factory.mktemp("train")
    loader.delete_dataset(db, DATASET)
    lines = [" ".join(str((user + k) % 12 + 1) for k in range(6 + user % 3)) for user in range(1, 41)]
    (folder / "seq.txt").write_text("\n".join(f"{user} {line}" for user, line in enumerate(lines, start=1)) + "\n")
    genres = ["Comedy", "Drama|Romance", "Action|Sci-Fi", "Horror"]
    items = [f"{item}\tMovie {item}\t{genres[item % 4]}" for item in range(1, 13)]
    (folder / "items.tsv").write_text("item_id\ttitle\tgenres\n" + "\n".join(items) + "\n")
    ingested = run_cli_here(
        "ingest", "--name", DATASET, "--sequences", str(folder / "seq.txt"), "--items", str(folder / "items.tsv")
    )
    assert ingested.returncode == 0, ingested.stderr
    with ScriptedOpenAI(oracle).running() as server:
        settings = services.updated(llm={"base_url": server.base_url}, divergent={"enabled": False})
        llm = StructuredLLM(build_chat_model(settings, 0.0), max_retries=0, retry_base_s=0.0)
        reason_users(db, settings, DATASET, list(range(1, 11)), show_progress=False, llm=llm)
    shutil.rmtree(services.paths.state_dir / "train" / DATASET, ignore_errors=True)
    yield DATASET
    shutil.rmtree(services.paths.state_dir / "train" / DATASET, ignore_errors=True)


def train(*args: str) -> dict:
    result = run_cli_here("train", "--dataset", DATASET, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("model", "flags", "kinds"),
    [
        ("sasrec", [], []),
        ("duorec", ["--seq-graph"], ["seq"]),
        ("duorec", ["--llmrg"], ["rea", "div"]),
        ("bert4rec", ["--llmrg", "--no-divergent"], ["rea"]),
        ("fdsa", ["--llmrg"], ["rea", "div"]),
        ("sasrec", ["--llmrg", "--kb-graph"], ["rea"]),
        ("sasrec", ["--llmrg", "--kb-graph", "--kb-placebo"], ["rea"]),
        ("sasrec", ["--llmrg", "--kb-graph", "--kb-random-edges"], ["rea"]),
        ("cl4srec", [], []),
    ],
)
def test_train_prints_the_metrics_and_evaluate_reproduces_them(
    trained_dataset: str, model: str, flags: list[str], kinds: list[str]
) -> None:
    result = train("--model", model, *flags, "--epochs", "2", "--seed", "3", "--no-resume")
    assert set(result["test"]) == set(result["valid"]) == METRICS
    assert all(0.0 <= value <= 1.0 for value in result["test"].values())
    assert result["epoch_s"] > 0 and result["epochs_run"] == 2 and result["graph_kinds"] == kinds
    evaluate = run_cli if (model, flags) == ("sasrec", []) else run_cli_here  # once from a fresh process
    evaluated = evaluate("evaluate", "--dataset", DATASET, "--model", model, *flags, "--seed", "3", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    again = json.loads(evaluated.stdout)
    assert again["test"] == pytest.approx(result["test"], abs=1e-9)
    assert again["valid"] == pytest.approx(result["valid"], abs=1e-9)


def test_training_resumes_from_its_checkpoint(trained_dataset: str) -> None:
    first = train("--model", "sasrec", "--epochs", "1", "--seed", "7", "--no-resume")
    resumed = train("--model", "sasrec", "--epochs", "2", "--seed", "7")
    assert first["epochs_run"] == 1 and resumed["epochs_run"] == 2
    assert resumed["history"][0] == first["history"][0], "epoch 1 is the checkpointed one, not retrained"
    straight = train("--model", "sasrec", "--epochs", "2", "--seed", "7", "--no-resume")
    assert [epoch["loss"] for epoch in straight["history"]] == [epoch["loss"] for epoch in resumed["history"]]
    assert straight["test"] == resumed["test"]


def test_reasoned_only_keeps_the_users_with_chains(trained_dataset: str, db: Neo4jGateway) -> None:
    everyone = train("--model", "sasrec", "--epochs", "1", "--seed", "1", "--no-resume")
    result = train("--model", "sasrec", "--llmrg", "--reasoned-only", "--epochs", "1", "--seed", "1", "--no-resume")
    assert everyone["users"] == 40 and everyone["reasoned_users_only"] is False
    assert result["reasoned_users_only"] is True and result["users"] == 10, "the first 10 users were reasoned for"
    # A row predicting position p sees the chains stamped before p; the training rows predict 1 .. n - 3.
    first_stamps = db.driver.execute_query(
        "MATCH (u:User {dataset: $d})-[l:HAS_CHAIN]->(c:Chain {status: 'verified'}) RETURN u.id AS user, min(l.t) AS t",
        d=DATASET,
    ).records
    lengths = {user: 6 + user % 3 for user in range(1, 41)}
    expected = {"train": 0, "valid": 0, "test": 0}
    for record in first_stamps:
        length, first = lengths[record["user"]], record["t"]
        expected["train"] += len([p for p in range(1, length - 2) if p > first])
        expected["valid"] += length - 2 > first
        expected["test"] += length - 1 > first
    assert 0 < expected["train"] < sum(length - 3 for user, length in lengths.items() if user <= 10)
    assert result["rows_seeing_edges"] == expected
    assert everyone["rows_seeing_edges"] is None
    flags = ("--model", "sasrec", "--reasoned-only", "--epochs", "1", "--seed", "1", "--no-resume")
    for variant in (["--llmrg", "--unverified"], ["--seq-graph"], []):
        assert train(*variant, *flags)["users"] == 10, f"{variant}: every variant compares the same users"


def test_evaluate_reasoned_only_trains_on_everyone_and_scores_the_reasoned_users(trained_dataset: str) -> None:
    flags = ("--model", "sasrec", "--llmrg", "--epochs", "1", "--seed", "2")
    scored = train(*flags, "--evaluate-reasoned-only", "--no-resume")
    assert scored["evaluate_reasoned_only"] is True and scored["reasoned_users_only"] is False
    assert (scored["users"], scored["scored_users"]) == (40, 10), "trained on all 40, scored on the 10 reasoned"
    assert sorted(int(user) for user in scored["test_ranks"]) == list(range(1, 11))
    everyone = train(*flags, "--no-resume")
    assert everyone["evaluate_reasoned_only"] is False and everyone["scored_users"] == 40
    assert everyone["all_users"] is None and len(everyone["test_ranks"]) == 40, "every user's rank, for pairing"
    assert scored["all_users"]["test"] == pytest.approx(everyone["test"], abs=1e-9), "the same training either way"
    model_and_variant = flags[:3]
    evaluated = run_cli_here(
        "evaluate", "--dataset", DATASET, *model_and_variant, "--seed", "2", "--evaluate-reasoned-only", "--json"
    )
    assert evaluated.returncode == 0, evaluated.stderr
    again = json.loads(evaluated.stdout)
    assert again["test"] == pytest.approx(scored["test"], abs=1e-9) and again["scored_users"] == 10
    assert again["test_ranks"] == scored["test_ranks"]
    assert again["all_users"]["valid"] == pytest.approx(everyone["valid"], abs=1e-9)
    both = run_cli_here("train", "--dataset", DATASET, *flags, "--reasoned-only", "--evaluate-reasoned-only")
    assert both.returncode == 1 and "choose one" in both.stderr


def test_bad_options_are_clear_errors(trained_dataset: str, tmp_path: Path) -> None:
    both = run_cli_here("train", "--dataset", DATASET, "--llmrg", "--seq-graph", "--epochs", "1")
    assert both.returncode == 1 and "choose one" in both.stderr
    unknown = run_cli_here("train", "--dataset", DATASET, "--model", "gru4rec", "--epochs", "1", "--no-resume")
    assert unknown.returncode == 1 and "unknown model 'gru4rec'" in unknown.stderr
    (tmp_path / "seq.txt").write_text("1 1 2 3 4\n2 2 3 4 5\n")
    assert (
        run_cli_here("ingest", "--name", "train-no-attributes", "--sequences", str(tmp_path / "seq.txt")).returncode
        == 0
    )
    no_attributes = run_cli_here("train", "--dataset", "train-no-attributes", "--model", "fdsa", "--epochs", "1")
    assert no_attributes.returncode == 1 and "fdsa reads item attributes" in no_attributes.stderr
    missing = run_cli_here("evaluate", "--dataset", DATASET, "--model", "bert4rec", "--seed", "99")
    assert missing.returncode == 1 and "no trained model" in missing.stderr


def test_recommend_returns_k_unseen_items_with_explanations_that_exist(trained_dataset: str, db: Neo4jGateway) -> None:
    train("--model", "sasrec", "--llmrg", "--epochs", "1", "--seed", "5", "--no-resume")
    answer = run_cli_here(
        "recommend", "--dataset", DATASET, "--user", "1", "-k", "5", "--model", "sasrec", "--llmrg", "--seed", "5",
        "--json",
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    payload = json.loads(answer.stdout)
    history = db.driver.execute_query(
        "MATCH (:User {dataset: $d, id: 1})-[r:INTERACTED]->(i) RETURN i.id AS id ORDER BY r.pos", d=DATASET
    ).records
    seen = {record["id"] for record in history}
    assert payload["user"] == 1 and len(payload["items"]) == 5
    assert not {entry["item"] for entry in payload["items"]} & seen
    scores = [entry["score"] for entry in payload["items"]]
    assert scores == sorted(scores, reverse=True)
    explained = [entry for entry in payload["items"] if entry["explanation"] is not None]
    for entry in explained:
        explanation = entry["explanation"]
        (stored,) = db.driver.execute_query(
            """OPTIONAL MATCH (c:Chain {id: $chain})-[s:STEP]->(i:Item) WITH c, s, i ORDER BY s.i
               WITH c.status AS status, collect(i.id) AS chain_items
               OPTIONAL MATCH (e:Edge {id: $edge}) WHERE e.support > 0
               RETURN coalesce(status, 'verified') AS status,
                      CASE WHEN e IS NULL THEN chain_items ELSE [e.source, e.target] END AS items""",
            chain=explanation["chain"],
            edge=explanation["edge"],
        ).records
        assert explanation["source"] in {"user", "knowledge_base"} and explanation["support"] >= 1
        assert stored["status"] == "verified"
        assert stored["items"] == [step["item"] for step in explanation["path"]]
        assert stored["items"][-1] == entry["item"] and set(stored["items"][:-1]) <= seen
    seen_allowed = run_cli_here(
        "recommend", "--dataset", DATASET, "--user", "1", "-k", "12", "--model", "sasrec", "--llmrg", "--seed", "5",
        "--include-seen", "--json",
    )  # fmt: skip
    assert {entry["item"] for entry in json.loads(seen_allowed.stdout)["items"]} >= seen


def test_export_writes_a_snapshot_that_trains_without_the_database(trained_dataset: str, tmp_path: Path) -> None:
    """A dataset ingested from ids and a sequence file trains end to end from its snapshot, with the database
    unreachable: the training command never opens it."""
    out = tmp_path / "snapshot.json.gz"
    exported = run_cli("export", "--dataset", DATASET, "--out", str(out), "--json")
    assert exported.returncode == 0, exported.stderr
    summary = json.loads(exported.stdout)
    assert set(summary) == {"users", "items", "interactions", "chains", "sha256"}
    assert (summary["users"], summary["items"]) == (40, 12) and summary["chains"] > 0
    offline = {**os.environ, "NEO4J_URI": "bolt://127.0.0.1:1", "LLMRG_TRAIN_DIR": str(tmp_path / "runs")}
    result = run_cli(
        "train", "--dataset", DATASET, "--model", "sasrec", "--llmrg", "--epochs", "1", "--snapshot", str(out),
        "--json", timeout=600, env=offline,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    trained = json.loads(result.stdout)
    assert trained["train_scheme"] == "windows" and trained["peak_rss_mib"] > 0 and set(trained["test"]) == METRICS
    assert set(trained["popularity"]) == {"valid", "test"} and set(trained["popularity"]["valid"]) == METRICS
    base = run_cli(
        "train", "--dataset", DATASET, "--model", "sasrec", "--epochs", "1", "--snapshot", str(out), "--json",
        timeout=600, env=offline,
    )  # fmt: skip
    assert base.returncode == 0, base.stderr
    assert json.loads(base.stdout)["train_scheme"] == "windows"
    wrong = run_cli("train", "--dataset", "ml-1m", "--snapshot", str(out), "--json", env=offline)
    assert wrong.returncode == 1 and "holds dataset 'train-fixture', not 'ml-1m'" in wrong.stdout + wrong.stderr
