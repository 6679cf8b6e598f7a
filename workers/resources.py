"""What a worker process keeps between tasks: one Neo4j gateway, one Redis client, the shared LLM rate
limit and the catalogue embedding indexes (slow to build, identical for every task of a dataset).

Built lazily inside the process that runs tasks (never in the prefork parent, whose connections would be
shared by forked children) and closed when that process shuts down.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from langchain_core.language_models import BaseChatModel

from core import gateway
from core.gateway import Neo4jGateway
from core.settings import Settings
from reasoning.embeddings import CatalogueIndex, build_index, load_encoder
from reasoning.llm import LLMUsage, StructuredLLM, build_chat_model
from workers.outcomes import timed_out
from workers.rate_limit import SharedRateLimit

RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


EXTEND_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


@dataclass
class UserLock:
    """At most one delivery of a user's task works at a time (a duplicate waits, then finds nothing to do).

    The lock lives `ttl_s` and a heartbeat thread renews it every third of that while the task runs, so a
    lock held by a killed process frees itself within `ttl_s` and a redelivered task soon proceeds."""

    client: redis.Redis
    key: str
    ttl_s: float
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    _stop: threading.Event = field(default_factory=threading.Event)
    _heartbeat: threading.Thread | None = None

    def acquire(self) -> bool:
        if not self.client.set(self.key, self.token, nx=True, px=int(self.ttl_s * 1000)):
            return False
        self._heartbeat = threading.Thread(target=self._renew, name=f"lock {self.key}", daemon=True)
        self._heartbeat.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            with contextlib.suppress(redis.RedisError):
                self.client.eval(EXTEND_LOCK, 1, self.key, self.token, int(self.ttl_s * 1000))

    def release(self) -> None:
        """Best effort: if Redis is unreachable now, the lock expires on its own."""
        self._stop.set()
        with contextlib.suppress(redis.RedisError):
            self.client.eval(RELEASE_LOCK, 1, self.key, self.token)


class WorkerResources:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._db: Neo4jGateway | None = None
        self._redis: redis.Redis | None = None
        self._catalogues: dict[str, CatalogueIndex] = {}
        self._chat_models: dict[tuple[str, str, float, int], BaseChatModel] = {}
        self._throttle: SharedRateLimit | None = None

    @property
    def db(self) -> Neo4jGateway:
        if self._db is None:
            self._db = gateway.connect(
                self.settings.updated(neo4j={"query_timeout_s": self.settings.workers.neo4j_query_timeout_s})
            )
        return self._db

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis.Redis.from_url(
                self.settings.redis.url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=10
            )
        return self._redis

    def throttle(self) -> Callable[[], None] | None:
        """The LLM rate limit shared by every worker, or None when unlimited."""
        if self.settings.llm.rate_limit_per_min <= 0:
            return None
        if self._throttle is None:
            self._throttle = SharedRateLimit(
                self.redis,
                f"llmrg:ratelimit:llm:{self.settings.llm.base_url}",
                self.settings.llm.rate_limit_per_min,
                self.settings.llm.rate_burst,
            )
        return self._throttle

    def structured_llm(self, settings: Settings, temperature: float, usage: LLMUsage | None = None) -> StructuredLLM:
        """A fresh counter around a chat model built once per process and configuration (building one per
        task costs more than a fast model's answer), behind the shared rate limit."""
        key = (settings.llm.base_url, settings.llm.model, temperature, settings.llm.max_output_tokens)
        if key not in self._chat_models:
            self._chat_models[key] = build_chat_model(settings, temperature)
        return StructuredLLM(
            self._chat_models[key],
            max_retries=settings.llm.max_retries,
            retry_base_s=settings.llm.retry_base_s,
            usage=usage,
            throttle=self.throttle(),
        )

    def user_lock(self, dataset: str, user: int) -> UserLock:
        return UserLock(self.redis, f"llmrg:lock:reason:{dataset}:{user}", self.settings.workers.user_lock_ttl_s)

    def catalogue(self, dataset: str) -> Callable[[], CatalogueIndex]:
        """A factory the engine calls only when divergent extension needs the index; built once per process."""

        def build() -> CatalogueIndex:
            if dataset not in self._catalogues:
                self._catalogues[dataset] = build_index(self.db, self.settings, dataset, load_encoder())
            return self._catalogues[dataset]

        return build

    def recover_from(self, exc: BaseException) -> None:
        """After a failure that ran past the soft time limit, forget the Neo4j driver; the next statement
        connects afresh. The limit is raised wherever the task is, inside the driver's socket code too, and a
        connection left half-written failed the next task of the same process ("BufferError: Existing exports of
        data: object cannot be re-sized", seen in the fan-out test under load): its user was dead-lettered for
        nothing and the letter could not even be stored."""
        if timed_out(exc) and self._db is not None:
            with contextlib.suppress(Exception):
                self._db.close()
            self._db = None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._redis is not None:
            self._redis.close()
            self._redis = None
