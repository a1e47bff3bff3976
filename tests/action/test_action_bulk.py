"""The action's ``bulk-users``: a token per user into a 0600 file under RUNNER_TEMP, never the
log, the summary or the workspace."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.action_runner import Result
from tests.conftest import KeyPair, verify_independently

USERS = 'user-id,user-directory,groups\nalice,CORP,Sales\nbob,CORP,"Sales\nOps"\ncarol,EU,\n'


def _run(
    run: Callable[..., Result], tmp_path: Path, pair: KeyPair, users: str, **inputs: str
) -> tuple[Result, Path]:
    users_file = tmp_path / "users.csv"
    users_file.write_text(users, encoding="utf-8")
    temp = tmp_path / "runner_temp"
    temp.mkdir(exist_ok=True)
    given = {
        "target": "qseow",
        "bulk-users": str(users_file),
        "private-key": pair.private_pem.decode(),
        **{name.replace("_", "-"): value for name, value in inputs.items()},
    }
    return run(given, {"RUNNER_TEMP": str(temp)}), temp


def test_a_token_per_user_in_a_private_file(
    run: Callable[..., Result], tmp_path: Path, rsa_pair: KeyPair
) -> None:
    result, temp = _run(run, tmp_path, rsa_pair, USERS, audience="qlik")
    assert result.code == 0, result.stdout
    outputs = result.outputs
    assert set(outputs) == {"bulk-file", "bulk-count"} and outputs["bulk-count"] == "3"
    path = Path(outputs["bulk-file"])
    assert path.parent == temp and path.stat().st_mode & 0o777 == 0o600
    documents = [json.loads(line) for line in path.read_text().splitlines()]
    assert [d["user"] for d in documents] == ["CORP\\alice", "CORP\\bob", "EU\\carol"]
    for document in documents:
        _, claims = verify_independently(document["token"], rsa_pair.public_pem, "RS256")
        assert claims["aud"] == "qlik"
        assert document["token"] not in result.stdout + result.summary + result.output_file
    assert "minted 3 QSEoW virtual proxy token(s)" in result.stdout


def test_a_bad_row_names_its_line_and_writes_nothing(
    run: Callable[..., Result], tmp_path: Path, rsa_pair: KeyPair
) -> None:
    result, temp = _run(run, tmp_path, rsa_pair, "user-id,user-directory\nalice,CORP\nbob,C\\D\n")
    assert result.code == 1
    assert result.outputs == {"error-code": "invalid-input", "error-input": "bulk-users"}
    (error,) = result.annotations("error")
    assert "line 3" in error.data and "C\\D" not in error.data
    assert list(temp.iterdir()) == []


def test_oauth_is_not_a_bulk_target(
    run: Callable[..., Result], tmp_path: Path, rsa_pair: KeyPair
) -> None:
    result, _ = _run(run, tmp_path, rsa_pair, USERS, target="oauth")
    assert result.code == 1
    assert result.outputs["error-input"] == "target"


def test_a_key_given_as_the_users_file_is_not_shown(
    run: Callable[..., Result], tmp_path: Path, rsa_pair: KeyPair
) -> None:
    pem = rsa_pair.private_pem.decode()
    temp = tmp_path / "runner_temp"
    temp.mkdir()
    result = run(
        {"target": "qseow", "bulk-users": pem, "private-key": pem}, {"RUNNER_TEMP": str(temp)}
    )
    assert result.code == 1
    assert result.outputs["error-input"] == "bulk-users"
    body = [line for line in pem.splitlines() if "-----" not in line]
    shown = [line for line in result.lines if not line.startswith("::add-mask::")]
    assert not any(part in "\n".join(shown) + result.summary for part in body)
