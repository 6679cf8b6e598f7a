"""A bench's own LLM server: two benches side by side each keep theirs, and a killed bench's is stopped later."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.own_llm import benches_home, own_llm_server
from core.settings import Settings
from llmrg.services import process
from llmrg.services.llm_server import LocalLLM, health
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

BENCH = """
import os, signal, sys
from pathlib import Path
from core.settings import Settings
from bench.own_llm import own_llm_server

settings = Settings.load(env_file=None).updated(paths={"state_dir": Path(sys.argv[1])}, llm={"threads": 1})
with own_llm_server(settings) as chosen:
    print(chosen.llm.base_url, flush=True)
    os.kill(os.getpid(), getattr(signal, sys.argv[2]))
"""


def test_benches_side_by_side_keep_their_own_servers_and_a_killed_benchs_is_stopped(
    services: Settings, tmp_path: Path
) -> None:
    """Before, every LLM bench stopped and restarted the one server at the bench port: a quality run started
    beside the reasoning run took its server away, and would have stopped it for good on finishing."""
    mine = services.updated(paths={"state_dir": tmp_path}, llm={"threads": 1})
    shared = LocalLLM(services).pid()
    assert shared is not None, "the suite's server runs at the configured port"
    killed = subprocess.run(
        [sys.executable, "-c", BENCH, str(tmp_path), "SIGKILL"], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    orphan_url = killed.stdout.strip()
    assert killed.returncode == -9 and orphan_url.startswith("http://127.0.0.1:"), killed.stderr[-2000:]
    (orphan_home,) = benches_home(mine).iterdir()
    orphan = LocalLLM(mine, home=orphan_home).pid()
    assert orphan is not None and health(orphan_url), "a killed bench leaves its server running"
    with own_llm_server(mine) as first:
        assert not process.is_alive(orphan), "the killed bench's server is stopped by the next bench"
        with own_llm_server(mine) as second:
            assert len({first.llm.base_url, second.llm.base_url}) == 2
            assert health(first.llm.base_url) and health(second.llm.base_url)
        assert not health(second.llm.base_url)
        assert health(first.llm.base_url), "the second bench leaving does not stop the first one's server"
    assert not health(first.llm.base_url)
    assert list(benches_home(mine).iterdir()) == []
    assert LocalLLM(services).pid() == shared, "the server at the configured port is not touched"


def test_a_bench_stopped_with_sigterm_stops_its_server_on_the_way_out(tmp_path: Path) -> None:
    """`kill PID` is how a long bench is stopped; Python's default for SIGTERM skipped every `finally`."""
    stopped = subprocess.run(
        [sys.executable, "-c", BENCH, str(tmp_path), "SIGTERM"], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    url = stopped.stdout.strip()
    assert stopped.returncode == 128 + 15 and url.startswith("http://127.0.0.1:"), stopped.stderr[-2000:]
    assert not health(url)
    assert list((tmp_path / "llm-benches").iterdir()) == []
