"""What the local llama.cpp server itself counts (its Prometheus `/metrics`): prompt tokens it computed, the
ones its prompt cache spared it, and the seconds it spent on prompts and on generating.

The API's `usage` counts every prompt token sent; with a prompt cache most of them cost nothing, so the
benchmarks report the server's own counts beside it: they are what a call costs on this machine.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

COUNTER = re.compile(r"^llamacpp:(\w+)_total\s+([0-9.eE+-]+)$", re.MULTILINE)
NAMES = {
    "prompt_tokens": "prompt_tokens_computed",
    "prompt_tokens_cached": "prompt_tokens_cached",
    "prompt_seconds": "prompt_s",
    "tokens_predicted_seconds": "generation_s",
}


def read_counters(base_url: str) -> dict[str, float]:
    """The server's counters since it started, under our names; those it does not report are absent (all of
    them for an endpoint without `/metrics`, such as a hosted API)."""
    try:
        with urllib.request.urlopen(base_url.removesuffix("/v1") + "/metrics", timeout=10) as response:
            text = response.read().decode()
    except urllib.error.URLError:
        return {}
    return {NAMES[name]: float(value) for name, value in COUNTER.findall(text) if name in NAMES}


def since(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in after if name in before}
