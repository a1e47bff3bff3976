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


def _collected(objects: list[list[int]]) -> bool:
    """Whether the collector still walks any of ``objects`` (a frozen object it never walks)."""
    ids = {id(item) for item in objects}
    return any(id(item) in ids for item in gc.get_objects())


def test_the_command_runs_with_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    made: list[list[int]] = []

    def command() -> int:
        seen.append(gc.isenabled())
        made.extend([i] for i in range(100))  # what the command makes, tracked by the collector
        assert _collected(made)
        return 7

    monkeypatch.setattr(qsjwt.cli, "main", command)
    try:
        assert main() == 7
        walked = _collected(made)
    finally:
        gc.unfreeze()  # this test process keeps collecting what it made before
    assert seen == [True]
    assert gc.isenabled()
    assert not walked, "what the command made is frozen as it ends: the exit collects nothing"


def test_what_a_failed_command_made_is_frozen_too(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[list[int]] = []

    def command() -> int:
        made.extend([i] for i in range(100))
        raise KeyboardInterrupt

    monkeypatch.setattr(qsjwt.cli, "main", command)
    try:
        with pytest.raises(KeyboardInterrupt):
            main()
        walked = _collected(made)
    finally:
        gc.unfreeze()
    assert not walked


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
