"""`llmrg worker`, `llmrg beat`, `llmrg run reason`, `llmrg runs`, `llmrg refresh`: reasoning on Celery."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from core import gateway
from core.settings import Settings
from core.vocabulary import QueueName, TaskName
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
from reasoning.options import ReasoningOptions
from workers import follow, runs
from workers.config import reliability_problems

if TYPE_CHECKING:
    from celery import Celery

run_app = typer.Typer(no_args_is_help=True, help="Start work on the Celery workers.")


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.command()(beat)
    app.command(name="runs")(runs_command)
    app.command(name="refresh")(refresh_command)
    app.add_typer(run_app, name="run")


@reports_errors
def worker(
    ctx: typer.Context,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: settings).")] = None,
    queues: Annotated[str, typer.Option(help="Comma-separated queues to consume.")] = (
        f"{QueueName.REASONING},{QueueName.DEFAULT}"
    ),
    hostname: Annotated[str | None, typer.Option(help="Node name, e.g. w1@%h.")] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run a Celery worker in the foreground (prefork pool; one process per concurrency slot)."""
    settings = settings_of(ctx)
    _refuse_unreliable(settings)
    argv = ["worker", f"--loglevel={loglevel}", f"--queues={queues}", "--without-gossip", "--without-mingle"]
    argv.append(f"--concurrency={concurrency or settings.workers.concurrency}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    _celery_app(settings).worker_main(argv)


@reports_errors
def beat(
    ctx: typer.Context,
    schedule: Annotated[str | None, typer.Option(help="Beat's schedule state file.")] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run the beat scheduler in the foreground (the periodic knowledge-base refresh)."""
    settings = settings_of(ctx)
    state = schedule or str(settings.paths.state_dir / "celery" / "beat-schedule")
    (settings.paths.state_dir / "celery").mkdir(parents=True, exist_ok=True)
    _celery_app(settings).start(["beat", f"--loglevel={loglevel}", f"--schedule={state}"])


@run_app.command("reason")
@reports_errors
def run_reason(
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
    wait: Annotated[bool, typer.Option("--wait", help="Follow the run until it ends.")] = False,
    timeout: Annotated[float | None, typer.Option(help="With --wait: give up after this many seconds.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar while waiting.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Reason for users on the Celery workers: one task per user, followed by a run record in Neo4j."""
    settings = settings_of(ctx)
    options = ReasoningOptions(
        verify=verify,
        kb=kb,
        divergent=divergent,
        naive=naive,
        max_targets=max_targets,
        history_length=history_length,
        holdout=holdout,
    )
    from reasoning.run import select_users
    from workers.fanout import start_reason_run

    with gateway.open_gateway(settings) as db:
        gateway.apply_schema(db)
        ids = select_users(db, dataset, users, user_ids)
        run_id = start_reason_run(_celery_app(settings), db, dataset, ids, options)
        if not wait:
            record = runs.read_run(db, run_id)
        else:
            record = follow.follow_run(
                db, run_id, show_progress=progress and not as_json, timeout_s=timeout, console=console
            )
    if as_json:
        print_json(record)
        return
    _print_run(record)
    if not wait:
        console.print(f"follow it with `llmrg runs` (run {run_id})")


@reports_errors
def runs_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many of the latest runs.")] = 20,
    run_id: Annotated[str | None, typer.Option("--run", help="Show one run.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the runs (newest first) with their state and totals."""
    settings = settings_of(ctx)
    with gateway.open_gateway(settings) as db:
        records = [runs.read_run(db, run_id)] if run_id else runs.list_runs(db, limit)
    if as_json:
        print_json({"runs": records})
        return
    table = Table("run", "dataset", "status", "done", "failed", "of", "LLM calls", "KB hits", "created")
    for record in records:
        table.add_row(
            record["run_id"],
            record["dataset"],
            record["status"],
            str(record["users_done"]),
            str(record["users_failed"]),
            str(record["users_total"]),
            str(record["llm_calls"]),
            str(record["kb_hits"]),
            str(record["created_at"])[:19],
        )
    Console().print(table)


@reports_errors
def refresh_command(
    ctx: typer.Context,
    dataset: Annotated[list[str] | None, typer.Option(help="Dataset(s) to refresh (default: all).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Queue a knowledge-base refresh now (beat also runs it on its schedule)."""
    settings = settings_of(ctx)
    result = _celery_app(settings).send_task(
        TaskName.REFRESH_KNOWLEDGE_BASE.value, kwargs={"datasets": dataset or None}
    )
    if as_json:
        print_json({"task_id": result.id})
    else:
        console.print(f"refresh queued (task {result.id})")


def _celery_app(settings: Settings) -> Celery:
    """The Celery app, imported only by the commands that use it: it pulls in Celery and the reasoning
    engine's LLM stack (seconds), which every other `llmrg` command, `--help` included, would pay for."""
    from workers.app import create_app

    return create_app(settings)


def _refuse_unreliable(settings: Settings) -> None:
    """A worker with inconsistent reliability settings would lose or duplicate work: refuse to start it."""
    problems = reliability_problems(settings)
    if problems:
        for problem in problems:
            console.print(f"[bold red]error:[/] {problem}", highlight=False)
        raise typer.Exit(2)


def _print_run(record: dict[str, object]) -> None:
    table = Table("measure", "value", title=f"run {record['run_id']}")
    for key, value in record.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    Console().print(table)
