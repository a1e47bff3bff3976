"""The image against a local Qlik: the OAuth target and check, as GitHub and GitLab run them.

The other image tests run with ``--network none``. These talk to tests/qlik_local.py on the
host's 127.0.0.1, so they run with ``--network host``; the engine has no bridge, so the
container reaches loopback and nothing else. The local Qlik's CA goes into the workspace (or
the project directory) and is named by ``ca-bundle``, as a user's own CA would be.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from qsjwt.signing.jwk import public_jwk
from qsjwt.signing.keys import signing_key_from
from tests.action_runner import MASK, parse_file_command
from tests.conftest import KeyPair
from tests.container.conftest import RunAction, RunGitlab
from tests.oauth.test_exchange import users_me
from tests.qlik_local import LocalQlik, QlikClient, QlikIdp, QlikProxy

CLIENT = "client-image"


@pytest.fixture
def local_qlik(tmp_path: Path, rsa_pair: KeyPair) -> Iterator[LocalQlik]:
    (tmp_path / "qlik").mkdir()
    with LocalQlik(tmp_path / "qlik") as qlik:
        key = signing_key_from(rsa_pair.key, input_name="private-key")
        qlik.register(QlikClient(CLIENT, [public_jwk(key.key, input_name="private-key")]))
        yield qlik


def _ca(qlik: LocalQlik) -> dict[str, bytes]:
    return {"qlik-ca.pem": Path(qlik.ca_bundle).read_bytes()}


def test_action_gets_a_masked_access_token(
    action_image: str, run_action: RunAction, local_qlik: LocalQlik, rsa_pair: KeyPair
) -> None:
    result = run_action(
        action_image,
        {
            "INPUT_TARGET": "oauth",
            "INPUT_TENANT": local_qlik.host,
            "INPUT_CLIENT-ID": CLIENT,
            "INPUT_CA-BUNDLE": "qlik-ca.pem",
            "INPUT_PRIVATE-KEY": rsa_pair.private_pem.decode(),
        },
        network="host",
        files=_ca(local_qlik),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = parse_file_command(result.files["output"])
    assert set(outputs) == {"access-token", "expires-at", "expires-in", "scope"}
    access = outputs["access-token"]
    assert users_me(local_qlik, access)[0] == 200
    lines = result.stdout.splitlines()
    first_other = next(i for i, line in enumerate(lines) if not line.startswith(MASK))
    assert MASK + access in lines[:first_other], "the access token is masked before any other line"
    rest = "\n".join(lines[first_other:]) + result.stderr + result.files["summary"]
    assert access not in rest


def test_action_refusal_is_qlik_refused(
    action_image: str, run_action: RunAction, local_qlik: LocalQlik, rsa_pair: KeyPair
) -> None:
    result = run_action(
        action_image,
        {
            "INPUT_TARGET": "oauth",
            "INPUT_TENANT": local_qlik.host,
            "INPUT_CLIENT-ID": "someone-else",
            "INPUT_CA-BUNDLE": "qlik-ca.pem",
            "INPUT_PRIVATE-KEY": rsa_pair.private_pem.decode(),
        },
        network="host",
        files=_ca(local_qlik),
    )
    assert result.returncode == 1
    outputs = parse_file_command(result.files["output"])
    assert outputs == {"error-code": "qlik-refused", "error-input": "client-id"}


def test_gitlab_job_gets_and_uses_an_access_token_without_curl(
    action_image: str, run_gitlab: RunGitlab, local_qlik: LocalQlik, rsa_pair: KeyPair
) -> None:
    script = (
        'export QSJWT_TOKEN_FILE="$(mktemp)" && '
        'qs-jwt oauth --output "$QSJWT_TOKEN_FILE" && '
        'qs-jwt call "https://$QSJWT_TENANT/api/v1/users/me"'
    )
    result = run_gitlab(
        action_image,
        script,
        {
            "QSJWT_TENANT": local_qlik.host,
            "QSJWT_CLIENT_ID": CLIENT,
            "QSJWT_CA_BUNDLE": "/builds/project/qlik-ca.pem",
            "QSJWT_PRIVATE_KEY": rsa_pair.private_pem.decode(),
        },
        network="host",
        files=_ca(local_qlik),
    )
    assert result.returncode == 0, result.stderr
    me = json.loads(result.stdout)
    assert me["id"] == f"bot-{CLIENT}"
    assert local_qlik.issued, "an access token was issued"
    for issued in local_qlik.issued:
        assert issued not in result.stdout + result.stderr


def test_action_check_qseow_through_the_image(
    action_image: str, run_action: RunAction, tmp_path: Path, rsa_pair: KeyPair
) -> None:
    (tmp_path / "proxy").mkdir()
    with LocalQlik(tmp_path / "proxy") as qlik:
        proxy = qlik.add_proxy(QlikProxy("jwt", rsa_pair.certificate_pem))
        result = run_action(
            action_image,
            {
                "INPUT_TARGET": "qseow",
                "INPUT_USER-ID": "alice",
                "INPUT_USER-DIRECTORY": "CORP",
                "INPUT_CHECK": "true",
                "INPUT_VIRTUAL-PROXY-URL": qlik.proxy_url("jwt"),
                "INPUT_CA-BUNDLE": "qlik-ca.pem",
                "INPUT_PRIVATE-KEY": rsa_pair.private_pem.decode(),
            },
            network="host",
            files=_ca(qlik),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check passed: Qlik logged in CORP\\alice" in result.stdout
    assert proxy.logins == 1 and proxy.sessions == {}
    assert "token" in parse_file_command(result.files["output"])


def test_gitlab_check_cloud_refusal_names_the_issuer(
    action_image: str, run_gitlab: RunGitlab, tmp_path: Path, rsa_pair: KeyPair
) -> None:
    (tmp_path / "idp").mkdir()
    with LocalQlik(tmp_path / "idp") as qlik:
        qlik.idp = QlikIdp("idp.example.com", "kid-1", rsa_pair.certificate_pem)
        result = run_gitlab(
            action_image,
            "qs-jwt check cloud",
            {
                "QSJWT_TENANT": qlik.host,
                "QSJWT_ISSUER": "another-idp.example.com",
                "QSJWT_KEY_ID": "kid-1",
                "QSJWT_SUBJECT": "svc_ci",
                "QSJWT_NAME": "CI",
                "QSJWT_EMAIL": "ci@example.com",
                "QSJWT_CA_BUNDLE": "/builds/project/qlik-ca.pem",
                "QSJWT_PRIVATE_KEY": rsa_pair.private_pem.decode(),
            },
            network="host",
            files=_ca(qlik),
        )
    assert result.returncode == 3, result.stderr
    assert "QSJWT_ISSUER: Qlik refused the login" in result.stderr
    assert "another-idp" not in result.stderr
