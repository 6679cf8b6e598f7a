"""The LLM rate limit shared through Redis holds across independent clients (as across workers)."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from core.settings import Settings
from workers.rate_limit import SharedRateLimit

pytestmark = pytest.mark.integration


def test_two_clients_together_stay_within_the_rate(services: Settings) -> None:
    key = f"llmrg:test:ratelimit:{time.time_ns()}"
    per_minute, seconds = 600.0, 2.0  # 10 per second
    granted: list[float] = []  # grant times; the count is what the limit bounds
    lock = threading.Lock()

    def hammer() -> None:
        limiter = SharedRateLimit(redis.Redis.from_url(services.redis.url), key, per_minute, burst=1)
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            limiter.acquire()
            with lock:
                granted.append(time.monotonic())

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 18 <= len(granted) <= 22, f"{len(granted)} requests in {seconds} s at 10/s"


def test_a_refused_request_is_told_how_long_to_wait(services: Settings) -> None:
    key = f"llmrg:test:ratelimit:{time.time_ns()}"
    limiter = SharedRateLimit(redis.Redis.from_url(services.redis.url), key, per_minute=60.0, burst=2)
    assert limiter.try_acquire() == 0.0
    assert limiter.try_acquire() == 0.0, "burst 2 lets a second request through at once"
    wait = limiter.try_acquire()
    assert 0.9 < wait <= 1.0
    with pytest.raises(ValueError, match="positive"):
        SharedRateLimit(redis.Redis.from_url(services.redis.url), key, per_minute=0)
