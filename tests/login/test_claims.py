"""Claims and header, exactly as each Qlik target reads them (golden dicts at a fixed NOW)."""

from __future__ import annotations

import base64
import datetime as dt
import re
import time
from typing import Any

import pytest

from qsjwt.app.flow import KeySource, Request, issue
from qsjwt.base.inputs import Target
from qsjwt.login.claims import build_claims, build_header, new_jti
from qsjwt.login.mint import mint
from tests.conftest import NOW, NOW_S, KeyPair, verify_independently
from tests.helpers import BOTH_TARGETS, FIXED_JTI, parse, signing_key

T = 1_795_867_200
"""NOW (2026-11-28 12:00:00 UTC) as a NumericDate."""
SKEW = 10
"""The default clock-skew: iat and nbf are NOW - 10 s, exp is nbf + the lifetime."""


def test_now_is_what_the_goldens_assume() -> None:
    assert int(NOW.timestamp()) == T
    assert parse(Target.QSEOW).clock_skew == parse(Target.CLOUD).clock_skew == SKEW


def test_qseow_minimal() -> None:
    claims = build_claims(parse(Target.QSEOW), now=NOW_S, jti=FIXED_JTI)
    assert claims == {
        "userId": "alice",
        "userDirectory": "CORP",
        "jti": FIXED_JTI,
        "iat": T - SKEW,
        "nbf": T - SKEW,
        "exp": T - SKEW + 3600,
    }


def test_qseow_everything() -> None:
    settings = parse(
        Target.QSEOW,
        user_id="alice",
        user_directory="CORP",
        user_id_claim="uid",
        user_directory_claim="dir",
        groups_claim="roles",
        name="Alice Example",
        email="alice@example.com",
        groups="Sales\nOps",
        attributes="dept=Sales\nlevel=3",
        audience="qlik.example.com",
        issuer="ci.example.com",
        expires_in="2h",
        algorithm="RS512",
    )
    claims = build_claims(settings, now=NOW_S, jti=FIXED_JTI)
    assert claims == {
        "uid": "alice",
        "dir": "CORP",
        "name": "Alice Example",
        "email": "alice@example.com",
        "roles": ["Sales", "Ops"],
        "dept": "Sales",
        "level": "3",
        "iss": "ci.example.com",
        "aud": "qlik.example.com",
        "jti": FIXED_JTI,
        "iat": T - SKEW,
        "nbf": T - SKEW,
        "exp": T - SKEW + 7200,
    }
    assert "userId" not in claims and "groups" not in claims
    assert build_header(settings) == {"alg": "RS512", "typ": "JWT"}


def test_cloud_minimal() -> None:
    claims = build_claims(parse(Target.CLOUD), now=NOW_S, jti=FIXED_JTI)
    assert claims == {
        "iss": "idp.example.com",
        "aud": "qlik.api/login/jwt-session",
        "sub": "svc_ci",
        "subType": "user",
        "name": "CI Service",
        "email": "ci@example.com",
        "email_verified": True,
        "jti": FIXED_JTI,
        "iat": T - SKEW,
        "nbf": T - SKEW,
        "exp": T - SKEW + 300,
    }
    assert claims["email_verified"] is True  # a JSON boolean, not the string "true"


def test_cloud_everything() -> None:
    settings = parse(
        Target.CLOUD,
        issuer="https://idp.example.com",
        key_id="kid-2026",
        subject="auth0|123",
        name="Alice Example",
        email="alice@example.com",
        email_verified="false",
        groups="Sales\nCN=Ops,OU=Groups,DC=corp",
        expires_in="10m",
        clock_skew="30s",
        algorithm="PS256",
    )
    claims = build_claims(settings, now=NOW_S, jti=FIXED_JTI)
    assert claims == {
        "iss": "https://idp.example.com",
        "aud": "qlik.api/login/jwt-session",
        "sub": "auth0|123",
        "subType": "user",
        "name": "Alice Example",
        "email": "alice@example.com",
        "email_verified": False,
        "groups": ["Sales", "CN=Ops,OU=Groups,DC=corp"],
        "jti": FIXED_JTI,
        "iat": T - 30,  # iat and nbf back-dated together by the clock skew
        "nbf": T - 30,
        "exp": T - 30 + 600,  # exp - nbf is exactly expires-in
    }
    assert claims["email_verified"] is False
    assert build_header(settings) == {"alg": "PS256", "typ": "JWT", "kid": "kid-2026"}


def test_cloud_header_has_kid() -> None:
    assert build_header(parse(Target.CLOUD)) == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}


