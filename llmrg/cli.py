"""The `llmrg` command line. Builds the one Settings object and hands it to the rooms below."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core import gateway
from core.settings import Settings
from ingestion import loader, registry
from llmrg import cli_gnn, cli_kb, cli_queries, cli_workers
from llmrg import doctor as doctor_checks
from llmrg.cli_support import (
    DatasetOption,
    DivergentOption,
    HistoryLengthOption,
    HoldoutOption,
    JsonFlag,
    KnowledgeBaseOption,
    MaxTargetsOption,
    NaiveOption,
    UserIdsOption,
    UsersOption,
    VerifyOption,
    console,
    print_json,
    reports_errors,
    settings_of,
)
from llmrg.services import llm_metrics
from llmrg.services.celery_processes import LocalCeleryProcess
from llmrg.services.llm_server import LocalLLM
from llmrg.services.neo4j_server import LocalNeo4j
from llmrg.services.redis_server import LocalRedis
from llmrg.stats import dataset_counts
from reasoning.options import ReasoningOptions

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="LLMRG: LLM reasoning graphs in Neo4j for sequential recommendation.",
)
_settings = settings_of
_print_json = print_json


@app.callback()
def main(ctx: typer.Context) -> None:
    try:
        ctx.obj = Settings()
    except Exception as exc:  # pydantic's ValidationError: name the offending variable and stop
        console.print(f"[bold red]error:[/] invalid settings: {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


@app.command()
@reports_errors
def up(
    ctx: typer.Context,
    neo4j: Annotated[bool, typer.Option(help="Start Neo4j.")] = True,
    redis: Annotated[bool, typer.Option(help="Start Redis.")] = True,
    llm: Annotated[bool, typer.Option(help="Start the local LLM server (when the LLM URL is local).")] = True,
    workers: Annotated[bool, typer.Option(help="Start one Celery worker and the beat scheduler.")] = True,
) -> None:
    """Start the local services (idempotent) and create the graph schema."""
    settings = _settings(ctx)
    if llm and settings.llm.serve_local and settings.llm.is_local:
        with console.status("starting the local LLM (the first start assembles its weights)"):
            llm_state = LocalLLM(settings).start()
        console.print(f"llm    up  {llm_state.base_url} ({llm_state.model}, pid {llm_state.pid})")
    if redis:
        with console.status("starting Redis"):
            state = LocalRedis(settings).start()
        console.print(f"redis  up  {state.url} (Redis {state.version}, pid {state.pid})")
    if neo4j:
        with console.status("starting Neo4j (the first start assembles it from Maven Central)"):
            status = LocalNeo4j(settings).start()
            with gateway.open_gateway(settings) as db:
                gateway.apply_schema(db)
        console.print(f"neo4j  up  {status.bolt}  browser {status.browser}  (Neo4j {status.version}, pid {status.pid})")
        if settings.neo4j.password is None:
            console.print(f"       user neo4j, password in {status.password_file}")
    if workers:
        for role in ("worker", "beat"):
            started = LocalCeleryProcess(settings, role).start()
            console.print(f"{role:6} up  pid {started.pid}, log {started.log}")


@app.command()
@reports_errors
def down(ctx: typer.Context) -> None:
    """Stop the local services cleanly (data stays for the next `up`)."""
    settings = _settings(ctx)
    services: tuple[tuple[str, LocalNeo4j | LocalRedis | LocalLLM | LocalCeleryProcess], ...] = (
        ("beat", LocalCeleryProcess(settings, "beat")),
        ("worker", LocalCeleryProcess(settings, "worker")),
        ("llm", LocalLLM(settings)),
        ("neo4j", LocalNeo4j(settings)),
        ("redis", LocalRedis(settings)),
    )
    for name, service in services:
        console.print(f"{name}  {'stopped' if service.stop() else 'was not running'}")


@app.command()
@reports_errors
def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Whether the local services run, and where."""
    settings = _settings(ctx)
    payload = {
        "neo4j": asdict(LocalNeo4j(settings).status()),
        "redis": asdict(LocalRedis(settings).status()),
        "llm": asdict(LocalLLM(settings).status()),
        "worker": asdict(LocalCeleryProcess(settings, "worker").status()),
        "beat": asdict(LocalCeleryProcess(settings, "beat").status()),
    }
    if as_json:
        _print_json(payload)
        return
    for name, state in payload.items():
        running = "[green]running[/]" if state["running"] else "[red]stopped[/]"
        where = state.get("bolt") or state.get("url") or state.get("base_url") or state.get("log")
        console.print(f"{name:6} {running}  {where}  pid {state['pid']}", highlight=False)


