"""The quality harness's placebos, rates and report, on made-up chains and a scripted chooser."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench import quality
from bench.journal import Journal
from bench.quality import ChainRecord, Sample, placebo_sets, random_premises, recency_overlap, shuffled, verdict
from reasoning.context import HistoryItem, UserContext
from reasoning.schemas import ChoiceAnswer
from tests.conftest import make_settings

pytestmark = pytest.mark.unit


def test_recency_overlap_is_the_k_items_just_before_the_target_in_any_order() -> None:
    assert recency_overlap(ChainRecord(1, (8, 9), ("r",)))
    assert recency_overlap(ChainRecord(1, (9, 7, 8, 10), ("r", "r", "r")))  # newest first, as the 0.5B writes
    assert not recency_overlap(ChainRecord(1, (7, 9), ("r",)))
    assert not recency_overlap(ChainRecord(1, (3, 8, 10), ("r", "r")))


def test_random_premises_keep_target_reasons_and_size_and_never_the_llms_own_set() -> None:
    for target in range(2, 30):
        for k in (1, 2, 3):
            if k >= target:
                continue
            real = ChainRecord(4, (*range(target - k, target), target), tuple(f"r{i}" for i in range(k)))
            placebo = random_premises(real, "ml-1m")
            if math.comb(target, k) < 2:
                assert placebo is None
                continue
            assert placebo is not None
            *premises, last = placebo.local_items
            assert last == target and len(premises) == k and premises == sorted(premises)
            assert set(premises) != set(real.local_items[:-1]) and all(0 <= p < target for p in premises)
            assert placebo.reasons == real.reasons
            assert random_premises(real, "ml-1m") == placebo  # seeded
    assert random_premises(ChainRecord(4, (0, 1), ("r",)), "ml-1m") is None  # only one earlier item


def test_shuffled_chains_are_another_order_of_the_same_items() -> None:
    for items in [(3, 4), (1, 5, 9), (2, 3, 4, 5, 6)]:
        chain = ChainRecord(2, items, tuple("r" * (len(items) - 1)))
        placebo = shuffled(chain, "beauty")
        assert placebo.local_items != items and sorted(placebo.local_items) == sorted(items)
        assert placebo.reasons == chain.reasons


def test_placebo_sets_are_aligned_and_skip_chains_without_a_random_placebo() -> None:
    chains = [ChainRecord(1, (0, 1), ("r",)), ChainRecord(1, (4, 5), ("r",)), ChainRecord(2, (6, 8, 9), ("r", "r"))]
    sets = placebo_sets(chains, "ml-1m")
    assert sets["real"] == chains[1:]
    assert [chain.local_items[-1] for chain in sets["random_premises"]] == [5, 9]
    assert len(sets["shuffled"]) == 2


def test_the_verdict_says_plainly_when_the_interval_reaches_zero() -> None:
    real = quality.rate(60, 100)
    assert verdict(real, quality.rate(20, 100))["discriminates"] is True
    assert verdict(real, quality.rate(20, 100))["meets_bar"] is True  # +40 points, interval well above +10
    close = verdict(quality.rate(30, 100), quality.rate(24, 100))
    assert close["discriminates"] is False and "does NOT tell" in close["words"]


class AlwaysA:
    """A chooser that answers A to everything: accepted exactly when the truth was shuffled to A."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def ask(self, messages: Any, schema: dict[str, Any], parse_as: type[ChoiceAnswer]) -> ChoiceAnswer:
        self.calls.append(len(schema["required"]))
        return parse_as.model_validate(dict.fromkeys(schema["required"], "A"))


def test_lettered_verification_counts_each_sets_hits_and_packs_calls() -> None:
    window = tuple(
        HistoryItem(pos=p, id=500 + p, title=f"Film {p}", attributes=(f"genre:G{p % 5}",)) for p in range(20)
    )
    context = UserContext(dataset="ml-1m", user=9, profile={}, window=window)
    chains = [ChainRecord(9, (t - 2, t - 1, t), ("r", "r")) for t in range(10, 20)]
    sets = placebo_sets(chains, "ml-1m")
    settings = make_settings()
    outcomes = {}
    for per_call in (1, 8):
        llm = AlwaysA()
        empty = {name: [[0, 0] for _ in found] for name, found in sets.items()}
        outcomes[per_call] = quality.verify_lettered(llm, settings, per_call, sets, {9: context}, empty)
        assert max(llm.calls) == per_call
    assert outcomes[1] == outcomes[8]  # the same questions, whatever the packing
    from reasoning import multiple_choice

    for name, found in sets.items():
        for index, chain in enumerate(found):
            questions = multiple_choice.chain_questions(
                quality.candidate_of(context, chain), context, (name, index), masks=3, options=4
            )
            assert outcomes[1][name][index] == [sum(q.correct == 0 for q in questions), len(questions)]


