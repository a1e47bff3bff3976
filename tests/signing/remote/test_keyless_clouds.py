"""Azure Key Vault and Google Cloud KMS keyless signing, against the fakes of
tests/cloud_fakes.py: written from the services' documented request and response shapes, not
recordings (neither service has an emulator that installs here; keyless-signing reference,
section 4). No private key is given anywhere: the certificate and JWK come from ``qs-jwt
keygen`` / ``qs-jwt jwk`` with the key service, and every token verifies with jwcrypto
against them. Each run is a real process, so ``SSL_CERT_FILE`` (the fake's CA) is read as a
runner's would be."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jwcrypto import jwk as jose_jwk
from jwcrypto import jws

from tests import cloud_fakes as fakes
from tests.cli.test_cli import Run, qs_jwt_process
from tests.conftest import verify_independently

QSEOW = ["qseow", "--user-id", "svc_ci", "--user-directory", "CORP"]
CLOUD = [
    *("cloud", "--issuer", "idp.example.com", "--key-id", "kid-1", "--subject", "svc_ci"),
    *("--name", "CI", "--email", "ci@example.com"),
]
OAUTH = ["oauth", "--tenant", "t.eu.qlikcloud.com", "--client-id", "client-1", "--assertion-only"]


@pytest.fixture(scope="module")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[fakes.Azure]:
    fake = fakes.Azure().start(tmp_path_factory.mktemp("azure"))
    try:
        yield fake
    finally:
        assert fake.server is not None
        fake.server.stop()


@pytest.fixture(scope="module")
def google(tmp_path_factory: pytest.TempPathFactory) -> Iterator[fakes.Google]:
    fake = fakes.Google().start(tmp_path_factory.mktemp("google"))
    try:
        yield fake
    finally:
        assert fake.server is not None
        fake.server.stop()


def github(server: fakes.FakeServer) -> dict[str, str]:
    """A GitHub job granted id-token: write, trusting the fake's CA."""
    return {
        "SSL_CERT_FILE": server.ca_bundle,
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{server.url}/github-id-token?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": fakes.REQUEST_TOKEN,
    }


def azure_env(azure: fakes.Azure, key: str = "rsa") -> dict[str, str]:
    assert azure.server is not None
    return {
        **github(azure.server),
        "AZURE_AUTHORITY_HOST": azure.url,
        "QSJWT_KEY_SERVICE": f"azurekv:{azure.url}/keys/{key}",
        "QSJWT_AZURE_TENANT_ID": fakes.TENANT,
        "QSJWT_AZURE_CLIENT_ID": fakes.CLIENT,
    }


def google_env(
    google: fakes.Google, key: str = "rsa", *, impersonate: bool = True
) -> dict[str, str]:
    assert google.server is not None
    return {
        **github(google.server),
        "QSJWT_GCP_API_ROOT": google.url,
        "QSJWT_KEY_SERVICE": f"gcpkms:{fakes.gcp_version(key)}",
        "QSJWT_GCP_WORKLOAD_IDENTITY_PROVIDER": fakes.PROVIDER,
        "QSJWT_GCP_SERVICE_ACCOUNT": fakes.SERVICE_ACCOUNT if impersonate else "",
    }


def no_credential(
    run: Run, *fakes_: fakes.Azure | fakes.Google, more: tuple[str, ...] = ()
) -> None:
    """No token the services issued, no identity token and no request token is shown."""
    issued: set[str] = set(more) | {fakes.REQUEST_TOKEN}
    for fake in fakes_:
        if isinstance(fake, fakes.Azure):
            issued |= fake.issued
        else:
            issued |= fake.federated | fake.impersonated
        assert fake.server is not None
        for request in fake.server.seen:
            issued |= {v for k, v in request.form().items() if k == "client_assertion"}
            issued.add(str(request.json().get("subjectToken") or "x" * 40))
    for value in issued:
        assert value not in run.everything


