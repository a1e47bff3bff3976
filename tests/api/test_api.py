"""The Python API, through its public names only (``import qsjwt``); tokens are checked with
jwcrypto, a different JOSE library than the signer."""

from __future__ import annotations

import datetime as dt
import inspect
import subprocess
import sys

import pytest

import qsjwt
from qsjwt.base.inputs import KEY_SERVICE_INPUTS, Target, inputs_for
from qsjwt.net.connection import CHECK_INPUTS
from tests.conftest import NOW, KeyPair, verify_independently


def test_the_public_names_are_the_documented_ones() -> None:
    assert sorted(qsjwt.__all__) == sorted(
        [
            "AccessToken",
            "Assertion",
            "Finding",
            "InputError",
            "KeyMaterialError",
            "Minted",
            "Minter",
            "QlikRefusedError",
            "QlikUnreachableError",
            "QsjwtError",
            "Severity",
            "TokenError",
            "__version__",
            "decode_token",
            "get_access_token",
            "lint_token",
            "mint_cloud",
            "mint_qseow",
            "verify_token",
        ]
    )
    for name in qsjwt.__all__:
        assert getattr(qsjwt, name) is not None
    with pytest.raises(AttributeError):
        _ = qsjwt.no_such_name


def test_import_qsjwt_loads_no_cryptography() -> None:
    """The names come on first use: the command line's start-up pays for none of them."""
    code = (
        "import sys, qsjwt; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jwt', 'cryptography')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


@pytest.mark.parametrize(("target", "method"), [(Target.QSEOW, "qseow"), (Target.CLOUD, "cloud")])
def test_every_input_is_a_keyword_argument(target: Target, method: str) -> None:
    """The input table is the one list of settings: the API's methods keep in step with it."""
    parameters = set(inspect.signature(getattr(qsjwt.Minter, method)).parameters)
    # where Qlik is and where the key lives are the shells' business: a script passes a key
    # object (which may be a key service's) and calls Qlik itself
    shells_only = CHECK_INPUTS | set(KEY_SERVICE_INPUTS)
    expected = {
        spec.name.replace("-", "_") for spec in inputs_for(target) if spec.name not in shells_only
    }
    assert parameters - {"self", "now", "jti"} == expected


def test_mint_qseow_from_pem_text(rsa3072_pair: KeyPair) -> None:
    minted = qsjwt.mint_qseow(
        rsa3072_pair.private_pem.decode(),
        user_id="alice",
        user_directory="CORP",
        groups=["CN=Admins,OU=Groups,DC=corp", "Readers"],
        attributes={"department": "Sales"},
        expires_in=dt.timedelta(minutes=5),
        clock_skew=0,
        now=NOW,
        jti="fixed",
    )
    header, claims = verify_independently(
        minted.token, rsa3072_pair.certificate_pem, "RS256", check_time=False
    )
    assert header == {"alg": "RS256", "typ": "JWT"}
    assert claims["userId"] == "alice" and claims["userDirectory"] == "CORP"
    assert claims["groups"] == ["CN=Admins,OU=Groups,DC=corp", "Readers"]
    assert claims["department"] == "Sales" and claims["jti"] == "fixed"
    assert claims["iat"] == claims["nbf"] == int(NOW.timestamp())
    assert claims["exp"] - claims["nbf"] == 300
    assert minted.expires_at == NOW + dt.timedelta(minutes=5)


def test_a_minter_loads_the_key_once_and_mints_many(rsa3072_pair: KeyPair) -> None:
    minter = qsjwt.Minter(rsa3072_pair.key)  # a cryptography key object is accepted too
    tokens = [
        minter.cloud(
            issuer="idp.example.com",
            key_id="kid-1",
            subject=f"user{n}",
            name=f"User {n}",
            email=f"user{n}@example.com",
        )
        for n in range(3)
    ]
    claims = [qsjwt.verify_token(m.token, rsa3072_pair.certificate_pem) for m in tokens]
    assert [c["sub"] for c in claims] == ["user0", "user1", "user2"]
    assert len({c["jti"] for c in claims}) == 3  # single-use ids
    assert all(c["email_verified"] is True for c in claims)
    assert minter.warnings == ()


def test_the_same_rules_as_the_command_line(rsa_pair: KeyPair) -> None:
    minter = qsjwt.Minter(rsa_pair.private_pem)
    assert [w.subject for w in minter.warnings] == ["private-key"]  # 2048 bits: allowed, unwise
    with pytest.raises(qsjwt.InputError) as info:
        minter.cloud(
            issuer="i", key_id="k", subject="s", name="n", email="e@x.org", expires_in="2h"
        )
    assert info.value.input_name == "expires-in"
    with pytest.raises(qsjwt.InputError) as info:
        minter.qseow(user_id="DOMAIN\\alice", user_directory="CORP")
    assert info.value.input_name == "user-id"


def test_a_naive_time_is_refused(rsa3072_pair: KeyPair) -> None:
    minter = qsjwt.Minter(rsa3072_pair.private_pem)
    with pytest.raises(qsjwt.InputError) as info:
        minter.qseow(user_id="a", user_directory="d", now=dt.datetime(2026, 1, 1))
    assert info.value.input_name == "now"


def test_a_key_that_cannot_sign_is_refused(ec_pair: KeyPair, rsa3072_pair: KeyPair) -> None:
    with pytest.raises(qsjwt.KeyMaterialError):
        qsjwt.Minter(rsa3072_pair.public_pem)
    with pytest.raises(qsjwt.KeyMaterialError):  # QSEoW verifies RSA only
        qsjwt.mint_qseow(ec_pair.private_pem, user_id="a", user_directory="d")


def test_decode_verify_and_lint(rsa3072_pair: KeyPair, other_rsa_pair: KeyPair) -> None:
    token = qsjwt.mint_qseow(rsa3072_pair.private_pem, user_id="a", user_directory="d").token
    header, claims = qsjwt.decode_token(token)
    assert header["alg"] == "RS256" and claims["userId"] == "a"
    assert qsjwt.lint_token(token, "qseow") == []
    findings = qsjwt.lint_token(token, "cloud")
    assert qsjwt.Severity.ERROR in {f.severity for f in findings}  # a QSEoW token is no Cloud one
    with pytest.raises(qsjwt.TokenError):
        qsjwt.verify_token(token, other_rsa_pair.certificate_pem)
    with pytest.raises(qsjwt.TokenError):
        qsjwt.decode_token("not a token")