def test_summarise_reads_rates_and_costs_from_the_journal(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "journal.json", {"steps": 4}, fresh=False)
    chains = [ChainRecord(1, (8, 9), ("r",)).as_json(), ChainRecord(2, (3, 9), ("r",)).as_json()]
    journal.add_chunk("m|ml-1m|chains", {"users": [1, 2], "chains": chains, "calls": 2, "seconds": 10.0})
    outcome = {"real": [[2, 3], [3, 3]], "random_premises": [[1, 3], [0, 3]], "shuffled": [[3, 3], [0, 2]]}
    journal.add_chunk(
        "m|ml-1m|lettered",
        {
            "users": [1, 2],
            "outcome": outcome,
            "calls": 12,
            "seconds": 30.0,
            "server": {"prompt_tokens_computed": 600.0},
        },
    )
    row = quality.summarise(journal, "m", Sample("ml-1m", [1, 2], 4), "lettered", tau=50.0)
    assert row is not None
    assert (row["accept_real"], row["accept_random_premises"], row["accept_shuffled"]) == (1.0, 0.0, 0.5)
    assert row["recency_overlap"] == 0.5 and row["steps"] == 2 and row["steps_sampled"] == 8
    assert (row["verify_calls_per_chain"], row["verify_seconds_per_chain"]) == (2.0, 5.0)
    assert row["verify_computed_prompt_tokens_per_chain"] == 100.0
    assert quality.summarise(journal, "m", Sample("ml-1m", [1, 2, 3], 4), "lettered", tau=50.0) is None


def test_report_only_rows_cover_every_finished_verifier_stage_over_its_own_users(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "journal.json", {"steps": 4}, fresh=False)
    for model, users in (("small", [1, 2]), ("large", [1])):
        chains = [ChainRecord(user, (7, 8), ("r",)).as_json() for user in users]
        journal.add_chunk(f"{model}|ml-1m|chains", {"users": users, "chains": chains, "seconds": 1.0})
        outcome = {name: [[1, 2]] * len(users) for name in ("real", "random_premises", "shuffled")}
        journal.add_chunk(
            f"{model}|ml-1m|lettered", {"users": users, "outcome": outcome, "calls": 1, "seconds": 1.0, "server": {}}
        )
    rows = quality.journal_rows(journal, make_settings())
    assert [(row["model"], row["verifier"], row["users"], row["steps_sampled"]) for row in rows] == [
        ("large", "lettered", 1, 4),
        ("small", "lettered", 2, 8),
    ]
    assert all(row["accept_real"] == 1.0 for row in rows)  # 1 of 2 masks reaches τ = 50 on ML-1M


def test_rows_measured_before_keep_their_own_commit_when_a_new_run_merges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quality, "OUTPUT", tmp_path / "quality.json")
    old = {"model": "m-0.5b", "dataset": "ml-1m", "verifier": "lettered", "accept_real": 0.1}
    before = {"commit": "aaa1111", "machine_line": "old box", "commit_note": "chains sampled earlier", "rows": [old]}
    (tmp_path / "quality.json").write_text(json.dumps(before))
    new = {"model": "m-1.5b", "dataset": "ml-1m", "verifier": "lettered", "accept_real": 0.4}
    quality.write_result({"commit": "bbb2222", "machine_line": "new box", "rows": [new]})

    merged = json.loads((tmp_path / "quality.json").read_text())
    rows = {row["model"]: row for row in merged["rows"]}
    assert rows["m-0.5b"]["commit"] == "aaa1111" and rows["m-0.5b"]["commit_note"] == "chains sampled earlier"
    assert rows["m-1.5b"]["commit"] == "bbb2222" and "commit_note" not in rows["m-1.5b"]
    assert merged["commit"] == "bbb2222" and "commit_note" not in merged  # the file's own is the newest run's
    quality.write_result({"commit": "ccc3333", "machine_line": "new box", "rows": [new | {"accept_real": 0.5}]})
    again = {row["model"]: row for row in json.loads((tmp_path / "quality.json").read_text())["rows"]}
    assert again["m-0.5b"]["commit"] == "aaa1111" and again["m-1.5b"]["commit"] == "ccc3333"


def test_rows_of_each_chaining_prompt_are_kept_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quality, "OUTPUT", tmp_path / "quality.json")
    old = {"model": "m", "dataset": "ml-1m", "verifier": "lettered", "accept_real": 0.1}  # from before prompts
    (tmp_path / "quality.json").write_text(json.dumps({"commit": "aaa1111", "rows": [old]}))
    journal = Journal.open(
        tmp_path / "journal.json",
        {"steps": 4, "prompt_version": "v4", "premise_window": 0, "premise_candidates": 6},
        fresh=False,
    )
    journal.add_chunk(
        "m|ml-1m|chains", {"users": [1], "chains": [ChainRecord(1, (3, 9), ("r",)).as_json()], "seconds": 1.0}
    )
    outcome = {name: [[3, 3]] for name in ("real", "random_premises", "shuffled")}
    journal.add_chunk("m|ml-1m|lettered", {"users": [1], "outcome": outcome, "calls": 3, "seconds": 3.0, "server": {}})
    row = quality.summarise(journal, "m", Sample("ml-1m", [1], 4), "lettered", tau=50.0)
    assert row is not None
    assert (row["prompt_version"], row["premise_window"], row["premise_candidates"]) == ("v4", 0, 6)
    quality.write_result({"commit": "bbb2222", "machine_line": "box", "rows": [row]})
    rows = json.loads((tmp_path / "quality.json").read_text())["rows"]
    assert [(r.get("prompt_version", "v3"), r["commit"]) for r in rows] == [("v3", "aaa1111"), ("v4", "bbb2222")]
    assert quality.journal_path("v4").name == "quality-journal-v4.json"
