"""Keyless signing against real servers on 127.0.0.1: OpenBao (transit, JWT auth against an
OIDC issuer served here, a role bound to one repository and branch) and a SoftHSM2 token.
No private key is given anywhere: the certificate and JWK come from ``qs-jwt keygen`` /
``qs-jwt jwk`` with ``--key-service``, and every token verifies with jwcrypto against them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import keyless_rigs as rigs
from tests.cli.test_cli import qs_jwt
from tests.conftest import verify_independently

QSEOW = ["qseow", "--user-id", "svc_ci", "--user-directory", "CORP"]
CLOUD = [
    "cloud",
    "--issuer",
    "idp.example.com",
    "--key-id",
    "kid-1",
    "--subject",
    "svc_ci",
    "--name",
    "CI",
    "--email",
    "ci@example.com",
]


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rigs.Bao]:
    server = rigs.start_bao(tmp_path_factory.mktemp("bao"))
    try:
        with pytest.MonkeyPatch.context() as patch:
            # the in-process runs: GitHub's token URL is https, with the issuer's own CA
            patch.setenv("SSL_CERT_FILE", server.issuer.ca_bundle)
            yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rigs.SoftHsm]:
    yield from rigs.softhsm_token(tmp_path_factory.mktemp("softhsm"))


def github_env(bao: rigs.Bao, key: str = "rsa") -> dict[str, str]:
    """What a GitHub job with id-token: write has, plus the key-service settings."""
    return {
        "SSL_CERT_FILE": bao.issuer.ca_bundle,
        "ACTIONS_ID_TOKEN_REQUEST_URL": bao.issuer.request_url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": rigs.REQUEST_TOKEN,
        "QSJWT_KEY_SERVICE": f"vault:transit/{key}",
        "QSJWT_VAULT_ADDRESS": bao.address,
        "QSJWT_VAULT_ROLE": rigs.ROLE,
        "QSJWT_ID_TOKEN_AUDIENCE": rigs.AUDIENCE,
    }


def public_files(tmp_path: Path, env: dict[str, str]) -> Path:
    out = tmp_path / "public"
    run = qs_jwt("keygen", "--out-dir", out, env=env)
    assert run.code == 0, run.err
    assert not (out / "private-key.pem").exists()
    assert b"BEGIN CERTIFICATE REQUEST" in (out / "certificate-request.pem").read_bytes()
    return out


@pytest.mark.parametrize(
    ("key", "command", "algorithm"),
    [
        ("rsa", QSEOW, "RS256"),
        ("rsa", [*QSEOW, "--algorithm", "RS512"], "RS512"),
        ("rsa", CLOUD, "RS256"),
        ("ec384", [*CLOUD, "--algorithm", "ES384"], "ES384"),
        ("ec256", [*CLOUD, "--algorithm", "ES256"], "ES256"),
    ],
)
def test_vault_github_identity_mints_tokens_that_verify_with_its_certificate(
    bao: rigs.Bao, tmp_path: Path, key: str, command: list[str], algorithm: str
) -> None:
    env = github_env(bao, key)
    out = public_files(tmp_path, env)
    run = qs_jwt(*command, "--certificate-file", out / "certificate.pem", env=env)
    assert run.code == 0, run.err
    header, _ = verify_independently(
        run.out.strip(), (out / "certificate.pem").read_bytes(), algorithm
    )
    assert header["alg"] == algorithm
    assert rigs.REQUEST_TOKEN not in run.everything


def test_vault_with_a_gitlab_id_token_and_oauth_assertion_verifies_with_the_jwk(
    bao: rigs.Bao,
) -> None:
    env = {
        "QSJWT_KEY_SERVICE": "vault:transit/ec384",
        "QSJWT_VAULT_ADDRESS": bao.address,
        "QSJWT_VAULT_ROLE": rigs.ROLE,
        "QSJWT_ID_TOKEN": bao.issuer.token(rigs.AUDIENCE),
    }
    printed = qs_jwt("jwk", env=env)
    assert printed.code == 0, printed.err
    jwk = json.loads(printed.out)
    run = qs_jwt(
        "oauth",
        "--tenant",
        "t.eu.qlikcloud.com",
        "--client-id",
        "client-1",
        "--assertion-only",
        env=env,
    )
    assert run.code == 0, run.err
    from jwcrypto import jwk as jose_jwk
    from jwcrypto import jws

    checked = jws.JWS()
    checked.deserialize(run.out.strip())
    checked.verify(jose_jwk.JWK(**jwk), alg="ES384")
    assert json.loads(checked.objects["protected"])["kid"] == jwk["kid"]
    assert env["QSJWT_ID_TOKEN"] not in run.everything


@pytest.mark.parametrize("claim", [{"repository": "acme/other"}, {"ref": "refs/heads/dev"}])
def test_vault_refuses_another_repository_or_branch(bao: rigs.Bao, claim: dict[str, str]) -> None:
    token = bao.issuer.token(rigs.AUDIENCE, **claim)
    env = {**github_env(bao), "QSJWT_ID_TOKEN": token}
    run = qs_jwt(*QSEOW, env=env)
    assert run.code == 2
    assert "QSJWT_VAULT_ROLE" in run.err and "bound_claims" in run.err
    assert token not in run.everything


def test_vault_policy_refusal_names_the_policy(bao: rigs.Bao) -> None:
    run = qs_jwt(*QSEOW, env=github_env(bao, "other"))
    assert run.code == 2
    assert "403" in run.err and "policy" in run.err
    assert run.err.startswith("qs-jwt: error: QSJWT_VAULT_ROLE:") and "QSJWT_KEY_SERVICE" in run.err
    assert "other" not in run.err  # the key's name is the user's: never repeated


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("http://127.0.0.1:1", "connection refused"),
        ("https://vault.qs-jwt.invalid", "DNS"),
    ],
)
def test_an_unreachable_key_service_is_exit_4_not_a_key_error(address: str, why: str) -> None:
    secret = "hvs.qsjwt-unreachable-test-token"
    env = {
        "QSJWT_KEY_SERVICE": "vault:transit/rsa",
        "QSJWT_VAULT_ADDRESS": address,
        "QSJWT_VAULT_TOKEN": secret,
    }
    run = qs_jwt(*QSEOW, env=env)
    assert run.code == 4, run.err
    assert "QSJWT_VAULT_ADDRESS" in run.err and why in run.err
    assert secret not in run.everything and address not in run.everything


def test_vault_key_that_cannot_sign_and_wrong_audience(bao: rigs.Bao) -> None:
    run = qs_jwt(*QSEOW, env=github_env(bao, "aes"))
    assert run.code == 2 and "cannot sign JWTs" in run.err
    wrong = {**github_env(bao), "QSJWT_ID_TOKEN_AUDIENCE": "https://elsewhere.test"}
    run = qs_jwt(*QSEOW, env=wrong)
    assert run.code == 2 and "bound_audiences" in run.err


def test_no_identity_says_what_to_grant(bao: rigs.Bao) -> None:
    env = {k: v for k, v in github_env(bao).items() if not k.startswith("ACTIONS_")}
    run = qs_jwt(*QSEOW, env=env)
    assert run.code == 2 and "id-token: write" in run.err


def test_key_service_and_a_private_key_are_refused_together(bao: rigs.Bao, tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_text("not used")
    run = qs_jwt(*QSEOW, "--private-key-file", key, env=github_env(bao))
    assert run.code == 2 and "both given" in run.err


@pytest.mark.parametrize("text", ["aws:thing", "vault://", "pkcs11:object=a", "vault:a b/c"])
def test_a_bad_reference_is_refused_without_repeating_it(text: str) -> None:
    run = qs_jwt(*QSEOW, env={"QSJWT_KEY_SERVICE": text})
    assert run.code == 2 and "QSJWT_KEY_SERVICE" in run.err
    assert text not in run.err


def test_a_pin_in_the_pkcs11_uri_is_refused() -> None:
    secret = "pkcs11:token=t;object=o?pin-value=98765"
    run = qs_jwt(*QSEOW, env={"QSJWT_KEY_SERVICE": secret})
    assert run.code == 2 and "98765" not in run.everything


@pytest.mark.parametrize(
    ("key", "command", "algorithm"),
    [
        ("rsa", QSEOW, "RS256"),
        ("rsa", [*CLOUD, "--algorithm", "PS256"], "PS256"),
        ("ec256", [*CLOUD, "--algorithm", "ES256"], "ES256"),
    ],
)
def test_pkcs11_softhsm_mints_tokens_that_verify_with_its_certificate(
    hsm: rigs.SoftHsm, tmp_path: Path, key: str, command: list[str], algorithm: str
) -> None:
    env = {
        "SOFTHSM2_CONF": str(hsm.config),
        "QSJWT_KEY_SERVICE": f"pkcs11:token={rigs.TOKEN_LABEL};object={key}",
        "QSJWT_PKCS11_MODULE": hsm.module,
        "QSJWT_PKCS11_PIN": rigs.USER_PIN,
    }
    out = public_files(tmp_path, env)
    run = qs_jwt(*command, env=env)
    assert run.code == 0, run.err
    verify_independently(run.out.strip(), (out / "certificate.pem").read_bytes(), algorithm)
    assert rigs.USER_PIN not in run.everything


def test_action_mints_through_vault_and_masks_every_credential(
    bao: rigs.Bao,
    run: Any,
) -> None:
    env = github_env(bao)
    inputs = {
        "target": "qseow",
        "user-id": "svc_ci",
        "user-directory": "CORP",
        "key-service": "vault:transit/rsa",
        "vault-address": bao.address,
        "vault-role": rigs.ROLE,
        "id-token-audience": rigs.AUDIENCE,
    }
    extra = {k: v for k, v in env.items() if k.startswith("ACTIONS_")}
    result = run(inputs, extra)
    assert result.code == 0, result.stdout
    assert rigs.REQUEST_TOKEN in result.masks
    assert len(result.masks) >= 3  # the request token, the identity token, Vault's token
    token = result.outputs["token"]
    assert token in result.masks


def test_action_without_private_key_or_key_service_names_both(run: Any) -> None:
    result = run({"target": "qseow", "user-id": "a", "user-directory": "C"})
    assert result.code == 1
    assert "key-service" in result.stdout


@pytest.mark.parametrize(
    ("key", "command"),
    [
        ("ec256", QSEOW),  # QSEoW takes RS256-512 only
        ("ec256", [*CLOUD, "--algorithm", "ES384"]),  # the curve does not fit
        ("rsa", [*CLOUD, "--algorithm", "ES256"]),
    ],
)
def test_a_remote_key_that_does_not_fit_the_algorithm_names_key_service(
    bao: rigs.Bao, key: str, command: list[str]
) -> None:
    run = qs_jwt(*command, env=github_env(bao, key))
    error = run.err.splitlines()[-1]
    assert run.code == 2
    assert error.startswith("qs-jwt: error: QSJWT_KEY_SERVICE:"), run.err
    assert "private" not in error.lower()


def test_an_oauth_assertion_with_a_remote_p256_key_names_key_service(bao: rigs.Bao) -> None:
    run = qs_jwt(
        "oauth",
        "--tenant",
        "t.eu.qlikcloud.com",
        "--client-id",
        "c",
        "--assertion-only",
        env=github_env(bao, "ec256"),
    )
    assert run.code == 2 and run.err.startswith("qs-jwt: error: QSJWT_KEY_SERVICE:"), run.err


def test_pkcs11_a_wrong_pin_after_a_login_in_the_same_process_is_refused(
    hsm: rigs.SoftHsm,
) -> None:
    """PKCS#11 keeps one login per process: the token itself no longer looks at the PIN."""
    from qsjwt.signing.remote import RemoteKeyError, Secrets
    from qsjwt.signing.remote.registry import remote_key_from

    values = {
        "key-service": f"pkcs11:token={rigs.TOKEN_LABEL};object=rsa",
        "pkcs11-module": hsm.module,
    }
    first = remote_key_from(values, Secrets(pkcs11_pin=rigs.USER_PIN), ci_env={})
    assert first is not None
    with pytest.raises(RemoteKeyError) as refused:
        remote_key_from(values, Secrets(pkcs11_pin="999999"), ci_env={})
    assert refused.value.input_name == "pkcs11-pin" and "999999" not in str(refused.value)
    assert "logged this process in" in str(refused.value)  # the token answered "logged in"
    again = remote_key_from(values, Secrets(pkcs11_pin=rigs.USER_PIN), ci_env={})
    assert again is not None and again.key.public_key() == first.key.public_key()


