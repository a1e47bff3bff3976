"""action.yml and the README's action tables are renderings of the tables in the code.

``action.yml`` is rendered from ``qsjwt.inputs.INPUTS`` and ``qsjwt.action`` (ACTION_INPUTS,
OUTPUTS); the README's inputs and outputs tables are rendered from ``action.yml`` as parsed
here. After changing an input, run ``python -m tests.test_action_docs --write`` to refresh both.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from qsjwt.action import ACTION_INPUTS, EXPORT_ENV, OUTPUTS, TARGET
from qsjwt.inputs import (
    CERTIFICATE,
    INPUTS,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
    Target,
    default_lifetime,
)

ROOT = Path(__file__).resolve().parent.parent
ACTION_YML = ROOT / "action.yml"
README = ROOT / "README.md"
TABLE_MARKERS = {
    "inputs": ("<!-- action-inputs:start -->", "<!-- action-inputs:end -->"),
    "outputs": ("<!-- action-outputs:start -->", "<!-- action-outputs:end -->"),
}
EXTRA_INPUTS = {TARGET, PRIVATE_KEY, PRIVATE_KEY_PASSPHRASE, CERTIFICATE, EXPORT_ENV}

HEADER = """\
# Generated from qsjwt/inputs.py and qsjwt/action.py: edit those, then run
#   python -m tests.test_action_docs --write
# (tests/test_action_docs.py fails while this file is out of date).
#
# No input has a `default:`: the runner would send it as if the user had given it, and the
# defaults live in the code (each description names its default). No `args:` either: the
# `docker run` line is logged, so inputs, the private key above all, travel as INPUT_* variables.
"""


# --- rendering ------------------------------------------------------------------------------


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def render_action_yml() -> str:
    lines = [
        HEADER.rstrip("\n"),
        "name: Qlik Sense JWT",
        "description: "
        + _q(
            "Mint a JWT for Qlik Sense (client-managed QSEoW or Qlik Cloud), masked in logs "
            "before it is used."
        ),
        "author: qs-jwt maintainers",
        "branding:",
        "  icon: lock",
        "  color: green",
        "inputs:",
    ]
    for item in ACTION_INPUTS:
        lines += [
            f"  {item.name}:",
            f"    description: {_q(item.description)}",
            f"    required: {'true' if item.required else 'false'}",
        ]
    lines.append("outputs:")
    for name, description in OUTPUTS.items():
        lines += [f"  {name}:", f"    description: {_q(description)}"]
    lines += ["runs:", "  using: docker", "  image: Dockerfile"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_tables(action: dict[str, Any]) -> dict[str, str]:
    inputs = ["| Input | Required | Description |", "|---|---|---|"]
    for name, spec in action["inputs"].items():
        required = "yes" if spec.get("required") == "true" else "no"
        inputs.append(f"| `{name}` | {required} | {_cell(spec['description'])} |")
    outputs = ["| Output | Description |", "|---|---|"]
    for name, spec in action["outputs"].items():
        outputs.append(f"| `{name}` | {_cell(spec['description'])} |")
    return {"inputs": "\n".join(inputs), "outputs": "\n".join(outputs)}


# --- reading --------------------------------------------------------------------------------


def parse_yaml_subset(text: str) -> dict[str, Any]:
    """Nested mappings of plain or double-quoted scalars: the subset action.yml is written in.

    Anything else (lists, block scalars, anchors, flow maps) is refused, so a hand edit that
    leaves the subset fails loudly instead of being misread.
    """
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        match = re.fullmatch(r"([A-Za-z0-9_-]+):(?: (.*))?", line.strip())
        if match is None:
            raise ValueError(f"action.yml line {number}: outside the supported YAML subset")
        while stack[-1][0] >= indent:
            stack.pop()
        key, value = match.group(1), match.group(2)
        parent = stack[-1][1]
        if key in parent:
            raise ValueError(f"action.yml line {number}: duplicate key {key!r}")
        if value is None:
            parent[key] = {}
            stack.append((indent, parent[key]))
        elif value.startswith('"'):
            parent[key] = json.loads(value)
        elif re.fullmatch(r"[^'\"{}\[\]&*!|>%@`#]+", value):
            parent[key] = value
        else:
            raise ValueError(f"action.yml line {number}: unsupported scalar {value!r}")
    return root


def read_action() -> dict[str, Any]:
    return parse_yaml_subset(ACTION_YML.read_text(encoding="utf-8"))


def action_section(readme: str) -> str:
    start, end = readme.index("<!-- action:start -->"), readme.index("<!-- action:end -->")
    return readme[start:end]


def readme_table(readme: str, which: str) -> str:
    start, end = TABLE_MARKERS[which]
    section = action_section(readme)
    return section[section.index(start) + len(start) : section.index(end)].strip()


def write_tables(readme: str, tables: dict[str, str]) -> str:
    for which, (start, end) in TABLE_MARKERS.items():
        pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
        readme = pattern.sub(lambda _, w=which, s=start, e=end: f"{s}\n{tables[w]}\n{e}", readme)
    return readme


# --- action.yml -----------------------------------------------------------------------------


def test_action_yml_is_rendered_from_the_code():
    assert ACTION_YML.read_text(encoding="utf-8") == render_action_yml(), (
        "action.yml is out of date: run python -m tests.test_action_docs --write"
    )


def test_action_inputs_are_the_input_table_plus_the_key_target_and_export_inputs():
    inputs = read_action()["inputs"]
    assert set(inputs) == {spec.name for spec in INPUTS} | EXTRA_INPUTS
    assert {name for name, spec in inputs.items() if spec["required"] == "true"} == {
        TARGET,
        PRIVATE_KEY,
    }
    for name, spec in inputs.items():
        assert name == name.lower() and "_" not in name, name
        assert set(spec) == {"description", "required"}, f"{name}: no default: or other keys"
        assert spec["description"].strip(), name


def test_each_description_names_the_inputs_default():
    inputs = read_action()["inputs"]
    for spec in INPUTS:
        description = inputs[spec.name]["description"]
        if spec.default:
            assert "default" in description.lower(), spec.name
            assert spec.default in description, spec.name
    lifetime = inputs["expires-in"]["description"]
    for target in Target:
        assert default_lifetime(target) in lifetime


def test_outputs_and_runs():
    action = read_action()
    assert list(action["outputs"]) == [
        "token",
        "expires-at",
        "expires-in",
        "header",
        "claims",
        "error-code",
        "error-input",
    ]
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}, "no args:, no env:"
    assert action["branding"] == {"icon": "lock", "color": "green"}
    assert action["name"] == "Qlik Sense JWT"
    assert action["author"] == "qs-jwt maintainers"


def test_the_subset_reader_agrees_with_a_full_yaml_parser():
    yaml = pytest.importorskip("yaml")
    text = ACTION_YML.read_text(encoding="utf-8")
    full = yaml.safe_load(text)
    for spec in full["inputs"].values():
        spec["required"] = "true" if spec["required"] else "false"
    assert parse_yaml_subset(text) == full


def test_the_yaml_subset_reader_refuses_what_it_does_not_understand():
    assert parse_yaml_subset('a:\n  b: "x: y"\n  c: plain\n') == {"a": {"b": "x: y", "c": "plain"}}
    for text in ("a:\n  - x\n", "a: |\n  x\n", "a: 'x'\n", "a: 1\na: 2\n", "a: *ref\n"):
        with pytest.raises(ValueError, match=r"action\.yml line"):
            parse_yaml_subset(text)


# --- README ---------------------------------------------------------------------------------


def test_readme_tables_match_action_yml():
    readme = README.read_text(encoding="utf-8")
    expected = render_tables(read_action())
    for which in TABLE_MARKERS:
        assert readme_table(readme, which) == expected[which], (
            f"README {which} table is out of date: run python -m tests.test_action_docs --write"
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


def test_readme_workflow_examples_use_real_inputs_and_pass_secrets_safely():
    section = action_section(README.read_text(encoding="utf-8"))
    inputs = set(read_action()["inputs"])
    blocks = _with_blocks(section)
    assert {block.get(TARGET) for block in blocks} >= {"qseow", "cloud"}
    for block in blocks:
        assert set(block) <= inputs, set(block) - inputs
        assert block[PRIVATE_KEY] == "${{ secrets.QLIK_JWT_PRIVATE_KEY }}"
    # the token reaches later steps through env:, never inline in a script
    assert "${{ steps.jwt.outputs.token }}" in section
    for code in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL):
        for script in re.findall(r"run: \|\n((?:\s{8,}.*\n?)+)", code):
            assert "${{" not in script, script
    assert "Skip output" in section
    assert "Image size over its base" in section


def main(argv: list[str]) -> int:
    if argv != ["--write"]:
        sys.stderr.write("usage: python -m tests.test_action_docs --write\n")
        return 2
    ACTION_YML.write_text(render_action_yml(), encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    README.write_text(write_tables(readme, render_tables(read_action())), encoding="utf-8")
    sys.stderr.write(f"wrote {ACTION_YML.name} and the tables in {README.name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
