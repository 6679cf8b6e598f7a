"""`bench.reproduce`: each run trains in a child `llmrg train --snapshot`, with the paper's ranking convention, is
published to the committed results once it finishes, is not trained again by a rerun, and the table averages
seeds beside the paper's numbers."""

from __future__ import annotations

import argparse
import gzip
import json
import math
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from bench import reproduce
from gnn import snapshot as snapshots
from reports import sections
from tests.gnn.synthetic import cycle_data

pytestmark = pytest.mark.unit


def tiny_snapshot(path: Path) -> Path:
    data = cycle_data()
    users = sorted(data.sequences)
    content: dict[str, Any] = {
        "format": snapshots.FORMAT,
        "version": snapshots.VERSION,
        "dataset": "cycle",
        "items": {"ids": list(range(1, data.n_items + 1)), "attributes": [], "features": None},
        "users": users,
        "sequences": [list(data.sequences[user]) for user in users],
        "chain_links": [],
    }
    content["counts"] = snapshots.counts(users, content["items"]["ids"], content["sequences"], [])
    with gzip.open(path, "wb") as file:
        file.write(json.dumps({**content, "sha256": snapshots._content_hash(content)}).encode())
    return path


def publish_under(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs train on a tiny snapshot and publish to `tmp_path/published`, polled quickly."""
    snapshot = tiny_snapshot(tmp_path / "cycle.json.gz")
    monkeypatch.setattr(reproduce, "ensure_snapshot", lambda dataset: snapshot)
    monkeypatch.setattr(reproduce, "RUNS", tmp_path / "published")
    monkeypatch.setattr(reproduce, "PARKED", tmp_path / "parked")
    monkeypatch.setattr(reproduce, "POLL_S", 0.2)


def arguments(**changes: Any) -> argparse.Namespace:
    return reproduce.options(**({"epochs": 2, "device": "cpu"} | changes))


def test_a_run_trains_once_is_published_and_a_rerun_collects_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_under(tmp_path, monkeypatch)
    plan = {"dataset": "cycle", "model": "sasrec", "variant": "base", "seed": 0}
    reproduce.run_one(plan, tmp_path / "train", arguments())

    published = json.loads((tmp_path / "published" / "cycle-sasrec-base-seed0.json").read_text())
    assert published["epochs_run"] == 2 and published["config"]["exclude_history"] is False
    assert published["train_scheme"] == "windows" and published["commit"]
    assert published["machine"]["cpu"] and "commit" not in published["machine"]  # the machine that trained it
    assert (tmp_path / "train" / "cycle" / "sasrec" / "base" / "seed0" / "progress.json").is_file()

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(reproduce, "describe", lambda: {"commit": "abc1234", "cpu": "another"})  # it would run git
    popen = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen", no_training)
    reproduce.run_one(plan, tmp_path / "train", arguments())  # collected, not retrained
    again = json.loads((tmp_path / "published" / "cycle-sasrec-base-seed0.json").read_text())
    assert again["machine"] == published["machine"] and again["commit"] == published["commit"]
    reproduce.run_one(plan, tmp_path / "a fresh machine's train dir", arguments())  # published: not retrained
    assert not (tmp_path / "a fresh machine's train dir").exists()
    with pytest.raises(AssertionError, match="trained again"):  # another protocol is another run
        reproduce.run_one(plan, tmp_path / "train", arguments(exclude_history=True))
    monkeypatch.setattr(subprocess, "Popen", popen)
    reproduce.run_one(plan, tmp_path / "another machine", arguments(again=True))  # trained again, replacing it
    replaced = json.loads((tmp_path / "published" / "cycle-sasrec-base-seed0.json").read_text())
    assert (replaced["commit"], replaced["machine"]) == ("abc1234", {"cpu": "another"}), "its own, not the old run's"


def collected(dataset: str, model: str, variant: str, seed: int, test: dict[str, float], **more: Any) -> dict[str, Any]:
    """One record of `reproduce.collect()`, as `summarise` reads it."""
    return {
        "dataset": dataset,
        "model": model,
        "variant": variant,
        "seed": seed,
        "test": test,
        "exclude_history": False,
        "protocol": "",
        "epochs_run": 40,
        "epoch_s": 30.0,
        "peak_rss_mib": 900.0,
        **more,
    }


def test_the_table_averages_seeds_beside_the_paper() -> None:
    def run(seed: int, hr10: float, ndcg10: float) -> dict[str, Any]:
        test = {"hr@5": hr10 / 2, "hr@10": hr10, "ndcg@5": ndcg10 / 2, "ndcg@10": ndcg10}
        return collected("beauty", "duorec", "base", seed, test)

    [row] = reproduce.summarise([run(0, 0.08, 0.044), run(1, 0.09, 0.046)])
    assert row["seeds"] == [0, 1] and row["mean"]["hr@10"] == pytest.approx(0.085)
    assert row["std"]["ndcg@10"] == pytest.approx(0.0014142, rel=1e-3)
    assert row["gap_hr@10"] == pytest.approx(0.085 / 0.0839 - 1) and row["within_10pct"]
    [alone] = reproduce.summarise([run(0, 0.05, 0.044)])
    assert alone["std"]["hr@10"] is None and not alone["within_10pct"]  # HR@10 40% below the paper's


def test_a_variant_is_paired_with_its_base_on_the_same_users_and_seed() -> None:
    def run(variant: str, seed: int, ranks: dict[str, int] | None) -> dict[str, Any]:
        hits = sum(rank <= 10 for rank in (ranks or {}).values())
        test = {"hr@5": 0.0, "hr@10": hits / 40, "ndcg@5": 0.0, "ndcg@10": 0.0}
        return collected("ml-1m", "sasrec", variant, seed, test, test_ranks=ranks)

    base = {str(user): 5 if user < 10 else 50 for user in range(40)}  # hits users 0-9
    variant = {str(user): 5 if 5 <= user < 20 else 50 for user in range(40)}  # hits users 5-19
    rows = reproduce.summarise(
        [run("base", 0, base), run("llmrg-kb", 0, variant), run("llmrg-kb", 1, variant), run("seq", 0, None)]
    )
    by_variant = {row["variant"]: row for row in rows}
    assert by_variant["base"]["paired_vs_base"] is None and by_variant["seq"]["paired_vs_base"] == []
    [pair] = by_variant["llmrg-kb"]["paired_vs_base"]  # seed 1 has no base to pair with
    # users 10-19 gain 1/log2(6) each, users 0-4 lose it: 5/40 of it on average, and the interval holds it
    gain = 5 / 40 / math.log2(6)
    assert pair | {"ndcg@10_ci95": None} == {
        "seed": 0,
        "only_variant": 10,
        "only_base": 5,
        "p_value": pytest.approx(0.3018, abs=1e-4),
        "ndcg@10_difference": pytest.approx(gain),
        "ndcg@10_ci95": None,
    }
    low, high = pair["ndcg@10_ci95"]
    assert low < gain < high and high - low < 0.3
    said = sections.paired_sentences({"rows": rows})
    assert "ml-1m sasrec + LLMRG from knowledge-base edges against base, seed 0: 10 test users" in said
    assert "5 by the base alone (exact McNemar p 0.3)" in said


def test_the_knowledge_base_variant_is_also_paired_with_its_controls() -> None:
    def run(variant: str, ranks: dict[str, int]) -> dict[str, Any]:
        test = {"hr@5": 0.0, "hr@10": sum(rank <= 10 for rank in ranks.values()) / 40, "ndcg@5": 0.0, "ndcg@10": 0.0}
        return collected("ml-1m", "sasrec", variant, 0, test, test_ranks=ranks)

    hits_first = {str(user): 5 if user < 10 else 50 for user in range(40)}
    hits_more = {str(user): 5 if user < 16 else 50 for user in range(40)}
    rows = reproduce.summarise(
        [run("base", hits_first), run("llmrg-kb", hits_more), run("llmrg-kb-placebo", hits_first)]
    )
    by_variant = {row["variant"]: row for row in rows}
    assert by_variant["llmrg-kb-placebo"]["paired_vs_controls"] == {}, "a control has no controls"
    controls = by_variant["llmrg-kb"]["paired_vs_controls"]
    assert list(controls) == ["llmrg-kb-placebo"], "no seq run, so no pair with it"
    [pair] = controls["llmrg-kb-placebo"]
    assert (pair["only_variant"], pair["only_base"]) == (6, 0)
    said = sections.paired_sentences({"rows": rows})
    assert (
        "ml-1m sasrec + LLMRG from knowledge-base edges against + LLMRG from knowledge-base edges with random sources "
        "(placebo), seed 0: 6 test users hit at 10 by it alone and 0 by the control alone" in said
    )


def test_a_placebo_or_isolation_run_is_paired_with_the_same_run_under_the_reference_protocol() -> None:
    def run(protocol: str, ranks: dict[str, int]) -> dict[str, Any]:
        test = {"hr@5": 0.0, "hr@10": sum(rank <= 10 for rank in ranks.values()) / 40, "ndcg@5": 0.0, "ndcg@10": 0.0}
        return collected("beauty", "fdsa", "base", 0, test, test_ranks=ranks, protocol=protocol)

    real = {str(user): 3 if user < 12 else 60 for user in range(40)}
    placebo = {str(user): 3 if user < 4 else 60 for user in range(40)}
    label = "item attributes shuffled across items (placebo)"
    rows = reproduce.summarise([run("", real), run(label, placebo)])
    by_protocol = {row["protocol"]: row for row in rows}
    assert by_protocol[""]["paired_vs_reference"] is None
    [pair] = by_protocol[label]["paired_vs_reference"]
    assert (pair["only_variant"], pair["only_base"]) == (0, 8)
    said = sections.paired_sentences({"rows": rows})
    assert f"beauty fdsa base ({label}) against the reference protocol, seed 0: 0 test users hit" in said
    assert "8 by the reference alone" in said


def test_a_run_under_another_protocol_is_kept_apart_and_labelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_under(tmp_path, monkeypatch)
    args = arguments(scheme="prefix", datasets="cycle", models="sasrec", variants="base", seeds="0")
    [plan] = reproduce.planned(args)
    assert plan["tag"] == "prefix" and reproduce.run_name(plan) == "cycle-sasrec-base-prefix-seed0"
    reproduce.run_one(plan, tmp_path / "train", args)

    published = json.loads((tmp_path / "published" / "cycle-sasrec-base-prefix-seed0.json").read_text())
    assert published["train_scheme"] == "prefix" and published["config"]["train_scheme"] == "prefix"
    assert (tmp_path / "train" / "protocol-prefix" / "cycle" / "sasrec" / "base" / "seed0" / "result.json").is_file()
    assert reproduce.fits(published, args) and not reproduce.fits(published, arguments(scheme="windows"))
    monkeypatch.setattr(reproduce, "ROOT", tmp_path)  # collect names each file relative to the checkout
    [run] = reproduce.collect()
    assert run["protocol"] == "prefix rows"
    [row] = reproduce.summarise([run])
    assert reproduce.variant_label(row) == "base (prefix rows)"


def test_protocol_tags_and_labels_name_only_departures() -> None:
    assert reproduce.protocol_tag("auto", None) == ""
    assert reproduce.protocol_tag("auto", 128) == ""
    assert reproduce.protocol_tag("auto", 128, default_windows=32) == "wpb128"
    assert reproduce.protocol_tag("windows", 32) == "windows-wpb32"
    sasrec = {"model": "sasrec", "mask_prob": None}
    assert reproduce.protocol_label(sasrec | {"train_scheme": "windows", "windows_per_batch": 128}, "beauty") == ""
    wpb32 = sasrec | {"train_scheme": "windows", "windows_per_batch": 32}
    assert reproduce.protocol_label(wpb32, "beauty") == "32 windows a batch"
    prefix = sasrec | {"train_scheme": "prefix", "windows_per_batch": 128}
    assert reproduce.protocol_label(prefix, "beauty") == "prefix rows"
    assert reproduce.protocol_tag("prefix", None, "keep") == "prefix-fnkeep"
    both = sasrec | {"train_scheme": "prefix", "windows_per_batch": 128, "false_negatives": "keep"}
    assert reproduce.protocol_label(both, "beauty") == "prefix rows, same-target negatives kept"
    assert reproduce.protocol_tag("auto", None, "drop", 0.2) == "mask0.2"
    assert reproduce.protocol_tag("auto", None, patience=40) == "patience40"
    assert reproduce.protocol_label(sasrec | {"windows_per_batch": 128, "patience": 40}, "beauty") == "patience 40"
    assert reproduce.protocol_tag("auto", None, item_features="shuffled") == "featshuffled"
    fdsa = {"model": "fdsa", "mask_prob": None, "windows_per_batch": 128}
    assert reproduce.protocol_label(fdsa | {"item_features": "shuffled"}, "beauty") == (
        "item attributes shuffled across items (placebo)"
    )
    assert reproduce.protocol_label(fdsa, "beauty") == ""  # a run from before the setting existed
    assert reproduce.protocol_tag("auto", None, dropout=0.2) == "dropout0.2"
    cl4srec = {"model": "cl4srec", "mask_prob": None, "windows_per_batch": 32}
    assert reproduce.protocol_label(cl4srec | {"dropout": 0.5}, "ml-1m") == ""  # its reference value
    assert reproduce.protocol_label(cl4srec | {"dropout": 0.2}, "ml-1m") == "dropout 0.2"
    bert4rec = {"model": "bert4rec", "train_scheme": "windows", "windows_per_batch": 128}
    assert reproduce.protocol_label(bert4rec | {"mask_prob": 0.6}, "beauty") == ""  # its paper's value there
    assert reproduce.protocol_label(bert4rec | {"mask_prob": 0.2}, "beauty") == "mask proportion 0.2"
    assert reproduce.protocol_label(bert4rec | {"mask_prob": 0.2, "windows_per_batch": 32}, "ml-1m") == ""
    ran = {"exclude_history": False, "epochs": 2, "patience": 10, "false_negatives": "drop"}
    beauty_run = {"dataset": "beauty", "config": bert4rec | ran | {"mask_prob": 0.6, "dropout": 0.5}}
    assert reproduce.fits(beauty_run, arguments()) and not reproduce.fits(beauty_run, arguments(mask_prob=0.2))
    assert not reproduce.fits(beauty_run, arguments(item_features="shuffled"))
    assert not reproduce.fits(beauty_run, arguments(dropout=0.2))  # 0.5 is BERT4Rec's reference on Beauty
    assert reproduce.protocol_tag("auto", None, max_len=50, default_max_len=200) == "len50"
    assert reproduce.protocol_tag("auto", None, max_len=50, default_max_len=50) == ""  # Beauty's own length
    assert reproduce.protocol_label(cl4srec | {"dropout": 0.5, "max_len": 50}, "ml-1m") == "max length 50"
    assert reproduce.protocol_label(cl4srec | {"dropout": 0.5, "max_len": 200}, "ml-1m") == ""
    assert reproduce.fits(beauty_run, arguments(max_len=50))  # Beauty's length is 50
    ml_1m_run = {"dataset": "ml-1m", "config": cl4srec | ran | {"dropout": 0.5, "max_len": 200}}
    assert reproduce.fits(ml_1m_run, arguments()) and not reproduce.fits(ml_1m_run, arguments(max_len=50))


def test_bert4rec_on_ml_1m_takes_its_own_batch_and_other_batches_are_departures() -> None:
    """BERT4Rec's ML-1M default is 32 windows a batch (`gnn.models.reference.TUNED_WINDOWS_PER_BATCH`): a run
    with it is the reference protocol there, a run at 128 is not, and the plan names the departure per model."""
    bert4rec = {"model": "bert4rec", "train_scheme": "windows", "mask_prob": 0.2}
    assert reproduce.protocol_label(bert4rec | {"windows_per_batch": 32}, "ml-1m") == ""
    assert reproduce.protocol_label(bert4rec | {"windows_per_batch": 128}, "ml-1m") == "128 windows a batch"
    ran = {"exclude_history": False, "epochs": 2, "patience": 10, "false_negatives": "drop"}
    ml_1m_run = {"dataset": "ml-1m", "config": bert4rec | ran | {"windows_per_batch": 32, "dropout": 0.2}}
    assert reproduce.fits(ml_1m_run, arguments()) and not reproduce.fits(ml_1m_run, arguments(windows_per_batch=128))
    plans = reproduce.planned(
        arguments(datasets="ml-1m", models="sasrec,bert4rec", variants="base", seeds="0", windows_per_batch=32)
    )
    assert {plan["model"]: plan["tag"] for plan in plans} == {"sasrec": "wpb32", "bert4rec": ""}


def test_runs_train_side_by_side_and_the_deadline_stops_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    publish_under(tmp_path, monkeypatch)
    plans = [{"dataset": "cycle", "model": model, "variant": "base", "seed": 0} for model in ("sasrec", "duorec")]
    started = time.monotonic()
    late = reproduce.run_all([(plan, arguments()) for plan in plans], tmp_path / "train", 2, deadline=started)
    assert late == {"finished": [], "failed": [], "stopped": [], "not_started": [reproduce.run_name(p) for p in plans]}

    long = arguments(epochs=1000, patience=1000)
    cut = reproduce.run_all([(plan, long) for plan in plans], tmp_path / "cut", 2, deadline=time.monotonic() + 1.0)
    assert sorted(cut["stopped"]) == sorted(reproduce.run_name(plan) for plan in plans)  # both were training
    assert not (tmp_path / "published").exists() or not any((tmp_path / "published").iterdir())

    done = reproduce.run_all([(plan, arguments()) for plan in plans], tmp_path / "train", 2)
    assert sorted(done["finished"]) == sorted(reproduce.run_name(plan) for plan in plans) and not done["failed"]
    for plan in plans:
        assert (tmp_path / "published" / f"{reproduce.run_name(plan)}.json").is_file()


def test_a_parked_run_carries_on_on_another_machine_as_if_never_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_under(tmp_path, monkeypatch)
    plan = {"dataset": "cycle", "model": "sasrec", "variant": "base", "seed": 0}
    name = reproduce.run_name(plan)
    reproduce.run_one(plan, tmp_path / "straight", arguments(epochs=3))
    straight = json.loads((tmp_path / "published" / f"{name}.json").read_text())

    reproduce.run_one(plan, tmp_path / "first machine", arguments(epochs=1))
    first = reproduce.run_directory(plan, tmp_path / "first machine")
    (first / "result.json").unlink()  # as if the machine went after its first epoch
    parked = tmp_path / "parked" / f"{name}.cpu.pt"
    assert reproduce.park([plan], tmp_path / "first machine") == [parked] and parked.is_file()
    assert reproduce.park([plan], tmp_path / "no such machine") == []  # nothing there: nothing parked
    assert reproduce.parked_path(name, "cpu") == parked
    reproduce.unpark(name, tmp_path / "a GPU machine", arguments(epochs=3, device="cuda"))  # it stays on its device
    assert not (tmp_path / "a GPU machine").exists()
    for other in (arguments(epochs=3, again=True), arguments(epochs=1), arguments(epochs=3, patience=4)):
        reproduce.unpark(name, tmp_path / "other settings", other)  # each starts anew
        assert not (tmp_path / "other settings").exists()
    reproduce.drop_parked(name, {"epochs_run": 0})  # a result short of the parked epoch, e.g. a rehearsal
    assert parked.is_file()
    elsewhere = reproduce.parked_path(name, "cuda")  # parked by a GPU call too: the first to finish publishes
    elsewhere.write_bytes(parked.read_bytes())

    popen = subprocess.Popen
    resumed_from: list[int] = []

    def watched(command: list[str], **kwargs: Any) -> Any:  # the trainer starts from the parked epoch
        if "train" in command:
            resumed_from.append(json.loads((fresh / "progress.json").read_text())["epoch"])
            assert (fresh / "best.pt").is_file()
        return popen(command, **kwargs)

    fresh = reproduce.run_directory(plan, tmp_path / "second machine")
    monkeypatch.setattr(subprocess, "Popen", watched)
    reproduce.run_one(plan, tmp_path / "second machine", arguments(epochs=3))
    carried = json.loads((tmp_path / "published" / f"{name}.json").read_text())
    assert resumed_from == [1] and carried["epochs_run"] == 3 and carried["resumed_after_epoch"] == 1
    assert [epoch["valid"] for epoch in carried["history"]] == [epoch["valid"] for epoch in straight["history"]]
    assert carried["test"] == straight["test"]
    assert not parked.exists() and not elsewhere.exists(), "a published run's parked checkpoints are deleted"


def test_park_every_parks_runs_while_they_train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine can go without warning, so `--park-every` parks each run as its epochs end, not only on request."""
    publish_under(tmp_path, monkeypatch)
    plan = {"dataset": "cycle", "model": "sasrec", "variant": "base", "seed": 0}
    park, parked_at = reproduce.park, []

    def watched(plans: list[dict[str, Any]], train_dir: Path) -> list[Path]:
        progress = reproduce.run_directory(plan, train_dir) / "progress.json"
        parked_at.append(json.loads(progress.read_text())["epoch"])
        return park(plans, train_dir)

    monkeypatch.setattr(reproduce, "park", watched)
    reproduce.run_all([(plan, arguments(epochs=2))], tmp_path / "hourly", 1, park_every_s=3600.0)
    assert parked_at == []  # no epoch ended an hour after the run started
    reproduce.run_all([(plan, arguments(epochs=3, again=True))], tmp_path / "always", 1, park_every_s=0.0)
    assert parked_at and parked_at == sorted(set(parked_at)), "parked once per new epoch"
    assert not reproduce.parked_path(reproduce.run_name(plan), "cpu").exists(), "gone once the run is published"
