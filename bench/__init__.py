"""Benchmarks (`make bench`): each prints a table, writes bench/results/<name>.json and a PNG plot."""
