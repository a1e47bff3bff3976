"""The README documents what the command line really accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from qsjwt.base.inputs import INPUTS
from qsjwt.cli import (
    ENV_CERTIFICATE,
    ENV_CERTIFICATE_FILE,
    ENV_PASSPHRASE,
    ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
    build_parser,
)

README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize("spec", INPUTS, ids=lambda spec: spec.name)
def test_every_setting_is_documented_with_flag_and_variable(spec: Any) -> None:
    row = next((line for line in README.splitlines() if f"`{spec.env_var}`" in line), None)
    assert row is not None, f"{spec.env_var} missing from README"
    assert f"`{spec.cli_flag}{'`' if spec.switch else ' '}" in row


@pytest.mark.parametrize(
    "variable",
    [ENV_PRIVATE_KEY, ENV_PRIVATE_KEY_FILE, ENV_PASSPHRASE, ENV_CERTIFICATE, ENV_CERTIFICATE_FILE],
)
def test_key_variables_are_documented(variable: Any) -> None:
    assert f"`{variable}`" in README


def test_every_command_and_option_is_documented() -> None:
    cli = build_parser()
    for name in cli.commands:
        assert f"qs-jwt {name}" in README
        for flag in cli.flags(name):
            if flag.startswith("--") and flag != "--help":
                documented = re.search(re.escape(flag) + r"(?![\w-])", README)
                assert documented, f"{name} {flag} missing from README"


def test_quick_start_is_exactly_two_commands() -> None:
    section = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in section.splitlines() if line.strip()]
    assert [re.split(r"\s+#", line)[0].strip() for line in commands] == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "export CI=true" in ci
