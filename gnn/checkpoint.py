"""Checkpoint files and the random-number state that makes a resumed run continue exactly where it stopped.

`last.pt` holds everything the next epoch depends on (model, optimiser, early-stopping state, history, and every
generator: python, numpy, torch CPU, CUDA, the data-order generator); `best.pt` the best model so far. Both are
written to a temporary file in the same directory and renamed over the old one, so a crash mid-write leaves the
previous checkpoint intact; `progress.json` beside them says, in plain JSON, how far the run has got (epoch,
the last and the best validation), for whoever watches a long run from another process. Only plain containers
and tensors are stored, so `torch.load(weights_only=True)` reads them without unpickling arbitrary objects.
One process trains a directory at a time (`run_lock`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn

from gnn.config import RESUMABLE_CHANGES, TrainConfig

LAST = "last.pt"
BEST = "best.pt"
PROGRESS = "progress.json"
LOCK = "train.lock"
FORMAT = 2
"""2: the transformer blocks are `AttentionBlock` (format 1 held `nn.TransformerEncoderLayer` weights)."""


class CheckpointMismatchError(ValueError):
    """The checkpoint in `checkpoint_dir` belongs to another configuration or other data."""


class RunLockedError(RuntimeError):
    """Another process is training the same checkpoint directory."""


@contextlib.contextmanager
def run_lock(directory: Path | None) -> Iterator[None]:
    """Hold `directory`'s training lock (an exclusive `flock` on `train.lock`) while the block runs; nothing for
    None. Why: two processes training one directory (a second launch while the first still runs, or a child
    that outlived the parent that was killed) would each write last.pt and resume the other's epochs, so a
    result would mix two runs. The kernel drops the lock when its holder exits, however it exits (SIGKILL
    included), so a crashed run never blocks its own resumption."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunLockedError(
                f"{directory} is being trained by another process (pid {holder}); stop it, or train into another "
                "directory (LLMRG_TRAIN_DIR)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def capture_rng(data_generator: torch.Generator, cuda: bool) -> dict[str, Any]:
    numpy_state = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state(legacy=True))
    name, keys, position, has_gauss, cached_gaussian = numpy_state
    return {
        "python": random.getstate(),
        "numpy": {
            "name": name,
            "keys": keys.tolist(),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if cuda else [],
        "data": data_generator.get_state(),
    }


def restore_rng(state: dict[str, Any], data_generator: torch.Generator) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["name"],
            np.asarray(numpy_state["keys"], dtype=np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"]:
        torch.cuda.set_rng_state_all([generator_state.cpu() for generator_state in state["cuda"]])
    data_generator.set_state(state["data"].cpu())


def save_atomic(payload: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_progress(stopping: dict[str, Any], epochs: int, path: Path) -> None:
    """How far the run has got, written atomically after last.pt (so it never runs ahead of the checkpoint)."""
    history = stopping["history"]
    latest = history[-1] if history else {}
    progress = {
        "epoch": stopping["epoch"],
        "epochs": epochs,
        "best_epoch": stopping["best_epoch"],
        "best_valid": stopping["best_valid"],
        "bad_epochs": stopping["bad_epochs"],
        "stopped": stopping["stopped"],
        "valid": latest.get("valid"),
        "epoch_s": latest.get("epoch_s"),
    }
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(progress) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def load(path: Path, device: torch.device) -> dict[str, Any]:
    payload: dict[str, Any] = torch.load(path, map_location=device, weights_only=True)
    if payload.get("format") != FORMAT:
        raise CheckpointMismatchError(f"{path} has checkpoint format {payload.get('format')}, expected {FORMAT}")
    return payload


def check_matches(payload: dict[str, Any], header: dict[str, Any], path: Path) -> None:
    """Refuse to resume a checkpoint made with other settings or data, naming the settings that differ."""
    if payload["config_fingerprint"] != header["config_fingerprint"]:
        stored, current = payload["config"], header["config"]
        keys = (set(stored) | set(current)) - RESUMABLE_CHANGES
        changed = sorted(key for key in keys if stored.get(key) != current.get(key))
        raise CheckpointMismatchError(
            f"{path} was written with other settings ({', '.join(changed) or 'unknown'} differ); use another "
            "checkpoint_dir, delete the checkpoint, or pass resume=False to start over"
        )
    if payload["data_fingerprint"] != header["data_fingerprint"]:
        raise CheckpointMismatchError(f"{path} was written for other data (sequences, item features or graphs differ)")


class Checkpointer:
    """The two files of one run in `directory`; `save` after every epoch, `restore` once before the first."""

    def __init__(self, directory: Path, config: TrainConfig, data_fingerprint: str) -> None:
        self.last = directory / LAST
        self.best = directory / BEST
        self.progress = directory / PROGRESS
        self.cuda = config.device == "cuda"
        self.header = {
            "format": FORMAT,
            "config": config.model_dump(mode="json"),
            "config_fingerprint": config.fingerprint(),
            "data_fingerprint": data_fingerprint,
        }

    def save(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        data_generator: torch.Generator,
        stopping: dict[str, Any],
        best_model: dict[str, Tensor],
    ) -> None:
        """`stopping`: the early-stopping state (epoch, best_epoch, best_valid, ..., history) as plain values.
        best.pt is rewritten only in the epoch that improved, before last.pt, so last.pt never points past it."""
        if stopping["best_epoch"] == stopping["epoch"]:
            best = {"epoch": stopping["best_epoch"], "valid": stopping["best_valid"], "model": best_model}
            save_atomic({**self.header, **best}, self.best)
        last = {
            "epoch": stopping["epoch"],
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "best_model": best_model,
            "state": stopping,
            "rng": capture_rng(data_generator, self.cuda),
        }
        save_atomic({**self.header, **last}, self.last)
        write_progress(stopping, self.header["config"]["epochs"], self.progress)

    def restore(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, data_generator: torch.Generator, device: torch.device
    ) -> tuple[dict[str, Any], dict[str, Tensor]] | None:
        """Load last.pt into the model, optimiser and every generator; returns (stopping state, best model), or
        None when there is no checkpoint yet."""
        if not self.last.exists():
            return None
        saved = load(self.last, device)
        check_matches(saved, self.header, self.last)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        restore_rng(saved["rng"], data_generator)
        return saved["state"], saved["best_model"]


def write_side_files(last: dict[str, Any], directory: Path) -> int:
    """Write `directory`'s best.pt and progress.json from `last` (its last.pt's payload), which holds the best
    model, its epoch and the early-stopping state too; returns the epoch last.pt ends. Why: a run carried to another
    machine needs only last.pt to resume exactly; best.pt, which `llmrg recommend` and evaluation read, would
    otherwise exist only once the resumed run improved again, and progress.json only after its next epoch."""
    state = last["state"]
    header = {key: last[key] for key in ("format", "config", "config_fingerprint", "data_fingerprint")}
    best = {"epoch": state["best_epoch"], "valid": state["best_valid"], "model": last["best_model"]}
    save_atomic({**header, **best}, directory / BEST)
    write_progress(state, last["config"]["epochs"], directory / PROGRESS)
    return int(last["epoch"])
