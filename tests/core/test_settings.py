from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings

pytestmark = pytest.mark.unit


def test_standard_neo4j_and_redis_variables_are_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEO4J_URI", "bolt://db.example:7999")
    monkeypatch.setenv("NEO4J_USERNAME", "alice")
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret-pass")
    monkeypatch.setenv("NEO4J_DATABASE", "recs")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6390/2")
    monkeypatch.setenv("LLMRG_STATE_DIR", str(tmp_path))
    settings = Settings.load(env_file=None)
    assert (settings.neo4j.uri, settings.neo4j.username, settings.neo4j.database) == (
        "bolt://db.example:7999",
        "alice",
        "recs",
    )
    assert settings.neo4j.bolt_port == 7999
    assert settings.redis.port == 6390
    assert settings.resolved_neo4j_password() == "s3cret-pass"
    assert "s3cret-pass" not in repr(settings)


def test_local_password_comes_from_the_state_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    monkeypatch.setenv("LLMRG_STATE_DIR", str(tmp_path))
    settings = Settings.load(env_file=None)
    with pytest.raises(ConfigError, match="llmrg up"):
        settings.resolved_neo4j_password()
    settings.neo4j_password_file.parent.mkdir(parents=True)
    settings.neo4j_password_file.write_text("generated-123\n")
    assert settings.resolved_neo4j_password() == "generated-123"


def test_env_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LLMRG_INGEST_BATCH_SIZE", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("LLMRG_INGEST_BATCH_SIZE=1234\n")
    assert Settings.load(env_file=env_file).ingest.batch_size == 1234


def test_example_env_file_only_names_real_settings() -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    names = {line.lstrip("# ").split("=")[0] for line in example.read_text().splitlines() if "=" in line}
    aliases = set()
    for area in Settings.area_types().values():
        for field in area.model_fields.values():
            aliases.update(field.validation_alias.choices)  # type: ignore[union-attr]
    assert names <= aliases, names - aliases


def test_reasoning_defaults_to_what_tells_real_chains_from_placebo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1.5B with prompt v4 and lettered questions (docs/RESULTS.md, quality harness); the suite pins the fast
    0.5B profile in its environment, so the defaults are read here without it."""
    from llmrg.services.llm_weights import weights_for

    for variable in (
        "LLMRG_LLM_WEIGHTS",
        "LLMRG_LLM_MODEL",
        "LLMRG_REASON_PROMPT_VERSION",
        "LLMRG_REASON_PREMISE_WINDOW",
        "LLMRG_VERIFY_STYLE",
    ):
        monkeypatch.delenv(variable, raising=False)
    settings = Settings.load(env_file=None)
    assert (settings.llm.weights, settings.llm.model) == ("qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct")
    assert weights_for(settings.llm.weights).chat_alias == settings.llm.model, "the server answers to this name"
    assert (settings.reasoning.prompt_version, settings.reasoning.premise_window) == ("v4", 0)
    assert settings.verify.style == "lettered"
