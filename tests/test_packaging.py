"""The package list in pyproject.toml names every package directory, so the wheel (and the
action's image, which installs it) carries every module the command line imports."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_directory_is_listed_in_pyproject() -> None:
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "qsjwt").rglob("__init__.py")
    }
    assert found == set(listed)