def mint_and_verify(env: dict[str, str], tmp_path: Path, command: list[str], alg: str) -> Run:
    out = tmp_path / "public"
    made = qs_jwt_process("keygen", "--out-dir", str(out), env=env)
    assert made.code == 0, made.err
    assert not (out / "private-key.pem").exists()
    certificate = out / "certificate.pem"
    run = qs_jwt_process(
        *command, "--algorithm", alg, "--certificate-file", str(certificate), env=env
    )
    assert run.code == 0, run.err
    header, _ = verify_independently(run.out.strip(), certificate.read_bytes(), alg)
    assert header["alg"] == alg
    return run


def oauth_verifies_with_the_printed_jwk(env: dict[str, str], alg: str) -> Run:
    printed = qs_jwt_process("jwk", env=env)
    assert printed.code == 0, printed.err
    key = json.loads(printed.out)
    run = qs_jwt_process(*OAUTH, env=env)
    assert run.code == 0, run.err
    checked = jws.JWS()
    checked.deserialize(run.out.strip())
    checked.verify(jose_jwk.JWK(**key), alg=alg)
    assert json.loads(checked.objects["protected"])["kid"] == key["kid"]
    return run


# --- Azure Key Vault ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "command", "alg"),
    [("rsa", QSEOW, "RS256"), ("rsa", CLOUD, "PS384"), ("ec256", CLOUD, "ES256")],
)
def test_azure_mints_qseow_and_cloud_tokens_that_verify_with_the_printed_certificate(
    azure: fakes.Azure, tmp_path: Path, key: str, command: list[str], alg: str
) -> None:
    run = mint_and_verify(azure_env(azure, key), tmp_path, command, alg)
    no_credential(run, azure)


def test_azure_oauth_assertion_verifies_with_the_printed_jwk(azure: fakes.Azure) -> None:
    run = oauth_verifies_with_the_printed_jwk(azure_env(azure, "ec384"), "ES384")
    no_credential(run, azure)
    assert azure.server is not None
    signs = [r for r in azure.server.seen if r.path.endswith("/sign")]
    assert signs and all(r.json()["alg"] in ("ES384",) for r in signs[-1:])


def test_azure_refuses_another_repository_naming_the_federated_credential(
    azure: fakes.Azure,
) -> None:
    token = fakes.id_token("api://AzureADTokenExchange", "repo:acme/other:ref:refs/heads/main")
    run = qs_jwt_process(*QSEOW, env={**azure_env(azure), "QSJWT_ID_TOKEN": token})
    assert run.code == 2, run.err
    assert run.err.startswith("qs-jwt: error: QSJWT_ID_TOKEN:")
    assert "AADSTS700213" in run.err and "federated credential" in run.err
    assert "subject" in run.err and "acme/other" not in run.err
    no_credential(run, azure, more=(token,))


def test_azure_refuses_an_unknown_application_naming_the_client_id(azure: fakes.Azure) -> None:
    other = "22222222-2222-4222-8222-222222222222"
    run = qs_jwt_process(*QSEOW, env={**azure_env(azure), "QSJWT_AZURE_CLIENT_ID": other})
    assert run.code == 2 and "QSJWT_AZURE_CLIENT_ID" in run.err and "AADSTS700016" in run.err
    assert other not in run.err and fakes.TENANT not in run.err


def test_a_refused_key_vault_sign_names_the_identity_and_the_role(azure: fakes.Azure) -> None:
    run = qs_jwt_process(*QSEOW, env=azure_env(azure, "locked"))
    assert run.code == 2, run.err
    assert run.err.startswith("qs-jwt: error: QSJWT_AZURE_CLIENT_ID:")
    assert "403" in run.err and "ForbiddenByRbac" in run.err and "Key Vault Crypto User" in run.err
    assert fakes.CLIENT not in run.err and "locked" not in run.err
    no_credential(run, azure)


