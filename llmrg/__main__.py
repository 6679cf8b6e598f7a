"""`python -m llmrg ...`: the same CLI as the `llmrg` script, for callers that hold an interpreter path (benchmarks
starting child runs) rather than an installed script."""

from llmrg.cli import app

app()
