"""The wheel the Dockerfile builds ships every prompt and every Cypher file, and a fresh virtual environment
holding that wheel alone (no checkout on its path) loads them, as the image's workers do.

No docker engine runs here, so the test builds the wheel from exactly the paths the Dockerfile's build stage
copies, installs it into a new virtual environment, and lends that environment the dev environment's
third-party packages through a `.pth` file placed after its own site-packages (so nothing is downloaded and
the project's own modules can only come from the wheel).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

LOAD_EVERYTHING = """
import sys
from pathlib import Path
import cypher, reasoning
from reasoning.prompts import TASK_FIELDS, available_versions, load_prompt
from core.settings import Settings
from workers.app import create_app
for module in (cypher, reasoning):
    assert Path(module.__file__).is_relative_to(sys.prefix), module.__file__
loaded = [load_prompt(task, version).id for task in TASK_FIELDS for version in available_versions(task)]
statements = sum(len(cypher.load_all(name)) for folder in ("schema",) for name in cypher.names(folder))
create_app(Settings.load(env_file=None))
print(len(loaded), statements)
"""


def dockerfile_build_paths() -> list[str]:
    """The sources the Dockerfile's first (wheel) stage copies, in order."""
    text = (ROOT / "Dockerfile").read_text()
    build_stage = text.split("\nFROM ", 2)[1]
    return [source for line in re.findall(r"^COPY (.+?) \S+$", build_stage, re.MULTILINE) for source in line.split()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for path in dockerfile_build_paths():
        origin = ROOT / path
        if origin.is_dir():
            shutil.copytree(origin, source / path, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / path)
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
        check=True,
        timeout=600,
    )
    (built,) = out.glob("llmrg-*.whl")
    return built


def shipped(folder: str, pattern: str) -> set[str]:
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / folder).rglob(pattern) if path.is_file()}


def test_the_dockerfile_copies_every_package_the_wheel_needs() -> None:
    paths = set(dockerfile_build_paths())
    assert {"pyproject.toml", "core", "cypher", "ingestion", "reasoning", "gnn", "workers", "llmrg"} <= paths


def test_the_wheel_holds_every_prompt_file_and_every_cypher_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    prompts = shipped("reasoning/prompts", "*")
    cypher_files = shipped("cypher", "*.cypher")
    assert len(prompts) >= 15 and len(cypher_files) >= 70
    assert prompts - names == set()
    assert cypher_files - names == set()


def test_a_fresh_environment_with_the_wheel_loads_every_prompt_and_the_schema(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
        check=True,
        timeout=300,
    )
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
        ).strip()
    )
    (site / "zz_dev_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [python, "-c", LOAD_EVERYTHING], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    prompts, statements = map(int, result.stdout.split())
    assert prompts == len([p for p in (ROOT / "reasoning/prompts").glob("*/*") if p.is_dir()])
    assert statements >= 10
