"""Real `llmrg worker` / `llmrg beat` processes for the integration tests, with their own environment."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LLMRG = str(Path(sys.executable).with_name("llmrg"))
"""Defined here rather than imported from conftest, so a benchmark can start workers without the test
environment that importing conftest sets."""

FAST_RELIABILITY = {
    "LLMRG_TASK_SOFT_TIME_LIMIT_S": "15",
    "LLMRG_TASK_TIME_LIMIT_S": "20",
    "LLMRG_WORKER_NEO4J_QUERY_TIMEOUT_S": "4",
    "LLMRG_NEO4J_RETRY_TIME_S": "5",
    "LLMRG_BROKER_VISIBILITY_TIMEOUT_S": "25",
    "LLMRG_BROKER_RESTORE_INTERVAL_S": "2",
    "LLMRG_TASK_MAX_RETRIES": "2",
    "LLMRG_TASK_RETRY_BACKOFF_S": "1",
    "LLMRG_TASK_RETRY_BACKOFF_MAX_S": "2",
    "LLMRG_USER_LOCK_TTL_S": "6",
    "LLMRG_USER_LOCK_WAIT_S": "1",
    "LLMRG_LLM_MAX_RETRIES": "0",
    "LLMRG_LLM_RETRY_BASE_S": "0",
    "LLMRG_DIVERGENT": "false",
}
"""Short limits so the fault tests finish in seconds; still consistent (`llmrg doctor` accepts them)."""


def worker_environment(llm_base_url: str, **overrides: str) -> dict[str, str]:
    return dict(os.environ) | FAST_RELIABILITY | {"LLMRG_LLM_BASE_URL": llm_base_url} | overrides


class CeleryProcess:
    """One `llmrg worker` or `llmrg beat` in its own session (so a SIGKILL can take its whole group)."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [LLMRG, *args],
            cwd=ROOT / "tests",
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.log():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.log_path.name} exited early:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.log_path.name} never logged {text!r}:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker and its pool children die mid-task."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


def start_worker(
    name: str, env: dict[str, str], log_dir: Path, concurrency: int = 1, queues: str | None = None
) -> CeleryProcess:
    extra = [f"--queues={queues}"] if queues else []
    worker = CeleryProcess(
        ["worker", f"--hostname={name}@test", f"--concurrency={concurrency}", "--loglevel=INFO", *extra],
        env,
        log_dir / f"{name}.log",
    )
    worker.wait_for_log("ready.")
    return worker


def start_beat(env: dict[str, str], log_dir: Path) -> CeleryProcess:
    beat = CeleryProcess(
        ["beat", f"--schedule={log_dir / 'beat-schedule'}", "--loglevel=INFO"], env, log_dir / "beat.log"
    )
    beat.wait_for_log("beat: Starting")
    return beat
