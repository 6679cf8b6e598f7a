"""Fixtures shared by several integration test modules."""

from __future__ import annotations

import neo4j
import pytest

from llmrg.settings import Settings
from tests.query_fixture import DATASET, FIXTURE


@pytest.fixture(scope="module")
def fixture_graph(services: Settings, driver: neo4j.Driver) -> str:
    """The query fixture graph, rebuilt for each module that uses it (the dataset name keeps it apart)."""
    driver.execute_query("MATCH (n) WHERE n.dataset = $d DETACH DELETE n", d=DATASET)
    driver.execute_query(FIXTURE, d=DATASET)
    return DATASET
