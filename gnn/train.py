"""One training run: seeded, early-stopped on validation NDCG@10, checkpointed after every epoch, resumable.

The loop is RecBole's trainer reduced to what the protocol needs: full-softmax training rows in seeded random order,
full-ranking validation after each epoch, the best state kept and evaluated once on test at the end. Resuming
from `last.pt` restores every generator, so the continuation equals the uninterrupted run bit for bit on CPU.

Peak memory: on CUDA `torch.cuda.max_memory_allocated` (tensors only, reset each epoch); on CPU the process RSS
sampled by psutil after every batch and once after each validation and the final test evaluation (the whole
process, interpreter and libraries included; spikes inside an evaluation between samples are missed), falling back
to `getrusage` max RSS (lifetime peak) where psutil is missing (psutil is only a dev dependency so far).
"""

from __future__ import annotations

import copy
import hashlib
import math
import random
import resource
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from core.progress import PlainProgress, progress_display
from gnn import checkpoint
from gnn.allocator import retain_freed_memory
from gnn.batch import SequenceBatch, WindowBatch
from gnn.config import TrainConfig
from gnn.data import (
    GraphSource,
    Row,
    RowCollator,
    RowSet,
    SequenceData,
    resolve_graph_source,
    row_loader,
    shuffled_features,
    split,
)
from gnn.evaluate import evaluate, evaluate_ranks, evaluate_users, metrics_from_ranks, subset_ranks
from gnn.models import LLMRGFusion, Recommender, SequentialRecommender, build_model
from gnn.windows import SameTargetPrefixes, TrainingWindows, WithSameTargetPositives

STOP_METRIC = "ndcg@10"
MB = 1024 * 1024


@dataclass
class TrainResult:
    """`valid`: the best epoch's validation metrics; `test`: that epoch's model on test; `epoch_s`: mean seconds
    per epoch (training + validation) over `history`; `peak_memory_mb` per `memory_measure`. When the run scored a
    subset of users (`train(scored_users=...)`), `valid` and `test` are that subset's and `all_users` holds the
    same model's `valid` and `test` over every user (its `valid` is what early stopping compared). `test_ranks`:
    the target's rank per scored user (every user when no subset was named), so variants scored on the same users
    can be compared pairwise.
    `train_scheme`: "windows" or "prefix" (`TrainConfig`); `peak_rss_mib`: the process's peak resident memory
    over its lifetime (`getrusage`), whatever device trained."""

    model: str
    dataset: str
    graph_kinds: tuple[str, ...]
    seed: int
    epochs_run: int
    best_epoch: int
    valid: dict[str, float]
    test: dict[str, float]
    epoch_s: float
    peak_memory_mb: float
    memory_measure: str
    history: list[dict[str, Any]]
    config: dict[str, Any]
    all_users: dict[str, dict[str, float]] | None = None
    test_ranks: dict[int, int] | None = None
    train_scheme: str = "prefix"
    peak_rss_mib: float = 0.0

    def as_json(self) -> dict[str, Any]:
        result = asdict(self)
        result["graph_kinds"] = list(self.graph_kinds)
        return result


@dataclass
class EarlyStopping:
    """Everything besides weights and generators that the next epoch depends on."""

    epoch: int = 0
    best_epoch: int = 0
    best_metric: float = -math.inf
    best_valid: dict[str, float] = field(default_factory=dict)
    bad_epochs: int = 0
    stopped: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)

    def update(self, epoch: int, valid: dict[str, float], patience: int) -> bool:
        """Record epoch's validation; True when it is the new best (strictly better NDCG@10)."""
        self.epoch = epoch
        improved = valid[STOP_METRIC] > self.best_metric
        if improved:
            self.best_epoch, self.best_metric, self.best_valid, self.bad_epochs = epoch, valid[STOP_METRIC], valid, 0
        else:
            self.bad_epochs += 1
            self.stopped = self.bad_epochs >= patience
        return improved


