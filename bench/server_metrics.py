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


def busy_seconds(counters: dict[str, float]) -> float:
    """Seconds spent on prompts and generation."""
    return counters.get("prompt_s", 0.0) + counters.get("generation_s", 0.0)


def describe_bottleneck(busy_share_one_worker: float) -> str:
    """Where reasoning throughput is bounded, from the server's busy seconds per wall second with one worker.

    With one worker the requests arrive one at a time, so this share is the fraction of the time the server
    was computing; near 1, more workers only share its CPU (their requests run side by side in its slots,
    each slower), so they add little."""
    if busy_share_one_worker > 0.8:
        return (
            f"the LLM server (busy {busy_share_one_worker:.0%} of the time with one worker; a second worker's "
            "requests only share its CPU)"
        )
    return f"the workers (the LLM server is idle {1 - busy_share_one_worker:.0%} of the time with one worker)"
