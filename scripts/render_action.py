"""Render both actions from the code, and the README's action tables from action.yml.

``action.yml`` (the container action) and ``anywhere/action.yml`` (the composite action for
every runner: Linux, Windows, macOS) are rendered from ``qsjwt.base.inputs.INPUTS`` and
``qsjwt.action.schema`` (ACTION_INPUTS, OUTPUTS), so their inputs and outputs cannot differ; the
README's inputs and outputs tables are rendered from ``action.yml`` as parsed here. After
changing an input or an output, run ``python scripts/render_action.py --write``;
``tests/action/test_action_docs.py`` and ``tests/action/test_anywhere.py`` fail while a file
is out of date.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from qsjwt.action.schema import ACTION_INPUTS, OUTPUTS

ROOT = Path(__file__).resolve().parent.parent
ACTION_YML = ROOT / "action.yml"
ANYWHERE_YML = ROOT / "anywhere" / "action.yml"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0"
"""The same pin as .github/workflows/ci.yml (Dependabot updates the workflows' pins)."""
ANYWHERE_PYTHON = "3.13"
"""The Python the composite action runs on: requirements/action.txt is locked for it, as the
image's is."""
README = ROOT / "README.md"
TABLE_MARKERS = {
    "inputs": ("<!-- action-inputs:start -->", "<!-- action-inputs:end -->"),
    "outputs": ("<!-- action-outputs:start -->", "<!-- action-outputs:end -->"),
}

HEADER = """\
# Generated from qsjwt/base/inputs.py and qsjwt/action/schema.py: edit those, then run
#   python scripts/render_action.py --write
# (tests/action/test_action_docs.py fails while this file is out of date).
#
# No input has a `default:`: the runner would send it as if the user had given it, and the
# defaults live in the code (each description names its default). No `args:` either: the
# `docker run` line is logged, so inputs, the private key above all, travel as INPUT_* variables.
"""


# --- rendering ------------------------------------------------------------------------------


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


DESCRIPTION = (
    "Mint a JWT for Qlik Sense (client-managed QSEoW or Qlik Cloud), or get a Qlik Cloud OAuth "
    "access token with a private key, masked in logs before it is used."
)


def _head(header: str, name: str, description: str) -> list[str]:
    """What both actions share: the header comment, name, branding and the inputs."""
    lines = [
        header.rstrip("\n"),
        f"name: {name}",
        "description: " + _q(description),
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
    return lines


def render_action_yml() -> str:
    lines = _head(HEADER, "Qlik Sense JWT", DESCRIPTION)
    lines.append("outputs:")
    for name, description in OUTPUTS.items():
        lines += [f"  {name}:", f"    description: {_q(description)}"]
    lines += ["runs:", "  using: docker", "  image: Dockerfile"]
    return "\n".join(lines) + "\n"


ANYWHERE_HEADER = """\
# Generated from qsjwt/base/inputs.py and qsjwt/action/, like ../action.yml: edit those, then run
#   python scripts/render_action.py --write
# (tests/action/test_anywhere.py fails while this file is out of date).
#
# The same action for every runner (Linux, Windows, macOS, self-hosted): no container. It sets
# up Python without touching the job's PATH, installs qs-jwt from this action's own files with
# hash-locked dependencies into a virtual environment in RUNNER_TEMP (emptied after each job),
# and runs the same adapter as the container (qsjwt.action.main) with the inputs as INPUT_*
# variables, hyphens kept, exactly as a container action gets them: never in the script text.
# Same masking order, outputs and errors. A runner without PyPI: docs/anywhere.md.
"""

INSTALL_SCRIPT = """\
set -euo pipefail
# Windows (Git Bash): run programs by their POSIX-style path
unix() {
  if command -v cygpath >/dev/null 2>&1; then cygpath -u "$1"; else printf '%s\\n' "$1"; fi
}
root="$GITHUB_ACTION_PATH/.."
venv="$(unix "$RUNNER_TEMP")/qs-jwt-anywhere"
in_venv() {
  for python in "$venv/bin/python" "$venv/Scripts/python.exe"; do
    if [ -x "$python" ]; then printf '%s\\n' "$python"; return 0; fi
  done
  return 1
}
# One environment per job, reused by a second use of the action in the same job.
python=$(in_venv) || { "$(unix "$QSJWT_BASE_PYTHON")" -m venv "$venv" && python=$(in_venv); }
pip=("$python" -m pip --disable-pip-version-check --quiet install --no-deps)
# Every dependency pinned by version and hash (the image installs the same file). pip reads
# PIP_INDEX_URL, PIP_FIND_LINKS and PIP_NO_INDEX from the job's env: docs/anywhere.md.
"${pip[@]}" --require-hashes -r "$root/requirements/action.txt"
# A key service's client library, only when key-service names one that needs it (hash-locked
# too); Vault/OpenBao needs none. The vendor's PKCS#11 module is the runner's own.
case "${QSJWT_KEY_SERVICE:-}" in
  pkcs11:*) "${pip[@]}" --require-hashes -r "$root/requirements/extra-pkcs11.txt" ;;
  kms:*) "${pip[@]}" --require-hashes -r "$root/requirements/extra-aws.txt" ;;
esac
# qs-jwt itself from this action's files at the ref the workflow pinned, built with the
# setuptools just installed: nothing else is fetched.
"${pip[@]}" --no-build-isolation --no-index --force-reinstall "$root"
echo "python=$python" >>"$GITHUB_OUTPUT"
"""

MINT_SCRIPT = """\
# -I: only the environment's qs-jwt, never a module from the working directory or PYTHONPATH.
exec "$QSJWT_PYTHON" -I "$GITHUB_ACTION_PATH/../entrypoint.py"
"""


def _block(script: str, indent: str) -> list[str]:
    return [f"{indent}{line}" if line else "" for line in script.rstrip("\n").split("\n")]


def render_anywhere_yml() -> str:
    lines = _head(
        ANYWHERE_HEADER,
        "Qlik Sense JWT (any runner)",
        DESCRIPTION + " Runs on Linux, Windows and macOS runners, without a container.",
    )
    lines.append("outputs:")
    for name, description in OUTPUTS.items():
        lines += [
            f"  {name}:",
            f"    description: {_q(description)}",
            f"    value: ${{{{ steps.mint.outputs.{name} }}}}",
        ]
    lines += [
        "runs:",
        "  using: composite",
        "  steps:",
        "    - name: Set up Python for qs-jwt (the job's own Python and PATH stay as they are)",
        "      id: python",
        f"      uses: {SETUP_PYTHON}",
        "      with:",
        f'        python-version: "{ANYWHERE_PYTHON}"',
        "        update-environment: false",
        "    - name: Install qs-jwt from this action's files (hash-locked)",
        "      id: install",
        "      shell: bash",
        "      env:",
        "        QSJWT_BASE_PYTHON: ${{ steps.python.outputs.python-path }}",
        "        QSJWT_KEY_SERVICE: ${{ inputs.key-service }}",
        "      run: |",
        *_block(INSTALL_SCRIPT, "        "),
        "    - name: Mint the token",
        "      id: mint",
        "      shell: bash",
        "      env:",
        "        QSJWT_PYTHON: ${{ steps.install.outputs.python }}",
        *(
            f"        INPUT_{item.name.upper()}: ${{{{ inputs.{item.name} }}}}"
            for item in ACTION_INPUTS
        ),
        "      run: |",
        *_block(MINT_SCRIPT, "        "),
    ]
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
        block = f"{start}\n{tables[which]}\n{end}"
        readme = pattern.sub(lambda _: block, readme)  # noqa: B023 (used before the loop moves on)
    return readme


def main(argv: list[str]) -> int:
    if argv != ["--write"]:
        sys.stderr.write("usage: python scripts/render_action.py --write\n")
        return 2
    ACTION_YML.write_text(render_action_yml(), encoding="utf-8")
    ANYWHERE_YML.parent.mkdir(exist_ok=True)
    ANYWHERE_YML.write_text(render_anywhere_yml(), encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    README.write_text(write_tables(readme, render_tables(read_action())), encoding="utf-8")
    sys.stderr.write(
        f"wrote {ACTION_YML.name}, {ANYWHERE_YML.relative_to(ROOT).as_posix()} and the tables "
        f"in {README.name}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
