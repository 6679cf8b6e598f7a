"""From the settings to a trained, evaluated model: each variant's inputs, where runs live, what they print.

Variants (the paper's controls, named in `core.vocabulary`): `base` (the sequential model alone), `seq`
(+ SR-GNN on the plain sequence graph, no LLM), `llmrg` (+ G_rea and G_div), `llmrg-no-div` (w/o divergent
extension), `llmrg-no-verify` (w/o verification: every chain proposed for the user enters, those verification
rejected included, and the unverified ones of a `--no-verify` reasoning run), so one reasoning run serves every
variant.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from core.errors import ConfigError
from core.gateway import Neo4jGateway
from core.settings import Settings, for_dataset
from core.vocabulary import Variant
from gnn import checkpoint
from gnn.config import TrainConfig
from gnn.data import MIN_EVALUATED_LENGTH, GraphSource, SequenceData, resolve_graph_source, split
from gnn.evaluate import (
    evaluate,
    evaluate_ranks,
    evaluate_users,
    metrics_from_ranks,
    popularity_metrics,
    subset_ranks,
)
from gnn.export import Export, ReasoningGraphSource, export_dataset, reasoned_users
from gnn.knowledge_base import knowledge_base_graph
from gnn.models import MODELS
from gnn.models.reference import reference_settings, windows_per_batch
from gnn.snapshot import Snapshot
from gnn.train import TrainResult, build_recommender, train


def run_dir(settings: Settings, dataset: str, model: str, chosen: Variant, seed: int) -> Path:
    return settings.runs_dir / dataset / model / chosen.name / f"seed{seed}"


def train_config(
    settings: Settings, dataset: str, model: str, chosen: Variant, seed: int, epochs: int | None
) -> TrainConfig:
    if model not in MODELS:
        raise ConfigError(f"unknown model {model!r}; known: {', '.join(sorted(MODELS))}")
    if settings.train.fusion not in ("linear", "mlp"):
        raise ConfigError(f"LLMRG_TRAIN_FUSION must be linear or mlp, not {settings.train.fusion!r}")
    device = settings.train.device
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"LLMRG_TRAIN_DEVICE must be auto, cpu or cuda, not {device!r}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if settings.train.item_features != "real" and model != "fdsa":
        raise ConfigError(
            f"LLMRG_TRAIN_ITEM_FEATURES={settings.train.item_features} is a placebo for fdsa, the one model that "
            f"reads item attributes; {model} reads none"
        )
    return TrainConfig(
        model=model,  # validated by pydantic against the known models
        hidden=settings.train.hidden,
        graph_kinds=chosen.graph_kinds,
        fusion=settings.train.fusion,
        gnn_steps=settings.train.gnn_steps,
        batch_size=settings.train.batch_size,
        windows_per_batch=settings.train.windows_per_batch or windows_per_batch(model, dataset),
        lr=settings.train.lr,
        epochs=epochs or settings.train.epochs,
        patience=settings.train.patience,
        max_len=for_dataset(settings.train.max_len, dataset),
        seed=seed,
        device=device,
        exclude_history=settings.train.exclude_history,
        checkpoint_dir=run_dir(settings, dataset, model, chosen, seed),
        max_train_rows=settings.train.max_rows or None,
        false_negatives=settings.train.false_negatives,
        item_features=settings.train.item_features,
        fused_readout=settings.train.fused_readout,
        **({} if settings.train.scheme == "auto" else {"train_scheme": settings.train.scheme}),
        **(reference_settings(model, dataset).overrides() | chosen_mask(settings, model) | chosen_dropout(settings)),
    )


def kb_window(settings: Settings, dataset: str) -> int:
    """The items before a step whose causal edges into it enter a knowledge-base graph: l_tru, as for a step's
    knowledge-base lookup while reasoning."""
    return for_dataset(settings.reasoning.history_length, dataset)


def chosen_mask(settings: Settings, model: str) -> dict[str, float]:
    """BERT4Rec's cloze proportion where `LLMRG_TRAIN_MASK_PROB` sets one, in place of its reference value."""
    return (
        {"mask_prob": settings.train.mask_prob} if model == "bert4rec" and settings.train.mask_prob is not None else {}
    )


def chosen_dropout(settings: Settings) -> dict[str, float]:
    """The dropout `LLMRG_TRAIN_DROPOUT` sets, in place of the model's reference value for the dataset; BERT4Rec's
    separate attention dropout stays its reference value."""
    return {"dropout": settings.train.dropout} if settings.train.dropout is not None else {}


@dataclass(frozen=True)
class Prepared:
    """One variant's inputs. `scored_users`: the users whose valid and test rows are reported (None: everyone)."""

    export: Export
    data: SequenceData
    graphs: GraphSource | None
    scored_users: frozenset[int] | None

    def scored_count(self) -> int:
        """How many users the valid and test metrics average over (one row each)."""
        if self.scored_users is not None:
            return len(self.scored_users)
        return sum(len(sequence) >= MIN_EVALUATED_LENGTH for sequence in self.data.sequences.values())


