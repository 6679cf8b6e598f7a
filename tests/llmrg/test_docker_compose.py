"""docker-compose.yml, checked by parsing (no docker engine here) and by `docker compose config` if present."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_images(compose: dict) -> None:
    services = compose["services"]
    assert set(services) >= {"neo4j", "redis", "app", "worker", "beat", "flower"}
    assert services["neo4j"]["image"] == "neo4j:5.26-community"
    assert services["redis"]["image"].startswith("redis:7")
    assert services["app"]["build"] == "."
    assert (ROOT / "Dockerfile").is_file()


def test_ports_are_loopback_and_standard(compose: dict) -> None:
    services = compose["services"]
    assert services["neo4j"]["ports"] == ["127.0.0.1:7474:7474", "127.0.0.1:7687:7687"]
    assert services["redis"]["ports"] == ["127.0.0.1:6379:6379"]


def test_neo4j_auth_has_no_default_password(compose: dict) -> None:
    auth = compose["services"]["neo4j"]["environment"]["NEO4J_AUTH"]
    assert auth == "neo4j/${NEO4J_PASSWORD:?set NEO4J_PASSWORD (8+ characters)}"
    assert compose["services"]["app"]["environment"]["NEO4J_PASSWORD"].startswith("${NEO4J_PASSWORD:?")


def test_volumes_and_healthchecks(compose: dict) -> None:
    services = compose["services"]
    assert "neo4j-data:/data" in services["neo4j"]["volumes"]
    assert "redis-data:/data" in services["redis"]["volumes"]
    assert set(compose["volumes"]) >= {"neo4j-data", "redis-data"}
    for name in ("neo4j", "redis"):
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    assert services["app"]["depends_on"] == {
        "neo4j": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


def test_celery_services_share_the_app_environment(compose: dict) -> None:
    services = compose["services"]
    for name in ("worker", "beat", "flower"):
        assert services[name]["build"] == "."
        assert services[name]["environment"] == services["app"]["environment"]
        assert services[name]["depends_on"] == services["app"]["depends_on"]
    assert services["worker"]["command"] == ["worker"]
    assert services["beat"]["command"][0] == "beat"
    assert services["flower"]["entrypoint"][:3] == ["celery", "-A", "workers.main"]
    assert services["flower"]["ports"] == ["127.0.0.1:5555:5555"]


def test_app_environment_uses_the_standard_variables(compose: dict) -> None:
    environment = compose["services"]["app"]["environment"]
    assert environment["NEO4J_URI"] == "bolt://neo4j:7687"
    assert environment["REDIS_URL"] == "redis://redis:6379/0"


def test_docker_compose_config_when_the_plugin_exists() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose plugin not installed here; the file is checked by parsing above")
    result = subprocess.run(
        [docker, "compose", "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NEO4J_PASSWORD": "compose-check-pw"},
    )
    assert result.returncode == 0, result.stderr
