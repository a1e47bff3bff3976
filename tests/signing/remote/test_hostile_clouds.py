"""Azure Key Vault and Google Cloud KMS as hostile peers (issue 19), over HTTPS on 127.0.0.1:
a login that quotes the CI's identity token back, a signature of random bytes, a field of the
wrong type. The command line (a real process) must show no credential, output no token, and
end with a documented code: never an internal error, never exit 0."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import cloud_fakes as fakes
from tests.cli.test_cli import Run, qs_jwt_process
from tests.signing.remote.test_keyless_clouds import QSEOW, azure_env, google_env, no_credential


def _echo(text: str) -> str:
    """The token raw, in base64 and cut in half: what a careless service quotes back."""
    encoded = base64.b64encode(text.encode()).decode()
    return f"bad assertion {text} ({encoded}) near {text[: len(text) // 2]}"


class EchoingAzure(fakes.Azure):
    """Refuses the federated login, quoting the client assertion (the identity token)."""

    def token(self, request: fakes.Request) -> tuple[int, dict[str, Any]]:
        assertion = request.form().get("client_assertion", "")
        return 400, {"error": "invalid_client", "error_description": _echo(assertion)}


class LyingAzure(fakes.Azure):
    """Signs with random bytes, or answers a number where the signature goes."""

    value: object = "random"

    def sign(self, name: str, version: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, answer = super().sign(name, version, body)
        if self.value == "random":
            signature = base64.urlsafe_b64decode(answer["value"] + "==")
            answer["value"] = base64.urlsafe_b64encode(os.urandom(len(signature))).decode()
        else:
            answer["value"] = self.value
        return status, answer


class EchoingGoogle(fakes.Google):
    """Refuses the token exchange, quoting the subject token (the identity token)."""

    def exchange(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        subject = str(body.get("subjectToken") or "")
        return 400, {"error": "invalid_grant", "error_description": _echo(subject)}


class LyingGoogle(fakes.Google):
    """Signs with random bytes."""

    def sign(self, name: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, answer = super().sign(name, body)
        if status == 200:
            length = len(base64.b64decode(answer["signature"]))
            answer["signature"] = base64.b64encode(os.urandom(length)).decode()
        return status, answer


def _started(fake: fakes.Azure | fakes.Google, tmp_path: Path) -> Iterator[Any]:
    fake.start(tmp_path)
    try:
        yield fake
    finally:
        assert fake.server is not None
        fake.server.stop()


def _refused_cleanly(run: Run, fake: fakes.Azure | fakes.Google, *, code: int) -> None:
    assert run.code == code, run.err
    assert run.out == "", "no token leaves"
    assert "internal error" not in run.err and "Traceback" not in run.everything
    assert "::" not in run.err.replace("qs-jwt:", "")
    no_credential(run, fake)
    assert fake.server is not None
    for request in fake.server.seen:  # each credential the services were sent, in any form
        for value in (request.form().get("client_assertion"), request.json().get("subjectToken")):
            if value:
                assert value[:40] not in run.everything
                assert base64.b64encode(value.encode()).decode()[:40] not in run.everything


def test_azure_quoting_the_identity_token_is_not_repeated(tmp_path: Path) -> None:
    for azure in _started(EchoingAzure(), tmp_path):
        run = qs_jwt_process(*QSEOW, env=azure_env(azure))
        assert run.code in (2, 4), run.err
        _refused_cleanly(run, azure, code=run.code)


@pytest.mark.parametrize("value", ["random", 12345])
def test_azure_lying_about_the_signature_outputs_no_token(tmp_path: Path, value: object) -> None:
    lying = LyingAzure()
    lying.value = value
    for azure in _started(lying, tmp_path):
        run = qs_jwt_process(*QSEOW, env=azure_env(azure))
        _refused_cleanly(run, azure, code=4)


def test_google_quoting_the_identity_token_is_not_repeated(tmp_path: Path) -> None:
    for google in _started(EchoingGoogle(), tmp_path):
        run = qs_jwt_process(*QSEOW, env=google_env(google))
        assert run.code in (2, 4), run.err
        _refused_cleanly(run, google, code=run.code)


def test_google_lying_about_the_signature_outputs_no_token(tmp_path: Path) -> None:
    for google in _started(LyingGoogle(), tmp_path):
        run = qs_jwt_process(*QSEOW, env=google_env(google))
        _refused_cleanly(run, google, code=4)
