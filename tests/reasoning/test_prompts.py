"""Every shipped prompt version is complete, uses only the placeholders the code fills, and renders through
the code that builds each call; a broken version is refused with the file named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.errors import ConfigError
from reasoning import chaining, divergent, verification
from reasoning.prompts import (
    FILES,
    TASK_FIELDS,
    available_versions,
    equivalent_versions,
    load_prompt,
    prompts_root,
    read_prompt,
    schema_fields,
    text_fields,
)
from tests.conftest import make_settings
from tests.reasoning.test_reasoning_core import candidate, context

pytestmark = pytest.mark.unit

VERSIONS = [(task, version) for task in sorted(TASK_FIELDS) for version in available_versions(task)]


def test_every_task_ships_at_least_one_version_and_the_default_exists() -> None:
    default = make_settings().reasoning.prompt_version
    for task in TASK_FIELDS:
        assert available_versions(task), task
        assert default in available_versions(task), (task, default)
    shipped_tasks = {entry.name for entry in prompts_root().iterdir() if entry.is_dir()}
    assert shipped_tasks == set(TASK_FIELDS)


@pytest.mark.parametrize(("task", "version"), VERSIONS)
def test_each_version_is_complete_and_uses_only_filled_placeholders(task: str, version: str) -> None:
    folder = prompts_root() / task / version
    assert sorted(entry.name for entry in folder.iterdir()) == sorted(FILES)
    fields = TASK_FIELDS[task]
    assert text_fields((folder / "system.md").read_text()) <= fields.system
    assert text_fields((folder / "user.md").read_text()) <= fields.user
    schema = json.loads((folder / "schema.json").read_text())
    assert set(schema) == set(fields.schema)
    for part, names in fields.schema.items():
        assert schema_fields(schema[part]) <= names, part
    json.loads((folder / "example_output.json").read_text())
    assert not text_fields((folder / "example_input.md").read_text()), "the example is shown verbatim"


@pytest.mark.parametrize(("task", "version"), VERSIONS)
def test_each_version_renders_through_the_code_that_builds_its_calls(task: str, version: str) -> None:
    settings = make_settings(reasoning={"prompt_version": version})
    chain = candidate()
    if task == "chain":
        messages = chaining.chaining_messages(context(), settings, [3, 4], [chain], {3: [0, 2], 4: [1, 3]})
        schema = chaining.chaining_schema(settings, {3: [0, 1, 2], 4: [1, 2, 3]})
    elif task == "verify":
        questions = verification.mask_questions([chain], context(), masks=3)
        messages = verification.verification_messages(context(), settings, questions)
        schema = verification.verify_schema(settings, {question.id: question.choices for question in questions})
    else:
        messages = divergent.divergent_messages(context(), settings, [chain])
        schema = divergent.divergent_schema(settings, ["c1", "c2"])
    assert [role for role, _ in messages] == ["system", "human", "ai", "human"]
    for _, text in (messages[0], messages[3]):
        assert not text_fields(text), text
    assert not schema_fields(schema)
    json.dumps(schema)


def test_the_v3_user_message_keeps_its_layout() -> None:
    messages = chaining.chaining_messages(context(), make_settings(reasoning={"prompt_version": "v3"}), [3, 4], [])
    assert messages[3][1] == (
        "Profile: F, 25-34, writer\nHistory:\n0. Toy Story (1995) | Animation, Comedy\n1. Heat (1995) | Action, "
        "Thriller\n2. Aladdin (1992) | Animation, Musical\n3. Lion King, The (1994) | Animation, Musical\n"
        "4. Casino (1995) | Drama\nExisting chains:\nnone\nTargets: 3, 4"
    )


def test_the_v3_verify_schema_is_the_questions_choices() -> None:
    schema = verification.verify_schema(make_settings(), {"q1": (1, 3), "q2": (0, 2)})
    assert schema == {
        "title": "verify_answer",
        "type": "object",
        "properties": {"q1": {"enum": [1, 3]}, "q2": {"enum": [0, 2]}},
        "required": ["q1", "q2"],
        "additionalProperties": False,
    }


def _copy_of(tmp_path: Path, task: str = "chain", version: str = "v3") -> Path:
    folder = tmp_path / task / version
    shutil.copytree(Path(str(prompts_root() / task / version)), folder)
    return folder


def test_a_version_missing_a_file_is_refused_naming_it(tmp_path: Path) -> None:
    (_copy_of(tmp_path) / "user.md").unlink()
    with pytest.raises(ConfigError, match=r"chain/v3 lacks user\.md"):
        read_prompt(tmp_path, "chain", "v3")


def test_a_placeholder_the_code_does_not_fill_is_refused(tmp_path: Path) -> None:
    folder = _copy_of(tmp_path)
    (folder / "user.md").write_text("Profile: {profile}\nMood: {mood}\n")
    with pytest.raises(ConfigError, match=r"chain/v3/user\.md uses \['mood'\]"):
        read_prompt(tmp_path, "chain", "v3")
    folder = _copy_of(tmp_path, "verify")
    schema = json.loads((folder / "schema.json").read_text())
    schema["question"]["maxItems"] = "{limit}"
    (folder / "schema.json").write_text(json.dumps(schema))
    with pytest.raises(ConfigError, match=r"verify/v3/schema\.json#question uses \['limit'\]"):
        read_prompt(tmp_path, "verify", "v3")


def test_bad_json_is_refused_with_its_line(tmp_path: Path) -> None:
    (_copy_of(tmp_path, "diverge") / "schema.json").write_text('{\n  "answer": {,}\n}\n')
    with pytest.raises(ConfigError, match=r"diverge/v3/schema\.json:2: "):
        read_prompt(tmp_path, "diverge", "v3")


def test_an_unknown_version_names_the_available_ones() -> None:
    with pytest.raises(ConfigError, match=r"no prompt chain/v0 \(available: \['v3'"):
        load_prompt("chain", "v0")


def test_a_version_names_the_whole_set_and_a_task_it_did_not_change_keeps_its_latest_earlier_one() -> None:
    assert load_prompt("chain", "v4").version == "v4"
    assert load_prompt("verify", "v4").version == "v3"  # v4 changed chaining only
    assert load_prompt("verify", "v3").version == "v3"
    with pytest.raises(ConfigError, match=r"no prompt verify/v9 \(available: \['v3', 'v4'\]\)"):
        load_prompt("verify", "v9")  # no task ships v9: a typo is not quietly the latest set


def test_sets_that_read_the_same_prompts_for_some_tasks_are_equivalent_for_them() -> None:
    assert equivalent_versions(("warm", "choose"), "v4") == ("v3", "v4")  # v4 changed chaining only
    assert equivalent_versions(("warm", "choose"), "v3") == ("v3", "v4")
    assert equivalent_versions(("chain", "verify"), "v4") == ("v4",)
    assert equivalent_versions(("chain",), "v3") == ("v3",)
    with pytest.raises(ConfigError, match=r"no prompt warm/v9"):
        equivalent_versions(("warm",), "v9")


def test_filling_a_schema_copies_values_so_parts_do_not_share_lists() -> None:
    prompt = load_prompt("chain", "v3")
    allowed = [0, 1]
    step = prompt.schema("step", target=2, allowed=allowed, max_chains=1, max_premises=2, reason_chars=30)
    allowed.append(5)
    assert step["properties"]["chains"]["items"]["items"]["prefixItems"][0] == {"enum": [0, 1]}


def test_the_code_must_fill_exactly_the_declared_placeholders() -> None:
    prompt = load_prompt("verify", "v3")
    with pytest.raises(ConfigError, match="the code fills"):
        prompt.schema("question", choices=[1], extra=2)
    with pytest.raises(ConfigError, match="no schema part 'step'"):
        prompt.schema("step")
