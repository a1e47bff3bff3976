"""The README's command-line examples run as written and print no warning: keygen, then the
QSEoW, Qlik Cloud and OAuth assertion commands of its Command line section (the calls to Qlik
itself are left out: no Qlik answers here)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.cli.test_cli import qs_jwt

README = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()


def _commands(section: str) -> list[list[str]]:
    """The ``qs-jwt`` and ``export`` lines of the first sh block under ``### section``, with
    continuation lines joined and comments dropped."""
    block = README.split(f"### {section}\n", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] in (["qs-jwt"], ["export"]):
            commands.append(words)
    return commands


def _run(section: str, tmp_path: Path) -> list[str]:
    env: dict[str, str] = {}
    said = []
    for words in _commands(section):
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            env[name] = value
            continue
        if words[1] == "call":
            continue
        run = qs_jwt(*words[1:], env=env, cwd=tmp_path)
        assert run.code == 0, (words, run.err)
        said.append(run.err)
    return said


@pytest.mark.parametrize("section", ["QSEoW", "Qlik Cloud"])
def test_a_readme_example_runs_without_a_warning(section: str, tmp_path: Path) -> None:
    if not any(words[1:2] == ["keygen"] for words in _commands(section)):  # made in QSEoW's
        assert qs_jwt("keygen", "--out-dir", "qlik-key", cwd=tmp_path).code == 0
    said = _run(section, tmp_path)
    assert said, f"no qs-jwt command in the {section} example"
    for err in said:
        assert "warning:" not in err, err


def test_the_oauth_keygen_example_runs_without_a_warning(tmp_path: Path) -> None:
    keygen = next(w for w in _commands("Qlik Cloud OAuth") if w[1] == "keygen")
    run = qs_jwt(*keygen[1:], cwd=tmp_path)
    assert run.code == 0, run.err
    assert "warning:" not in run.err
    assert (tmp_path / "oauth-key" / "jwk.json").is_file()
