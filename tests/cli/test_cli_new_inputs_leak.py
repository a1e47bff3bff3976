"""The leak suite's rule for what issue 21 added to the command line: the token's file, the
variables of other tools, and the messages that now show the tool's own words. A secret given
in any of these places (a key, a passphrase, a Vault token, a JWT) appears in no output."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.cli.test_cli import QSEOW_ARGS, qs_jwt
from tests.conftest import KeyPair

PASSPHRASE = "correct horse battery staple 9Zq"
VAULT = "hvs.CAESIGaLongVaultTokenThatMustNeverBeShown0123456789abc"
JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzZWNyZXQtc3ViamVjdC12YWx1ZSJ9."
    "c2lnbmF0dXJlLXRoYXQtaXMtbG9uZy1lbm91Z2gtdG8tY291bnQ"
)


def _secrets(pair: KeyPair) -> dict[str, str]:
    return {
        "pem": pair.private_pem.decode(),
        "base64": base64.b64encode(pair.private_pem).decode(),
        "passphrase": PASSPHRASE,
        "vault-token": VAULT,
        "jwt": JWT,
    }


def _windows(secret: str) -> list[str]:
    body = "".join(line for line in secret.splitlines() if "-----" not in line) or secret
    return [body[i : i + 16] for i in range(0, max(len(body) - 16, 1), 8)]


def _places(secret: str, key: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    mint = [*QSEOW_ARGS, "--private-key-file", str(key)]
    vault = [*QSEOW_ARGS, "--key-service", "vault:transit/rsa"]
    return {
        "decode --token-file": (["decode", "--token-file", secret], {}),
        "verify --token-file": (["verify", "--token-file", secret, "--public-key-file", "x"], {}),
        "lint --token-file": (["lint", "--target", "qseow", "--token-file", secret], {}),
        "QSJWT_TOKEN_FILE": (["decode"], {"QSJWT_TOKEN_FILE": secret}),
        "help topic": (["help", secret], {}),
        "command": ([secret], {}),
        "VAULT_ADDR": (vault, {"VAULT_ADDR": secret, "VAULT_TOKEN": VAULT}),
        "VAULT_NAMESPACE": (
            vault,
            {"VAULT_ADDR": "https://127.0.0.1:9", "VAULT_NAMESPACE": secret},
        ),
        "VAULT_CACERT": (vault, {"VAULT_ADDR": "https://127.0.0.1:9", "VAULT_CACERT": secret}),
        "REQUESTS_CA_BUNDLE": (
            [*mint, "--check", "--virtual-proxy-url", "https://127.0.0.1:9/jwt"],
            {"REQUESTS_CA_BUNDLE": secret},
        ),
        "CURL_CA_BUNDLE": (
            [*mint, "--check", "--virtual-proxy-url", "https://127.0.0.1:9/jwt"],
            {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": secret},
        ),
        "GOOGLE_APPLICATION_CREDENTIALS": (
            [
                *QSEOW_ARGS,
                "--key-service",
                "gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
            ],
            {"GOOGLE_APPLICATION_CREDENTIALS": secret},
        ),
        "keygen --out-dir below": (["keygen", "--out-dir", f"{secret}/deeper"], {}),
    }


@pytest.mark.parametrize("form", ["pem", "base64", "passphrase", "vault-token", "jwt"])
def test_a_secret_in_a_new_place_is_never_shown(
    form: str, rsa_pair: KeyPair, tmp_path: Path
) -> None:
    secret = _secrets(rsa_pair)[form]
    key = rsa_pair.write(tmp_path)["private"]
    for place, (argv, env) in _places(secret, key).items():
        run = qs_jwt(*argv, env=env, cwd=tmp_path)
        assert run.code != 0, place
        assert "internal error" not in run.err, (place, run.err)
        for window in _windows(secret):
            assert window not in run.everything, (place, run.err)
        assert VAULT not in run.everything, place


def test_a_token_file_holding_another_secret_is_not_shown(
    rsa_pair: KeyPair, tmp_path: Path
) -> None:
    path = tmp_path / "token.txt"
    for secret in _secrets(rsa_pair).values():
        if secret == JWT:
            continue
        path.write_text(secret)
        for command in (["decode"], ["lint", "--target", "cloud"]):
            run = qs_jwt(*command, "--token-file", path)
            assert run.code != 0
            for window in _windows(secret):
                assert window not in run.everything


def test_a_google_credential_file_s_token_is_not_shown(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(JWT)
    creds = tmp_path / "creds.json"
    creds.write_text(
        json.dumps(
            {
                "type": "external_account",
                "audience": "//iam.googleapis.com/projects/1/locations/global/"
                "workloadIdentityPools/pool/providers/prov",
                "credential_source": {"file": str(token)},
            }
        )
    )
    run = qs_jwt(
        *QSEOW_ARGS,
        "--key-service",
        "gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
        env={
            "GOOGLE_APPLICATION_CREDENTIALS": str(creds),
            "QSJWT_GCP_API_ROOT": "https://127.0.0.1:9",
        },
    )
    assert run.code != 0
    assert JWT not in run.everything and JWT[:40] not in run.everything
