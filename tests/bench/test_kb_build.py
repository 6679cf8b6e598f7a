"""The released knowledge base's README is written from the build's journal, never by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import kb_build
from bench import reason as bench_reason
from bench.journal import Journal
from reasoning import warm_run
from reasoning.kb_transfer import TransferReport
from tests.conftest import make_settings

pytestmark = pytest.mark.unit

FINGERPRINT = {
    "dataset": "ml-1m",
    "model": "qwen2.5-coder-0.5b-instruct",
    "prompt_version": "v3",
    "max_targets": 4,
    "holdout": 1,
    "history_length": 50,
    "verify_style": "numbered",
    "divergent": True,
}


def test_the_readme_states_the_provenance_summed_over_the_journal(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "ml-1m.build.json", FINGERPRINT, fresh=False)
    for users, proposed, verified in (([1, 2], 10, 3), ([3, 4], 8, 1)):
        counts = dict.fromkeys(kb_build.SUMMED, 0) | {"chains_proposed": proposed, "chains_verified": verified}
        journal.add_chunk(kb_build.STAGE, counts | {"users": users, "seconds": 1800.0})
    exported = TransferReport("ml-1m", tmp_path / "ml-1m.jsonl.gz", 4, 3, 6, "ab" * 32)
    readme = tmp_path / "README.md"
    kb_build.write_readme(readme, kb_build.build_provenance(journal), exported)
    text = readme.read_text()
    assert "Holds 4 verified chains, 3 causal edges and the 6 items they name" in text
    assert "for 4 users (ids 1 to 4, the first by id) with `qwen2.5-coder-0.5b-instruct`" in text
    assert "18 chains proposed, 4 verified (22.2%)" in text
    assert "1.0 hours of reasoning (wall time, pauses included) in 1 sitting," in text
    assert kb_build.totals(journal)["users"] == 4


def test_the_readme_states_the_warm_start_from_its_journal(tmp_path: Path) -> None:
    build = Journal.open(tmp_path / "ml-1m.build.json", FINGERPRINT, fresh=False)
    counts = dict.fromkeys(kb_build.SUMMED, 0) | {"chains_proposed": 4, "chains_verified": 1}
    build.add_chunk(kb_build.STAGE, counts | {"users": [1], "seconds": 60.0})
    options = warm_run.WarmOptions(pairs=80)
    settings = make_settings()
    warm = Journal.open(
        kb_build.warm_journal_path(tmp_path, "ml-1m"), options.fingerprint(settings, "ml-1m"), fresh=False
    )
    warm.stage(warm_run.STAGE)["ceiling"] = {"pairs": 80, "share": 0.2, "test_share": 0.25}
    for chunk, (verified, placebo) in enumerate(((30, 2), (20, 3))):
        side = {"asked": 40, "refused": 1, "refused_by_reason": {"names_item": 1}, "failed": 0}
        coverage = {"steps": 1000, "covered": 100 * (chunk + 1), "share": 0.1 * (chunk + 1), "test_steps": 10}
        warm.add_chunk(
            warm_run.STAGE,
            dict.fromkeys(warm_run.SUMMED, 10)
            | {
                "chunk": chunk,
                "ranks": [40 * chunk, 40 * chunk + 39],
                "real": side | {"verified": verified},
                "placebo": side | {"asked": 10, "verified": placebo},
                "edges": 50 * (chunk + 1),
                "coverage": coverage | {"test_covered": chunk + 1, "test_share": 0.1 * (chunk + 1)},
            },
        )
    exported = TransferReport("ml-1m", tmp_path / "ml-1m.jsonl.gz", 51, 50, 60, "ab" * 32)
    kb_build.write_readme(tmp_path / "README.md", kb_build.build_provenance(build), exported)
    text = " ".join((tmp_path / "README.md").read_text().split())
    assert "the 80 most frequent ordered item pairs" in text
    assert "50 of 80 verified (62.5%), beside 5 of 20 placebo pairs (25.0%" in text
    assert "cover 20.0% of the steps" in text and "20.0% of the test targets" in text
    assert "would cover 20.0% and 25.0% if every one held" in text


def test_datasets_built_into_one_folder_keep_their_own_readme_sections(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    for dataset, users in (("ml-1m", [1, 2]), ("beauty", [7]), ("ml-1m", [1, 2, 3])):
        journal = Journal.open(tmp_path / f"{dataset}.build.json", FINGERPRINT | {"dataset": dataset}, fresh=False)
        counts = dict.fromkeys(kb_build.SUMMED, 0) | {"chains_proposed": 2, "chains_verified": 1}
        journal.add_chunk(kb_build.STAGE, counts | {"users": users[-1:], "seconds": 60.0})
        exported = TransferReport(dataset, tmp_path / f"{dataset}.jsonl.gz", 1, 1, 2, "ab" * 32)
        kb_build.write_readme(readme, kb_build.build_provenance(journal), exported)
    text = readme.read_text()
    sections = kb_build.readme_sections(text)
    assert list(sections) == ["beauty", "ml-1m"] and text.count(kb_build.README_TITLE) == 1
    assert "Import it with `llmrg kb import data/kb/beauty.jsonl.gz`" in sections["beauty"]
    assert "for 2 users" in sections["ml-1m"]  # the ml-1m journal's two chunks, rewritten in place
    assert kb_build.readme_text(sections) == text
    assert kb_build.warm_result_path("beauty", tmp_path) == tmp_path / "kb_warm-beauty.json"


def test_a_release_takes_its_reasoning_from_the_reasoning_benchmarks_run(tmp_path: Path) -> None:
    """ML-1M's release is the reasoning bench's knowledge base (as its last chunk exported it) plus the warm
    start's pairs from this command's database; that database's own older reasoning stays out, a bench file
    that is not the one the journal names is refused, and the README names the bench's run and settings."""
    from core.errors import ConfigError, DataFormatError
    from core.vocabulary import ChainKind
    from reasoning import kb_format
    from tests.fakes.kb_files import chain_file

    journal = tmp_path / "reason-run" / "ml-1m.json"
    journal.parent.mkdir()
    run_chains = [  # the run holds the warm start's pairs too: the release takes pairs from `exported` only
        (ChainKind.REASONING, [1, 2, 3], "qwen2.5-coder-1.5b-instruct", "v4"),
        (ChainKind.PAIR, [7, 9], "qwen2.5-coder-1.5b-instruct", "v3"),
    ]
    bench_kb = chain_file(bench_reason.kb_file(journal, bench_reason.KB_STAGE), run_chains)
    stats = dict.fromkeys(kb_build.SUMMED, 0) | {"chains_proposed": 5, "chains_verified": 2, "llm_calls": 9}
    stats |= {"users": 2, "rejected_by_reason": {}}  # as every chunk of the bench records them
    settings = make_settings()
    fingerprint = bench_reason_fingerprint(settings)
    chunk = {
        "users": [1, 2],
        "stats": stats,
        "seconds": 360.0,
        "sitting": 1,
        "machine": "Test CPU",
        "commit": "abc1234",
    }
    stored = Journal.open(journal, fingerprint, fresh=False)
    stored.add_chunk(bench_reason.KB_STAGE, chunk | {"kb_sha256": kb_format.read(bench_kb).sha256})
    out = tmp_path / "kb"
    out.mkdir()
    database = chain_file(
        out / ".ml-1m.database.jsonl.gz",
        [(ChainKind.REASONING, [8, 9], "qwen2.5-coder-0.5b-instruct", "v3"), (ChainKind.PAIR, [2, 5], "x", "v3")],
    )
    exported = TransferReport("ml-1m", database, 2, 2, 4, kb_format.read(database).sha256)
    released = kb_build.release(out, "ml-1m", exported, journal)
    assert (released.path, released.chains, released.edges, released.items) == (out / "ml-1m.jsonl.gz", 2, 3, 4)
    kinds = sorted(chain.kind for _, chain in kb_format.read(released.path).chains)
    assert kinds == [ChainKind.PAIR, ChainKind.REASONING]
    text = " ".join((out / "README.md").read_text().split())
    assert "Reasoning: the reasoning benchmark's run (`make bench-reason`" in text
    assert f"1,000 users planned), for 2 users (ids 1 to 2, the first by id) with `{settings.llm.model}`" in text
    assert "5 chains proposed, 2 verified (40.0%)" in text and "0.1 hours" in text
    assert "in 1 sitting, the last on Test CPU, at commit `abc1234`" in text  # the run's machine, not this one
    assert "warm start below" not in text
    warm = {"file": "data/kb/ml-1m.jsonl.gz", "pair_chains": 1, "edges": 1, "sha256": "f"}
    later = chunk | {"users": [3, 4], "kb_sha256": kb_format.read(bench_kb).sha256, "warm_start": warm}
    stored.add_chunk(bench_reason.KB_STAGE, later)
    counted = later | {"users": [5, 6], "stats": stats | {"kb_edge_hits_warm_start": 2}}
    stored.add_chunk(bench_reason.KB_STAGE, counted)
    kb_build.release(out, "ml-1m", exported, journal)
    text = " ".join((out / "README.md").read_text().split())
    assert (
        "over 0 steps; from user 3 on, the run's knowledge base also held the warm start below, whose pairs helped "
        "answer 2 of its steps (counted from user 5 on)." in text
    )
    alone = kb_build.release(out, "ml-1m", None, journal)  # no release yet: the bench's reasoning alone
    assert (alone.chains, alone.edges, alone.items) == (1, 2, 3)
    with pytest.raises(ConfigError, match="takes its reasoning from the reasoning benchmark's run"):
        kb_build.build(settings, "ml-1m", 10, 10, out, bench_run=journal)
    chain_file(bench_kb, [(ChainKind.REASONING, [1, 3], "qwen2.5-coder-1.5b-instruct", "v4")])  # not the journal's
    with pytest.raises(DataFormatError, match="not the knowledge base the last chunk"):
        kb_build.release(out, "ml-1m", exported, journal)
    assert kb_build.bench_journal("beauty", journal) is None
    # finished: the bench retires its journal with its knowledge base, and a new run's empty journal changes nothing
    chain_file(bench_kb, run_chains)
    finished = Journal.open(journal, fingerprint, fresh=False).retire()
    bench_kb.replace(bench_reason.kb_file(finished, bench_reason.KB_STAGE))
    Journal.open(journal, fingerprint, fresh=True)
    assert kb_build.bench_journal("ml-1m", journal) == finished
    assert kb_build.release(out, "ml-1m", None, journal).sha256 == alone.sha256


def bench_reason_fingerprint(settings: Any) -> dict[str, Any]:
    import argparse

    arguments = argparse.Namespace(users=1000, naive_users=5, chunk_users=10)
    return bench_reason.fingerprint(settings, arguments)
