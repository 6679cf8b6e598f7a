"""`python -m reports`: render docs/RESULTS.md and its plots from bench/results/*.json."""

from reports.results_doc import main

main()