def test_qseow_header_has_no_kid_even_if_given() -> None:
    settings = parse(Target.QSEOW, key_id="kid-1")  # ignored with a warning
    assert build_header(settings) == {"alg": "RS256", "typ": "JWT"}


@BOTH_TARGETS
def test_groups_are_a_json_array(target: Target) -> None:
    claims = build_claims(parse(target, groups="A"), now=NOW_S, jti=FIXED_JTI)
    assert claims["groups"] == ["A"]


@BOTH_TARGETS
def test_no_groups_no_claim(target: Target) -> None:
    assert "groups" not in build_claims(parse(target), now=NOW_S, jti=FIXED_JTI)


@BOTH_TARGETS
@pytest.mark.parametrize("microsecond", [1, 500_000, 999_999])
def test_times_are_whole_seconds(rsa_pair: KeyPair, target: Target, microsecond: int) -> None:
    """The API's ``now`` is a datetime: the claims carry its whole seconds."""
    now = NOW.replace(microsecond=microsecond)
    claims = _issued_claims(Request(parse(target), KeySource(rsa_pair.private_pem), now=now))
    for name in ("iat", "nbf", "exp"):
        assert type(claims[name]) is int
    assert claims["iat"] == T - SKEW


@BOTH_TARGETS
def test_other_time_zone_same_instant(rsa_pair: KeyPair, target: Target) -> None:
    plus_two = NOW.astimezone(dt.timezone(dt.timedelta(hours=2)))
    key = KeySource(rsa_pair.private_pem)
    assert _issued_claims(
        Request(parse(target), key, now=plus_two, jti=FIXED_JTI)
    ) == _issued_claims(Request(parse(target), key, now=NOW, jti=FIXED_JTI))


def _issued_claims(request: Request) -> dict[str, Any]:
    signed = issue(request).signed
    assert signed is not None
    return signed.claims


@BOTH_TARGETS
def test_same_input_same_claims(target: Target) -> None:
    settings = parse(target, groups="A,B")
    first = build_claims(settings, now=NOW_S, jti=FIXED_JTI)
    assert first == build_claims(settings, now=NOW_S, jti=FIXED_JTI)
    assert first["jti"] == FIXED_JTI  # the caller's jti, nothing made up inside


def test_new_jti_has_at_least_128_random_bits() -> None:
    jtis = [new_jti() for _ in range(2000)]
    assert len(set(jtis)) == len(jtis)
    for jti in jtis[:50]:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", jti)
        assert len(jti) >= 22  # 22 base64url characters carry 128 bits
        assert len(base64.urlsafe_b64decode(jti + "=" * (-len(jti) % 4))) >= 16
    # every position varies: not a counter or a timestamp with a random tail
    for position in range(22):
        assert len({jti[position] for jti in jtis}) > 20


# --- clock skew: iat and nbf move back together (rule 15) -------------------------------------


@BOTH_TARGETS
@pytest.mark.parametrize(("skew", "seconds"), [("0s", 0), ("", SKEW), ("45s", 45), ("59m", 3540)])
def test_clock_skew_moves_the_whole_window_back(
    rsa_pair: KeyPair, target: Target, skew: str, seconds: Any
) -> None:
    settings = parse(target, expires_in="1h", clock_skew=skew)
    minted = mint(settings, signing_key(rsa_pair.private_pem), now=NOW_S, jti=FIXED_JTI)
    _, claims = verify_independently(
        minted.token, rsa_pair.certificate_pem, "RS256", check_time=False
    )
    assert claims["iat"] == claims["nbf"] == T - seconds
    assert claims["exp"] - claims["nbf"] == 3600  # Qlik Cloud's limit holds at any skew
    assert claims["exp"] == T - seconds + 3600
    assert minted.expires_at == NOW + dt.timedelta(seconds=3600 - seconds)


@BOTH_TARGETS
def test_a_token_with_the_default_skew_is_valid_now_for_another_verifier(
    rsa_pair: KeyPair, target: Target
) -> None:
    now = int(time.time())
    minted = mint(parse(target), signing_key(rsa_pair.private_pem), now=now, jti=FIXED_JTI)
    # jwcrypto checks nbf and exp against its own clock.
    _, claims = verify_independently(minted.token, rsa_pair.certificate_pem, "RS256")
    assert claims["iat"] == claims["nbf"] == now - SKEW


@BOTH_TARGETS
def test_the_clock_is_read_when_no_time_is_given(rsa_pair: KeyPair, target: Target) -> None:
    before = int(time.time())
    claims = _issued_claims(Request(parse(target), KeySource(rsa_pair.private_pem)))
    assert before - SKEW <= claims["iat"] <= int(time.time()) - SKEW
