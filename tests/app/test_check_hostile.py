"""``qs-jwt check oauth`` against a tenant whose ``users/me`` answers with hostile text (issue
19): the user Qlik names is printed escaped (no terminal control, no workflow command at the
start of a line) and scrubbed of the access token it was called with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli.test_cli import qs_jwt
from tests.cli.test_cli_oauth import CLIENT, qlik
from tests.conftest import KeyPair
from tests.qlik_local import Answer, LocalQlik

__all__ = ["qlik"]  # a fixture, used by name below


def test_the_user_qlik_names_is_escaped_and_scrubbed(
    qlik: LocalQlik, rsa_pair: KeyPair, tmp_path: Path
) -> None:
    seen: list[str] = []

    def users_me(_qlik: LocalQlik, request: Any, _body: bytes) -> Answer:
        token = str(request.headers["Authorization"]).removeprefix("Bearer ")
        seen.append(token)
        document = {"id": "u1", "subject": f"{token} ##[error]pwned", "status": "active"}
        return Answer(200, {**document, "name": "\x1b[31mred\u202e", "assignedRoles": []})

    qlik.routes[("GET", "/api/v1/users/me")] = users_me
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    run = qs_jwt(
        *("check", "oauth", "--tenant", qlik.host, "--client-id", CLIENT),
        *("--ca-bundle", qlik.ca_bundle, "--private-key-file", str(key)),
    )
    assert seen, "users/me was called"
    assert seen[0] not in run.everything and seen[0][-30:] not in run.everything
    assert "\x1b" not in run.err and "\u202e" not in run.err and "##[" not in run.err
    assert "Qlik logged in (hidden)" in run.err, run.err
    assert run.code == 0 and run.out == ""
