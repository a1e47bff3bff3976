"""action.yml and the README's action tables are renderings of the tables in the code
(``scripts/render_action.py`` renders them; these tests fail while either is out of date)."""

from __future__ import annotations

import re

import pytest

from qsjwt.action.schema import EXPORT_ENV, TARGET
from qsjwt.base.inputs import (
    CERTIFICATE,
    ID_TOKEN,
    INPUTS,
    PKCS11_PIN,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
    VAULT_TOKEN,
    Target,
    default_lifetime,
)
from scripts.render_action import (
    ACTION_YML,
    README,
    TABLE_MARKERS,
    action_section,
    parse_yaml_subset,
    read_action,
    readme_table,
    render_action_yml,
    render_tables,
)

EXTRA_INPUTS = {
    TARGET,
    "bulk-users",
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
    CERTIFICATE,
    VAULT_TOKEN,
    PKCS11_PIN,
    ID_TOKEN,
    EXPORT_ENV,
}


# --- action.yml -----------------------------------------------------------------------------


def test_action_yml_is_rendered_from_the_code() -> None:
    assert ACTION_YML.read_text(encoding="utf-8") == render_action_yml(), (
        "action.yml is out of date: run python scripts/render_action.py --write"
    )


def test_action_inputs_are_the_input_table_plus_the_key_target_and_export_inputs() -> None:
    inputs = read_action()["inputs"]
    assert set(inputs) == {spec.name for spec in INPUTS} | EXTRA_INPUTS
    # private-key is not required: key-service may name a key held by a key service instead
    assert {name for name, spec in inputs.items() if spec["required"] == "true"} == {TARGET}
    for name, spec in inputs.items():
        assert name == name.lower() and "_" not in name, name
        assert set(spec) == {"description", "required"}, f"{name}: no default: or other keys"
        assert spec["description"].strip(), name


def test_each_description_names_the_inputs_default() -> None:
    inputs = read_action()["inputs"]
    for spec in INPUTS:
        description = inputs[spec.name]["description"]
        if spec.default:
            assert "default" in description.lower(), spec.name
            assert spec.default in description, spec.name
    lifetime = inputs["expires-in"]["description"]
    for target in Target:
        assert default_lifetime(target) in lifetime


def test_outputs_and_runs() -> None:
    action = read_action()
    assert list(action["outputs"]) == [
        "token",
        "access-token",
        "expires-at",
        "expires-in",
        "scope",
        "record-path",
        "bulk-file",
        "bulk-count",
        "header",
        "claims",
        "error-code",
        "error-input",
    ]
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}, "no args:, no env:"
    assert action["branding"] == {"icon": "lock", "color": "green"}
    assert action["name"] == "Qlik Sense JWT"
    assert action["author"] == "qs-jwt maintainers"


def test_the_subset_reader_agrees_with_a_full_yaml_parser() -> None:
    yaml = pytest.importorskip("yaml")
    text = ACTION_YML.read_text(encoding="utf-8")
    full = yaml.safe_load(text)
    for spec in full["inputs"].values():
        spec["required"] = "true" if spec["required"] else "false"
    assert parse_yaml_subset(text) == full


def test_the_yaml_subset_reader_refuses_what_it_does_not_understand() -> None:
    assert parse_yaml_subset('a:\n  b: "x: y"\n  c: plain\n') == {"a": {"b": "x: y", "c": "plain"}}
    for text in ("a:\n  - x\n", "a: |\n  x\n", "a: 'x'\n", "a: 1\na: 2\n", "a: *ref\n"):
        with pytest.raises(ValueError, match=r"action\.yml line"):
            parse_yaml_subset(text)


# --- README ---------------------------------------------------------------------------------


def test_readme_tables_match_action_yml() -> None:
    readme = README.read_text(encoding="utf-8")
    expected = render_tables(read_action())
    for which in TABLE_MARKERS:
        assert readme_table(readme, which) == expected[which], (
            f"README {which} table is out of date: run python scripts/render_action.py --write"
        )


def _with_blocks(section: str) -> list[dict[str, str]]:
    """The ``with:`` mappings of the README's workflow examples (key: first line of value)."""
    blocks: list[dict[str, str]] = []
    for code in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL):
        lines = code.splitlines()
        for i, line in enumerate(lines):
            if line.strip() != "with:":
                continue
            indent = len(line) - len(line.lstrip())
            block: dict[str, str] = {}
            for inner in lines[i + 1 :]:
                inner_indent = len(inner) - len(inner.lstrip())
                if inner.strip() and inner_indent <= indent:
                    break
                match = re.fullmatch(r"\s*([a-z-]+):\s*(.*)", inner)
                if match and inner_indent == indent + 2:
                    block[match.group(1)] = match.group(2)
            blocks.append(block)
    return blocks


def test_readme_workflow_examples_use_real_inputs_and_pass_secrets_safely() -> None:
    section = action_section(README.read_text(encoding="utf-8"))
    inputs = set(read_action()["inputs"])
    blocks = _with_blocks(section)
    assert {block.get(TARGET) for block in blocks} >= {"qseow", "cloud", "oauth"}
    for block in blocks:
        assert set(block) <= inputs, set(block) - inputs
        assert block[PRIVATE_KEY] == "${{ secrets.QLIK_JWT_PRIVATE_KEY }}"
    # the token reaches later steps through env:, never inline in a script
    assert "${{ steps.jwt.outputs.token }}" in section
    assert "${{ steps.qlik.outputs.access-token }}" in section
    for code in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL):
        for script in re.findall(r"run: \|\n((?:\s{8,}.*\n?)+)", code):
            assert "${{" not in script, script
    assert "Skip output" in section
    assert "Image size over its base" in section
