"""The Python API for Qlik Cloud OAuth: an assertion, and an access token from the local Qlik."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

import qsjwt
from qsjwt.signing.jwk import public_jwk, thumbprint
from qsjwt.signing.keys import signing_key_from
from tests.conftest import KeyPair
from tests.oauth.test_exchange import users_me
from tests.qlik_local import LocalQlik, QlikClient


@pytest.fixture
def server(tmp_path: Path, rsa_pair: KeyPair) -> Iterator[LocalQlik]:
    (tmp_path / "qlik").mkdir()
    with LocalQlik(tmp_path / "qlik") as qlik:
        key = signing_key_from(rsa_pair.key, input_name="private-key")
        qlik.register(
            QlikClient(
                "client-1",
                [public_jwk(key.key, input_name="private-key")],
                scopes=frozenset({"user_default", "admin.apps:read"}),
            )
        )
        yield qlik


def test_access_token(server: LocalQlik, rsa_pair: KeyPair) -> None:
    access = qsjwt.Minter(rsa_pair.private_pem).access_token(
        tenant=server.host,
        client_id="client-1",
        scope=["user_default"],
        ca_bundle=server.ca_bundle,
        timeout="10s",
    )
    assert access.scope == "user_default"
    assert users_me(server, access.access_token)[0] == 200
    assert access.access_token not in repr(access)


def test_get_access_token_refused(server: LocalQlik, rsa_pair: KeyPair) -> None:
    with pytest.raises(qsjwt.QlikRefusedError) as info:
        qsjwt.get_access_token(
            rsa_pair.private_pem.decode(),
            tenant=server.host,
            client_id="nobody",
            ca_bundle=server.ca_bundle,
        )
    assert info.value.input_name == "client-id"
    assert info.value.exit_code == 3


def test_oauth_assertion(rsa_pair: KeyPair) -> None:
    now = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
    jti = str(uuid.uuid4())
    assertion = qsjwt.Minter(rsa_pair.key).oauth_assertion(
        tenant="https://tenant.eu.qlikcloud.com/", client_id="client-1", now=now, jti=jti
    )
    claims = jwt.decode(
        assertion.token,
        rsa_pair.public_pem,
        algorithms=["RS256"],
        audience="https://tenant.eu.qlikcloud.com/oauth/token",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {
        "iss": "client-1",
        "sub": "client-1",
        "aud": "https://tenant.eu.qlikcloud.com/oauth/token",
        "jti": jti,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 120,
    }
    assert assertion.header["kid"] == thumbprint(rsa_pair.key)


def test_oauth_assertion_refuses_a_p256_key(ec_pair: KeyPair) -> None:
    with pytest.raises(qsjwt.KeyMaterialError):
        qsjwt.Minter(ec_pair.key).oauth_assertion(tenant="t.example.com", client_id="c")


def test_oauth_assertion_refuses_a_long_lifetime(rsa_pair: KeyPair) -> None:
    with pytest.raises(qsjwt.InputError) as info:
        qsjwt.Minter(rsa_pair.key).oauth_assertion(
            tenant="t.example.com", client_id="c", expires_in=dt.timedelta(minutes=6)
        )
    assert info.value.input_name == "expires-in"


def test_lint_takes_jwt_targets_only(rsa_pair: KeyPair) -> None:
    token = qsjwt.mint_qseow(rsa_pair.key, user_id="a", user_directory="D").token
    with pytest.raises(qsjwt.InputError) as info:
        qsjwt.lint_token(token, "oauth")
    assert info.value.input_name == "target"
