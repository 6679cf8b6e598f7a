"""Where the benchmarks live and write: the checkout's root and the committed results folder. A module of its own,
so that any bench can import them without importing another bench (`bench.graph_server` once took them from
`bench.ingest`, which now uses the graph server's leases: an import cycle)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
