"""Detached child processes tracked by pid files.

Services are started in their own session with stdout/stderr going to a log file, so they outlive the
CLI call that started them and never hold a caller's terminal or CI pipe open.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def spawn_detached(
    command: Sequence[str], *, log_path: Path, pid_path: Path, cwd: Path, env: dict[str, str] | None = None
) -> int:
    """Start `command` in a new session, logging to `log_path`; record and return its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_path.write_text(f"{process.pid}\n", encoding="utf-8")
    return process.pid


def read_pid(pid_path: Path) -> int | None:
    try:
        return int(pid_path.read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return None


def is_alive(pid: int | None) -> bool:
    """True when `pid` is a live process (a zombie child counts as dead)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state != "Z"


def running_pid(pid_path: Path, marker: str) -> int | None:
    """The pid in `pid_path` if that process is alive and its command line contains `marker`."""
    pid = read_pid(pid_path)
    if not is_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return None
    return pid if marker in cmdline else None


def recorded_alive(pid_path: Path) -> bool:
    """Whether the process in `pid_path` still lives, for start-up waits: the caller spawned that pid itself,
    so liveness is all that matters (`running_pid`'s command-line check is for pid files of earlier runs).
    The start-up checks used `running_pid` until one start here reported a live server as exited."""
    return is_alive(read_pid(pid_path))


def terminate(pid: int, *, timeout_s: float) -> bool:
    """SIGTERM, wait up to `timeout_s` for a clean exit, then SIGKILL. True when it exited cleanly."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    if wait_until(lambda: not is_alive(pid), timeout_s=timeout_s, interval_s=0.2):
        _reap(pid)
        return True
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    wait_until(lambda: not is_alive(pid), timeout_s=10, interval_s=0.1)
    _reap(pid)
    return False


def stop_recorded(pid_path: Path, marker: str, *, timeout_s: float) -> bool | None:
    """Stop the process recorded in `pid_path`: None if none was running, else whether it exited cleanly."""
    pid = running_pid(pid_path, marker)
    if pid is None:
        return None
    clean = terminate(pid, timeout_s=timeout_s)
    pid_path.unlink(missing_ok=True)
    return clean


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until(condition: Callable[[], bool], *, timeout_s: float, interval_s: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log, for error messages."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"