class PeakMemory:
    """Per-epoch peak memory of the measure named in `measure` (module docstring)."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.device = device
        self.peak = 0
        self.process: Any = None
        if self.cuda:
            self.measure = "torch.cuda.max_memory_allocated"
            return
        try:
            import psutil

            self.process = psutil.Process()
            self.measure = "psutil RSS, sampled per batch"
        except ImportError:
            self.measure = "getrusage max RSS (process lifetime)"

    def start_epoch(self) -> None:
        self.peak = 0
        if self.cuda:
            torch.cuda.reset_peak_memory_stats(self.device)

    def sample(self) -> None:
        if self.process is not None:
            self.peak = max(self.peak, self.process.memory_info().rss)

    def epoch_peak_mb(self) -> float:
        if self.cuda:
            return torch.cuda.max_memory_allocated(self.device) / MB
        if self.process is not None:
            self.sample()
            return self.peak / MB
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def build_recommender(data: SequenceData, config: TrainConfig) -> Recommender:
    """The base model, wrapped in the LLMRG fusion model when the config names graph kinds; FDSA reads the item
    attributes the config names (the real ones, or the placebo's shuffled across items)."""
    features = data.item_features
    if features is not None and config.item_features == "shuffled":
        features = shuffled_features(features, config.seed)
    base = build_model(
        config.model,
        data.n_items,
        config.max_len,
        config.hidden,
        config.dropout,
        features,
        data.n_features,
        n_layers=config.n_layers,
        n_heads=config.n_heads,
        mask_prob=config.mask_prob,
        attention_dropout=config.attention_dropout,
        keep_false_negatives=config.false_negatives == "keep",
    )
    if not config.graph_kinds:
        return base
    return LLMRGFusion(
        base,
        config.graph_kinds,
        steps=config.gnn_steps,
        fusion=config.fusion,
        fused_readout=config.fused_readout,
    )


def inputs_fingerprint(data: SequenceData, graphs: GraphSource | None) -> str:
    """What a checkpoint must have been trained on: the data, plus the graphs when the source can identify them
    through an optional `fingerprint() -> str` (e.g. a hash of the exported reasoning edges)."""
    identify = getattr(graphs, "fingerprint", None)
    if not callable(identify):
        return data.fingerprint()
    return hashlib.sha256(f"{data.fingerprint()}|{identify()}".encode()).hexdigest()


def _progress(enabled: bool) -> Progress | PlainProgress:
    return progress_display(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )


def train(
    data: SequenceData,
    config: TrainConfig,
    graphs: GraphSource | None = None,
    progress: bool = True,
    resume: bool = True,
    scored_users: Collection[int] | None = None,
) -> TrainResult:
    """Train `config.model` (+ SR-GNN/ψ over `config.graph_kinds`, graphs from `graphs`) on `data`'s leave-one-out
    split; `resume` continues from `config.checkpoint_dir`/last.pt when it exists.

    `scored_users` reports valid and test on those users only. Training and early stopping still use every user,
    so the model learns the whole dataset and its selection does not hang on a small subset's noise; the subset
    does not change the run, so a checkpoint trained without it resumes (and is scored) with it. One process
    trains a checkpoint directory at a time (`checkpoint.run_lock`; another is refused with `RunLockedError`)."""
    with checkpoint.run_lock(config.checkpoint_dir):
        return _train(data, config, graphs, progress, resume, scored_users)


def _train(
    data: SequenceData,
    config: TrainConfig,
    graphs: GraphSource | None,
    progress: bool,
    resume: bool,
    scored_users: Collection[int] | None,
) -> TrainResult:
    device = torch.device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config.device is 'cuda' but torch sees no CUDA device")
    if device.type == "cpu":
        retain_freed_memory()
    source = resolve_graph_source(config.graph_kinds, config.max_len, graphs)
    rows = split(data)
    train_rows = rows.train
    if config.max_train_rows is not None and config.max_train_rows < len(train_rows):
        chosen = torch.randperm(len(train_rows), generator=torch.Generator().manual_seed(config.seed))
        train_rows = train_rows.subset(chosen[: config.max_train_rows].sort().values)
    if len(train_rows) == 0 or len(rows.valid) == 0:
        raise ValueError(f"{data.dataset} gives {len(train_rows)} training and {len(rows.valid)} validation rows")

    seed_everything(config.seed)
    model = build_recommender(data, config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    order = torch.Generator().manual_seed(config.seed)
    batches = epoch_batches(data, config, rows.train, train_rows, source, order, model)
    stopping = EarlyStopping()
    best_model = copy.deepcopy(model.state_dict())
    saver = None
    if config.checkpoint_dir is not None:
        saver = checkpoint.Checkpointer(config.checkpoint_dir, config, inputs_fingerprint(data, source))
    if resume and saver is not None and (saved := saver.restore(model, optimizer, order, device)) is not None:
        stopping, best_model = EarlyStopping(**saved[0]), saved[1]

    memory = PeakMemory(device)
    with _progress(progress) as bars:
        epochs_bar = bars.add_task("epochs", total=config.epochs, completed=min(stopping.epoch, config.epochs))
        batches_bar = bars.add_task("batches", total=batches.count)
        for epoch in range(stopping.epoch + 1, config.epochs + 1):
            if stopping.stopped:
                break
            started = time.perf_counter()
            memory.start_epoch()
            bars.reset(batches_bar, total=batches.count, description=f"epoch {epoch}")

            def after_batch() -> None:
                memory.sample()
                bars.advance(batches_bar)

            loss = _train_epoch(model, optimizer, batches, device, after_batch)
            trained = time.perf_counter()
            if not math.isfinite(loss):
                raise FloatingPointError(f"training loss became {loss} in epoch {epoch}")
            valid = evaluate(model, rows.valid, data, config, source)
            if stopping.update(epoch, valid, config.patience):
                best_model = copy.deepcopy(model.state_dict())
            stopping.history.append(
                {
                    "epoch": epoch,
                    "loss": loss,
                    "valid": valid,
                    "epoch_s": time.perf_counter() - started,
                    "train_s": trained - started,
                    "peak_memory_mb": memory.epoch_peak_mb(),
                }
            )
            bars.update(epochs_bar, advance=1, description=f"valid {STOP_METRIC} {valid[STOP_METRIC]:.4f}")
            if saver is not None:
                saver.save(model, optimizer, order, asdict(stopping), best_model)

    model.load_state_dict(best_model)
    memory.start_epoch()
    ranks = evaluate_ranks(model, rows.test, config, source)
    test, test_ranks = metrics_from_ranks(ranks), dict(zip(rows.test.users.tolist(), ranks.tolist(), strict=True))
    valid, all_users = stopping.best_valid, None
    if scored_users is not None:
        all_users = {"valid": valid, "test": test}
        valid, _ = evaluate_users(model, rows.valid, scored_users, config, source)
        test, test_ranks = subset_ranks(test_ranks, scored_users)
    peaks = [entry["peak_memory_mb"] for entry in stopping.history] + [memory.epoch_peak_mb()]
    return TrainResult(
        model=config.model,
        dataset=data.dataset,
        graph_kinds=config.graph_kinds,
        seed=config.seed,
        epochs_run=stopping.epoch,
        best_epoch=stopping.best_epoch,
        valid=valid,
        test=test,
        epoch_s=sum(entry["epoch_s"] for entry in stopping.history) / max(len(stopping.history), 1),
        peak_memory_mb=max(peaks),
        memory_measure=memory.measure,
        history=stopping.history,
        config=config.model_dump(mode="json"),
        all_users=all_users,
        test_ranks=test_ranks,
        train_scheme=config.train_scheme,
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    )


@dataclass(frozen=True)
class EpochBatches:
    """One epoch's training batches, in the order `generator` draws, and how many there are."""

    count: int
    draw: Callable[[], Iterable[SequenceBatch | WindowBatch]]


def epoch_batches(
    data: SequenceData,
    config: TrainConfig,
    all_train_rows: RowSet,
    train_rows: RowSet,
    source: GraphSource | None,
    order: torch.Generator,
    model: Recommender,
) -> EpochBatches:
    """Windows (every position a target) or prefix rows (one target each), per `config.train_scheme`."""
    base = model.base if isinstance(model, LLMRGFusion) else model
    needs_positives = isinstance(base, SequentialRecommender) and base.needs_positive_prefixes
    if config.train_scheme == "prefix":
        collate: Callable[[Sequence[Row]], SequenceBatch] = RowCollator(config.max_len, config.graph_kinds, source)
        if needs_positives:
            collate = WithSameTargetPositives(collate, SameTargetPrefixes(all_train_rows), config.max_len)
        loader = row_loader(train_rows, config.batch_size, collate, order)
        return EpochBatches(len(loader), lambda: loader)
    windows = TrainingWindows(
        data.sequences,
        config.max_len,
        config.windows_per_batch,
        positives=SameTargetPrefixes(all_train_rows) if needs_positives else None,
        graphs=source,
        graph_kinds=config.graph_kinds,
    )
    if config.max_train_rows is not None and config.max_train_rows < windows.target_count:
        windows = windows.capped(config.max_train_rows, torch.Generator().manual_seed(config.seed))
    return EpochBatches(len(windows), lambda: windows.batches(order))


def _train_epoch(
    model: Recommender,
    optimizer: torch.optim.Optimizer,
    batches: EpochBatches,
    device: torch.device,
    after_batch: Callable[[], None],
) -> float:
    """One pass over the epoch's shuffled batches; returns the mean loss per training target."""
    model.train()
    loss_sum, target_count = torch.zeros((), device=device), 0
    for batch in batches.draw():
        targets = batch.target_count if isinstance(batch, WindowBatch) else batch.size  # counted on the host
        moved = batch.to(device)
        loss = model.window_loss(moved) if isinstance(moved, WindowBatch) else model.loss(moved)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * targets  # summed on the device: no host sync per batch
        target_count += targets
        after_batch()
    return float(loss_sum) / target_count
