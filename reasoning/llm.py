"""Calling an OpenAI-compatible chat model for structured JSON, with accounting and bounded retries.

LangChain's `with_structured_output(schema, method="json_schema", include_raw=True)` sends the schema as
the server's `response_format` (llama.cpp enforces it while decoding) and hands back the raw message next
to the parse result, so a malformed answer is counted and rejected instead of raising. Transient failures
(timeouts, refused connections, HTTP 429 and 5xx) are retried with exponential backoff and jitter; after
the last retry the call raises `LLMUnavailable` and the caller skips that step.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ValidationError

from core.errors import LLMRGError
from core.settings import Settings
from reasoning.prompts import Message

ModelT = TypeVar("ModelT", bound=BaseModel)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
    httpx.TimeoutException,
    httpx.TransportError,
)


class LLMUnavailable(LLMRGError):
    """The endpoint kept failing after every retry."""


class LLMRequestError(LLMRGError):
    """The endpoint refused the request itself (HTTP 4xx other than 429): a configuration problem."""


class LLMOutputRejected(LLMRGError):
    """The answer was not JSON of the requested shape."""


@dataclass
class LLMUsage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    failures: int = 0
    malformed: int = 0

    def add(self, other: LLMUsage) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def build_chat_model(settings: Settings, temperature: float) -> ChatOpenAI:
    """ChatOpenAI against the configured endpoint; its own retries are off because ours are counted."""
    return ChatOpenAI(
        base_url=settings.llm.base_url,
        api_key=settings.llm.api_key,
        model=settings.llm.model,
        temperature=temperature,
        max_tokens=settings.llm.max_output_tokens,
        timeout=settings.llm.timeout_s,
        max_retries=0,
    )


class StructuredLLM:
    """One chat model, asked for JSON matching a schema; every call is counted in `usage`."""

    def __init__(
        self,
        model: BaseChatModel,
        *,
        max_retries: int,
        retry_base_s: float,
        sleep: Callable[[float], None] = time.sleep,
        usage: LLMUsage | None = None,
        throttle: Callable[[], None] | None = None,
    ) -> None:
        self.model = model
        self.throttle = throttle
        """Called before every request: the workers' shared rate limit waits here."""
        self.max_retries = max_retries
        self.retry_base_s = retry_base_s
        self.sleep = sleep
        self.usage = usage if usage is not None else LLMUsage()
        """Shared when several models (chaining at temperature 0, divergence at 0.8) make one run's cost."""

    def ask(self, messages: list[Message], schema: dict[str, Any], parse_as: type[ModelT]) -> ModelT:
        """The parsed answer; raises LLMOutputRejected (malformed) or LLMUnavailable (transient, exhausted)."""
        runnable = self.model.with_structured_output(schema, method="json_schema", include_raw=True)
        for attempt in range(self.max_retries + 1):
            if self.throttle is not None:
                self.throttle()
            try:
                result = runnable.invoke(messages)
                break
            except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
                self.usage.calls += 1
                self._count_tokens(getattr(exc.completion, "usage", None))
                self.usage.malformed += 1
                raise LLMOutputRejected(f"answer cut off ({type(exc).__name__}); JSON incomplete") from exc
            except TRANSIENT_ERRORS as exc:
                if attempt == self.max_retries:
                    self.usage.failures += 1
                    raise LLMUnavailable(f"LLM call failed after {attempt + 1} attempts: {exc}") from exc
                self.usage.retries += 1
                self.sleep(self.retry_base_s * 2**attempt * (1 + random.random()))
            except openai.APIStatusError as exc:
                raise LLMRequestError(f"the LLM endpoint refused the request: {exc}") from exc
        self.usage.calls += 1
        assert isinstance(result, dict)
        usage = getattr(result.get("raw"), "usage_metadata", None) or {}
        self.usage.prompt_tokens += int(usage.get("input_tokens", 0))
        self.usage.completion_tokens += int(usage.get("output_tokens", 0))
        content = getattr(result.get("raw"), "content", None)
        try:  # strictly: LangChain's own parser completes a truncated answer ('{"q1": 3, "q' -> {"q1": 3})
            parsed = json.loads(content) if isinstance(content, str) else None
        except json.JSONDecodeError as exc:
            self.usage.malformed += 1
            raise LLMOutputRejected(f"answer is not complete JSON: {exc}") from exc
        if parsed is None:
            self.usage.malformed += 1
            raise LLMOutputRejected(f"answer is not the requested JSON: {result.get('parsing_error')}")
        try:
            return parse_as.model_validate(parsed)
        except ValidationError as exc:
            self.usage.malformed += 1
            raise LLMOutputRejected(f"answer has the wrong shape: {exc.errors()[0]['msg']}") from exc

    def _count_tokens(self, usage: Any) -> None:
        """Token counts of an OpenAI `CompletionUsage` (answers that never reached LangChain's parser)."""
        self.usage.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        self.usage.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
