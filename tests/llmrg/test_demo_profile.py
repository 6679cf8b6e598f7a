"""The demo reasons with the fast 0.5B profile it was sized with, unless the user chose otherwise; and a local
LLM server that serves another model than the settings name is refused, not silently used."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from core.errors import ServiceError
from core.settings import Settings
from llmrg.demo import FAST_PROFILE, fast_profile
from llmrg.services import llm_server

pytestmark = pytest.mark.unit


def defaults(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for variable, *_ in FAST_PROFILE:
        monkeypatch.delenv(variable, raising=False)
    return Settings.load(env_file=None)


def test_the_demo_takes_the_fast_profile_where_the_user_chose_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    settings, variables = fast_profile(defaults(monkeypatch))
    assert (settings.llm.weights, settings.llm.model) == ("qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct")
    assert (settings.reasoning.prompt_version, settings.reasoning.premise_window) == ("v3", 10)
    assert settings.verify.style == "numbered"
    assert variables["LLMRG_LLM_WEIGHTS"] == "qwen2.5-coder-0.5b" and variables["LLMRG_REASON_PREMISE_WINDOW"] == "10"


def test_the_demo_keeps_what_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = defaults(monkeypatch).updated(llm={"weights": "custom", "model": "custom-chat"}, verify={"options": 5})
    settings, variables = fast_profile(chosen)
    assert (settings.llm.weights, settings.llm.model) == ("custom", "custom-chat")
    assert settings.reasoning.prompt_version == "v3", "left at its default: the profile's"
    assert "LLMRG_LLM_WEIGHTS" not in variables and "LLMRG_LLM_MODEL" not in variables


@pytest.fixture
def models_endpoint() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"data": [{"id": "qwen2.5-coder-0.5b-instruct"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_a_running_server_of_another_model_is_refused(models_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert llm_server.served_models(models_endpoint) == ["qwen2.5-coder-0.5b-instruct"]
    assert llm_server.served_models("http://127.0.0.1:9/v1") == []
    settings = Settings.load(env_file=None).updated(
        llm={"base_url": models_endpoint, "model": "qwen2.5-coder-1.5b-instruct"}
    )
    local = llm_server.LocalLLM(settings)
    monkeypatch.setattr(local, "pid", lambda: 12345)  # "already running"
    monkeypatch.setattr(llm_server.process, "wait_until", lambda check, timeout_s: True)
    with pytest.raises(ServiceError, match=r"serves qwen2\.5-coder-0\.5b-instruct, not qwen2\.5-coder-1\.5b-instruct"):
        local.start()
    same = llm_server.LocalLLM(settings.updated(llm={"model": "qwen2.5-coder-0.5b-instruct"}))
    monkeypatch.setattr(same, "pid", lambda: 12345)
    assert same.start().model == "qwen2.5-coder-0.5b-instruct"
