"""Reading the LLM server's own counters (`llmrg.services.llm_metrics`), and what the benchmarks conclude from
them: how busy the server was, and where throughput is bounded."""

from __future__ import annotations

from llmrg.services.llm_metrics import read_counters, since

__all__ = ["busy_seconds", "describe_bottleneck", "read_counters", "since"]


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