def test_action_mints_through_softhsm_and_masks_the_pin(
    hsm: rigs.SoftHsm, tmp_path: Path, run: Any
) -> None:
    """The action (as the composite action runs it) with a PKCS#11 key and no private key."""
    env = {
        "SOFTHSM2_CONF": str(hsm.config),
        "QSJWT_KEY_SERVICE": f"pkcs11:token={rigs.TOKEN_LABEL};object=rsa",
        "QSJWT_PKCS11_MODULE": hsm.module,
        "QSJWT_PKCS11_PIN": rigs.USER_PIN,
    }
    out = public_files(tmp_path, env)
    inputs = {
        "target": "cloud",
        "issuer": "idp.example.com",
        "key-id": "kid-1",
        "subject": "svc_ci",
        "name": "CI",
        "email": "ci@example.com",
        "key-service": env["QSJWT_KEY_SERVICE"],
        "pkcs11-module": hsm.module,
        "pkcs11-pin": rigs.USER_PIN,
    }
    result = run(inputs, {"SOFTHSM2_CONF": str(hsm.config)})
    assert result.code == 0, result.stdout
    assert result.lines[0] == "::add-mask::" + rigs.USER_PIN, "the PIN is masked first"
    verify_independently(result.outputs["token"], (out / "certificate.pem").read_bytes(), "RS256")
    assert rigs.USER_PIN not in result.everything_but_masks()


def test_pkcs11_logins_at_once_in_one_process_all_succeed(hsm: rigs.SoftHsm) -> None:
    """PKCS#11 keeps one login per process and token: logins at once must not race into
    "already logged in" for the right PIN, nor into a module error (issue 19)."""
    from concurrent.futures import ThreadPoolExecutor

    from qsjwt.signing.remote import Secrets
    from qsjwt.signing.remote.registry import remote_key_from

    values = {
        "key-service": f"pkcs11:token={rigs.TOKEN_LABEL};object=rsa",
        "pkcs11-module": hsm.module,
    }

    def open_key(_: int) -> object:
        key = remote_key_from(values, Secrets(pkcs11_pin=rigs.USER_PIN), ci_env={})
        assert key is not None
        return key.key.public_key().public_numbers()

    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(open_key, range(16)))
    assert len(set(map(str, numbers))) == 1
