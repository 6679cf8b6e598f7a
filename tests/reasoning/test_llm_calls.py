"""The LLM plumbing against a scripted OpenAI-compatible server: parsing, accounting, retries, faults."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from core.settings import Settings
from reasoning.llm import LLMOutputRejected, LLMRequestError, LLMUnavailable, StructuredLLM, build_chat_model
from reasoning.schemas import VerifyAnswer
from reasoning.verification import verify_schema
from tests.conftest import make_settings
from tests.fakes.openai_server import Reply, ScriptedOpenAI

pytestmark = [pytest.mark.unit, pytest.mark.fault]

GOOD = json.dumps({"q1": 3})
MESSAGES = [("system", "s"), ("human", "h")]


@pytest.fixture()
def server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI().running() as running:
        yield running


def llm_for(url: str, **overrides: object) -> tuple[StructuredLLM, list[float]]:
    settings: Settings = make_settings(llm={"base_url": url, "timeout_s": 2.0, **overrides})
    sleeps: list[float] = []
    llm = StructuredLLM(
        build_chat_model(settings, 0.0), max_retries=settings.llm.max_retries, retry_base_s=0.01, sleep=sleeps.append
    )
    return llm, sleeps


def ask(llm: StructuredLLM) -> VerifyAnswer:
    return llm.ask(MESSAGES, verify_schema(make_settings(), {"q1": [0, 1, 2, 3]}), VerifyAnswer)


def test_answer_is_parsed_and_tokens_counted(server: ScriptedOpenAI) -> None:
    server.script(Reply(GOOD, prompt_tokens=321, completion_tokens=12))
    llm, _ = llm_for(server.base_url)
    assert ask(llm).root == {"q1": 3}
    assert (llm.usage.calls, llm.usage.prompt_tokens, llm.usage.completion_tokens) == (1, 321, 12)
    request = server.requests[0]
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["name"] == "verify_answer"
    assert request["response_format"]["json_schema"]["schema"]["properties"] == {"q1": {"enum": [0, 1, 2, 3]}}
    assert request["temperature"] == 0.0


@pytest.mark.parametrize(
    "reply",
    [
        Reply("this is not JSON"),
        Reply('{"q1": 3, "q'),
        Reply('{"q1": 3, "q', finish_reason="length"),
        Reply(json.dumps({"q1": "three"})),
        Reply(json.dumps({"verdict": "yes"})),
    ],
    ids=["non-json", "truncated", "cut-off-by-length", "wrong-type", "wrong-schema"],
)
def test_malformed_answers_are_rejected_and_counted(server: ScriptedOpenAI, reply: Reply) -> None:
    server.script(reply)
    llm, _ = llm_for(server.base_url)
    with pytest.raises(LLMOutputRejected):
        ask(llm)
    assert (llm.usage.calls, llm.usage.malformed, llm.usage.prompt_tokens) == (1, 1, 100)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_transient_http_errors_are_retried_with_backoff(server: ScriptedOpenAI, status: int) -> None:
    server.script(Reply(status=status), Reply(status=status), Reply(GOOD))
    llm, sleeps = llm_for(server.base_url)
    assert ask(llm).root == {"q1": 3}
    assert (llm.usage.calls, llm.usage.retries, len(server.requests)) == (1, 2, 3)
    assert 0.01 <= sleeps[0] <= 0.02 and 0.02 <= sleeps[1] <= 0.04


def test_persistent_failure_gives_up_after_the_retry_cap(server: ScriptedOpenAI) -> None:
    server.script(*[Reply(status=503)] * 5)
    llm, sleeps = llm_for(server.base_url, max_retries=2)
    with pytest.raises(LLMUnavailable, match="after 3 attempts"):
        ask(llm)
    assert (len(server.requests), llm.usage.failures, llm.usage.calls, len(sleeps)) == (3, 1, 0, 2)


def test_timeout_is_transient(server: ScriptedOpenAI) -> None:
    server.script(Reply(GOOD, delay_s=3.0), Reply(GOOD))
    llm, _ = llm_for(server.base_url)
    assert ask(llm).root == {"q1": 3}
    assert llm.usage.retries == 1


def test_connection_refused_is_transient_then_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    llm, sleeps = llm_for(f"http://127.0.0.1:{port}/v1", max_retries=1)
    with pytest.raises(LLMUnavailable):
        ask(llm)
    assert (llm.usage.failures, len(sleeps)) == (1, 1)


def test_client_errors_are_not_retried(server: ScriptedOpenAI) -> None:
    server.script(Reply(status=400))
    llm, _ = llm_for(server.base_url)
    with pytest.raises(LLMRequestError, match="400"):
        ask(llm)
    assert len(server.requests) == 1
