"""The reasoning benchmark's journal: what lets a run of several hours stop and carry on. A wrong merge of
chunks would publish wrong throughput, and a silently replaced journal would throw away hours of work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.journal import Journal, JournalMismatch, plan_chunks
from bench.reason import Sitting, summarise

pytestmark = pytest.mark.unit

FINGERPRINT = {"users": 4, "settings": {"reason_max_targets": 4}}


def test_chunks_never_straddle_the_middle() -> None:
    assert plan_chunks([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert plan_chunks(list(range(1, 8)), 10) == [[1, 2, 3], [4, 5, 6, 7]]
    assert plan_chunks([1], 3) == [[1]]
    with pytest.raises(ValueError, match="at least 1"):
        plan_chunks([1, 2], 0)


def test_a_journal_carries_its_chunks_and_sittings_across_opens(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    journal = Journal.open(path, FINGERPRINT, fresh=False)
    journal.add_chunk("optimised", {"users": [1, 2]})
    again = Journal.open(path, FINGERPRINT, fresh=False)
    assert (again.sittings, again.done_users("optimised"), again.stage("naive")) == (
        2,
        [1, 2],
        {"chunks": [], "result": None},
    )
    again.finish("optimised", {"users": 2})
    assert json.loads(path.read_text())["stages"]["optimised"]["result"] == {"users": 2}
    assert not path.with_suffix(".partial").exists()
    fresh = Journal.open(path, FINGERPRINT, fresh=True)
    assert (fresh.sittings, fresh.stages) == (1, {})
    fresh.add_chunk("naive", {"users": [1]})
    assert fresh.retire() == tmp_path / "journal-finished.json"
    assert not path.exists()
    assert Journal.open(path, FINGERPRINT, fresh=False).stages == {}


def test_other_settings_name_the_difference_and_keep_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    Journal.open(path, FINGERPRINT, fresh=False).add_chunk("naive", {"users": [1]})
    stored = path.read_text()
    other = {"users": 4, "settings": {"reason_max_targets": 0}}
    with pytest.raises(JournalMismatch, match=r"settings: .*'reason_max_targets': 4.* there, .*0.* now.*--fresh"):
        Journal.open(path, other, fresh=False)
    assert path.read_text() == stored


def chunk(users: list[int], seconds: float, sitting: int, **stats: int) -> dict[str, Any]:
    counts = {
        "users": len(users),
        "llm_calls": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "kb_hits": 0,
        "kb_misses": 0,
        "chains_verified": 0,
        "chains_rejected": 0,
        "chains_proposed": 0,
        "steps": 0,
    }
    return {
        "users": users,
        "stats": counts | stats | {"rejected_by_reason": {"low_score": stats.get("chains_rejected", 0)}},
        "seconds": seconds,
        "sitting": sitting,
        "machine": "AMD EPYC, 2 cores",
        "commit": "abc1234",
    }


def test_a_stage_adds_up_its_chunks_by_half_without_the_time_between_sittings() -> None:
    chunks = [
        chunk([1, 2], 100.0, 1, llm_calls=4, kb_misses=8, chains_rejected=3, prompt_tokens=1000),
        chunk([3], 30.0, 2, llm_calls=1, kb_hits=1, kb_misses=3, chains_rejected=1),
        chunk([4], 50.0, 2, llm_calls=1, kb_hits=3, kb_misses=1),
    ]
    result = summarise([1, 2, 3, 4], chunks)
    assert {key: result[key] for key in ("users", "wall_s", "users_per_hour", "llm_calls_per_user")} == {
        "users": 4,
        "wall_s": 180.0,
        "users_per_hour": 80.0,
        "llm_calls_per_user": 1.5,
    }
    assert (result["kb_hit_rate_first_half"], result["kb_hit_rate_second_half"]) == (0.0, 0.5)
    assert (result["prompt_tokens_per_user"], result["rejected_by_reason"]) == (250.0, {"low_score": 4})
    assert [(p["users"], p["llm_calls"], p["seconds"], p["kb_hit_rate"]) for p in result["kb_curve"]] == [
        (2, 4, 100.0, 0.0),
        (3, 5, 130.0, pytest.approx(1 / 12)),
        (4, 6, 180.0, pytest.approx(4 / 16)),
    ]
    assert (result["sittings"], result["machines"], result["commits"]) == (2, ["AMD EPYC, 2 cores"], ["abc1234"])


def test_a_sitting_starts_no_chunk_its_last_pace_says_would_end_late() -> None:
    sitting = Sitting(chunk_users=10, max_seconds=100.0)
    assert not sitting.spent()
    sitting.chunk_took(150.0)
    assert sitting.spent()
    assert not Sitting(chunk_users=10, max_seconds=None, last_chunk_s=1e9).spent()


def test_the_servers_own_counts_are_summed_per_user_only_when_every_chunk_has_them() -> None:
    counted = [chunk([1, 2], 10.0, 1), chunk([3, 4], 10.0, 1)]
    counted[0]["server"] = {"prompt_tokens_computed": 300.0, "prompt_tokens_cached": 900.0, "prompt_s": 3.0}
    counted[1]["server"] = {"prompt_tokens_computed": 100.0, "prompt_tokens_cached": 300.0, "prompt_s": 1.0}
    result = summarise([1, 2, 3, 4], counted)
    assert result["server_prompt_tokens_computed_per_user"] == 100.0
    assert (result["server_prompt_tokens_cached_per_user"], result["server_prompt_s_per_user"]) == (300.0, 1.0)
    assert "server_generation_s_per_user" not in result  # neither chunk's server reported it
    del counted[1]["server"]  # a chunk from before the bench read the counters
    assert not any(key.startswith("server_") for key in summarise([1, 2, 3, 4], counted))


def test_the_verification_batching_table_sets_the_variants_side_by_side() -> None:
    from reports import sections

    def variant(size: int, calls: float, verified: int) -> dict:
        return {
            "questions_per_call": size,
            "llm_calls_per_user": calls,
            "seconds_per_user": 33.5,
            "server_prompt_tokens_computed_per_user": 2304.7,
            "chains_proposed": 40,
            "chains_verified": verified,
            "verified_rate": verified / 40,
        }

    result = {
        "model": "m",
        "users": 10,
        "max_targets": 4,
        "history_length": 50,
        "tau": 50.0,
        "same_chains": True,
        "machine": {"cpu": "AMD EPYC", "cores": 2, "memory_gib": 23.5, "python": "3.11.7", "commit": "abc1234"},
        "variants": {"one_per_call": variant(1, 13.0, 13), "batched": variant(24, 5.9, 4)},
    }
    lines = sections.verify_batching_section(result).splitlines()
    assert lines[0].endswith("both variants verified the same proposed chains:")
    assert lines[2:] == [
        "| per user | 1 per call | 24 per call |",
        "|---|---:|---:|",
        "| LLM calls | 13.0 | 5.9 |",
        "| seconds | 33.5 | 33.5 |",
        "| prompt tokens the server computed | 2,305 | 2,305 |",
        "| chains verified | 13 of 40 (32%) | 4 of 40 (10%) |",
    ]


def test_a_new_reasoning_result_keeps_the_cost_per_user_of_the_one_it_replaces(tmp_path: Path) -> None:
    from bench.reason import previous_run

    assert previous_run(tmp_path / "reason.json") is None
    optimised = {"users": 200, "llm_calls_per_user": 11.9, "completion_tokens_per_user": 314.0, "users_per_hour": 170.2}
    before = {"machine": {"commit": "9a9606a"}, "stages": {"optimised": optimised}}
    (tmp_path / "reason.json").write_text(json.dumps(before))
    found = previous_run(tmp_path / "reason.json")
    assert found == {
        "commit": "9a9606a",
        "users": 200,
        "llm_calls_per_user": 11.9,
        "computed_prompt_tokens_per_user": None,  # a result from before the bench read the server's counts
        "completion_tokens_per_user": 314.0,
        "users_per_hour": 170.2,
    }
