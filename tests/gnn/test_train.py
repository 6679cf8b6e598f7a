from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

from gnn import checkpoint
from gnn.config import TrainConfig
from gnn.data import split
from gnn.evaluate import evaluate
from gnn.models import LLMRGFusion
from gnn.train import TrainResult, build_recommender, seed_everything, train
from tests.gnn.synthetic import cycle_data
from tests.gnn.test_data import RecordingSource

pytestmark = pytest.mark.unit

RESULT_KEYS = {
    "model",
    "dataset",
    "graph_kinds",
    "seed",
    "epochs_run",
    "best_epoch",
    "valid",
    "test",
    "epoch_s",
    "peak_memory_mb",
    "memory_measure",
    "history",
    "config",
    "all_users",
    "test_ranks",
    "train_scheme",
    "peak_rss_mib",
}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def tiny(**settings: Any) -> TrainConfig:
    defaults: dict[str, Any] = {
        "hidden": 16,
        "batch_size": 16,
        "windows_per_batch": 4,
        "eval_batch_size": 64,
        "max_len": 8,
        "lr": 1e-2,
    }
    return TrainConfig(**(defaults | settings))


def untrained_valid(config: TrainConfig) -> dict[str, float]:
    data = cycle_data()
    seed_everything(config.seed)
    return evaluate(build_recommender(data, config), split(data).valid, data, config)


@pytest.mark.parametrize("scheme", ["windows", "prefix"])
@pytest.mark.parametrize("name", ["sasrec", "bert4rec", "fdsa", "cl4srec", "duorec"])
def test_every_base_model_trains(name: str, scheme: str) -> None:
    # Light dropout: the reference 0.5 of FDSA, CL4SRec and DuoRec learns this toy data too slowly for two epochs.
    config = tiny(model=name, epochs=2, train_scheme=scheme, dropout=0.1)
    result = train(cycle_data(), config, progress=False)
    assert set(result.as_json()) == RESULT_KEYS
    assert result.train_scheme == scheme and result.peak_rss_mib > 0
    assert (result.epochs_run, [entry["epoch"] for entry in result.history]) == (2, [1, 2])
    assert result.valid == result.history[result.best_epoch - 1]["valid"]
    assert set(result.test) == {"hr@5", "hr@10", "ndcg@5", "ndcg@10"}
    assert result.peak_memory_mb > 0
    if name != "bert4rec":  # the cloze task needs more than 14 steps on this data; it only has to run here
        assert result.valid["ndcg@10"] > untrained_valid(config)["ndcg@10"] + 0.2


def test_scoring_a_subset_of_users_leaves_training_alone_and_reports_both() -> None:
    data = cycle_data()
    config = tiny(model="sasrec", epochs=2)
    everyone = train(data, config, progress=False)
    users = sorted(data.sequences)
    chosen = set(users[::3]) | {-1}  # a user without rows is simply not scored
    scored = train(data, config, progress=False, scored_users=chosen)

    def learned(result: TrainResult) -> list[tuple[object, ...]]:
        return [(epoch["loss"], epoch["valid"]) for epoch in result.history]

    assert learned(scored) == learned(everyone), "training and early stopping ignore the subset"
    assert everyone.all_users is None and sorted(everyone.test_ranks or {}) == users
    assert {user: everyone.test_ranks[user] for user in users[::3]} == scored.test_ranks  # type: ignore[index]
    assert scored.all_users == {"valid": everyone.valid, "test": everyone.test}
    assert sorted(scored.test_ranks or {}) == users[::3]
    assert split(data).test.of_users(chosen).users.tolist() == users[::3]
    ranks = torch.tensor([scored.test_ranks[user] for user in users[::3]], dtype=torch.float)  # type: ignore[index]
    assert scored.test["hr@10"] == pytest.approx(float((ranks <= 10).float().mean()))
    assert scored.test["ndcg@10"] == pytest.approx(float(((ranks <= 10) / torch.log2(ranks + 1)).mean()))


def test_sequence_graph_control_trains_without_a_source() -> None:
    config = tiny(model="sasrec", epochs=2, graph_kinds=("seq",))
    assert isinstance(build_recommender(cycle_data(), config), LLMRGFusion)
    result = train(cycle_data(), config, progress=True)
    assert result.as_json()["graph_kinds"] == ["seq"]
    assert result.valid["ndcg@10"] > untrained_valid(config)["ndcg@10"] + 0.2


def test_llm_graph_kinds_need_a_source() -> None:
    with pytest.raises(ValueError, match="need a GraphSource"):
        train(cycle_data(), tiny(epochs=1, graph_kinds=("rea", "div")), progress=False)


def test_graph_source_sees_exactly_the_rows_prefixes() -> None:
    data = cycle_data()
    parts = split(data)
    source = RecordingSource()
    train(data, tiny(epochs=1, graph_kinds=("rea",), train_scheme="prefix"), source, progress=False)
    expected = Counter((row.user, row.history) for rows in (parts.train, parts.valid, parts.test) for row in rows)
    assert Counter(source.calls) == expected


def test_max_train_rows_trains_on_a_seeded_subset() -> None:
    sources = [RecordingSource(), RecordingSource()]
    for source in sources:
        config = tiny(epochs=1, graph_kinds=("rea",), max_train_rows=10, train_scheme="prefix")
        train(cycle_data(), config, source, progress=False)
    assert len(sources[0].calls) == 10 + 30 + 30  # training, then validation and test rows
    training = {(row.user, row.history) for row in split(cycle_data()).train}
    assert sources[0].calls[:10] == sources[1].calls[:10]
    assert len(set(sources[0].calls[:10]) & training) == 10


