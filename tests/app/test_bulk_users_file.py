"""``qs-jwt bulk``'s users file in the command line as in the action (issue 19): an empty file
is an input error (exit 2, "holds no users"), never an empty success, and a UTF-8 byte-order
mark (Excel writes one) is read, not refused."""

from __future__ import annotations

import contextlib
import gc
import json
from pathlib import Path

import pytest

from qsjwt.app.bulk import Users, issue_bulk
from qsjwt.app.flow import KeySource
from qsjwt.base.errors import InputError
from qsjwt.base.inputs import Target
from tests.cli.test_cli import qs_jwt
from tests.conftest import KeyPair


def bulk(tmp_path: Path, rsa_pair: KeyPair, users: bytes) -> tuple[int, str, str]:
    (tmp_path / "users.csv").write_bytes(users)
    (tmp_path / "key.pem").write_bytes(rsa_pair.private_pem)
    run = qs_jwt(
        *("bulk", "--target", "qseow", "--users-file", tmp_path / "users.csv"),
        *("--user-directory", "LOAD", "--private-key-file", tmp_path / "key.pem"),
    )
    return run.code, run.out, run.err


@pytest.mark.parametrize("users", [b"", b"\n\n", b"user-id\n", b"\xef\xbb\xbf"])
def test_a_file_with_no_users_is_an_input_error(
    tmp_path: Path, rsa_pair: KeyPair, users: bytes
) -> None:
    code, out, err = bulk(tmp_path, rsa_pair, users)
    assert code == 2 and out == ""
    assert "--users-file: holds no users" in err


def test_a_byte_order_mark_is_read(tmp_path: Path, rsa_pair: KeyPair) -> None:
    code, out, err = bulk(tmp_path, rsa_pair, b"\xef\xbb\xbfuser-id\r\nalice\r\nbob\r\n")
    assert code == 0, err
    assert [json.loads(line)["user"] for line in out.splitlines()] == ["LOAD\\alice", "LOAD\\bob"]


@pytest.mark.parametrize(
    "users", [b"user-id\nalice\nbob\n", b"user-id\nalice\n\\bad\n", b"user-id\n"]
)
def test_the_collector_is_paused_for_the_run_and_back_after(
    rsa_pair: KeyPair, users: bytes
) -> None:
    """The rows hold no cycles: the collector, paused while they are read and signed (it would
    walk all of them again and again), is on again afterwards, however the run ends."""
    seen: list[bool] = []
    assert gc.isenabled()
    with contextlib.suppress(InputError):
        issue_bulk(
            Target.QSEOW,
            Users(users),
            {"user-directory": "LOAD"},
            KeySource(private_key=rsa_pair.private_pem.decode()),
            progress=lambda done, total: seen.append(gc.isenabled()),
        )
    assert gc.isenabled()
    assert seen == ([False] if users.endswith(b"bob\n") else [])
