"""The knowledge-base file without a database: deterministic bytes, and each malformed line named."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.errors import DataFormatError
from core.vocabulary import ChainKind
from reasoning import evidence, kb_format
from reasoning.chains import Candidate
from reasoning.kb_format import ChainRecord, Evidence, Header, ItemRecord
from tests.fakes.kb_files import chain_file

pytestmark = pytest.mark.unit


def sample() -> tuple[Header, list[Any]]:
    candidate = Candidate("ml-1m", ChainKind.REASONING, (1, 2), 3, ("same studio", "a sequel"), 2, (2,))
    chain = ChainRecord(
        id=candidate.chain_id("m", "chain/v3"),
        kind=ChainKind.REASONING,
        premises=[1, 2],
        target=3,
        recent_premises=[2],
        reasons=["same studio", "a sequel"],
        status="verified",
        score=100.0,
        evidence=[Evidence(id="e1", masks=2, hits=2)],
        model="m",
        prompt_version="chain/v3",
        created_at="2026-12-03T16:00:00Z",
        imagined=None,
    )
    items = [ItemRecord(id=item, title=f"Item {item}") for item in (1, 2, 3)]
    header = Header(
        format="llmrg-knowledge-base",
        version=1,
        dataset="ml-1m",
        model=None,
        prompt_version=None,
        counts={"items": 3, "chains": 1, "edges": 0},
    )
    return header, [*items, chain]


def test_the_same_knowledge_always_writes_the_same_bytes(tmp_path: Path) -> None:
    header, records = sample()
    first = kb_format.write(tmp_path / "a.jsonl.gz", header, records)
    second = kb_format.write(tmp_path / "b.jsonl.gz", header, records)
    assert first == second and (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
    parsed = kb_format.read(tmp_path / "a.jsonl.gz")
    assert parsed.sha256 == first and [chain.id for _, chain in parsed.chains] == [records[-1].id]


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_bytes(gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode()))
    return path


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (lambda lines: lines[4]["evidence"][0].update(hits=5), 5, "5 hits of 2 masks"),
        (lambda lines: lines[4].update(reasons=["only one"]), 5, "1 reasons for 2 links"),
        (lambda lines: lines[4].update(status="rejected"), 5, "status"),
        (lambda lines: lines.pop(1), 4, "items [1] have no item record above this line"),
        (lambda lines: lines[2].pop("title"), 3, "title: Field required"),
    ],
)
def test_a_malformed_line_is_named(tmp_path: Path, change: Any, line: int, message: str) -> None:
    header, records = sample()
    kb_format.write(tmp_path / "kb.jsonl.gz", header, records)
    lines = [json.loads(text) for text in gzip.decompress((tmp_path / "kb.jsonl.gz").read_bytes()).splitlines()]
    change(lines)
    if len(lines) == 4:  # an item record removed: the header's count changes with it, the chain is then line 4
        lines[0]["counts"]["items"] = 2
    bad = write_lines(tmp_path / "bad.jsonl.gz", lines)
    with pytest.raises(DataFormatError, match=re.escape(message)) as raised:
        kb_format.read(bad)
    assert str(raised.value).startswith(f"{bad}:{line}: ")


def test_a_file_that_is_not_a_knowledge_base_says_so(tmp_path: Path) -> None:
    (tmp_path / "plain.txt").write_text("hello\n")
    with pytest.raises(DataFormatError, match="not a gzipped UTF-8 knowledge-base file"):
        kb_format.read(tmp_path / "plain.txt")
    with pytest.raises(DataFormatError, match=":1: empty file"):
        kb_format.read(write_lines(tmp_path / "empty.jsonl.gz", []))


def test_evidence_merges_by_id_and_a_chain_verified_here_has_one_stable_record() -> None:
    own = evidence.own_evidence("c1", "2026-12-03T16:00:00Z", None, 3, 2)
    assert own == evidence.own_evidence("c1", "2026-12-03T16:00:00Z", None, 3, 2)
    assert own.id != evidence.own_evidence("c1", "2026-12-03T16:00:00Z", "2026-12-04T00:00:00Z", 3, 2).id
    other = Evidence(id="other", masks=4, hits=4)
    merged = evidence.merge_evidence([own], [other, own])
    assert merged == [own, other] and evidence.merge_evidence(merged, [other]) == merged
    assert evidence.evidence_properties(merged) | {"evidence_ids": None} == {
        "evidence_ids": None,
        "evidence_masks": [3, 4],
        "evidence_hits": [2, 4],
        "masks": 7,
        "hits": 6,
    }


def test_a_release_combines_one_runs_chains_with_another_runs_pairs(tmp_path: Path) -> None:
    """The benchmark's reasoning joined with the warm start's pairs from the old release: the old release's own
    reasoning chains stay out, with the edges only they supported and the items only they named."""
    bench = chain_file(tmp_path / "bench.jsonl.gz", [(ChainKind.REASONING, [1, 2, 3], "big", "v4")])
    old = chain_file(
        tmp_path / "old.jsonl.gz",
        [(ChainKind.REASONING, [8, 9], "small", "v3"), (ChainKind.PAIR, [2, 5], "big", "v3")],
    )
    parts = [(kb_format.read(bench), None), (kb_format.read(old), frozenset({ChainKind.PAIR}))]
    header, sha256 = kb_format.combine(parts, tmp_path / "release.jsonl.gz")
    release = kb_format.read(tmp_path / "release.jsonl.gz")
    assert release.sha256 == sha256 and dict(header.counts) == {"items": 4, "chains": 2, "edges": 3}
    assert sorted(release.items) == [1, 2, 3, 5]
    assert sorted((chain.kind, chain.prompt_version) for _, chain in release.chains) == [
        (ChainKind.PAIR, "v3"),
        (ChainKind.REASONING, "v4"),
    ]
    assert (header.model, header.prompt_version) == ("big", None)
    assert kb_format.combine(parts, tmp_path / "again.jsonl.gz")[1] == sha256  # deterministic
    rescored = chain_file(tmp_path / "rescored.jsonl.gz", [(ChainKind.REASONING, [1, 2, 3], "big", "v4")], score=50)
    with pytest.raises(DataFormatError, match=r"rescored.jsonl.gz:\d+: chain \w+ differs from the one an earlier"):
        kb_format.combine([*parts, (kb_format.read(rescored), None)], tmp_path / "clash.jsonl.gz")


def test_an_edge_a_kept_and_a_left_out_chain_share_names_only_the_kept_one(tmp_path: Path) -> None:
    """Edge ids do not carry the chain's kind: a pair and a reasoning chain of one model and prompt share the
    edge 2 -> 5, and keeping only pairs must not leave it naming the reasoning chain (read() would refuse)."""
    both = chain_file(
        tmp_path / "both.jsonl.gz", [(ChainKind.REASONING, [1, 2, 5], "m", "v3"), (ChainKind.PAIR, [2, 5], "m", "v3")]
    )
    parsed = kb_format.read(both)
    assert [len(edge.chains) for _, edge in parsed.edges if (edge.source, edge.target) == (2, 5)] == [2]
    header, _ = kb_format.combine([(parsed, frozenset({ChainKind.PAIR}))], tmp_path / "pairs.jsonl.gz")
    pairs = kb_format.read(tmp_path / "pairs.jsonl.gz")
    (pair,) = (chain.id for _, chain in pairs.chains)
    assert [edge.chains for _, edge in pairs.edges] == [[pair]]
    assert dict(header.counts) == {"items": 2, "chains": 1, "edges": 1}
