"""`llmrg kb export` and `llmrg kb import`: a knowledge base as a file that outlives its database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core import gateway
from llmrg.cli_support import JsonFlag, console, print_json, reports_errors, settings_of
from reasoning import kb_transfer

kb_app = typer.Typer(no_args_is_help=True, help="Move a knowledge base between databases (gzipped JSON Lines).")


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")


@kb_app.command(name="export")
@reports_errors
def export_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="The file to write (e.g. kb.jsonl.gz).")],
    dataset: Annotated[str, typer.Option(help="A stored dataset.")] = "ml-1m",
    model: Annotated[str | None, typer.Option(help="Only chains and edges of this model.")] = None,
    prompt_version: Annotated[str | None, typer.Option(help="Only chains and edges of this prompt version.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write the dataset's verified chains, their causal edges and the items they name (no users)."""
    settings = settings_of(ctx)
    with gateway.open_gateway(settings) as db:
        report = kb_transfer.export_knowledge_base(db, dataset, out, model=model, prompt_version=prompt_version)
    if as_json:
        print_json(report.as_json())
        return
    console.print(
        f"{report.dataset}: {report.chains:,} chains, {report.edges:,} edges, {report.items:,} items "
        f"-> {report.path} (sha256 {report.sha256[:16]}...)",
        highlight=False,
    )


@kb_app.command(name="import")
@reports_errors
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A knowledge-base file written by `llmrg kb export`.")],
    dataset: Annotated[str | None, typer.Option(help="Import into this dataset (default: the file's).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the whole file against the database, then MERGE it (idempotent; evidence is merged by id)."""
    settings = settings_of(ctx)
    with gateway.open_gateway(settings) as db:
        gateway.apply_schema(db)
        report = kb_transfer.import_knowledge_base(db, file, dataset)
    if as_json:
        print_json(report.as_json())
        return
    console.print(
        f"{report.dataset}: {report.chains:,} chains, {report.edges:,} edges from {report.path}: "
        f"{report.created:,} created, {report.merged:,} already stored (merged)",
        highlight=False,
    )


@kb_app.command(name="warm")
@reports_errors
def warm_command(
    ctx: typer.Context,
    pairs: Annotated[int, typer.Option(min=1, help="Reason about the N most frequent ordered item pairs.")],
    dataset: Annotated[str, typer.Option(help="A stored dataset.")] = "ml-1m",
    within: Annotated[int, typer.Option(min=1, help="a counts for b when among the N items just before b.")] = 3,
    holdout: Annotated[int, typer.Option(min=0, help="Never count each history's last N items.")] = 2,
    pairs_per_call: Annotated[int, typer.Option(min=1, help="Pairs reasoned about in one call.")] = 4,
    questions_per_call: Annotated[int, typer.Option(min=1, help="Verification questions in one call.")] = 1,
    placebo_every: Annotated[int, typer.Option(min=1, help="One placebo pair beside every N-th real pair.")] = 4,
    chunk_pairs: Annotated[int, typer.Option(min=1, help="Real pairs per journaled chunk.")] = 40,
    journal: Annotated[Path | None, typer.Option(help="The run's journal (default: <state>/kb/warm-D.json).")] = None,
    max_minutes: Annotated[float, typer.Option(help="Stop before a chunk starts later (0 = never).")] = 0.0,
    fresh: Annotated[bool, typer.Option(help="Discard the journal and start over.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Reason about the item pairs users share most, verify each, store the verified ones as causal edges."""
    settings = settings_of(ctx)
    from reasoning import warm_run  # the LLM stack: seconds no other kb command should pay

    options = warm_run.WarmOptions(
        pairs=pairs,
        within=within,
        holdout=holdout,
        pairs_per_call=pairs_per_call,
        questions_per_call=questions_per_call,
        placebo_every=placebo_every,
        chunk_pairs=chunk_pairs,
    )
    with gateway.open_gateway(settings) as db:
        gateway.apply_schema(db)
        summary = warm_run.warm_dataset(
            db,
            settings,
            dataset,
            options,
            journal_file=journal,
            fresh=fresh,
            max_minutes=max_minutes,
            report=(lambda line: None) if as_json else (lambda line: console.print(line, highlight=False)),
        )
    if as_json:
        print_json(summary)
        return
    real, placebo, covered = summary["real"], summary["placebo"], summary["coverage"] or {}
    console.print(
        f"{dataset}: {summary['pairs']:,} pairs in {summary['llm_calls']:,} calls; real pairs verified "
        f"{real['verified']}/{real['asked']}, placebo pairs {placebo['verified']}/{placebo['asked']}; verified "
        f"edges cover {100 * covered.get('share', 0):.1f}% of steps and {100 * covered.get('test_share', 0):.1f}% "
        "of test targets",
        highlight=False,
    )
