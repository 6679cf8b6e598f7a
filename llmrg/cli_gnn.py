"""`llmrg train`, `llmrg evaluate`, `llmrg results`: the learning half (gnn/) from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core import gateway, vocabulary
from core.errors import ConfigError
from core.settings import Settings
from core.vocabulary import MODEL_NAMES, TaskName
from llmrg.cli_support import DatasetOption, JsonFlag, console, print_json, reports_errors, settings_of

if TYPE_CHECKING:
    from gnn.pipeline import DatasetSource

ModelOption = Annotated[str, typer.Option(help=", ".join(MODEL_NAMES[:-1]) + " or " + MODEL_NAMES[-1] + ".")]
SeedOption = Annotated[int, typer.Option(help="Training seed.")]
LLMRGFlag = Annotated[bool, typer.Option("--llmrg", help="Fuse the reasoning graphs G_rea and G_div (LLMRG).")]
SeqGraphFlag = Annotated[bool, typer.Option("--seq-graph", help="Control: SR-GNN on the plain sequence graph.")]
NoDivergentFlag = Annotated[bool, typer.Option("--no-divergent", help="With --llmrg: G_rea only (w/o divergent).")]
UnverifiedFlag = Annotated[
    bool,
    typer.Option(
        "--unverified", help="With --llmrg: admit every proposed chain, rejected ones too (w/o verification)."
    ),
]
KnowledgeBaseGraphFlag = Annotated[
    bool,
    typer.Option(
        "--kb-graph",
        help="With --llmrg: every user's G_rea from the knowledge base's verified causal edges among their items "
        "(no reasoning run per user), no G_div.",
    ),
]
KnowledgeBasePlaceboFlag = Annotated[
    bool,
    typer.Option(
        "--kb-placebo",
        help="With --kb-graph: the placebo control, each edge's source drawn at random from the same window "
        "(targets and steps kept; draws landing on one pair merge).",
    ),
]
KnowledgeBaseRandomEdgesFlag = Annotated[
    bool,
    typer.Option(
        "--kb-random-edges",
        help="With --kb-graph: the stronger placebo, as many draws as each user's knowledge-base edges (draws "
        "landing on one pair merge), every edge's step (so its target) and source drawn at random.",
    ),
]
ReasonedOnlyFlag = Annotated[
    bool, typer.Option("--reasoned-only", help="Train and score only the users with reasoning chains.")
]
EvaluateReasonedOnlyFlag = Annotated[
    bool,
    typer.Option(
        "--evaluate-reasoned-only",
        help="Train on every user, score only the users with reasoning chains (the ablation's setting).",
    ),
]


SnapshotOption = Annotated[
    Path | None,
    typer.Option(help="Train from this snapshot file (`llmrg export`) instead of the database."),
]


def register(app: typer.Typer) -> None:
    app.command()(export)
    app.command()(train)
    app.command()(evaluate)
    app.command()(results)
    app.command()(recommend)


def check_users(reasoned_only: bool, evaluate_reasoned_only: bool) -> None:
    """Before anything heavy is imported: the two user selections exclude each other."""
    if reasoned_only and evaluate_reasoned_only:
        raise ConfigError("--reasoned-only trains on the reasoned users, --evaluate-reasoned-only on all; choose one")


def variant_name(
    llmrg: bool,
    seq_graph: bool,
    no_divergent: bool,
    unverified: bool,
    kb_graph: bool = False,
    kb_placebo: bool = False,
    kb_random_edges: bool = False,
) -> str:
    if (kb_placebo or kb_random_edges) and not kb_graph:
        raise ConfigError("--kb-placebo and --kb-random-edges modify --llmrg --kb-graph")
    if kb_placebo and kb_random_edges:
        raise ConfigError("--kb-placebo and --kb-random-edges are different placebos; choose one")
    if llmrg and seq_graph:
        raise ConfigError("--llmrg and --seq-graph are different variants; choose one")
    if (no_divergent or unverified or kb_graph) and not llmrg:
        raise ConfigError("--no-divergent, --unverified and --kb-graph modify --llmrg")
    if no_divergent + unverified + kb_graph > 1:
        raise ConfigError("one ablation at a time: --no-divergent, --unverified or --kb-graph")
    if seq_graph:
        return "seq"
    if not llmrg:
        return "base"
    if kb_graph:
        return "llmrg-kb-placebo" if kb_placebo else "llmrg-kb-random" if kb_random_edges else "llmrg-kb"
    return "llmrg-no-div" if no_divergent else "llmrg-no-verify" if unverified else "llmrg"


@contextmanager
def data_source(settings: Settings, snapshot: Path | None) -> Iterator[DatasetSource]:
    """The snapshot when one is given (no database is opened), else the database."""
    from gnn import pipeline
    from gnn.snapshot import load_snapshot

    if snapshot is not None:
        yield pipeline.SnapshotSource(load_snapshot(snapshot), snapshot)
        return
    with gateway.open_gateway(settings) as db:
        yield pipeline.Neo4jSource(db)


@reports_errors
def export(
    ctx: typer.Context,
    dataset: DatasetOption = "ml-1m",
    out: Annotated[Path, typer.Option(help="The snapshot file to write (gzip-compressed JSON).")] = Path(
        "snapshot.json.gz"
    ),
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Write a training snapshot: sequences, item attributes and every stamped chain link, with a content hash,
    so `llmrg train --snapshot FILE` trains where the database is not."""
    from gnn.snapshot import write_snapshot

    with gateway.open_gateway(settings_of(ctx)) as db:
        snapshot = write_snapshot(db, dataset, out, progress=progress and not as_json)
    summary = snapshot.summary()
    if as_json:
        print_json(summary)
        return
    console.print(
        f"wrote {out}: {summary['users']:,} users, {summary['items']:,} items, {summary['interactions']:,} "
        f"interactions, {summary['chains']:,} chains; sha256 {summary['sha256']}"
    )


