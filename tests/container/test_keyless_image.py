"""The image signing through OpenBao transit, as GitHub and GitLab run it: no private key.

OpenBao (``bao server -dev``) and a local OIDC issuer run on the host's 127.0.0.1
(tests/keyless_rigs.py); the container reaches them with ``--network host`` (loopback only: the
engine has no bridge). The tokens verify with jwcrypto against the certificate qs-jwt printed
from the remote key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jwcrypto import jwk, jws

from tests import keyless_rigs as rigs
from tests.action_runner import MASK, parse_file_command
from tests.conftest import verify_independently
from tests.container.conftest import RunAction, RunGitlab


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rigs.Bao]:
    server = rigs.start_bao(tmp_path_factory.mktemp("bao"))
    try:
        yield server
    finally:
        server.stop()


def test_gitlab_job_signs_through_openbao_with_its_id_token(
    action_image: str, run_gitlab: RunGitlab, bao: rigs.Bao
) -> None:
    id_token = bao.issuer.token(rigs.AUDIENCE)
    script = (
        "qs-jwt keygen --out-dir public && "
        "qs-jwt qseow --user-id svc_ci --user-directory CORP "
        "--certificate-file public/certificate.pem --output token.jwt"
    )
    result = run_gitlab(
        action_image,
        script,
        {
            "QSJWT_KEY_SERVICE": "vault:transit/rsa",
            "QSJWT_VAULT_ADDRESS": bao.address,
            "QSJWT_VAULT_ROLE": rigs.ROLE,
            "QSJWT_ID_TOKEN": id_token,
        },
        network="host",
    )
    assert result.returncode == 0, result.stderr
    project: Path = result.project_dir
    assert not (project / "public" / "private-key.pem").exists()
    token = (project / "token.jwt").read_text().strip()
    verify_independently(token, (project / "public" / "certificate.pem").read_bytes(), "RS256")
    assert id_token not in result.stdout + result.stderr


def test_action_signs_through_openbao_and_masks_the_identity_token(
    action_image: str, run_action: RunAction, bao: rigs.Bao
) -> None:
    id_token = bao.issuer.token(rigs.AUDIENCE)
    result = run_action(
        action_image,
        {
            "INPUT_TARGET": "cloud",
            "INPUT_ISSUER": "idp.example.com",
            "INPUT_KEY-ID": "kid-1",
            "INPUT_SUBJECT": "svc_ci",
            "INPUT_NAME": "CI",
            "INPUT_EMAIL": "ci@example.com",
            "INPUT_KEY-SERVICE": "vault:transit/rsa",
            "INPUT_VAULT-ADDRESS": bao.address,
            "INPUT_VAULT-ROLE": rigs.ROLE,
            "INPUT_ID-TOKEN": id_token,
        },
        network="host",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == MASK + id_token, "the identity token is masked before anything else"
    outputs = parse_file_command(result.files["output"])
    public = rigs.call(bao.address, "GET", "transit/keys/rsa")["data"]["keys"]
    newest = public[str(max(int(version) for version in public))]["public_key"]
    verify_independently(outputs["token"], newest.encode(), "RS256")
    rest = "\n".join(line for line in lines if not line.startswith(MASK))
    assert id_token not in rest + result.stderr + result.files["summary"]


def test_gitlab_job_oauth_assertion_through_openbao_verifies_with_the_printed_jwk(
    action_image: str, run_gitlab: RunGitlab, bao: rigs.Bao
) -> None:
    script = (
        "qs-jwt jwk > jwk.json && "
        "qs-jwt oauth --assertion-only --tenant tenant.eu.qlikcloud.com "
        "--client-id client-1 --output assertion.jwt"
    )
    result = run_gitlab(
        action_image,
        script,
        {
            "QSJWT_KEY_SERVICE": "vault:transit/ec384",
            "QSJWT_VAULT_ADDRESS": bao.address,
            "QSJWT_VAULT_ROLE": rigs.ROLE,
            "QSJWT_ID_TOKEN": bao.issuer.token(rigs.AUDIENCE),
        },
        network="host",
    )
    assert result.returncode == 0, result.stderr
    key = jwk.JWK(**json.loads((result.project_dir / "jwk.json").read_text()))
    checked = jws.JWS()
    checked.deserialize((result.project_dir / "assertion.jwt").read_text().strip())
    checked.verify(key, alg="ES384")
    assert json.loads(checked.payload)["aud"] == "https://tenant.eu.qlikcloud.com/oauth/token"
