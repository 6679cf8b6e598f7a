"""The released knowledge base's README is written from the build's journal, never by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import kb_build
from bench.journal import Journal
from reasoning.kb_transfer import TransferReport

pytestmark = pytest.mark.unit


def test_the_readme_states_the_provenance_summed_over_the_journal(tmp_path: Path) -> None:
    fingerprint = {
        "dataset": "ml-1m",
        "model": "qwen2.5-coder-0.5b-instruct",
        "prompt_version": "v3",
        "max_targets": 4,
        "holdout": 1,
        "history_length": 50,
        "verify_style": "numbered",
        "divergent": True,
    }
    journal = Journal.open(tmp_path / "ml-1m.build.json", fingerprint, fresh=False)
    for users, proposed, verified in (([1, 2], 10, 3), ([3, 4], 8, 1)):
        counts = dict.fromkeys(kb_build.SUMMED, 0) | {"chains_proposed": proposed, "chains_verified": verified}
        journal.add_chunk(kb_build.STAGE, counts | {"users": users, "seconds": 1800.0})
    exported = TransferReport("ml-1m", tmp_path / "ml-1m.jsonl.gz", 4, 3, 6, "ab" * 32)
    readme = tmp_path / "README.md"
    kb_build.write_readme(readme, journal, exported)
    text = readme.read_text()
    assert "Holds 4 verified chains, 3 causal edges and the 6 items they name" in text
    assert "reasoning for 4 users (ids 1 to 4, the first by id) with `qwen2.5-coder-0.5b-instruct`" in text
    assert "18 chains proposed, 4 verified (22.2%)" in text
    assert "1.0 hours of reasoning (wall time, pauses included) in 1 sitting," in text
    assert kb_build.totals(journal)["users"] == 4
