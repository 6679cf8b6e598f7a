"""Journals for benchmarks (`core.journal`, where the knowledge-base warm start uses them too) and the chunk plan
the reasoning benchmarks share."""

from __future__ import annotations

from core.journal import Journal, JournalMismatch

__all__ = ["Journal", "JournalMismatch", "plan_chunks"]


def plan_chunks(users: list[int], chunk_users: int) -> list[list[int]]:
    """Consecutive chunks of at most `chunk_users`, none straddling the middle of `users`, so the first and
    second half's knowledge-base hit rates are sums of whole chunks."""
    if chunk_users < 1:
        raise ValueError(f"chunk size must be at least 1, got {chunk_users}")
    half = len(users) // 2
    return [
        part[offset : offset + chunk_users]
        for part in (users[:half], users[half:])
        for offset in range(0, len(part), chunk_users)
    ]
