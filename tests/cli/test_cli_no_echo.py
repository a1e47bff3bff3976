"""Every option of every command, given a secret where it does not belong, never repeats it.

The table of options comes from the parser itself, so a new option is covered the day it is
added. Runs in-process through ``main(argv, env)``: one process per case would be slow.
"""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qsjwt.cli import build_parser, main
from tests.cli.test_cli import CLOUD_ARGS, QSEOW_ARGS
from tests.conftest import KeyPair

PASSPHRASE = "S3cret-Passphrase-0042"
NO_VALUE = {"-h", "--help"}
BASE = {
    "qseow": QSEOW_ARGS,
    "cloud": CLOUD_ARGS,
    # nothing listens on port 1: a run that gets as far as the exchange ends at once (exit 4)
    "oauth": ["oauth", "--tenant", "127.0.0.1:1", "--client-id", "client-1", "--timeout", "1s"],
    "jwk": ["jwk"],
    "call": ["call", "https://127.0.0.1:1/x", "--timeout", "1s"],
    "decode": ["decode", "-"],
    "verify": ["verify", "-"],
    "lint": ["lint", "-", "--target", "qseow"],
    "keygen": ["keygen", "--out-dir", "keys"],
    "bulk": ["bulk", "--target", "qseow", "--users-file", "-", "--user-directory", "D"],
}
PATH_OPTIONS = {"--output", "--dotenv", "--out-dir"}
"""Options whose value becomes a file: after a good run the path exists and may be shown."""


def _options() -> Iterator[tuple[str, str]]:
    cli = build_parser()
    for command in cli.commands:
        for flag in sorted(cli.flags(command) - NO_VALUE):
            yield command, flag


def _secrets(pair: KeyPair) -> dict[str, str]:
    pem = pair.private_pem.decode()
    return {
        "pem": pem,
        "base64": base64.b64encode(pair.private_pem).decode(),
        "passphrase": PASSPHRASE,
        "dash-passphrase": "-p" + PASSPHRASE,
    }


def _fragments(secret: str) -> list[str]:
    """Windows of the secret long enough to be its own, short of a PEM label."""
    body = "".join(line for line in secret.splitlines() if "-----" not in line) or secret
    return [body[i : i + 16] for i in range(0, max(len(body) - 16, 1), 16)]


def _run(
    argv: list[str],
    token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(token.encode())))
    code = main(argv, {})
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def token(rsa_pair: KeyPair, tmp_path_factory: pytest.TempPathFactory) -> str:
    key = tmp_path_factory.mktemp("key") / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    out = tmp_path_factory.mktemp("out") / "token.jwt"
    assert main([*BASE["qseow"], "--private-key-file", str(key), "--output", str(out)], {}) == 0
    return out.read_text().strip()


@pytest.mark.parametrize(("command", "flag"), list(_options()))
@pytest.mark.parametrize("kind", ["pem", "base64", "passphrase", "dash-passphrase"])
def test_a_secret_given_to_any_option_is_never_repeated(
    *,
    command: str,
    flag: str,
    kind: str,
    token: str,
    rsa_pair: KeyPair,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = _secrets(rsa_pair)[kind]
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    argv = [*BASE[command]]
    if command in ("qseow", "cloud", "oauth", "jwk", "bulk") and flag != "--private-key-file":
        argv += ["--private-key-file", str(key)]
    argv += [f"{flag}={secret}"]
    code, out, err = _run(argv, token, tmp_path, monkeypatch, capsys)
    assert "Traceback" not in err and "internal error" not in err
    shown = err if code == 0 else out + err
    if code == 0 and flag in PATH_OPTIONS:
        return  # the file was made where it was asked for: its path is a path now
    for fragment in _fragments(secret):
        assert fragment not in shown, f"{command} {flag} repeated part of a {kind}"


@pytest.mark.parametrize(
    "extras",
    [
        ["-p" + PASSPHRASE],
        ["--passphrase", "-" + PASSPHRASE],
        ["--password=" + PASSPHRASE],
        ["--" + PASSPHRASE],
        ["--user-id-typo", PASSPHRASE],
    ],
)
@pytest.mark.parametrize("command", list(BASE))
def test_unknown_arguments_are_counted_not_shown(
    *,
    command: str,
    extras: list[str],
    token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run([*BASE[command], *extras], token, tmp_path, monkeypatch, capsys)
    assert code == 2 and out == ""
    assert PASSPHRASE not in err
    assert "unrecognized arguments" in err
    assert "not shown" in err or "never command-line values" in err


@pytest.mark.parametrize("kind", ["pem", "base64", "passphrase", "dash-passphrase"])
def test_a_secret_in_place_of_the_command_is_not_shown(
    *,
    kind: str,
    rsa_pair: KeyPair,
    token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = _secrets(rsa_pair)[kind]
    code, out, err = _run([secret, *BASE["qseow"][1:]], token, tmp_path, monkeypatch, capsys)
    assert code == 2 and out == ""
    assert "invalid choice: a value of" in err
    for fragment in _fragments(secret):
        assert fragment not in err


def test_an_option_before_the_command_is_named_not_run(
    tmp_path: Path, token: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["--user-id", "alice", "qseow"], token, tmp_path, monkeypatch, capsys)
    assert code == 2
    assert "--user-id goes after the command" in err


def test_a_misspelt_option_suggests_the_known_one(
    tmp_path: Path, token: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*BASE["qseow"], "--expires-in-typo", "5m"]
    code, _, err = _run(argv, token, tmp_path, monkeypatch, capsys)
    assert code == 2
    assert "did you mean --expires-in?" in err and "typo" not in err


def test_token_text_cannot_forge_runner_commands(
    rsa_pair: KeyPair,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """decode and lint print what a token says: ``##[`` (read anywhere in a line by the
    runner), ``::`` and terminal escapes stay text."""
    import json

    import jwt

    claims = {"userId": "##[error]x\x1b[31m\n::warning::y", "userDirectory": "d", "exp": 4e9}
    evil = jwt.encode(claims, rsa_pair.private_pem, "RS256", headers={"##[group]": "z"})
    for argv in (["decode", "-"], ["lint", "-", "--target", "cloud"]):
        _, out, err = _run(argv, evil, tmp_path, monkeypatch, capsys)
        for line in (out + err).splitlines():
            assert "##[" not in line and "\x1b" not in line
            assert not line.lstrip().startswith("::")
    _, out, _ = _run(["decode", "-"], evil, tmp_path, monkeypatch, capsys)
    assert json.loads(out)["claims"]["userId"] == claims["userId"]  # still the same JSON value
