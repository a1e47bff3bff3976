"""mint / the use case: settings + key material -> a token a different verifier accepts."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from qsjwt.base.errors import InputError, KeyMaterialError, QsjwtError
from qsjwt.base.inputs import CERTIFICATE, PRIVATE_KEY, PRIVATE_KEY_PASSPHRASE, Target
from qsjwt.login.claims import build_claims, build_header
from qsjwt.login.mint import mint
from qsjwt.signing.jws import sign_token
from qsjwt.signing.keys import certificate_pem, load_certificate, self_signed_certificate
from tests.conftest import (
    ENCRYPTED_KEY,
    ENCRYPTED_KEY_PASSPHRASE,
    NOW,
    NOW_S,
    KeyPair,
    make_pair,
    verify_independently,
)
from tests.helpers import (
    BOTH_TARGETS,
    FIXED_JTI,
    assert_error,
    issue_jwt,
    parse,
    parse_cloud,
    parse_qseow,
    signing_key,
    warnings_about,
)


@pytest.fixture(scope="module")
def p384_pair() -> KeyPair:
    return make_pair(ec.generate_private_key(ec.SECP384R1()))


@BOTH_TARGETS
def test_mint_at_a_fixed_now(rsa3072_pair: KeyPair, target: Target) -> None:
    settings = parse(target, groups="Sales")
    minted = mint(settings, signing_key(rsa3072_pair.private_pem), now=NOW_S, jti=FIXED_JTI)
    header, claims = verify_independently(
        minted.token, rsa3072_pair.certificate_pem, "RS256", check_time=False
    )
    assert claims == minted.claims == build_claims(settings, now=NOW_S, jti=FIXED_JTI)
    assert header == minted.header == build_header(settings)
    assert minted.expires_in == settings.lifetime
    # the window is back-dated by the clock skew: exp = now - skew + lifetime
    assert minted.expires_at == NOW + dt.timedelta(seconds=settings.lifetime - settings.clock_skew)
    assert minted.expires_at.tzinfo is dt.UTC
    assert minted.warnings == settings.warnings  # a 3072-bit key adds none


@BOTH_TARGETS
def test_mint_now_verifies_with_time_checks(rsa_pair: KeyPair, target: Target) -> None:
    now = int(time.time())
    minted = mint(parse(target), signing_key(rsa_pair.private_pem), now=now, jti=FIXED_JTI)
    _, claims = verify_independently(minted.token, rsa_pair.certificate_pem, "RS256")
    assert claims["iat"] == claims["nbf"] == now - parse(target).clock_skew


def test_warnings_of_settings_and_key_are_both_returned(rsa_pair: KeyPair) -> None:
    settings = parse_cloud(algorithm="RS512", user_id="ignored")
    minted = mint(settings, signing_key(rsa_pair.private_pem), now=NOW_S, jti=FIXED_JTI)
    assert [f.subject for f in minted.warnings] == ["user-id", "algorithm", PRIVATE_KEY]


@pytest.mark.parametrize(("pair_name", "alg"), [("ec_pair", "ES256"), ("p384_pair", "ES384")])
def test_cloud_with_an_ec_key(request: pytest.FixtureRequest, pair_name: str, alg: str) -> None:
    pair = request.getfixturevalue(pair_name)
    settings = parse_cloud(algorithm=alg)
    minted = mint(settings, signing_key(pair.private_pem), now=NOW_S, jti=FIXED_JTI)
    header, claims = verify_independently(minted.token, pair.certificate_pem, alg, check_time=False)
    assert header["alg"] == alg and header["kid"] == "kid-1"
    assert claims == minted.claims


@BOTH_TARGETS
@pytest.mark.parametrize("alg", ["RS256", "RS512"])
def test_ec_key_with_an_rs_algorithm_refused(ec_pair: KeyPair, target: Target, alg: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        mint(
            parse(target, algorithm=alg), signing_key(ec_pair.private_pem), now=NOW_S, jti=FIXED_JTI
        )
    assert_error(info.value, PRIVATE_KEY, f"an EC key cannot sign {alg}")


def test_rsa_key_with_an_es_algorithm_refused(rsa_pair: KeyPair) -> None:
    settings = parse_cloud(algorithm="ES256")
    with pytest.raises(KeyMaterialError) as info:
        mint(settings, signing_key(rsa_pair.private_pem), now=NOW_S, jti=FIXED_JTI)
    assert_error(info.value, PRIVATE_KEY, "an RSA key cannot sign ES256")


def test_es256_with_a_p384_key_refused(p384_pair: KeyPair) -> None:
    settings = parse_cloud(algorithm="ES256")
    with pytest.raises(KeyMaterialError) as info:
        mint(settings, signing_key(p384_pair.private_pem), now=NOW_S, jti=FIXED_JTI)
    assert_error(info.value, PRIVATE_KEY, "ES256 needs an EC key on curve secp256r1")


# --- certificate check (rule 5: an error, as the issue decides) ------------------------------


@BOTH_TARGETS
def test_matching_certificate_passes(rsa_pair: KeyPair, target: Target) -> None:
    cert = load_certificate(rsa_pair.certificate_pem, input_name=CERTIFICATE)
    key = signing_key(rsa_pair.private_pem)
    minted = mint(parse(target), key, now=NOW_S, jti=FIXED_JTI, certificates=[cert])
    verify_independently(minted.token, rsa_pair.certificate_pem, "RS256", check_time=False)


@BOTH_TARGETS
def test_certificate_of_another_key_is_an_error(
    rsa_pair: KeyPair, other_rsa_pair: KeyPair, target: Target
) -> None:
    cert = load_certificate(other_rsa_pair.certificate_pem, input_name=CERTIFICATE)
    with pytest.raises(KeyMaterialError) as info:
        mint(
            parse(target),
            signing_key(rsa_pair.private_pem),
            now=NOW_S,
            jti=FIXED_JTI,
            certificates=[cert],
        )
    assert_error(info.value, CERTIFICATE, "does not belong to the private key")


# --- the shells' use case (app.flow.issue) ---------------------------------------------------


@BOTH_TARGETS
def test_issue_with_encrypted_key_and_certificate(target: Target) -> None:
    key = serialization.load_pem_private_key(
        ENCRYPTED_KEY.read_bytes(), ENCRYPTED_KEY_PASSPHRASE.encode()
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    cert = certificate_pem(self_signed_certificate(key, common_name="t", days=1, now=NOW))
    minted = issue_jwt(
        parse(target),
        private_key=ENCRYPTED_KEY.read_text().replace("\n", "\\n"),
        passphrase=ENCRYPTED_KEY_PASSPHRASE,
        certificate=cert.decode(),
        now=NOW,
        jti=FIXED_JTI,
    )
    verify_independently(minted.token, cert, "RS256", check_time=False)


@pytest.mark.parametrize("certificate", [None, "", b""])
def test_issue_without_certificate(rsa_pair: KeyPair, certificate: bytes | str | None) -> None:
    minted = issue_jwt(
        parse_qseow(),
        private_key=rsa_pair.private_pem,
        passphrase=None,
        certificate=certificate,
        now=NOW,
        jti=FIXED_JTI,
    )
    verify_independently(minted.token, rsa_pair.public_pem, "RS256", check_time=False)


@pytest.mark.parametrize(
    ("kwargs", "input_name", "fragment"),
    [
        ({"passphrase": "wrong"}, PRIVATE_KEY_PASSPHRASE, "does not decrypt"),
        ({"passphrase": None}, PRIVATE_KEY, "is encrypted"),
        ({"certificate": "junk"}, CERTIFICATE, "neither PEM"),
        ({"private_key": "junk"}, PRIVATE_KEY, "neither PEM"),
    ],
)
def test_issue_errors_name_the_input(
    rsa_pair: KeyPair, kwargs: Any, input_name: Any, fragment: str
) -> None:
    arguments: dict[str, Any] = {
        "private_key": ENCRYPTED_KEY.read_bytes(),
        "passphrase": ENCRYPTED_KEY_PASSPHRASE,
        "certificate": None,
        "now": NOW,
        "jti": FIXED_JTI,
    }
    arguments.update(kwargs)
    with pytest.raises(KeyMaterialError) as info:
        issue_jwt(parse_cloud(), **arguments)
    assert_error(info.value, input_name, fragment)
    assert isinstance(info.value, InputError) and info.value.exit_code == 2


def test_issue_mismatch_message_carries_no_key_text(
    rsa_pair: KeyPair, other_rsa_pair: KeyPair
) -> None:
    with pytest.raises(KeyMaterialError) as info:
        issue_jwt(
            parse_qseow(),
            private_key=rsa_pair.private_pem,
            passphrase=None,
            certificate=other_rsa_pair.certificate_pem,
            now=NOW,
            jti=FIXED_JTI,
        )
    message = info.value.render()
    pems = (rsa_pair.private_pem, other_rsa_pair.certificate_pem)
    for line in (line for pem in pems for line in pem.decode().splitlines()):
        assert line not in message


# --- the last guard: lint runs on every token before it is signed ----------------------------


def test_guard_catches_qseow_settings_that_bypassed_validation(rsa_pair: KeyPair) -> None:
    settings = parse_qseow()._replace(user_id="CORP\\alice")
    with pytest.raises(QsjwtError) as info:
        mint(settings, signing_key(rsa_pair.private_pem), now=NOW_S, jti=FIXED_JTI)
    assert not isinstance(info.value, InputError)  # our bug, not the user's input
    assert "internal check failed, no token made" in info.value.message
    assert "userId: contains a backslash" in info.value.message


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"lifetime": 7200}, "exp - iat is 7200 s"),
        ({"lifetime": 3700, "clock_skew": 0}, "exp - nbf is 3700 s"),
        ({"key_id": ""}, "kid: header must name"),
    ],
)
def test_guard_catches_cloud_settings_that_bypassed_validation(
    rsa_pair: KeyPair, change: Any, fragment: str
) -> None:
    settings = parse_cloud()._replace(**change)
    with pytest.raises(QsjwtError) as info:
        mint(settings, signing_key(rsa_pair.private_pem), now=NOW_S, jti=FIXED_JTI)
    assert "internal check failed" in info.value.message and fragment in info.value.message


def test_guard_catches_an_empty_jti(rsa_pair: KeyPair) -> None:
    with pytest.raises(QsjwtError, match="jti: must be a non-empty string"):
        mint(parse_cloud(), signing_key(rsa_pair.private_pem), now=NOW_S, jti="")


def _groups(count: int) -> str:
    return "\n".join(f"Group-{n:04d}-with-a-fairly-long-name" for n in range(count))


_SHARE = re.compile(
    r"(\d+) (groups|attributes) take ([\d.]+) KB of the token, which is ([\d.]+) KB"
)


def _share(message: str, name: str, count: int, size: int) -> None:
    """The message names ``count`` of ``name`` and their share of a token of ``size`` bytes:
    all of it but the rest of the claims, the header and the signature (under 2 KB here)."""
    match = _SHARE.match(message)
    assert match, message
    assert (int(match[1]), match[2]) == (count, name)
    part, whole = float(match[3]), float(match[4])
    assert whole == round(size / 1024, 1) and whole - 2 < part < whole, message


@BOTH_TARGETS
def test_a_token_no_front_end_would_pass_is_refused(rsa3072_pair: KeyPair, target: Target) -> None:
    """Thousands of groups made a 167 KB token: over 16 KB it is an error naming groups, their
    number and their share of the token, the size and the limit; no token comes out."""
    key = signing_key(rsa3072_pair.private_pem)
    settings = parse(target, groups=_groups(3000))
    with pytest.raises(InputError) as info:
        mint(settings, key, now=NOW_S, jti=FIXED_JTI)
    size = len(
        sign_token(
            build_claims(settings, now=NOW_S, jti=FIXED_JTI), key.key, header=build_header(settings)
        )
    )
    assert_error(info.value, "groups", "over the 16 KB", "fewer or shorter groups")
    _share(info.value.message, "groups", 3000, size)


@BOTH_TARGETS
def test_a_large_token_warns(rsa3072_pair: KeyPair, target: Target) -> None:
    key = signing_key(rsa3072_pair.private_pem)
    minted = mint(parse(target, groups=_groups(300)), key, now=NOW_S, jti=FIXED_JTI)
    assert 8 * 1024 < len(minted.token) <= 16 * 1024
    message = warnings_about(minted.warnings, "groups")[-1]
    assert "over the 8 KB" in message
    _share(message, "groups", 300, len(minted.token))


def test_attributes_that_make_the_token_big_are_named_not_the_groups(
    rsa3072_pair: KeyPair,
) -> None:
    attributes = "\n".join(f"attribute{n}={'x' * 1000}" for n in range(20))
    settings = parse_qseow(groups="Sales\nOps", groups_claim="groups", attributes=attributes)
    with pytest.raises(InputError) as info:
        mint(settings, signing_key(rsa3072_pair.private_pem), now=NOW_S, jti=FIXED_JTI)
    assert_error(info.value, "attributes", "20 attributes take ", "over the 16 KB")
    assert "attribute1" not in info.value.render()  # a count, never a name or a value


@pytest.mark.parametrize(
    ("days_after", "fragment"), [(-1, "is not valid before"), (400, "expired on")]
)
def test_a_certificate_outside_its_validity_warns_beside_the_token(
    rsa_pair: KeyPair, days_after: int, fragment: str
) -> None:
    """The token is still made (Qlik may accept it: the certificate only carries the key)."""
    cert = self_signed_certificate(rsa_pair.key, common_name="t", days=30, now=NOW)
    now = NOW + dt.timedelta(days=days_after)
    minted = issue_jwt(
        parse_qseow(),
        private_key=rsa_pair.private_pem,
        passphrase=None,
        certificate=certificate_pem(cert),
        now=now,
        jti=FIXED_JTI,
    )
    [message] = warnings_about(minted.warnings, CERTIFICATE)
    assert fragment in message
    verify_independently(minted.token, rsa_pair.certificate_pem, "RS256", check_time=False)
