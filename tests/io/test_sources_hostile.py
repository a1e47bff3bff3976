"""Reading a file that is not one (issue 19): a FIFO with no writer, a device or a directory
given where a file is meant is a clean InputError at once, never a blocked ``open()`` nor a
read without end."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from qsjwt.base.errors import InputError
from qsjwt.io.sources import read_bounded
from tests.action_runner import Result
from tests.cli.test_cli import Run, qs_jwt
from tests.conftest import KeyPair
from tests.platforms import FIFOS

KINDS = {
    "fifo": "a FIFO (named pipe)",
    "dev-zero": "a character device",
    "directory": "a directory",
}


def made(tmp_path: Path, kind: str) -> Path:
    """A path of ``kind``; a FIFO has no writer, so a blocking open() would never return."""
    if kind == "fifo":
        os.mkfifo(tmp_path / "fifo")
        return tmp_path / "fifo"
    if kind == "dev-zero":
        return Path("/dev/zero")
    return tmp_path


def within(seconds: float, action: Callable[[], object]) -> object:
    """``action()``'s result or exception, failing the test if it takes longer than that."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(action())
        except Exception as err:
            outcome.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still blocked after {seconds} s"
    return outcome[0]


@FIFOS
@pytest.mark.parametrize("kind", list(KINDS))
def test_what_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    path = made(tmp_path, kind)
    error = within(5, lambda: read_bounded(str(path), 1024, input_name="users", secret_hint=None))
    assert isinstance(error, InputError)
    assert error.input_name == "users"
    if kind == "directory":  # open() itself refuses one
        assert error.message.endswith(": Is a directory")
    else:
        assert error.message == f"names {KINDS[kind]}, not a regular file"


def test_a_symbolic_link_to_a_regular_file_is_read(tmp_path: Path) -> None:
    """Kubernetes and GitLab mount secrets through links: the file they point to counts."""
    (tmp_path / "real").write_bytes(b"content")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert (
        read_bounded(str(tmp_path / "link"), 1024, input_name="x", secret_hint=None) == b"content"
    )


def cli(*args: object) -> Run:
    result = within(20, lambda: qs_jwt(*map(str, args)))
    assert isinstance(result, Run), result
    return result


@FIFOS
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_the_command_line_refuses_each_file_input(
    tmp_path: Path, rsa_pair: KeyPair, kind: str
) -> None:
    path = made(tmp_path, kind)
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    qseow = ["qseow", "--user-id", "a", "--user-directory", "b"]
    oauth = ["oauth", "--tenant", "127.0.0.1:9", "--client-id", "abc", "--timeout", "3s"]
    for args, flag in (
        (
            ["bulk", "--target", "qseow", "--users-file", path, "--private-key-file", key],
            "--users-file",
        ),
        (["call", "https://127.0.0.1:9/x", "--token-file", path], "--token-file"),
        ([*qseow, "--private-key-file", path], "--private-key-file"),
        ([*qseow, "--private-key-file", key, "--certificate-file", path], "--certificate-file"),
        (
            [*oauth, "--private-key-file", key, "--ca-bundle", path],
            "--ca-bundle",
        ),
    ):
        run = cli(*args)
        assert run.code == 2, run.err
        assert run.out == "" and "Traceback" not in run.err
        assert f"{flag}: names {KINDS[kind]}, not a regular file" in run.err


@FIFOS
def test_call_refuses_a_data_file_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "body")
    (tmp_path / "token").write_text("abc.def.ghi")
    run = cli(
        "call",
        "https://127.0.0.1:9/x",
        "--token-file",
        tmp_path / "token",
        "--method",
        "POST",
        "--data-file",
        tmp_path / "body",
    )
    assert run.code == 2 and "--data-file: names a FIFO (named pipe), not a regular file" in run.err


@FIFOS
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_the_action_refuses_bulk_users_that_are_no_file(
    tmp_path: Path, rsa_pair: KeyPair, run: Callable[..., Result], kind: str
) -> None:
    path = made(tmp_path, kind)
    temp = tmp_path / "runner_temp"
    temp.mkdir()
    inputs = {
        "target": "qseow",
        "bulk-users": str(path),
        "private-key": rsa_pair.private_pem.decode(),
    }
    result = within(20, lambda: run(inputs, {"RUNNER_TEMP": str(temp)}))
    assert isinstance(result, Result)
    assert result.code == 1
    assert result.outputs == {"error-code": "invalid-input", "error-input": "bulk-users"}
    assert f"names {KINDS[kind]}, not a regular file" in result.stdout