def test_an_ec_key_vault_key_refuses_another_curve_s_algorithm_before_signing(
    azure: fakes.Azure,
) -> None:
    assert azure.server is not None
    before = len([r for r in azure.server.seen if r.path.endswith("/sign")])
    run = qs_jwt_process(*CLOUD, "--algorithm", "ES384", env=azure_env(azure, "ec256"))
    assert run.code == 2 and "needs an EC key on curve secp384r1" in run.err, run.err
    assert len([r for r in azure.server.seen if r.path.endswith("/sign")]) == before


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"QSJWT_KEY_SERVICE": "azurekv:https://127.0.0.1:1/keys/rsa"}, "QSJWT_KEY_SERVICE"),
        ({"AZURE_AUTHORITY_HOST": "https://127.0.0.1:1"}, "QSJWT_AZURE_TENANT_ID"),
    ],
)
def test_unreachable_azure_is_exit_4(
    azure: fakes.Azure, change: dict[str, str], names: str
) -> None:
    run = qs_jwt_process(*QSEOW, env={**azure_env(azure), **change})
    assert run.code == 4, run.err
    assert "could not be reached" in run.err and names in run.err
    no_credential(run, azure)


@pytest.mark.parametrize(
    "reference",
    [
        "azurekv:https://evil.example.com/keys/rsa",
        "azurekv:https://acme.vault.azure.net/keys/rsa?api-version=1",
        "azurekv:https://acme.vault.azure.net/secrets/rsa",
        "azurekv:http://acme.vault.azure.net/keys/rsa",
    ],
)
def test_key_vault_references_are_checked_before_any_call(reference: str) -> None:
    run = qs_jwt_process(*QSEOW, env={"QSJWT_KEY_SERVICE": reference})
    assert run.code == 2 and run.err.startswith("qs-jwt: error: QSJWT_KEY_SERVICE:"), run.err
    assert reference.removeprefix("azurekv:") not in run.err


# --- Google Cloud KMS ---------------------------------------------------------------------------


def test_gcp_mints_a_qseow_token_that_verifies_with_the_printed_certificate(
    google: fakes.Google, tmp_path: Path
) -> None:
    run = mint_and_verify(google_env(google, "rsa"), tmp_path, QSEOW, "RS256")
    no_credential(run, google)


def test_gcp_mints_a_cloud_token_with_a_pss_key_version_and_direct_access(
    google: fakes.Google,
) -> None:
    """A PSS-only key version signs PS256 tokens; its certificate cannot be self-signed (that
    takes PKCS#1), so the token verifies against the public key qs-jwt prints as a JWK."""
    env = google_env(google, "pss", impersonate=False)
    printed = qs_jwt_process("jwk", env=env)
    assert printed.code == 0, printed.err
    public = jose_jwk.JWK(**json.loads(printed.out)).export_to_pem()
    run = qs_jwt_process(*CLOUD, "--algorithm", "PS256", env=env)
    assert run.code == 0, run.err
    header, _ = verify_independently(run.out.strip(), public, "PS256")
    assert header["alg"] == "PS256"
    no_credential(run, google)


def test_gcp_oauth_assertion_verifies_with_the_printed_jwk(google: fakes.Google) -> None:
    run = oauth_verifies_with_the_printed_jwk(google_env(google, "ec384"), "ES384")
    no_credential(run, google)


def test_gcp_refuses_another_branch_through_the_attribute_condition(google: fakes.Google) -> None:
    token = fakes.id_token(
        f"https://iam.googleapis.com/{fakes.PROVIDER}", "repo:acme/qlik:ref:refs/heads/dev"
    )
    run = qs_jwt_process(*QSEOW, env={**google_env(google), "QSJWT_ID_TOKEN": token})
    assert run.code == 2, run.err
    assert run.err.startswith("qs-jwt: error: QSJWT_ID_TOKEN:") and "attribute condition" in run.err
    assert "refs/heads/dev" not in run.err
    no_credential(run, google, more=(token,))


