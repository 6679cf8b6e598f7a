"""Celery configuration and the reliability rules `llmrg doctor` and `llmrg worker` enforce."""

from __future__ import annotations

import neo4j.exceptions
import pytest
from celery.exceptions import SoftTimeLimitExceeded

from core.settings import for_dataset
from reasoning.options import ReasoningOptions
from tests.conftest import make_settings
from workers.config import celery_config, reliability_problems
from workers.outcomes import error_text, next_attempt, timed_out
from workers.runs import RunStatus, outcome

pytestmark = pytest.mark.unit


def test_defaults_are_consistent_and_map_to_celery_options() -> None:
    settings = make_settings()
    assert reliability_problems(settings) == []
    config = celery_config(settings)
    assert config["task_acks_late"] is True and config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["task_soft_time_limit"] < config["task_time_limit"]
    assert config["broker_transport_options"]["visibility_timeout"] > config["task_time_limit"]
    assert config["broker_url"] == config["result_backend"] == settings.redis.url
    assert {name: route["queue"] for name, route in config["task_routes"].items()} == {
        "llmrg.reason_user": "reasoning",
        "llmrg.verify_chain": "reasoning",
        "llmrg.train": "training",
    }
    assert config["beat_schedule"]["refresh-knowledge-base"]["task"] == "llmrg.refresh_knowledge_base"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"task_soft_time_limit_s": 100, "task_time_limit_s": 100}, "LLMRG_TASK_SOFT_TIME_LIMIT_S"),
        ({"visibility_timeout_s": 1800}, "LLMRG_BROKER_VISIBILITY_TIMEOUT_S"),
        ({"retry_backoff_max_s": 9000}, "LLMRG_BROKER_VISIBILITY_TIMEOUT_S"),
        ({"acks_late": False}, "LLMRG_WORKER_ACKS_LATE"),
        ({"reject_on_lost": False}, "LLMRG_WORKER_REJECT_ON_LOST"),
        ({"prefetch_multiplier": 4}, "LLMRG_WORKER_PREFETCH"),
        ({"retry_backoff_s": 700}, "LLMRG_TASK_RETRY_BACKOFF_S"),
        ({"task_soft_time_limit_s": 20, "task_time_limit_s": 30, "neo4j_query_timeout_s": 5}, "NEO4J_RETRY_TIME_S"),
        ({"neo4j_query_timeout_s": 300}, "LLMRG_WORKER_NEO4J_QUERY_TIMEOUT_S"),
    ],
)
def test_each_inconsistency_is_named(overrides: dict[str, object], named: str) -> None:
    problems = reliability_problems(make_settings(workers=overrides))
    assert len(problems) == 1 and named in problems[0]


def test_run_options_override_only_what_they_set() -> None:
    settings = make_settings(divergent={"enabled": False}, kb={"enabled": True})
    kept = ReasoningOptions().apply(settings)
    assert (kept.divergent.enabled, kept.kb.enabled, kept.verify.enabled) == (False, True, True)
    naive = ReasoningOptions(divergent=True, naive=True).apply(settings)
    assert (naive.divergent.enabled, naive.kb.enabled, naive.reasoning.steps_per_call) == (True, False, 1)
    assert ReasoningOptions.from_dict(ReasoningOptions(kb=False).as_dict()) == ReasoningOptions(kb=False)
    with pytest.raises(ValueError, match="unknown run options"):
        ReasoningOptions.from_dict({"verfy": False})


def test_run_options_shorten_the_reasoning_window_for_every_dataset() -> None:
    settings = make_settings()
    short = ReasoningOptions(max_targets=2, history_length=12).apply(settings)
    assert short.reasoning.max_targets == 2
    assert {for_dataset(short.reasoning.history_length, name) for name in ("ml-1m", "beauty", "other")} == {12}
    assert for_dataset(settings.reasoning.history_length, "ml-1m") == 50  # the original is untouched
    assert ReasoningOptions(holdout=1).apply(settings).reasoning.holdout == 1
    carried = ReasoningOptions(max_targets=0, history_length=12, holdout=2)
    assert ReasoningOptions.from_dict(carried.as_dict()) == carried
    with pytest.raises(ValueError, match="history_length must be at least 2"):
        ReasoningOptions(history_length=1)
    with pytest.raises(ValueError, match="holdout must be 0"):
        ReasoningOptions(holdout=-1)


@pytest.mark.parametrize(
    ("done", "failed", "status"),
    [(3, 0, RunStatus.SUCCESS), (2, 1, RunStatus.PARTIAL), (0, 3, RunStatus.FAILED), (1, 1, RunStatus.RUNNING)],
)
def test_run_outcome(done: int, failed: int, status: RunStatus) -> None:
    assert outcome({"users_total": 3, "users_done": done, "users_failed": failed}) is status


def server_error(code: str) -> neo4j.exceptions.Neo4jError:
    """An error as the driver builds it from a server FAILURE message."""
    return neo4j.exceptions.Neo4jError._hydrate_neo4j(code=code, message="from the server")


def raised_during(cleanup_error: BaseException, interrupt: BaseException) -> BaseException:
    """`cleanup_error` raised while handling `interrupt`, as the driver's rollback does after a soft time limit."""
    try:
        try:
            raise interrupt
        except type(interrupt):
            raise cleanup_error  # noqa: B904 (the implicit context is what is tested)
    except type(cleanup_error) as exc:
        return exc
    raise AssertionError("unreachable")


def test_which_failures_are_retried_and_how_often() -> None:
    settings = make_settings(workers={"max_retries": 3}).workers
    stalled = server_error("Neo.ClientError.Transaction.LockClientStopped")
    refused = server_error("Neo.ClientError.Statement.SyntaxError")
    wrapped = raised_during(server_error("Neo.ClientError.Transaction.LockClientStopped"), SoftTimeLimitExceeded())

    assert next_attempt(settings, stalled, failures=0) is not None
    assert next_attempt(settings, stalled, failures=3) is None  # the cap
    assert next_attempt(settings, refused, failures=0) is None
    assert next_attempt(settings, ValueError("a bug"), failures=0) is None
    assert timed_out(wrapped) and not timed_out(stalled)
    assert error_text(wrapped).startswith("SoftTimeLimitExceeded, then ClientError")
    for timeout in (SoftTimeLimitExceeded(), wrapped):
        assert next_attempt(settings, timeout, failures=0, timeouts=0) is not None
        assert next_attempt(settings, timeout, failures=1, timeouts=1) is None  # a second time out