@reports_errors
def train(
    ctx: typer.Context,
    dataset: DatasetOption = "ml-1m",
    model: ModelOption = "duorec",
    llmrg: LLMRGFlag = False,
    seq_graph: SeqGraphFlag = False,
    no_divergent: NoDivergentFlag = False,
    unverified: UnverifiedFlag = False,
    kb_graph: KnowledgeBaseGraphFlag = False,
    kb_placebo: KnowledgeBasePlaceboFlag = False,
    kb_random_edges: KnowledgeBaseRandomEdgesFlag = False,
    reasoned_only: ReasonedOnlyFlag = False,
    evaluate_reasoned_only: EvaluateReasonedOnlyFlag = False,
    seed: SeedOption = 0,
    epochs: Annotated[int | None, typer.Option(min=1, help="Most epochs (early stopping may end sooner).")] = None,
    snapshot: SnapshotOption = None,
    resume: Annotated[bool, typer.Option(help="Continue from the run's last checkpoint if there is one.")] = True,
    queue: Annotated[bool, typer.Option("--queue", help="Send it to a worker (queue `training`) instead.")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Train a model on the leave-one-out split (full ranking, early stopping on valid NDCG@10)."""
    check_users(reasoned_only, evaluate_reasoned_only)
    from gnn import pipeline

    settings = settings_of(ctx)
    chosen = vocabulary.variant(
        variant_name(llmrg, seq_graph, no_divergent, unverified, kb_graph, kb_placebo, kb_random_edges)
    )
    if queue:
        from workers.app import create_app

        sent = create_app(settings).send_task(
            TaskName.TRAIN.value,
            kwargs={
                "dataset": dataset,
                "model": model,
                "variant": chosen.name,
                "seed": seed,
                "epochs": epochs,
                "reasoned_only": reasoned_only,
                "evaluate_reasoned_only": evaluate_reasoned_only,
            },
        )
        if as_json:
            print_json({"task_id": sent.id})
        else:
            console.print(f"training queued (task {sent.id}); a worker must consume the `training` queue")
        return
    with data_source(settings, snapshot) as source:
        result = pipeline.run_training(
            source,
            settings,
            dataset,
            model,
            chosen,
            seed,
            epochs,
            reasoned_only=reasoned_only,
            evaluate_reasoned_only=evaluate_reasoned_only,
            resume=resume,
            progress=progress and not as_json,
        )
    seeing = result["rows_seeing_edges"]
    if seeing is not None and not seeing["train"]:
        console.print(
            f"[yellow]warning:[/yellow] no training row sees a reasoning edge (rows per stage: {seeing}): "
            f"{chosen.name} trained like the base model. Chains are stamped with the last position their prompt "
            "showed; reason about earlier positions (llmrg reason --max-targets 0 --holdout 1)."
        )
    warn_if_stalled(result)
    if as_json:
        print_json(result)
        return
    _metrics_table(result, f"{model} {chosen.name} on {dataset}, seed {seed}")
    console.print(f"best epoch {result['best_epoch']} of {result['epochs_run']}, {result['epoch_s']:.1f} s/epoch")


def warn_if_stalled(result: dict[str, Any]) -> None:
    """Say so when early stopping ended a run at the most-popular baseline's level: on a dataset with few users an
    epoch makes few optimiser steps, and a model that needs more to leave that level is stopped before it trains."""
    from gnn.evaluate import STALLED_BELOW, stalled

    valid = (result.get("all_users") or result)["valid"]["ndcg@10"]
    level = result["popularity"]["valid"]["ndcg@10"]
    if stalled(valid, level):
        console.print(
            f"[yellow]warning:[/yellow] best valid NDCG@10 {valid:.4f} is under {STALLED_BELOW}x the most-popular "
            f"baseline's {level:.4f}: the model stopped before it learned order. Give an epoch more optimiser steps "
            "(fewer windows a batch, LLMRG_TRAIN_WINDOWS_PER_BATCH) or more patience (LLMRG_TRAIN_PATIENCE)."
        )


@reports_errors
def evaluate(
    ctx: typer.Context,
    dataset: DatasetOption = "ml-1m",
    model: ModelOption = "duorec",
    llmrg: LLMRGFlag = False,
    seq_graph: SeqGraphFlag = False,
    no_divergent: NoDivergentFlag = False,
    unverified: UnverifiedFlag = False,
    kb_graph: KnowledgeBaseGraphFlag = False,
    kb_placebo: KnowledgeBasePlaceboFlag = False,
    kb_random_edges: KnowledgeBaseRandomEdgesFlag = False,
    reasoned_only: ReasonedOnlyFlag = False,
    evaluate_reasoned_only: EvaluateReasonedOnlyFlag = False,
    seed: SeedOption = 0,
    snapshot: SnapshotOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Evaluate a trained run's best checkpoint on valid and test (HR@5/10, NDCG@5/10, full ranking)."""
    check_users(reasoned_only, evaluate_reasoned_only)
    from gnn import pipeline

    settings = settings_of(ctx)
    chosen = vocabulary.variant(
        variant_name(llmrg, seq_graph, no_divergent, unverified, kb_graph, kb_placebo, kb_random_edges)
    )
    with data_source(settings, snapshot) as source:
        result = pipeline.evaluate_checkpoint(
            source,
            settings,
            dataset,
            model,
            chosen,
            seed,
            reasoned_only=reasoned_only,
            evaluate_reasoned_only=evaluate_reasoned_only,
        )
    if as_json:
        print_json(result)
        return
    _metrics_table(result, f"{model} {chosen.name} on {dataset}, seed {seed} (epoch {result['epoch']})")


@reports_errors
def results(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option(help="Folder for results.json and results.png.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Mean ± std over seeds of every finished training run, as a table, JSON and a PNG bar chart."""
    from gnn import results as aggregation

    settings = settings_of(ctx)
    paths = sorted(settings.runs_dir.glob("*/*/*/seed*/result.json"))
    if not paths:
        raise ConfigError(f"no finished runs under {settings.runs_dir}; run `llmrg train` first")
    groups = aggregation.aggregate(aggregation.load_results(paths))
    folder = out or settings.paths.state_dir / "results"
    folder.mkdir(parents=True, exist_ok=True)
    aggregation.write_json(groups, folder / "results.json")
    aggregation.plot(groups, folder / "results.png")
    if as_json:
        print_json({"groups": groups, "json": str(folder / "results.json"), "png": str(folder / "results.png")})
        return
    table = Table(*aggregation.TABLE_COLUMNS, title="test metrics, mean ± std over seeds")
    for row in aggregation.table_rows(groups):
        table.add_row(*row)
    Console().print(table)
    console.print(f"written {folder / 'results.json'} and {folder / 'results.png'}")


@reports_errors
def recommend(
    ctx: typer.Context,
    dataset: DatasetOption = "ml-1m",
    user: Annotated[int, typer.Option(help="The user to recommend for.")] = 1,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="How many items.")] = 10,
    model: ModelOption = "duorec",
    llmrg: LLMRGFlag = False,
    seq_graph: SeqGraphFlag = False,
    no_divergent: NoDivergentFlag = False,
    unverified: UnverifiedFlag = False,
    kb_graph: KnowledgeBaseGraphFlag = False,
    seed: SeedOption = 0,
    include_seen: Annotated[bool, typer.Option(help="Also rank items the user already has.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Top-k next items for a user from a trained run, each with the reasoning path that explains it."""
    from gnn.recommend import Recommender, describe_explanation

    settings = settings_of(ctx)
    chosen = vocabulary.variant(variant_name(llmrg, seq_graph, no_divergent, unverified, kb_graph))
    with gateway.open_gateway(settings) as db:
        recommender = Recommender.load(db, settings, dataset, model, chosen, seed)
        answer = recommender.recommend(db, user, k, include_seen=include_seen)
    if as_json:
        print_json(answer)
        return
    table = Table("#", "item", "title", "score", "why", title=f"user {user} of {dataset} ({model} {chosen.name})")
    for rank, entry in enumerate(answer["items"], start=1):
        why = describe_explanation(entry["explanation"])
        table.add_row(str(rank), str(entry["item"]), escape(entry["title"]), f"{entry['score']:.3f}", escape(why))
    Console().print(table)
    console.print(f"{answer['ms']:.0f} ms after loading the model")


def _metrics_table(result: dict[str, object], title: str) -> None:
    table = Table("split", "HR@5", "HR@10", "NDCG@5", "NDCG@10", title=title)
    for split in ("valid", "test"):
        metrics = result[split]
        assert isinstance(metrics, dict)
        table.add_row(split, *(f"{metrics[name]:.4f}" for name in ("hr@5", "hr@10", "ndcg@5", "ndcg@10")))
    Console().print(table)
