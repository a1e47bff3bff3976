"""Qlik Cloud OAuth settings and the client assertion: every documented rule before signing.

Assertions are verified by jwcrypto against the JWK that qsjwt.signing.jwk publishes (PyJWT signs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from jwcrypto import jwk as jw
from jwcrypto import jwt as jwcrypto_jwt

from qsjwt.base.errors import InputError, KeyMaterialError, MissingInputError
from qsjwt.net.connection import normalise_tenant
from qsjwt.oauth.assertion import (
    DEFAULT_ASSERTION_LIFETIME,
    INPUT_NAMES,
    MAX_ASSERTION_LIFETIME,
    Grant,
    OAuthSettings,
    UserLookup,
    build_assertion,
    new_assertion_jti,
    parse_oauth,
)
from qsjwt.signing.jwk import public_jwk, thumbprint
from qsjwt.signing.keys import LoadedKey, signing_key_from
from tests.conftest import NOW, KeyPair
from tests.helpers import assert_error

REQUIRED = {"client-id": "0123456789abcdef0123456789abcdef", "tenant": "acme.eu.qlikcloud.com"}
JTI = "7f8c2f0e-4b7a-4d3e-9a55-2f6f1d7c0b11"
SECRET = "s3cr3t-Pa55word-n0t-to-be-echoed"


def parse(**overrides: Any) -> OAuthSettings:
    values = {**REQUIRED, **{k.replace("_", "-"): v for k, v in overrides.items()}}
    return parse_oauth({k: v for k, v in values.items() if v is not None})


def refused(input_name: str, *fragments: str, **overrides: Any) -> InputError:
    with pytest.raises(InputError) as info:
        parse(**overrides)
    assert_error(info.value, input_name, *fragments)
    return info.value


@pytest.fixture(scope="module")
def p384_key() -> LoadedKey:
    return signing_key_from(ec.generate_private_key(ec.SECP384R1()), input_name="private-key")


def rsa_key(pair: KeyPair) -> LoadedKey:
    return signing_key_from(pair.key, input_name="private-key")


def verify(token: str, key: Any, algorithm: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """jwcrypto with only the published JWK, at NOW (so exp is checked against the same clock)."""
    checked = jwcrypto_jwt.JWT(
        jwt=token,
        key=jw.JWK(**public_jwk(key, algorithm=algorithm, input_name="private-key")),
        algs=[algorithm],
        check_claims={"exp": int(NOW.timestamp())},
    )
    return json.loads(checked.header), json.loads(checked.claims)


# --- settings ---------------------------------------------------------------------------------


def test_defaults() -> None:
    s = parse()
    assert s == OAuthSettings(
        tenant="acme.eu.qlikcloud.com",
        client_id=REQUIRED["client-id"],
        lifetime=DEFAULT_ASSERTION_LIFETIME,
    )
    assert s.grant is Grant.CLIENT_CREDENTIALS and s.key_id is None and s.algorithm is None
    assert s.token_url == "https://acme.eu.qlikcloud.com/oauth/token"
    assert DEFAULT_ASSERTION_LIFETIME < MAX_ASSERTION_LIFETIME


def test_missing_inputs_named_together() -> None:
    with pytest.raises(MissingInputError) as info:
        parse_oauth({"client-id": " ", "scope": "user_default"})
    assert info.value.input_name == "tenant"  # in the input table's order, as for every target
    assert info.value.also_missing == ("client-id",)


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("acme.eu.qlikcloud.com", "acme.eu.qlikcloud.com"),
        ("  ACME.EU.QlikCloud.com  ", "acme.eu.qlikcloud.com"),
        ("https://acme.eu.qlikcloud.com", "acme.eu.qlikcloud.com"),
        ("https://acme.eu.qlikcloud.com/", "acme.eu.qlikcloud.com"),
        ("HTTPS://acme.eu.qlikcloud.com:443/", "acme.eu.qlikcloud.com"),
        ("acme.eu.qlikcloud.com.", "acme.eu.qlikcloud.com"),
        ("127.0.0.1:8443", "127.0.0.1:8443"),
        ("https://[::1]:8443", "[::1]:8443"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_tenant_normalised(text: str, host: str) -> None:
    assert normalise_tenant(text) == host
    assert parse(tenant=text).token_url == f"https://{host}/oauth/token"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("http://acme.eu.qlikcloud.com", "https"),
        ("ftp://acme.eu.qlikcloud.com", "https"),
        ("https://acme.eu.qlikcloud.com/oauth/token", "path"),
        ("acme.eu.qlikcloud.com/api", "path"),
        ("https://acme.eu.qlikcloud.com?x=1", "query"),
        ("https://acme.eu.qlikcloud.com/?", "query"),
        ("https://acme.eu.qlikcloud.com#top", "fragment"),
        (f"https://ci:{SECRET}@acme.eu.qlikcloud.com", "user info"),
        (f"{SECRET}@acme.eu.qlikcloud.com", "user info"),
        ("https://", "host"),
        ("acme..qlikcloud.com", "host"),
        ("-acme.qlikcloud.com", "host"),
        ("acme_1.qlikcloud.com", "host"),
        ("bücher.example", "host"),
        ("acme.eu.qlikcloud.com:99999", "host"),
        ("acme.eu.qlikcloud.com:0", "port 0"),
        ("300.1.1.1", "host"),
    ],
)
def test_tenant_refused_without_echo(text: str, fragment: str) -> None:
    err = refused("tenant", fragment, tenant=text)
    assert SECRET not in err.render() and "acme" not in err.render()


def test_client_id() -> None:
    assert parse(client_id="  abc-DEF_123  ").client_id == "abc-DEF_123"
    for bad in ("two words", "caf\u00e9", "x" * 257, "a\nb"):
        err = refused("client-id", client_id=bad)
        assert bad not in err.render()


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("300", 300), ("1", 1)])
def test_expires_in(text: str, seconds: int) -> None:
    assert parse(expires_in=text).lifetime == seconds


@pytest.mark.parametrize(
    ("text", "fragment"), [("301", "300 s"), ("6m", "300 s"), ("1h", "300 s"), ("0", "zero")]
)
def test_expires_in_refused(text: str, fragment: str) -> None:
    refused("expires-in", fragment, expires_in=text)


def test_algorithm() -> None:
    assert parse(algorithm="rs512").algorithm == "RS512"
    assert parse(algorithm="ES384").algorithm == "ES384"
    for bad in ("RS384", "PS256", "ES256", "HS256", "none"):
        refused("algorithm", "RS256, RS512, ES384", algorithm=bad)


def test_key_id() -> None:
    assert parse(key_id=" ci-key-1 ").key_id == "ci-key-1"
    refused("key-id", "printable ASCII", key_id="two words")


@pytest.mark.parametrize(
    ("text", "grant"),
    [
        ("client-credentials", Grant.CLIENT_CREDENTIALS),
        ("client_credentials", Grant.CLIENT_CREDENTIALS),
        ("User-Impersonation", Grant.USER_IMPERSONATION),
        ("urn:qlik:oauth:user-impersonation", Grant.USER_IMPERSONATION),
    ],
)
def test_grant_spellings(text: str, grant: Grant) -> None:
    lookup = "subject=auth0|42" if grant is Grant.USER_IMPERSONATION else None
    assert parse(grant=text, user_lookup=lookup).grant is grant


def test_grant_refused() -> None:
    refused("grant", "client-credentials", "user-impersonation", grant="password")


def test_impersonation_needs_a_user() -> None:
    with pytest.raises(MissingInputError) as info:
        parse(grant="user-impersonation")
    assert_error(info.value, "user-lookup", "user-impersonation")


def test_user_lookup_without_impersonation_refused() -> None:
    refused("user-lookup", "bot user", "set grant to user-impersonation", user_lookup="userId=42")


@pytest.mark.parametrize(
    ("text", "lookup"),
    [
        ("subject=auth0|abc=def", UserLookup("subject", "auth0|abc=def")),
        (" userId = 6390b0bd ", UserLookup("userId", "6390b0bd")),
        ('{"field": "subject", "value": "svc@corp"}', UserLookup("subject", "svc@corp")),
    ],
)
def test_user_lookup_forms(text: str, lookup: UserLookup) -> None:
    s = parse(grant="user-impersonation", user_lookup=text)
    assert s.user_lookup == lookup
    assert lookup.as_json() == {"field": lookup.field, "value": lookup.value}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("alice", "which field"),
        ("email=alice@example.com", "field Qlik cannot"),
        ("subject=", "value"),
        (f"userId={'x' * 1025}", "characters long"),
        ('{"field": "subject"}', "JSON object"),
        ('{"field": "subject", "value": 42}', "JSON object"),
        ('{"field": "subject", "value": "a", "extra": 1}', "JSON object"),
        ("{not json", "JSON object"),
    ],
)
def test_user_lookup_refused(text: str, fragment: str) -> None:
    refused("user-lookup", fragment, grant="user-impersonation", user_lookup=text)


def test_scope() -> None:
    s = parse(scope=" user_default  admin.apps:read\nadmin.users user_default ")
    assert s.scope == "user_default admin.apps:read admin.users"
    assert parse(scope="  ").scope is None
    for bad in ('user"default', "user\\default", "caf\u00e9"):
        refused("scope", "scope 1", scope=bad)
    refused("scope", "control character", scope="a\x00b")


def test_list_value_refused() -> None:
    refused("client-id", "one value", client_id=["a", "b"])


def test_control_characters_refused() -> None:
    refused("key-id", "control character", key_id="kid\x1b[31m")
    refused("tenant", "control character", tenant="acme.eu\n.qlikcloud.com")
    assert parse(tenant="acme.eu.qlikcloud.com\n").tenant == "acme.eu.qlikcloud.com"
    refused("tenant", "not valid UTF-8", tenant="acme.eu.\udcffqlikcloud.com")


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(INPUT_NAMES),
        st.one_of(
            st.text(),
            st.sampled_from(["https://a.b", "user-impersonation", "subject=x", "5m", "ES384"]),
        ),
    )
)
def test_parse_fails_only_with_input_error(values: dict[str, str]) -> None:
    with contextlib.suppress(InputError):
        parse_oauth(values)


# --- the assertion ----------------------------------------------------------------------------


def test_rsa_assertion(rsa_pair: KeyPair) -> None:
    s = parse()
    assertion = build_assertion(s, rsa_key(rsa_pair), now=NOW, jti=JTI)
    header, claims = verify(assertion.token, rsa_pair.key, "RS256")
    assert header["alg"] == "RS256"
    assert header["kid"] == thumbprint(rsa_pair.key)
    iat = int(NOW.timestamp())
    assert claims == {
        "iss": REQUIRED["client-id"],
        "sub": REQUIRED["client-id"],
        "aud": "https://acme.eu.qlikcloud.com/oauth/token",
        "jti": JTI,
        "iat": iat,
        "exp": iat + DEFAULT_ASSERTION_LIFETIME,
    }
    assert assertion.claims == claims and assertion.header["kid"] == header["kid"]
    assert assertion.expires_in == DEFAULT_ASSERTION_LIFETIME
    assert assertion.expires_at == NOW + dt.timedelta(seconds=DEFAULT_ASSERTION_LIFETIME)


def test_the_longest_assertion_keeps_the_300_second_rule(rsa_pair: KeyPair) -> None:
    assertion = build_assertion(parse(expires_in="5m"), rsa_key(rsa_pair), now=NOW, jti=JTI)
    _, claims = verify(assertion.token, rsa_pair.key, "RS256")
    assert claims["exp"] - claims["iat"] == MAX_ASSERTION_LIFETIME


def test_given_kid_and_rs512(rsa_pair: KeyPair) -> None:
    s = parse(key_id="ci-2026", algorithm="RS512")
    header, _ = verify(
        build_assertion(s, rsa_key(rsa_pair), now=NOW, jti=JTI).token, rsa_pair.key, "RS512"
    )
    assert header["kid"] == "ci-2026" and header["alg"] == "RS512"


def test_es384_is_the_default_for_a_p384_key(p384_key: LoadedKey) -> None:
    assertion = build_assertion(parse(), p384_key, now=NOW, jti=JTI)
    header, claims = verify(assertion.token, p384_key.key, "ES384")
    assert header["alg"] == "ES384" and header["kid"] == thumbprint(p384_key.key)
    assert claims["iss"] == claims["sub"] == REQUIRED["client-id"]


def test_aud_follows_the_tenant_exactly(rsa_pair: KeyPair) -> None:
    s = parse(tenant="https://127.0.0.1:8443/")
    _, claims = verify(
        build_assertion(s, rsa_key(rsa_pair), now=NOW, jti=JTI).token, rsa_pair.key, "RS256"
    )
    assert claims["aud"] == "https://127.0.0.1:8443/oauth/token"


def test_rsa_key_cannot_sign_es384(rsa_pair: KeyPair) -> None:
    with pytest.raises(KeyMaterialError) as info:
        build_assertion(parse(algorithm="ES384"), rsa_key(rsa_pair), now=NOW, jti=JTI)
    assert_error(info.value, "private-key", "cannot sign ES384")


def test_ec_key_off_p384_refused(ec_pair: KeyPair) -> None:
    key = signing_key_from(ec_pair.key, input_name="private-key")
    with pytest.raises(KeyMaterialError) as info:
        build_assertion(parse(), key, now=NOW, jti=JTI)
    assert_error(info.value, "private-key", "P-384")


def test_p384_key_cannot_sign_rs256(p384_key: LoadedKey) -> None:
    with pytest.raises(KeyMaterialError) as info:
        build_assertion(parse(algorithm="RS256"), p384_key, now=NOW, jti=JTI)
    assert_error(info.value, "private-key", "cannot sign RS256")


def test_small_rsa_key_refused_even_when_wrapped_by_hand() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (to refuse)
    with pytest.raises(KeyMaterialError) as info:
        build_assertion(parse(), LoadedKey(small), now=NOW, jti=JTI)
    assert_error(info.value, "private-key", "2048")


def test_caller_mistakes_are_value_errors(rsa_pair: KeyPair) -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_assertion(parse(), rsa_key(rsa_pair), now=NOW.replace(tzinfo=None), jti=JTI)
    with pytest.raises(ValueError, match="badly formed"):
        build_assertion(parse(), rsa_key(rsa_pair), now=NOW, jti="not-a-uuid")


def test_new_assertion_jti_is_a_fresh_uuid4() -> None:
    jtis = {new_assertion_jti() for _ in range(100)}
    assert len(jtis) == 100
    assert all(uuid.UUID(j).version == 4 for j in jtis)


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse().client_id = "other"  # type: ignore[misc]
