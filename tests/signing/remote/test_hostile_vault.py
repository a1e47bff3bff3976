"""A Vault that answers wrongly (issue 19), through the command line: a signature that does not
verify with the key it serves, a field of the wrong type, a refusal that quotes a token. Each
is exit 4 with ``key-service-malformed-answer`` or a refusal that repeats no credential, never a
token out and never an internal error."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator

import pytest

from tests.cli.test_cli import Run, qs_jwt
from tests.conftest import KeyPair, verify_independently
from tests.fake_vault import FETCHED_TOKEN, FakeVault, fake_vault

QSEOW = ["qseow", "--user-id", "svc_ci", "--user-directory", "CORP"]
GIVEN_TOKEN = "hvs.CAESIGivenByTheUserToTheToolAbcdefghijklmnop0123"
ID_TOKEN = (
    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2dpdGxhYi5leGFtcGxlLmNvbSIsInN1YiI6InByb2plY3Q"
    "ifQ.c2lnbmF0dXJlLW9mLXRoZS1jaS1pZGVudGl0eS10b2tlbi1naXZlbi1pbi1hLXZhcmlhYmxl"
)


@pytest.fixture
def vault(request: pytest.FixtureRequest, rsa_pair: KeyPair) -> Iterator[FakeVault]:
    with fake_vault(request.param, rsa_pair.key) as server:
        yield server


def mint(vault: FakeVault, **env: str) -> Run:
    return qs_jwt(
        *QSEOW,
        env={
            "QSJWT_KEY_SERVICE": "vault:transit/qlik",
            "QSJWT_VAULT_ADDRESS": vault.address,
            **env,
        },
    )


def forms(secret: str) -> list[str]:
    """What a log must not hold of ``secret``: the forms the fake echoes, and pieces of it."""
    raw = secret.encode()
    return [
        secret,
        base64.b64encode(raw).decode()[:-4],
        base64.urlsafe_b64encode(b"{" + raw).decode()[4:-4],
        urllib.parse.quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        secret[5:27],
        secret[-20:],
    ]


@pytest.mark.parametrize("vault", ["good"], indirect=True)
def test_an_honest_fake_signs_tokens_that_verify(vault: FakeVault, rsa_pair: KeyPair) -> None:
    """The fake is a fair Vault when it does not lie: the failures below are the lies'."""
    run = mint(vault, QSJWT_VAULT_TOKEN=GIVEN_TOKEN)
    assert run.code == 0, run.err
    verify_independently(run.out.strip(), rsa_pair.public_pem, "RS256", check_time=False)


@pytest.mark.parametrize("vault", ["other-key", "garbage"], indirect=True)
def test_a_signature_that_does_not_verify_makes_no_token(vault: FakeVault) -> None:
    run = mint(vault, QSJWT_VAULT_TOKEN=GIVEN_TOKEN)
    assert run.code == 4, run.err
    assert run.out == "" and "eyJ" not in run.err
    assert "QSJWT_KEY_SERVICE: returned a signature that does not verify" in run.err
    assert "Traceback" not in run.err and "internal error" not in run.err


@pytest.mark.parametrize("vault", ["bad-version"], indirect=True)
def test_a_version_that_is_not_a_number_is_a_malformed_answer(vault: FakeVault) -> None:
    run = mint(vault, QSJWT_VAULT_TOKEN=GIVEN_TOKEN)
    assert run.code == 4 and run.out == ""
    assert "latest_version" in run.err and "internal error" not in run.err


@pytest.mark.parametrize("vault", ["echo"], indirect=True)
def test_a_fetched_vault_token_echoed_back_in_any_form_is_not_repeated(vault: FakeVault) -> None:
    run = mint(vault, QSJWT_VAULT_ROLE="ci", QSJWT_ID_TOKEN=ID_TOKEN)
    assert run.code == 2 and run.out == ""
    assert vault.seen_tokens and set(vault.seen_tokens) == {FETCHED_TOKEN}  # it was fetched
    assert "Vault refused" in run.err and "(hidden)" in run.err
    for form in forms(FETCHED_TOKEN) + forms(ID_TOKEN):
        assert form not in run.err


@pytest.mark.parametrize("vault", ["echo"], indirect=True)
def test_a_given_vault_token_echoed_back_in_any_form_is_not_repeated(vault: FakeVault) -> None:
    run = mint(vault, QSJWT_VAULT_TOKEN=GIVEN_TOKEN)
    assert run.code == 2 and run.out == ""
    for form in forms(GIVEN_TOKEN):
        assert form not in run.err


@pytest.mark.parametrize("vault", ["echo-login"], indirect=True)
def test_an_identity_token_echoed_by_the_login_is_not_repeated(vault: FakeVault) -> None:
    run = mint(vault, QSJWT_VAULT_ROLE="ci", QSJWT_ID_TOKEN=ID_TOKEN)
    assert run.code == 2 and run.out == ""
    assert "Vault refused the login" in run.err
    for form in forms(ID_TOKEN):
        assert form not in run.err


@pytest.mark.parametrize("host", ["a" * 64 + ".example.com", "vault..example.com"])
def test_a_vault_address_that_is_no_dns_name_is_an_input_error(host: str) -> None:
    """Was an internal error (UnicodeError) when the request encoded the host."""
    run = qs_jwt(
        *QSEOW,
        env={
            "QSJWT_KEY_SERVICE": "vault:transit/qlik",
            "QSJWT_VAULT_ADDRESS": f"https://{host}",
            "QSJWT_VAULT_TOKEN": GIVEN_TOKEN,
        },
    )
    assert run.code == 2 and run.out == ""
    assert "QSJWT_VAULT_ADDRESS: has a host name that is no DNS name" in run.err
