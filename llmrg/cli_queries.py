"""`llmrg query`: run one query of the exploration library, as a table or JSON."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from llmrg import graph, queries
from llmrg.cli_support import JsonFlag, console, print_json, reports_errors, settings_of


def register(app: typer.Typer) -> None:
    app.command()(query)


@reports_errors
def query(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="A library query (see --list).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="key=value, once per parameter.")] = None,
    list_queries: Annotated[bool, typer.Option("--list", help="Name every library query and what it answers.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run a query of the library in cypher/queries/ (the same files you can paste into Neo4j Browser)."""
    if list_queries or name is None:
        entries = queries.library()
        if as_json:
            print_json([{"name": q.name, "answers": q.answers, "parameters": q.parameters} for q in entries])
            return
        table = Table("query", "answers", "parameters")
        for entry in entries:
            table.add_row(entry.name, entry.answers, ", ".join(f"{k} ({v})" for k, v in entry.parameters.items()))
        Console().print(table)
        return
    settings = settings_of(ctx)
    with graph.open_driver(settings) as driver:
        rows = queries.run_query(driver, settings, name, param or [])
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no rows")
        return
    table = Table(*rows[0].keys(), title=name)
    for row in rows:
        table.add_row(*(json.dumps(value) if isinstance(value, list | dict) else str(value) for value in row.values()))
    Console().print(table)