@app.command()
@reports_errors
def ingest(
    ctx: typer.Context,
    dataset: Annotated[str | None, typer.Argument(help="ml-1m, ml-1m-all or beauty.")] = None,
    variant: Annotated[str | None, typer.Option(help="ml-1m only: 5core (default) or all.")] = None,
    name: Annotated[str | None, typer.Option(help="Name for your own dataset.")] = None,
    sequences: Annotated[Path | None, typer.Option(help="Your sequence file: `user item item ...`.")] = None,
    items: Annotated[Path | None, typer.Option(help="Your item table (TSV with item_id, title, ...).")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Interactions per transaction.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Load a dataset into Neo4j (idempotent: a rerun leaves the exact same counts)."""
    settings = _settings(ctx)
    if batch_size is not None:
        settings = settings.updated(ingest={"batch_size": batch_size})
    if sequences is not None or name is not None:
        if dataset is not None or name is None or sequences is None:
            raise typer.BadParameter(
                "your own data takes --name and --sequences (and optionally --items), without a DATASET argument"
            )
        bundle = registry.read_custom(name, sequences, items)
    else:
        if dataset is None:
            raise typer.BadParameter("name a DATASET (ml-1m, ml-1m-all, beauty) or give --name/--sequences")
        with console.status(f"reading {dataset}"):
            bundle = registry.read_builtin(settings, registry.builtin_name(dataset, variant))
    with gateway.open_gateway(settings) as db:
        report = loader.write_dataset(db, settings, bundle, show_progress=progress and not as_json)
    if as_json:
        _print_json(asdict(report) | {"interactions_per_s": report.interactions_per_s})
    else:
        console.print(
            f"{report.dataset}: {report.users:,} users, {report.items:,} items, "
            f"{report.attributes:,} attributes, {report.interactions:,} interactions in "
            f"{report.seconds:.1f} s ({report.interactions_per_s:,.0f} interactions/s)"
        )


@app.command()
@reports_errors
def drop(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="The dataset to remove.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a dataset and everything linked to it from the graph."""
    settings = _settings(ctx)
    if not yes:
        typer.confirm(f"Delete dataset {dataset!r} and its users, items and interactions?", abort=True)
    with gateway.open_gateway(settings) as db:
        loader.delete_dataset(db, dataset)
    console.print(f"dropped {dataset}")


@app.command()
@reports_errors
def stats(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Users, items and interactions stored per dataset, counted in the graph."""
    settings = _settings(ctx)
    with gateway.open_gateway(settings) as db:
        counts = dataset_counts(db)
    if as_json:
        _print_json({"datasets": counts})
        return
    table = Table("dataset", "status", "users", "items", "interactions", "attributes")
    for dataset, row in counts.items():
        table.add_row(
            dataset,
            str(row["status"]),
            f"{row['users']:,}",
            f"{row['items']:,}",
            f"{row['interactions']:,}",
            f"{row['attributes']:,}",
        )
    Console().print(table)


@app.command()
@reports_errors
def reason(
    ctx: typer.Context,
    dataset: DatasetOption = "ml-1m",
    users: UsersOption = None,
    user_ids: UserIdsOption = None,
    verify: VerifyOption = None,
    kb: KnowledgeBaseOption = None,
    divergent: DivergentOption = None,
    naive: NaiveOption = False,
    max_targets: MaxTargetsOption = None,
    history_length: HistoryLengthOption = None,
    holdout: HoldoutOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Build LLM reasoning graphs for users of a dataset (in-process)."""
    settings = ReasoningOptions(
        verify=verify,
        kb=kb,
        divergent=divergent,
        naive=naive,
        max_targets=max_targets,
        history_length=history_length,
        holdout=holdout,
    ).apply(_settings(ctx))
    from reasoning import run as reasoning_run  # the LLM stack: seconds no other command should pay

    with gateway.open_gateway(settings) as db:
        gateway.apply_schema(db)
        ids = reasoning_run.select_users(db, dataset, users, user_ids)
        counters = llm_metrics.read_counters(settings.llm.base_url)
        stats = reasoning_run.reason_users(db, settings, dataset, ids, show_progress=progress and not as_json)
        computed = llm_metrics.since(counters, llm_metrics.read_counters(settings.llm.base_url))
    summary = stats.as_json()
    # what the server computed, its prompt cache aside (null for an endpoint that does not report it)
    summary["computed_prompt_tokens"] = (
        int(computed["prompt_tokens_computed"]) if "prompt_tokens_computed" in computed else None
    )
    if as_json:
        _print_json(summary)
        return
    table = Table("measure", "value", title=f"reasoning on {dataset}")
    for key, value in summary.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    Console().print(table)


@app.command()
@reports_errors
def doctor(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Check connectivity, versions and the schema; exit 1 when anything is wrong."""
    checks = doctor_checks.run_checks(_settings(ctx))
    if as_json:
        _print_json(doctor_checks.as_json(checks))
    else:
        for check in checks:
            mark = "[green]ok  [/]" if check.ok else "[bold red]FAIL[/]"
            console.print(f"{mark} {check.name:14} {escape(check.detail)}", highlight=False)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


@app.command()
@reports_errors
def demo(
    ctx: typer.Context,
    tiny: Annotated[bool, typer.Option("--tiny", help="A few users and one short epoch (what CI runs).")] = False,
    users: Annotated[int | None, typer.Option(min=1, help="Users to reason for (default: 24; tiny: 3).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The whole main job on a small default: services, ML-1M, reasoning on the workers with the local LLM, a
    short LLMRG training run, recommendations with reasons, and where to look in Neo4j Browser."""
    from llmrg import demo as demo_job

    settings, variables = demo_job.fast_profile(_settings(ctx))
    os.environ.update(variables)  # the workers started below read their settings from the environment
    ctx.obj = settings
    plan = demo_job.DemoPlan.tiny() if tiny else demo_job.DemoPlan()
    if users is not None:
        plan = dataclasses.replace(plan, users=users)
    up(ctx, neo4j=True, redis=True, llm=True, workers=True)
    report = demo_job.run_demo(settings, plan, console, progress=not as_json)
    if as_json:
        _print_json(report.as_json())
        return
    demo_job.print_report(report, console)


cli_workers.register(app)
cli_gnn.register(app)
cli_queries.register(app)
cli_kb.register(app)
