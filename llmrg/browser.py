"""Neo4j Browser, set up for reading reasoning graphs: the graph style and links that open a query.

The style (`cypher/browser/style.json`: item captions are titles, chain links show their reasons) is applied
on every connection through `browser.post_connect_cmd` in the generated neo4j.conf, and anyone can apply it
by hand with the `:style` command. Links use Browser's own URL parameters (`cmd=edit&arg=...`), which put a
statement in the editor without running it.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import cypher
from core.settings import Settings

STYLE_PATH = cypher.CYPHER_DIR / "browser" / "style.json"


def style() -> str:
    """The graph style as one line of JSON (Browser's `:style` accepts JSON as well as GraSS)."""
    return json.dumps(json.loads(STYLE_PATH.read_text(encoding="utf-8")), separators=(",", ":"))


def style_command() -> str:
    """What to run in Browser to apply the style by hand."""
    return f":style {style()}"


def post_connect_command() -> str:
    """`browser.post_connect_cmd`: Browser runs it (without the colon) after every connection. It splits the
    value on `;`, so the JSON form is used (GraSS separates declarations with `;`)."""
    command = f"style {style()}"
    if ";" in command:
        raise ValueError(f"{STYLE_PATH} must not contain ';' (Browser splits post-connect commands on it)")
    return command


def open_url(settings: Settings, statement: str | None = None) -> str:
    """Browser's address with the connection filled in and, optionally, `statement` waiting in the editor."""
    scheme, _, address = settings.neo4j.uri.partition("://")
    parameters = {"connectURL": f"{scheme}://{settings.neo4j.username}@{address}"}
    if statement is not None:
        parameters |= {"cmd": "edit", "arg": statement}
    return f"{settings.neo4j.browser_url}?{urlencode(parameters)}"


def password_hint(settings: Settings) -> str:
    """Where the password is: the file `llmrg up` generated, or the variable the user set."""
    return "NEO4J_PASSWORD" if settings.neo4j.password else str(settings.neo4j_password_file)


def parameter_commands(parameters: dict[str, object]) -> str:
    """`:param` lines for a library query's parameters. The `=>` form evaluates the value as Cypher, so
    integers stay integers (`:params {n: 3}` would make 3.0, which LIMIT rejects)."""
    return "\n".join(f":param {name} => {json.dumps(value)}" for name, value in parameters.items())


def query_script(name: str, parameters: dict[str, object]) -> str:
    """A library query as Browser runs it: its `:param` lines, then the statement (the file without its header),
    separated by `;` so one run sets the parameters and runs the query."""
    statement = cypher.load(f"queries/{name}")
    lines = [f"{line};" for line in parameter_commands(parameters).splitlines()]
    return "\n".join([*lines, statement])