class DatasetSource(Protocol):
    """Where a run's data and graphs come from: the database (`Neo4jSource`) or a snapshot file
    (`SnapshotSource`, no database needed); both give the same `Export` for the same graph (tested)."""

    def export(self, dataset: str, statuses: Collection[str], progress: bool) -> Export: ...

    def reasoned_users(self, dataset: str) -> set[int]: ...


@dataclass(frozen=True)
class Neo4jSource:
    db: Neo4jGateway

    def export(self, dataset: str, statuses: Collection[str], progress: bool) -> Export:
        return export_dataset(self.db, dataset, statuses=tuple(statuses), progress=progress)

    def reasoned_users(self, dataset: str) -> set[int]:
        return reasoned_users(self.db, dataset)


@dataclass(frozen=True)
class SnapshotSource:
    snapshot: Snapshot
    path: Path

    def export(self, dataset: str, statuses: Collection[str], progress: bool) -> Export:
        self._check(dataset)
        return self.snapshot.export(statuses)

    def reasoned_users(self, dataset: str) -> set[int]:
        self._check(dataset)
        return self.snapshot.reasoned_users()

    def _check(self, dataset: str) -> None:
        if dataset != self.snapshot.dataset:
            raise ConfigError(f"{self.path} holds dataset {self.snapshot.dataset!r}, not {dataset!r}")


def prepare(
    source: DatasetSource,
    dataset: str,
    chosen: Variant,
    reasoned_only: bool,
    progress: bool,
    evaluate_reasoned_only: bool = False,
    kb_window: int = 50,
) -> Prepared:
    """Export the dataset (and its graphs) for one variant. The users with an accepted reasoning chain (the same
    users whichever chains the variant admits) are the only ones trained and scored with `reasoned_only`, and the
    only ones scored with `evaluate_reasoned_only`, which trains on everyone. A variant whose edges come from the
    knowledge base places them in every user's graph from the `kb_window` items before each step (l_tru)."""
    if reasoned_only and evaluate_reasoned_only:
        raise ConfigError("reasoned_only trains on the reasoned users, evaluate_reasoned_only on all; choose one")
    export = source.export(dataset, chosen.statuses, progress)
    if chosen.edges_from == "knowledge_base":
        if not export.causal_edges:
            raise ConfigError(
                f"the knowledge base of {dataset!r} holds no verified causal edge, so {chosen.name} would train "
                f"the base model; import one (`llmrg kb import data/kb/{dataset}.jsonl.gz`) or build one "
                f"(`llmrg kb warm --dataset {dataset}`), then export again"
            )
        export = knowledge_base_graph(export, kb_window, placebo=chosen.placebo)
    data = export.data
    graph_kinds = tuple(kind for kind in chosen.graph_kinds if kind != "seq")
    graphs = ReasoningGraphSource.of(export, graph_kinds) if graph_kinds else None
    if not (reasoned_only or evaluate_reasoned_only):
        return Prepared(export, data, graphs, None)
    users = source.reasoned_users(dataset)
    scored = frozenset(user for user in users if len(data.sequences.get(user, ())) >= MIN_EVALUATED_LENGTH)
    if not scored:
        raise ConfigError(
            f"no user of {dataset!r} with {MIN_EVALUATED_LENGTH}+ items has reasoning chains; "
            "run `llmrg run reason` first"
        )
    if reasoned_only:
        data = SequenceData(
            dataset=data.dataset,
            n_items=data.n_items,
            sequences={user: items for user, items in data.sequences.items() if user in users},
            item_features=data.item_features,
            n_features=data.n_features,
        )
        return Prepared(export, data, graphs, None)
    return Prepared(export, data, graphs, scored)


def rows_seeing_edges(export: Export, graph_kinds: Collection[str], users: Collection[int]) -> dict[str, int]:
    """Leave-one-out rows of `users` whose prefix sees at least one edge of `graph_kinds` ('rea', 'div'), per
    stage. An edge made at step t is seen by prefixes longer than t, so a chain stamped at the test position is
    seen by no row: reasoning that only covered users' last positions leaves an LLMRG variant's graphs empty
    for every row, and its result would differ from the base model's by initialisation alone."""
    seen = {"train": 0, "valid": 0, "test": 0}
    for user in users:
        stamps = [
            int(edges.t.min())
            for kind in graph_kinds
            if (edges := export.edges.get(kind, {}).get(user)) is not None and edges.t.numel()
        ]
        if not stamps:
            continue
        first, length = min(stamps), len(export.data.sequences[user])
        seen["train"] += max(0, length - 3 - first)  # training rows predict positions 1 .. length - 3
        seen["valid"] += first < length - 2
        seen["test"] += first < length - 1
    return seen


