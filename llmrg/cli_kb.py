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
