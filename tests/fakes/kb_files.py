"""Knowledge-base files written without a database, for tests that combine or release them."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from core.vocabulary import ChainKind
from reasoning import kb_format
from reasoning.chains import Candidate, edge_id
from reasoning.kb_format import ChainRecord, EdgeRecord, Evidence, Header, ItemRecord


def chain_file(path: Path, chains: list[tuple[ChainKind, list[int], str, str]], score: float = 100.0) -> Path:
    """A file of verified chains (kind, items, model, prompt version), each with its links as edges."""
    records: dict[str, Any] = {}
    for kind, items, model, version in chains:
        premises, target = items[:-1], items[-1]
        reasons = tuple(f"link into {item}" for item in items[1:])
        chain_id = Candidate("ml-1m", kind, tuple(premises), target, reasons, 0, ()).chain_id(model, version)
        records[chain_id] = ChainRecord(
            id=chain_id,
            kind=kind,
            premises=premises,
            target=target,
            recent_premises=[],
            reasons=list(reasons),
            status="verified",
            score=score,
            evidence=[Evidence(id=f"e-{chain_id}", masks=1, hits=1)],
            model=model,
            prompt_version=version,
            created_at="2026-12-03T16:00:00Z",
            imagined=None,
        )
        for source, end in pairwise(items):
            edge = EdgeRecord(
                id=edge_id("ml-1m", source, end, model, version),
                source=source,
                target=end,
                reason=f"link into {end}",
                model=model,
                prompt_version=version,
                created_at="2026-12-03T16:00:00Z",
                chains=[chain_id],
            )
            if (shared := records.get(edge.id)) is not None:  # one edge, held by several chains' links
                edge = shared.model_copy(update={"chains": sorted({*shared.chains, chain_id})})
            records[edge.id] = edge
    named = sorted({item for _, items, _, _ in chains for item in items})
    chain_records = sorted((r for r in records.values() if isinstance(r, ChainRecord)), key=lambda r: r.id)
    edge_records = sorted((r for r in records.values() if isinstance(r, EdgeRecord)), key=lambda r: r.id)
    counts = {"items": len(named), "chains": len(chain_records), "edges": len(edge_records)}
    header = Header(
        format="llmrg-knowledge-base", version=1, dataset="ml-1m", model=None, prompt_version=None, counts=counts
    )
    items = [ItemRecord(id=item, title=f"Item {item}") for item in named]
    kb_format.write(path, header, [*items, *chain_records, *edge_records])
    return path
