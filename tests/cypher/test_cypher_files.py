"""Every statement lives in cypher/*.cypher with a header listing its parameters; Python holds none."""

from __future__ import annotations

import re
import subprocess

import pytest

import cypher
from core import gateway
from tests.conftest import ROOT

pytestmark = pytest.mark.unit
CYPHER_FILES = sorted(cypher.CYPHER_DIR.rglob("*.cypher"))


def test_split_statements_drops_comments_and_splits_on_line_end_semicolons() -> None:
    text = "// header\n// Parameters: none.\nCREATE A;\n// between\nCREATE B\n  WITH 'x;y' AS s;\n\n"
    assert cypher.split_statements(text) == ("CREATE A", "CREATE B\n  WITH 'x;y' AS s")


def test_load_rejects_a_multi_statement_file_where_one_is_expected() -> None:
    with pytest.raises(ValueError, match="holds 2 statements"):
        cypher.load("schema/item")


@pytest.mark.parametrize("path", CYPHER_FILES, ids=lambda p: str(p.relative_to(cypher.CYPHER_DIR)))
def test_each_file_declares_every_parameter_it_uses(path) -> None:
    text = path.read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("//"))
    assert "Parameters:" in header, f"{path.name} lacks a `// Parameters:` header"
    body = "\n".join(line for line in text.splitlines() if not line.startswith("//"))
    used = set(re.findall(r"\$(\w+)", body))
    declared = set(re.findall(r"\$(\w+)", header))
    assert used == declared, f"{path.name}: uses {sorted(used)}, header declares {sorted(declared)}"


def test_schema_names_are_those_the_files_create() -> None:
    assert gateway.expected_schema_names() == {
        "dataset_name",
        "user_key",
        "item_key",
        "item_title",
        "attribute_key",
        "chain_id",
        "chain_target",
        "edge_id",
        "edge_target",
        "run_id",
        "run_task_key",
        "dead_letter_task",
    }


def test_no_cypher_strings_in_python_outside_tests() -> None:
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    pattern = re.compile(r"""["'](MATCH|MERGE|CREATE|UNWIND|CALL|RETURN|SHOW|ALTER) """)
    offenders = [
        name
        for name in tracked.stdout.split()
        if not name.startswith("tests/") and pattern.search((ROOT / name).read_text(encoding="utf-8"))
    ]
    assert offenders == []
