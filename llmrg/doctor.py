"""`llmrg doctor`: is everything this project needs reachable, the right version and set up?"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

import redis

from core import gateway
from core.errors import LLMRGError
from core.settings import Settings
from workers.config import reliability_problems

SUPPORTED_NEO4J_PREFIX = "5."


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(settings: Settings) -> list[Check]:
    return [
        *_neo4j_checks(settings),
        _browser_check(settings),
        _redis_check(settings),
        _llm_check(settings),
        _worker_reliability_check(settings),
    ]


def _worker_reliability_check(settings: Settings) -> Check:
    """Late acks, redelivery on a lost worker, prefetch 1 and time limits that fit the visibility timeout."""
    problems = reliability_problems(settings)
    if problems:
        return Check("worker settings", False, "; ".join(problems))
    return Check(
        "worker settings",
        True,
        f"acks late, redelivered when lost, prefetch 1, limits {settings.workers.task_soft_time_limit_s:g}/"
        f"{settings.workers.task_time_limit_s:g} s < visibility {settings.workers.visibility_timeout_s:g} s",
    )


def as_json(checks: list[Check]) -> dict[str, object]:
    return {"ok": all(check.ok for check in checks), "checks": [asdict(check) for check in checks]}


def _neo4j_checks(settings: Settings) -> list[Check]:
    try:
        with gateway.open_gateway(settings) as db:
            component = db.run("admin/server_components")[0]
            version, edition = component["version"], component["edition"]
            present = gateway.present_schema_names(db)
    except LLMRGError as exc:
        return [Check("neo4j", False, str(exc))]
    missing = sorted(gateway.expected_schema_names() - present)
    return [
        Check("neo4j", True, f"{settings.neo4j.uri} as {settings.neo4j.username}"),
        Check(
            "neo4j version", version.startswith(SUPPORTED_NEO4J_PREFIX), f"Neo4j {version} {edition} (supported: 5.x)"
        ),
        Check(
            "schema",
            not missing,
            "all constraints and indexes present"
            if not missing
            else f"missing {missing}; run `llmrg up` or `llmrg ingest` to create them",
        ),
    ]


def _browser_check(settings: Settings) -> Check:
    url = settings.neo4j.browser_url
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            ok = response.status == 200 and b"Neo4j Browser" in response.read(4096)
    except (urllib.error.URLError, OSError) as exc:
        return Check("neo4j browser", False, f"{url} not served ({exc})")
    return Check("neo4j browser", ok, url if ok else f"{url} does not serve the Neo4j Browser")


def _llm_check(settings: Settings) -> Check:
    """The chat model answers `/v1/models` at the configured endpoint (any OpenAI-compatible server)."""
    request = urllib.request.Request(
        settings.llm.base_url.rstrip("/") + "/models",
        headers={"Authorization": f"Bearer {settings.llm.api_key.get_secret_value()}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        hint = "start it with `llmrg up`" if settings.llm.is_local else "check LLMRG_LLM_BASE_URL / OPENAI_API_KEY"
        return Check("llm", False, f"{settings.llm.base_url} not reachable ({exc}); {hint}")
    return Check("llm", ok, f"{settings.llm.base_url} model {settings.llm.model}")


def _redis_check(settings: Settings) -> Check:
    try:
        client = redis.Redis.from_url(settings.redis.url, socket_connect_timeout=3, socket_timeout=3)
        version = client.info("server")["redis_version"]
    except (redis.RedisError, OSError) as exc:
        return Check("redis", False, f"{settings.redis.url} not reachable ({exc}); start it with `llmrg up`")
    return Check("redis", True, f"{settings.redis.url} (Redis {version})")
