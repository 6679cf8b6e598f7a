"""Every Cypher statement of the project lives here as a `.cypher` file; this module only loads them.

A file holds one statement, except schema files, which may hold several separated by `;` at line end.
Lines starting with `//` are comments (each file's header lists its `$parameters`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

CYPHER_DIR = Path(__file__).resolve().parent


@cache
def load(name: str) -> str:
    """The statement in `cypher/<name>.cypher`, comments stripped, e.g. `load("ingestion/merge_items")`."""
    statements = load_all(name)
    if len(statements) != 1:
        raise ValueError(f"cypher/{name}.cypher holds {len(statements)} statements; expected exactly one")
    return statements[0]


@cache
def load_all(name: str) -> tuple[str, ...]:
    """All statements of `cypher/<name>.cypher`, in file order."""
    path = CYPHER_DIR / f"{name}.cypher"
    if not path.is_file():
        raise FileNotFoundError(f"no Cypher file {path}")
    return split_statements(path.read_text(encoding="utf-8"))


def split_statements(text: str) -> tuple[str, ...]:
    """Split on `;` at line end, dropping `//` comment lines and blank statements."""
    kept = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    parts = (part.strip() for part in kept.replace(";\r\n", ";\n").split(";\n"))
    return tuple(part.rstrip(";").strip() for part in parts if part.rstrip(";").strip())


def names(folder: str) -> list[str]:
    """The `<folder>/<stem>` names of every file in a folder, sorted (schema files apply in this order)."""
    return sorted(f"{folder}/{path.stem}" for path in (CYPHER_DIR / folder).glob("*.cypher"))
