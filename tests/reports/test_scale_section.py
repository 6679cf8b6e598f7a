"""The scale benchmark's section: both runs side by side, the faults, and a plain verdict."""

from __future__ import annotations

from typing import Any

import pytest

from reports import sections

pytestmark = pytest.mark.unit


def result(differing: dict[str, Any]) -> dict[str, Any]:
    machine = {"cpu": "cpu", "cores": 2, "memory_gib": 23, "python": "3.11", "commit": "abc1234"}
    stored = {"chains": 24160, "accepted_links": 24160}

    def run(status: str, retries: int) -> dict[str, Any]:
        run = {"status": status, "users_done": 6040, "retries": retries, "dead_letters": 0}
        return {"run": run, "stored": stored, "users_per_min": 300.0, "redelivered": 2 * retries}

    faulted = run("success", 3) | {
        "faults": [{"fault": "worker", "at_s": 300.2, "users_ended": 1510, "outage_s": 4.6}],
    }
    checks = {"both_success": True, "stored_equal": not differing}
    return {
        "users": 6040,
        "dataset": "ml-1m",
        "workers": 2,
        "machine": machine,
        "settings": {"max_targets": 4},
        "clean": run("success", 0),
        "faulted": faulted,
        "checks": checks,
        "differing": differing,
    }


def test_the_section_shows_both_runs_the_faults_and_the_verdict() -> None:
    text = sections.scale_section(result({}))
    assert "| with faults | success | 6,040 | 300 | 3 | 6 | 0 | 24,160 | 24,160 |" in text
    assert "worker at 300 s (1,510 users ended, out 5 s)" in text
    assert "Every check passed" in text
    failed = sections.scale_section(result({"chains": [24160, 24152]}))
    assert "**Failed checks: stored_equal**" in failed and "[24160, 24152]" in failed
