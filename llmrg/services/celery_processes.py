"""One local Celery worker and the beat scheduler, run detached like the other services (`llmrg up`).

They are ordinary `llmrg worker` / `llmrg beat` processes with pid files and logs in the state folder, so
`llmrg down` and `llmrg status` treat them like Neo4j and Redis.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from llmrg.services import process

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 60.0
"""A worker's warm shutdown finishes its current task; past this it is killed and the task redelivered."""


@dataclass(frozen=True)
class CeleryProcessStatus:
    running: bool
    pid: int | None
    log: str


class LocalCeleryProcess:
    def __init__(self, settings: Settings, role: str) -> None:
        if role not in ("worker", "beat"):
            raise ValueError(f"role must be worker or beat, not {role!r}")
        self.settings = settings
        self.role = role
        self.home = settings.paths.state_dir / "celery"
        self.pid_path = self.home / f"{role}.pid"
        self.log_path = self.home / f"{role}.log"
        self.marker = f"llmrg {role}"

    def pid(self) -> int | None:
        return process.running_pid(self.pid_path, self.marker)

    def start(self) -> CeleryProcessStatus:
        if self.pid() is None:
            executable = str(Path(sys.executable).with_name("llmrg"))
            command = [executable, self.role]
            if self.role == "beat":
                command += ["--schedule", str(self.home / "beat-schedule")]
            process.spawn_detached(
                command, log_path=self.log_path, pid_path=self.pid_path, cwd=self.home, env=dict(os.environ)
            )
            # The pid file names the process before it has become `llmrg <role>`; wait for that, so the status
            # printed next is the real one.
            process.wait_until(lambda: self.pid() is not None, timeout_s=START_TIMEOUT_S)
        return self.status()

    def stop(self) -> bool:
        """False when it was not running. The whole process group goes: a worker's pool children too."""
        pid = self.pid()
        if pid is None:
            return False
        if not process.terminate(pid, timeout_s=STOP_TIMEOUT_S):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self.pid_path.unlink(missing_ok=True)
        return True

    def status(self) -> CeleryProcessStatus:
        return CeleryProcessStatus(running=self.pid() is not None, pid=self.pid(), log=str(self.log_path))
