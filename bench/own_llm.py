"""A local LLM server of a bench process's own: its own port and home, started fresh, stopped when it is done.

LLM benchmarks time the server and read its counters (`bench.server_metrics`), and a server warmed by another
run's prompts would answer from its cache, so each bench starts a server of its own instead of joining one (the
benches' Neo4j, which they only read and write, is shared instead: `bench.graph_server.shared_server`). Before,
every LLM bench stopped and restarted the one server at the bench port: a quality run started beside the 1,000-user
reasoning run took that run's server away from under it, and would have stopped it for good on finishing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.settings import Settings
from llmrg.services import process
from llmrg.services.llm_server import LocalLLM


@contextmanager
def own_llm_server(settings: Settings) -> Iterator[Settings]:
    """`settings` pointed at a freshly started server of `settings.llm`'s weights, on a free port, that no other
    process talks to; stopped (and its home removed) on exit, a SIGTERM to a bench's main thread included. Servers
    left by bench processes killed outright (SIGKILL) are stopped first, so they do not hold memory for good."""
    homes = benches_home(settings)
    stop_orphans(settings, homes)
    home = homes / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # a process may hold two at once
    chosen = settings.updated(llm={"base_url": f"http://127.0.0.1:{free_port()}/v1"})
    server = LocalLLM(chosen, home=home)
    previous: Any = _UNSET
    try:
        previous = _stop_on_sigterm()
        server.start()
        yield chosen
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
        if previous is not _UNSET:  # None: a handler not set from Python, which here is the default one
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


_UNSET = object()
"""No SIGTERM handler was set (outside the main thread), so none is restored."""


def _stop_on_sigterm() -> Any:
    """Make SIGTERM (`kill PID`, the usual way to stop a long bench) unwind like Ctrl-C, so the server is stopped
    on the way out (Python's default for SIGTERM exits at once, without running `finally`); a second SIGTERM is
    ignored so it cannot cut that clean-up short. Returns the handler it replaced, or `_UNSET` where signals cannot
    be set (outside the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return _UNSET

    def unwind(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, unwind)


def benches_home(settings: Settings) -> Path:
    """Where the bench processes' servers keep their pid files and logs, a folder each, named by the id of the
    bench process that holds it."""
    return settings.paths.state_dir / "llm-benches"


def stop_orphans(settings: Settings, homes: Path) -> list[int]:
    """Stop the servers of bench processes no longer alive; returns those processes' ids."""
    stopped = []
    for home in sorted(homes.iterdir()) if homes.is_dir() else []:
        holder = home.name.split("-", 1)[0]
        if holder.isdigit() and not process.is_alive(int(holder)):
            LocalLLM(settings, home=home).stop()
            shutil.rmtree(home, ignore_errors=True)
            stopped.append(int(holder))
    return stopped


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick); the server binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
