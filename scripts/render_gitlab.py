"""Render the GitLab component's table-derived parts from ``qsjwt.base.inputs.INPUTS``.

``templates/qs-jwt.yml`` spells every input twice: as a ``spec: inputs:`` entry and as the
``QSJWT_*`` job variable the CLI reads. Both blocks sit between marker comments and are
rendered here, so a new input cannot be missed in one of them. After changing the input table,
run ``python scripts/render_gitlab.py --write``; ``tests/test_gitlab_template.py`` fails while
the template is out of date.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from qsjwt.base.inputs import INPUTS

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "qs-jwt.yml"
MARKERS = {
    "inputs": ("    # inputs-from-table:start\n", "    # inputs-from-table:end\n"),
    "variables": ("    # variables-from-table:start\n", "    # variables-from-table:end\n"),
}
_WIDTH = 100


def _description(text: str) -> str:
    one_line = f"      description: {json.dumps(text, ensure_ascii=False)}"
    if len(one_line) <= _WIDTH:
        return one_line + "\n"
    folded = textwrap.fill(text, width=_WIDTH, initial_indent=" " * 8, subsequent_indent=" " * 8)
    return "      description: >-\n" + folded + "\n"


def render_blocks() -> dict[str, str]:
    inputs = "".join(
        f'    {spec.name}:\n{_description(spec.description)}      default: ""\n' for spec in INPUTS
    )
    variables = "".join(
        f"    {spec.env_var}:\n      value: $[[ inputs.{spec.name} ]]\n      expand: false\n"
        for spec in INPUTS
    )
    return {"inputs": inputs, "variables": variables}


def render_template(text: str) -> str:
    for which, block in render_blocks().items():
        start, end = MARKERS[which]
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + start + block + end + tail
    return text


def main(argv: list[str]) -> int:
    current = TEMPLATE.read_text(encoding="utf-8")
    rendered = render_template(current)
    if "--write" in argv:
        TEMPLATE.write_text(rendered, encoding="utf-8")
        print("wrote the table-derived blocks of templates/qs-jwt.yml")
        return 0
    if rendered != current:
        print("templates/qs-jwt.yml is out of date: python scripts/render_gitlab.py --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
