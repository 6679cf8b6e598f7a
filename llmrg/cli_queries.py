"""`llmrg query`: run one query of the exploration library, as a table or JSON."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core import gateway
from core.settings import Settings
from llmrg import browser, queries
from llmrg.cli_support import JsonFlag, console, print_json, reports_errors, settings_of


def register(app: typer.Typer) -> None:
    app.command()(query)
    app.command(name="browser")(browser_command)


@reports_errors
def browser_command(
    ctx: typer.Context,
    style: Annotated[bool, typer.Option("--style", help="Print only the `:style` command for the graph.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Where Neo4j Browser is and how to log in; the servers `llmrg up` starts style the graph on connection."""
    settings = settings_of(ctx)
    if style:
        typer.echo(browser.style_command())
        return
    login = {
        "url": browser.open_url(settings),
        "username": settings.neo4j.username,
        "password": browser.password_hint(settings),
        "style": browser.style_command(),
    }
    if as_json:
        print_json(login)
        return
    console.print(f"Neo4j Browser: {login['url']}", highlight=False, soft_wrap=True)
    console.print(f"log in as {login['username']}; the password is in {login['password']}", highlight=False)
    console.print("Library queries ready to run: `llmrg query NAME --param k=v --browser` (see `llmrg query --list`).")
    console.print("Guide: docs/BROWSER.md", highlight=False)


@reports_errors
def query(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="A library query (see --list).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="key=value, once per parameter.")] = None,
    list_queries: Annotated[bool, typer.Option("--list", help="Name every library query and what it answers.")] = False,
    in_browser: Annotated[
        bool, typer.Option("--browser", help="Print a Neo4j Browser link with the query ready to run instead.")
    ] = False,
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
    if in_browser:
        _print_browser_link(settings, name, param or [], as_json)
        return
    with gateway.open_gateway(settings) as db:
        rows = queries.run_query(db, name, param or [])
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


def _print_browser_link(settings: Settings, name: str, pairs: list[str], as_json: bool) -> None:
    script = browser.query_script(name, queries.parse_parameters(queries.describe(name), pairs))
    url = browser.open_url(settings, script)
    if as_json:
        print_json({"url": url, "script": script})
        return
    console.print(f"Open {url}", highlight=False, soft_wrap=True)
    console.print(
        "Log in and run the editor's contents: it sets the parameters and runs the query. Browser lists each "
        "statement's outcome; run the query on its own to see its rows or graph (the parameters stay set). The text:",
        highlight=False,
    )
    console.print(escape(script), highlight=False, soft_wrap=True)
