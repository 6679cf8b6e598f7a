"""A request rate limit shared by every worker process and machine, held in Redis.

A per-process token bucket would let N workers send N times the allowed rate; here all of them take turns
on one key. The algorithm is GCRA (the generic cell rate algorithm): the key holds the theoretical arrival
time (TAT) of the next request; a request may go when `now >= TAT - burst_tolerance`, and then moves TAT
on by one emission interval. Time comes from the Redis server, so clocks of different machines never
disagree about it. One atomic Lua script per attempt; a refused caller sleeps for exactly the wait the
script returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then
  return allow_at - now
end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil((tat + interval - now) / 1000) + 1000)
return 0
"""


class SharedRateLimit:
    """At most `per_minute` acquisitions per minute across every process using `key`, bursts of `burst`."""

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        per_minute: float,
        burst: int = 1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive; use no limiter for an unlimited rate")
        self.key = key
        self.interval_us = int(60_000_000 / per_minute)
        self.tolerance_us = self.interval_us * (burst - 1)
        self.sleep = sleep
        self._script = client.register_script(GCRA)
        self.waited_s = 0.0

    def try_acquire(self) -> float:
        """0.0 when a request may go now (and counts it), else the seconds to wait before asking again."""
        wait_us = int(self._script(keys=[self.key], args=[self.interval_us, self.tolerance_us]))
        return wait_us / 1_000_000

    def acquire(self) -> None:
        """Block until this process may send one request."""
        while (wait_s := self.try_acquire()) > 0:
            self.waited_s += wait_s
            self.sleep(wait_s)

    __call__ = acquire