def test_gcp_refuses_the_wrong_audience_naming_the_audience(google: fakes.Google) -> None:
    env = {**google_env(google), "QSJWT_ID_TOKEN_AUDIENCE": "https://elsewhere.example.com"}
    run = qs_jwt_process(*QSEOW, env=env)
    assert run.code == 2 and "audience" in run.err and "QSJWT_ID_TOKEN_AUDIENCE" in run.err
    assert "elsewhere" not in run.err
    no_credential(run, google)


def test_gcp_an_unknown_provider_names_the_provider(google: fakes.Google) -> None:
    other = fakes.PROVIDER.replace("github", "gitlab")
    run = qs_jwt_process(
        *QSEOW, env={**google_env(google), "QSJWT_GCP_WORKLOAD_IDENTITY_PROVIDER": other}
    )
    assert run.code == 2 and run.err.startswith(
        "qs-jwt: error: QSJWT_GCP_WORKLOAD_IDENTITY_PROVIDER:"
    )
    assert "gitlab" not in run.err


def test_gcp_a_refused_impersonation_names_the_service_account(google: fakes.Google) -> None:
    other = "someone@acme-qlik.iam.gserviceaccount.com"
    run = qs_jwt_process(*QSEOW, env={**google_env(google), "QSJWT_GCP_SERVICE_ACCOUNT": other})
    assert run.code == 2 and run.err.startswith("qs-jwt: error: QSJWT_GCP_SERVICE_ACCOUNT:")
    assert "PERMISSION_DENIED" in run.err and "workloadIdentityUser" in run.err
    assert other not in run.err
    no_credential(run, google)


@pytest.mark.parametrize("impersonate", [True, False])
def test_a_refused_cloud_kms_sign_names_who_needs_the_role(
    google: fakes.Google, impersonate: bool
) -> None:
    run = qs_jwt_process(
        *CLOUD, "--algorithm", "ES256", env=google_env(google, "locked", impersonate=impersonate)
    )
    assert run.code == 2, run.err
    who = "QSJWT_GCP_SERVICE_ACCOUNT" if impersonate else "QSJWT_GCP_WORKLOAD_IDENTITY_PROVIDER"
    assert f"qs-jwt: error: {who}:" in run.err and "signerVerifier" in run.err
    assert "403" in run.err and "locked" not in run.err
    no_credential(run, google)


def test_a_cloud_kms_version_refuses_another_algorithm_before_signing(google: fakes.Google) -> None:
    assert google.server is not None
    before = len([r for r in google.server.seen if r.path.endswith(":asymmetricSign")])
    run = qs_jwt_process(*QSEOW, "--algorithm", "RS384", env=google_env(google, "rsa"))
    assert run.code == 2 and "RS256 only" in run.err and "--algorithm to RS256" in run.err
    assert len([r for r in google.server.seen if r.path.endswith(":asymmetricSign")]) == before


def test_unreachable_google_is_exit_4(google: fakes.Google) -> None:
    env = {**google_env(google), "QSJWT_GCP_API_ROOT": "https://127.0.0.1:1"}
    run = qs_jwt_process(*QSEOW, env=env)
    assert run.code == 4, run.err
    assert "could not be reached" in run.err and "QSJWT_GCP_WORKLOAD_IDENTITY_PROVIDER" in run.err
    no_credential(run, google)


@pytest.mark.parametrize(
    "reference",
    [
        "gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k",
        "gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1?x=y",
    ],
)
def test_cloud_kms_references_name_a_key_version(reference: str) -> None:
    run = qs_jwt_process(*QSEOW, env={"QSJWT_KEY_SERVICE": reference})
    assert run.code == 2 and "is not a Cloud KMS key version" in run.err, run.err
    assert "keyRings/r" not in run.err
