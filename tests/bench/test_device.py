"""`bench.device`: the device call trains the queue's missing runs side by side and packs them with the commit
prepared here (its copy of the tree has no git history), and collecting publishes them without replacing a run
already published here."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from bench import device, graph_server, reproduce
from core.vocabulary import MODEL_NAMES
from tests.bench.test_reproduce import arguments, tiny_snapshot

pytestmark = pytest.mark.unit

RUNS = ("cycle-sasrec-base-seed0", "cycle-duorec-seq-seed0")


@pytest.fixture
def staged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout whose staging, snapshots and results live under `tmp_path`, with the one dataset "cycle"."""
    (tmp_path / "snapshots").mkdir()
    snapshot = tiny_snapshot(tmp_path / "snapshots" / "cycle.json.gz")
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / "manifest.json").write_text(json.dumps({"commit": "abc1234"}))
    monkeypatch.setattr(device, "DATASETS", ("cycle",))
    monkeypatch.setattr(graph_server, "SNAPSHOTS", tmp_path / "snapshots")
    monkeypatch.setattr(device, "MANIFEST", tmp_path / "staging" / "manifest.json")
    monkeypatch.setattr(device, "LAST_RUN", tmp_path / "device.json")
    monkeypatch.setattr(reproduce, "ensure_snapshot", lambda dataset: snapshot)
    monkeypatch.setattr(reproduce, "RUNS", tmp_path / "published")
    monkeypatch.setattr(reproduce, "PARKED", tmp_path / "parked")
    monkeypatch.setattr(reproduce, "RESULTS", tmp_path)
    monkeypatch.setattr(reproduce, "ROOT", tmp_path)
    monkeypatch.setattr(reproduce, "POLL_S", 0.2)
    return tmp_path


def test_the_queue_wants_seed_zero_first_then_the_controls_then_seeds_then_isolation() -> None:
    names = [reproduce.run_name(plan) for plan, _ in device.queue()]
    seed_zero = [f"{dataset}-{model}-base-seed0" for dataset in device.DATASETS for model in MODEL_NAMES]
    assert names[:10] == seed_zero
    assert names[10:12] == ["beauty-duorec-seq-seed0", "ml-1m-duorec-seq-seed0"]
    assert names[12:19] == [
        "ml-1m-sasrec-seq-seed0",
        "ml-1m-sasrec-llmrg-kb-seed0",
        "ml-1m-sasrec-llmrg-kb-placebo-seed0",
        "ml-1m-sasrec-llmrg-kb-random-seed0",
        "ml-1m-duorec-llmrg-kb-seed0",
        "ml-1m-duorec-llmrg-kb-placebo-seed0",
        "ml-1m-duorec-llmrg-kb-random-seed0",
    ]
    assert names[-9:] == [
        "beauty-duorec-base-prefix-seed0",
        "beauty-bert4rec-base-mask0.2-seed0",
        "beauty-fdsa-base-featshuffled-seed0",
        "ml-1m-fdsa-base-featshuffled-seed0",
        "ml-1m-bert4rec-base-patience40-seed0",
        "ml-1m-cl4srec-base-dropout0.2-seed0",
        "ml-1m-duorec-base-dropout0.2-seed0",
        "ml-1m-cl4srec-base-len50-seed0",
        "ml-1m-duorec-base-len50-seed0",
    ]
    assert len(names) == len(set(names)) == 10 + 2 + 7 + 16 + 9
    assert all(args.device == "cuda" and args.epochs == 200 for _, args in device.queue())
    assert [args.patience for _, args in device.queue()].count(10) == len(names) - 1