def test_early_stopping_stops_after_patience_epochs_without_improvement() -> None:
    result = train(cycle_data(), tiny(epochs=10, patience=2, lr=0.0), progress=False)
    assert (result.epochs_run, result.best_epoch, len(result.history)) == (3, 1, 3)
    assert result.history[0]["valid"] == result.history[1]["valid"] == result.history[2]["valid"]


def last_state(directory: Path) -> dict[str, Any]:
    return checkpoint.load(directory / checkpoint.LAST, torch.device("cpu"))


def without_timing(result: TrainResult) -> dict[str, Any]:
    payload = result.as_json()
    for entry in payload["history"]:
        del entry["epoch_s"], entry["train_s"], entry["peak_memory_mb"]
    for key in ("epoch_s", "peak_memory_mb", "peak_rss_mib", "config"):
        del payload[key]
    return payload


@pytest.mark.parametrize(("name", "kinds"), [("sasrec", ()), ("duorec", ()), ("cl4srec", ("seq",))])
def test_resumed_run_equals_the_uninterrupted_run(name: str, kinds: tuple[str, ...], tmp_path: Path) -> None:
    data = cycle_data()
    straight = train(data, tiny(model=name, graph_kinds=kinds, epochs=3, checkpoint_dir=tmp_path / "a"), progress=False)
    first = train(data, tiny(model=name, graph_kinds=kinds, epochs=1, checkpoint_dir=tmp_path / "b"), progress=False)
    assert last_state(tmp_path / "b")["epoch"] == 1
    resumed = train(data, tiny(model=name, graph_kinds=kinds, epochs=3, checkpoint_dir=tmp_path / "b"), progress=False)
    assert first.history[0]["loss"] == resumed.history[0]["loss"]
    assert without_timing(resumed) == without_timing(straight)
    a, b = last_state(tmp_path / "a"), last_state(tmp_path / "b")
    assert a["epoch"] == b["epoch"] == 3
    for part in ("model", "best_model"):
        assert a[part].keys() == b[part].keys()
        assert all(torch.equal(a[part][key], b[part][key]) for key in a[part])
    assert all(torch.equal(a["rng"][key], b["rng"][key]) for key in ("torch", "data"))


def test_checkpoints_hold_the_best_model_and_refuse_other_settings(tmp_path: Path) -> None:
    data = cycle_data()
    result = train(data, tiny(epochs=2, checkpoint_dir=tmp_path), progress=False)
    best = checkpoint.load(tmp_path / checkpoint.BEST, torch.device("cpu"))
    last = last_state(tmp_path)
    assert (best["epoch"], best["valid"]) == (result.best_epoch, result.valid)
    assert all(torch.equal(best["model"][key], last["best_model"][key]) for key in best["model"])
    assert last["state"]["history"] == result.history
    assert sorted(path.name for path in tmp_path.iterdir()) == ["best.pt", "last.pt", "progress.json", "train.lock"]
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert (progress["epoch"], progress["best_epoch"], progress["best_valid"]) == (
        result.epochs_run,
        result.best_epoch,
        result.valid,
    )
    assert progress["valid"] == result.history[-1]["valid"]
    with pytest.raises(checkpoint.CheckpointMismatchError, match=r"\(lr, seed differ\)"):
        train(data, tiny(epochs=3, lr=0.5, seed=1, checkpoint_dir=tmp_path), progress=False)
    restarted = train(data, tiny(epochs=1, lr=0.5, checkpoint_dir=tmp_path), progress=False, resume=False)
    assert (restarted.epochs_run, last_state(tmp_path)["config"]["lr"]) == (1, 0.5)


def test_one_process_trains_a_directory_and_a_killed_holder_frees_it(tmp_path: Path) -> None:
    """A second trainer of a directory is refused, naming the holder, until the holder exits, even by SIGKILL."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from gnn import checkpoint\n"
            "with checkpoint.run_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(600)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(checkpoint.RunLockedError, match=rf"{tmp_path} is being trained .*\(pid {holder.pid}\)"):
            train(cycle_data(), tiny(epochs=1, checkpoint_dir=tmp_path), progress=False)
        assert not (tmp_path / checkpoint.LAST).exists()
    finally:
        holder.kill()
        holder.wait()
    assert train(cycle_data(), tiny(epochs=1, checkpoint_dir=tmp_path), progress=False).epochs_run == 1
    with checkpoint.run_lock(tmp_path), pytest.raises(checkpoint.RunLockedError):  # within one process too
        train(cycle_data(), tiny(epochs=2, checkpoint_dir=tmp_path), progress=False)


def test_checkpoints_refuse_other_graphs_when_the_source_identifies_them(tmp_path: Path) -> None:
    class IdentifiedSource(RecordingSource):
        def __init__(self, version: str) -> None:
            super().__init__()
            self.version = version

        def fingerprint(self) -> str:
            return self.version

    config = tiny(epochs=1, graph_kinds=("rea",), checkpoint_dir=tmp_path, train_scheme="prefix")
    train(cycle_data(), config, IdentifiedSource("export-1"), progress=False)
    assert train(cycle_data(), config, IdentifiedSource("export-1"), progress=False).epochs_run == 1
    with pytest.raises(checkpoint.CheckpointMismatchError, match="other data"):
        train(cycle_data(), config, IdentifiedSource("export-2"), progress=False)