def report(
    result: TrainResult,
    chosen: Variant,
    reasoned_only: bool,
    users: int,
    seeing: dict[str, int] | None,
    scored_users: int,
    subset: bool = False,
) -> dict[str, Any]:
    """The `--json` record: the issue's keys first (`test`, `valid`, `epoch_s`), then everything else. `users`:
    the users trained on; `scored_users`: those whose valid and test rows the metrics average (one each); with
    `subset` (`--evaluate-reasoned-only`) they are the reasoned users and `all_users` holds the metrics over all;
    `rows_seeing_edges`: for variants with reasoning graphs, the rows per stage whose prefix sees an edge (None
    otherwise)."""
    payload = result.as_json()
    return {
        "test": payload["test"],
        "valid": payload["valid"],
        "epoch_s": payload["epoch_s"],
        "variant": chosen.name,
        "reasoned_users_only": reasoned_only,
        "evaluate_reasoned_only": subset,
        "users": users,
        "scored_users": scored_users,
        "rows_seeing_edges": seeing,
        **{key: value for key, value in payload.items() if key not in ("test", "valid", "epoch_s")},
    }


def run_training(
    source: DatasetSource,
    settings: Settings,
    dataset: str,
    model: str,
    chosen: Variant,
    seed: int,
    epochs: int | None,
    *,
    reasoned_only: bool = False,
    evaluate_reasoned_only: bool = False,
    resume: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Train one variant and write its result.json. `evaluate_reasoned_only`: train on every user (graphs where
    reasoning exists), score the reasoned users: the base model learns the dataset, and the comparison is
    confined to the users an LLMRG variant can differ on."""
    config = train_config(settings, dataset, model, chosen, seed, epochs)
    prepared = prepare(
        source, dataset, chosen, reasoned_only, progress, evaluate_reasoned_only, kb_window(settings, dataset)
    )
    export, data = prepared.export, prepared.data
    if model == "fdsa" and data.item_features is None:
        raise ConfigError(f"fdsa reads item attributes and {dataset!r} has none (ingest an item table with them)")
    try:
        trained = train(
            data, config, prepared.graphs, progress=progress, resume=resume, scored_users=prepared.scored_users
        )
    except checkpoint.CheckpointMismatchError as exc:
        raise ConfigError(f"{exc} (train with --no-resume to start this run over)") from None
    except checkpoint.RunLockedError as exc:
        raise ConfigError(str(exc)) from None
    reasoning_kinds = [kind for kind in chosen.graph_kinds if kind != "seq"]
    seeing = rows_seeing_edges(export, reasoning_kinds, data.sequences) if reasoning_kinds else None
    subset = prepared.scored_users is not None
    result = report(trained, chosen, reasoned_only, len(data.sequences), seeing, prepared.scored_count(), subset)
    result["popularity"] = popularity_metrics(data, config.exclude_history)
    assert config.checkpoint_dir is not None
    save_item_table(export, config.checkpoint_dir / ITEM_TABLE)
    (config.checkpoint_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


ITEM_TABLE = "items.pt"
"""Beside a run's checkpoints: the id map and item features it was trained with, so serving a model
(`llmrg recommend`) needs no full export."""


def save_item_table(export: Export, path: Path) -> None:
    table = {
        "format": checkpoint.FORMAT,
        "item_ids": export.item_ids,
        "item_features": export.data.item_features,
        "n_features": export.data.n_features,
        "attributes": list(export.attributes),
    }
    checkpoint.save_atomic(table, path)


def evaluate_checkpoint(
    source: DatasetSource,
    settings: Settings,
    dataset: str,
    model: str,
    chosen: Variant,
    seed: int,
    *,
    reasoned_only: bool = False,
    evaluate_reasoned_only: bool = False,
) -> dict[str, Any]:
    """Load the run's best.pt and evaluate it on valid and test (the same full ranking as training);
    `evaluate_reasoned_only` scores the reasoned users and adds `all_users`, as `run_training` does."""
    config = train_config(settings, dataset, model, chosen, seed, None)
    assert config.checkpoint_dir is not None
    best = config.checkpoint_dir / checkpoint.BEST
    if not best.is_file():
        raise ConfigError(f"no trained model at {best}; run `llmrg train` with the same options first")
    saved = checkpoint.load(best, torch.device(config.device))
    trained = TrainConfig.model_validate(saved["config"])
    prepared = prepare(
        source, dataset, chosen, reasoned_only, False, evaluate_reasoned_only, kb_window(settings, dataset)
    )
    data = prepared.data
    recommender = build_recommender(data, trained).to(torch.device(config.device))
    recommender.load_state_dict(saved["model"])
    source = resolve_graph_source(trained.graph_kinds, trained.max_len, prepared.graphs)
    rows = split(data)
    ranks = evaluate_ranks(recommender, rows.test, trained, source)
    every = {"test": metrics_from_ranks(ranks), "valid": evaluate(recommender, rows.valid, data, trained, source)}
    scored, test_ranks = every, dict(zip(rows.test.users.tolist(), ranks.tolist(), strict=True))
    if prepared.scored_users is not None:
        test, test_ranks = subset_ranks(test_ranks, prepared.scored_users)
        scored = {
            "test": test,
            "valid": evaluate_users(recommender, rows.valid, prepared.scored_users, trained, source)[0],
        }
    return {
        **scored,
        "all_users": None if prepared.scored_users is None else every,
        "scored_users": prepared.scored_count(),
        "test_ranks": test_ranks,
        "epoch": saved["epoch"],
        "model": model,
        "dataset": dataset,
        "variant": chosen.name,
        "seed": seed,
        "checkpoint": str(best),
    }