def test_a_device_call_packs_its_runs_and_collecting_publishes_them(
    staged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = {"cpu": "device CPU", "cores": 16, "memory_gib": 128.0, "os": "Linux", "python": "3.12.3"}
    monkeypatch.setattr(reproduce, "describe", lambda: machine | {"commit": None})  # no git there
    out = staged / "out"
    summary = device.run(out, 5.0, 2, "cpu", 2, set(RUNS), staged / "train")

    assert sorted(summary["outcome"]["finished"]) == sorted(RUNS) and summary["published"] == sorted(
        f"{name}.json" for name in RUNS
    )
    assert summary["machine"]["commit"] == "abc1234"
    with tarfile.open(out / device.ARCHIVE) as tar:
        names = set(tar.getnames())
    assert {f"published/{name}.json" for name in RUNS} | {f"runs/{name}/progress.json" for name in RUNS} <= names

    here: dict[str, Any] = json.loads((staged / "published" / f"{RUNS[0]}.json").read_text())
    for path in (staged / "published").iterdir():  # collected on another machine: nothing published yet
        path.unlink()
    (staged / "published" / f"{RUNS[0]}.json").write_text(json.dumps(here | {"note": "published here"}))
    device.collect(out)

    collected = json.loads((staged / "published" / f"{RUNS[1]}.json").read_text())
    assert collected["commit"] == "abc1234" and collected["machine"]["cpu"] == "device CPU"
    assert json.loads((staged / "published" / f"{RUNS[0]}.json").read_text())["note"] == "published here"
    last = json.loads((staged / "device.json").read_text())
    assert last["collected"] == [f"{RUNS[1]}.json"] and last["kept_existing"] == [f"{RUNS[0]}.json"]
    table = json.loads((staged / "reproduce.json").read_text())
    assert {(row["model"], row["variant"]) for row in table["rows"]} == {("sasrec", "base"), ("duorec", "seq")}


def test_a_call_without_its_snapshots_or_with_an_unknown_run_stops_before_training(
    staged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit, match="does not hold"):
        device.run(staged / "out", 1.0, 1, "cpu", 1, {"cycle-sasrec-base-seed9"}, staged / "train")
    (staged / "snapshots" / "cycle.json.gz").unlink()
    with pytest.raises(SystemExit, match=r"no snapshot at .*cycle\.json\.gz: run `python -m bench\.device prepare`"):
        device.run(staged / "out", 1.0, 1, "cpu", 1, {RUNS[0]}, staged / "train")
    assert not (staged / "train").exists()


def test_collecting_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"device-runs\.tar\.gz: missing"):
        device.collect(tmp_path)


def test_runs_a_call_stops_come_back_parked_and_carry_on_in_the_next_call(
    staged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plans = [{"dataset": "cycle", "model": "sasrec", "variant": "base", "seed": seed} for seed in range(2)]
    names = [reproduce.run_name(plan) for plan in plans]
    for plan in plans:  # each stopped after its first epoch, on the device
        reproduce.run_one(plan, staged / "device train", arguments(epochs=1))
        (reproduce.run_directory(plan, staged / "device train") / "result.json").unlink()
    (staged / "published" / f"{names[1]}.json").unlink()
    assert device.bring_back_parked(staged / "small", plans, staged / "device train", budget=1000) == []
    monkeypatch.setattr(device, "FILES_BACK", 3)  # room for one checkpoint beside the archive and the summary
    assert device.bring_back_parked(staged / "out", plans, staged / "device train", 2**30) == [f"{names[0]}.cpu.pt"]
    assert sorted(path.name for path in (staged / "out").iterdir()) == [f"{names[0]}.cpu.pt"]

    for path in (staged / "parked").iterdir():  # collected on another machine
        path.unlink()
    (staged / "out" / f"{names[1]}.cpu.pt").write_bytes(b"cut short")  # a truncated transfer writes nothing
    (staged / "published" / f"{names[0]}.json").unlink()
    with pytest.raises(SystemExit, match=rf"{names[1]}\.cpu\.pt: not a whole checkpoint"):
        device.collect_parked(staged / "out", [f"{names[0]}.cpu.pt"])
    assert not (staged / "parked").exists() or not any((staged / "parked").iterdir())
    (staged / "out" / f"{names[1]}.cpu.pt").unlink()
    assert device.collect_parked(staged / "out", [f"{names[0]}.cpu.pt"]) == [f"{names[0]}.cpu.pt"]
    assert (staged / "parked" / f"{names[0]}.cpu.pt").read_bytes() == (
        staged / "out" / f"{names[0]}.cpu.pt"
    ).read_bytes()

    reproduce.unpark(names[0], reproduce.run_directory(plans[0], staged / "next call"), arguments(epochs=2))
    assert (
        json.loads((staged / "next call" / "cycle" / "sasrec" / "base" / "seed0" / "progress.json").read_text())[
            "epoch"
        ]
        == 1
    )
