"""The Browser helpers: the style survives Browser's post-connect splitting, links carry the connection and
the statement, and parameters keep their types."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest

from llmrg import browser
from tests.conftest import make_settings

pytestmark = pytest.mark.unit


def test_the_style_is_one_command_browser_will_not_split() -> None:
    command = browser.post_connect_command()
    assert command.startswith("style {") and ";" not in command and "\n" not in command
    style = json.loads(command.removeprefix("style "))
    assert style["node.Item"]["caption"] == "{title}"
    assert style["relationship.STEP"]["caption"] == "{reason}"
    assert browser.style_command() == ":" + command


def test_a_link_fills_in_the_connection_and_the_editor() -> None:
    settings = make_settings(neo4j={"uri": "neo4j://db.example:7688", "username": "reader"})
    plain = urlparse(browser.open_url(settings))
    assert parse_qs(plain.query) == {"connectURL": ["neo4j://reader@db.example:7688"]}
    with_statement = parse_qs(urlparse(browser.open_url(settings, "RETURN 1")).query)
    assert with_statement["cmd"] == ["edit"] and with_statement["arg"] == ["RETURN 1"]


def test_a_query_script_sets_typed_parameters_then_runs_the_library_statement() -> None:
    script = browser.query_script("chains_for_user", {"dataset": "ml-1m", "user": 7})
    lines = script.splitlines()
    assert lines[:2] == [':param dataset => "ml-1m";', ":param user => 7;"]
    assert lines[2].startswith("MATCH (u:User {dataset: $dataset, id: $user})")
    assert not any(line.startswith("//") for line in lines)
