"""Renders the benchmarks' JSON (`bench/results/`) into `docs/RESULTS.md` and its plots: benchmarks measure,
this package only reads what they wrote (`make results`, `python -m reports`)."""
