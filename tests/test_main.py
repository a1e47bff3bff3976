"""``qsjwt.__main__``: the console script and ``python -m qsjwt`` import the command line with
the cyclic garbage collector off, then run the command with it on again."""

from __future__ import annotations

import gc
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import qsjwt.cli
from qsjwt.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


def test_the_console_script_starts_through_qsjwt_main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"] == {"qs-jwt": "qsjwt.__main__:main"}


def test_the_command_runs_with_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def command() -> int:
        seen.append(gc.isenabled())
        return 7

    monkeypatch.setattr(qsjwt.cli, "main", command)
    try:
        assert main() == 7
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()  # this test process keeps collecting what it made before
    assert seen == [True]
    assert gc.isenabled()
    assert frozen > 0, "what the command made is frozen as it ends: the exit collects nothing"


def test_what_a_failed_command_made_is_frozen_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def command() -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(qsjwt.cli, "main", command)
    gc.unfreeze()
    try:
        with pytest.raises(KeyboardInterrupt):
            main()
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert frozen > 0


def test_python_m_qsjwt_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qsjwt", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("qs-jwt ")
