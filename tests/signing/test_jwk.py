"""The public forms of a key for Qlik Cloud OAuth: JWK, thumbprint kid, PEM, JWKS.

jwcrypto (not the code under test) computes thumbprints, imports the JWKs and verifies
signatures made with the private keys, so a JWK that only agrees with itself cannot pass.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwcrypto import jwk as jw
from jwcrypto import jws

from qsjwt.base.errors import InputError, KeyMaterialError
from qsjwt.signing.jwk import (
    OAUTH_ALGORITHMS,
    check_kid,
    check_oauth_algorithm,
    jwks,
    public_forms,
    public_jwk,
    public_key_from_text,
    thumbprint,
)
from qsjwt.signing.keys import certificate_pem, self_signed_certificate
from tests.conftest import ENCRYPTED_KEY, ENCRYPTED_KEY_PASSPHRASE, NOW, KeyPair
from tests.helpers import assert_error

KEY = "private-key"

RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.fixture(scope="module")
def p384() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def _uint(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def _verifies(public: dict[str, str], private: Any, algorithm: str) -> bool:
    """Sign with PyJWT, verify with jwcrypto holding only the published JWK."""
    token = pyjwt.encode({"x": 1}, private, algorithm=algorithm)
    checker = jws.JWS()
    checker.deserialize(token)
    checker.verify(jw.JWK(**public), alg=algorithm)
    return bool(json.loads(checker.payload) == {"x": 1})


def test_rfc7638_example_thumbprint() -> None:
    """The worked example of RFC 7638 §3.1."""
    public = rsa.RSAPublicNumbers(65537, _uint(RFC7638_N)).public_key()
    assert thumbprint(public) == RFC7638_THUMBPRINT


def test_rsa_jwk(rsa_pair: KeyPair) -> None:
    public = public_jwk(rsa_pair.key, input_name=KEY)
    assert list(public) == ["kid", "kty", "alg", "use", "n", "e"]  # public numbers only
    assert public["kty"] == "RSA" and public["alg"] == "RS256" and public["use"] == "sig"
    assert public["e"] == "AQAB"
    assert public["kid"] == jw.JWK(**public).thumbprint()
    assert _verifies(public, rsa_pair.key, "RS256")


def test_rsa_jwk_with_a_given_kid_and_rs512(rsa_pair: KeyPair) -> None:
    public = public_jwk(rsa_pair.key, kid="ci-2026-11", algorithm="RS512", input_name=KEY)
    assert public["kid"] == "ci-2026-11" and public["alg"] == "RS512"
    assert _verifies(public, rsa_pair.key, "RS512")


def test_ec_p384_jwk(p384: ec.EllipticCurvePrivateKey) -> None:
    public = public_jwk(p384, input_name=KEY)
    assert list(public) == ["kid", "kty", "alg", "use", "crv", "x", "y"]
    assert public["crv"] == "P-384" and public["alg"] == "ES384"
    assert len(public["x"]) == len(public["y"]) == 64  # 48 octets each, unpadded base64url
    assert public["kid"] == jw.JWK(**public).thumbprint()
    assert _verifies(public, p384, "ES384")


def test_ec_coordinates_keep_their_leading_zeros() -> None:
    """RFC 7518 §6.2.1.2: x and y are always the full 48 octets, even when the top ones are 0."""
    for secret in range(1, 5000):
        key = ec.derive_private_key(secret, ec.SECP384R1())
        if key.public_key().public_numbers().x < 1 << 376:
            break
    else:
        pytest.fail("no P-384 point with a short x among the first 5000")
    public = public_jwk(key, input_name=KEY)
    assert len(public["x"]) == 64
    assert base64.urlsafe_b64decode(public["x"])[0] == 0
    assert public["kid"] == jw.JWK(**public).thumbprint()
    assert _verifies(public, key, "ES384")


def test_the_same_kid_from_a_private_key_a_certificate_and_a_public_key(
    rsa_pair: KeyPair,
) -> None:
    kids = {
        thumbprint(public_key_from_text(text, input_name=KEY, passphrase_name="pass"))
        for text in (rsa_pair.private_pem, rsa_pair.certificate_pem, rsa_pair.public_pem)
    }
    assert kids == {thumbprint(rsa_pair.key)}


def test_from_an_ec_certificate(p384: ec.EllipticCurvePrivateKey) -> None:
    certificate = self_signed_certificate(p384, common_name="oauth", days=1, now=NOW)
    public = public_key_from_text(
        certificate_pem(certificate), input_name=KEY, passphrase_name="pass"
    )
    assert public_jwk(public, input_name=KEY) == public_jwk(p384, input_name=KEY)


def test_from_an_encrypted_private_key() -> None:
    text = ENCRYPTED_KEY.read_bytes()
    public = public_key_from_text(
        text, ENCRYPTED_KEY_PASSPHRASE, input_name=KEY, passphrase_name="pass"
    )
    assert isinstance(public, rsa.RSAPublicKey)
    with pytest.raises(KeyMaterialError) as info:
        public_key_from_text(text, input_name=KEY, passphrase_name="pass")
    assert_error(info.value, KEY, "encrypted")


def test_forms(rsa_pair: KeyPair) -> None:
    forms = public_forms(rsa_pair.key, input_name=KEY)
    assert forms.public_pem == rsa_pair.public_pem
    loaded = serialization.load_pem_public_key(forms.public_pem)
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert thumbprint(loaded) == forms.jwk["kid"]
    assert forms.jwks == {"keys": [forms.jwk]}
    assert "\n" not in forms.one_line_pem and forms.one_line_pem.startswith("-----BEGIN PUBLIC")
    assert "PRIVATE" not in forms.public_pem.decode()


def test_jwks_for_rotation(rsa_pair: KeyPair, other_rsa_pair: KeyPair) -> None:
    old, new = (public_jwk(p.key, input_name=KEY) for p in (rsa_pair, other_rsa_pair))
    assert jwks([old, new]) == {"keys": [old, new]}
    assert jw.JWKSet.from_json(json.dumps(jwks([old, new]))).get_key(new["kid"]) is not None
    with pytest.raises(ValueError, match="own kid"):
        jwks([old, {**new, "kid": old["kid"]}])


@pytest.fixture(scope="module")
def rsa1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (to refuse)


def test_rsa_under_2048_bits_refused(rsa1024: rsa.RSAPrivateKey) -> None:
    small = rsa1024.public_key()
    with pytest.raises(KeyMaterialError) as info:
        public_jwk(small, input_name=KEY)
    assert_error(info.value, KEY, "1024 bits", "2048")


def test_ec_off_p384_refused(ec_pair: KeyPair) -> None:
    with pytest.raises(KeyMaterialError) as info:
        public_jwk(ec_pair.key, input_name=KEY)
    assert_error(info.value, KEY, "secp256r1", "P-384")


@pytest.mark.parametrize(("kind", "algorithm"), [("rsa", "ES384"), ("ec", "RS256")])
def test_key_and_algorithm_must_fit(
    kind: str, algorithm: str, rsa_pair: KeyPair, p384: ec.EllipticCurvePrivateKey
) -> None:
    key = rsa_pair.key if kind == "rsa" else p384
    with pytest.raises(KeyMaterialError) as info:
        public_jwk(key, algorithm=algorithm, input_name=KEY)
    assert_error(info.value, KEY, f"cannot sign {algorithm}")


@pytest.mark.parametrize("text", ["RS256", "rs512", " ES384 "])
def test_algorithms_accepted(text: str) -> None:
    assert check_oauth_algorithm(text, input_name="algorithm") in OAUTH_ALGORITHMS


@pytest.mark.parametrize("text", ["RS384", "PS256", "ES256", "ES512", "HS256", "none", "s3cr3t!"])
def test_algorithms_refused_without_echo(text: str) -> None:
    with pytest.raises(InputError) as info:
        check_oauth_algorithm(text, input_name="algorithm")
    assert_error(info.value, "algorithm", "RS256, RS512, ES384")
    assert text not in info.value.render()


@pytest.mark.parametrize("text", ["", " ", "a b", "kid\u00e9", "k" * 257, "a\tb"])
def test_kid_refused(text: str) -> None:
    with pytest.raises(InputError) as info:
        check_kid(text, input_name="key-id")
    assert_error(info.value, "key-id", "printable ASCII")


def test_kid_accepted() -> None:
    assert check_kid("  my-key/2026:1  ", input_name="key-id") == "my-key/2026:1"


def test_no_message_carries_key_text(rsa1024: rsa.RSAPrivateKey) -> None:
    pem = rsa1024.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyMaterialError) as info:
        public_key_from_text(pem, input_name=KEY, passphrase_name="pass")
    body = pem.decode().splitlines()[1]
    assert body not in info.value.render()
