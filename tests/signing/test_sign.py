"""Signing, decoding and verifying; every signed token is checked by jwcrypto, and signing
(which does not use PyJWT) is held to PyJWT as the oracle."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from qsjwt.base.errors import KeyMaterialError, QsjwtError, TokenError
from qsjwt.base.inputs import Target
from qsjwt.base.rules import CLOUD_AUDIENCE
from qsjwt.login.claims import build_claims, build_header
from qsjwt.signing import jws
from qsjwt.signing.algorithms import SigningKey
from qsjwt.signing.jws import _CLAIMS_JSON, decode_unverified, sign_token, verify_token
from qsjwt.signing.jws import b64url as jws_b64url
from qsjwt.signing.keys import VerifyingKey, load_signing_key, load_verifying_key, private_pem
from tests.conftest import KeyPair, make_pair, verify_independently
from tests.helpers import FIXED_JTI, assert_error, b64url, craft_token, parse


@pytest.fixture(scope="module")
def p384_pair() -> KeyPair:
    return make_pair(ec.generate_private_key(ec.SECP384R1()))


@pytest.fixture(scope="module")
def p521_pair() -> KeyPair:
    return make_pair(ec.generate_private_key(ec.SECP521R1()))


def _now() -> dt.datetime:
    # Signing tests check expiry with jwcrypto against the real clock, so they sign "now".
    return dt.datetime.now(dt.UTC)


def _signed(
    target: Target, key: SigningKey, *, now: dt.datetime | None = None, **overrides: Any
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    settings = parse(target, **overrides)
    header = build_header(settings)
    claims = build_claims(settings, now=int((now or _now()).timestamp()), jti=FIXED_JTI)
    return sign_token(claims, key, header=header), header, claims


SIGNING_CASES = [
    (Target.QSEOW, "rsa_pair", "RS256"),
    (Target.QSEOW, "rsa_pair", "RS384"),
    (Target.QSEOW, "rsa_pair", "RS512"),
    (Target.CLOUD, "rsa_pair", "RS256"),
    (Target.CLOUD, "rsa3072_pair", "RS512"),
    (Target.CLOUD, "rsa_pair", "PS256"),
    (Target.CLOUD, "rsa_pair", "PS384"),
    (Target.CLOUD, "rsa_pair", "PS512"),
    (Target.CLOUD, "ec_pair", "ES256"),
    (Target.CLOUD, "p384_pair", "ES384"),
]


@pytest.mark.parametrize(("target", "pair_name", "alg"), SIGNING_CASES)
@pytest.mark.parametrize("verifier", ["certificate_pem", "public_pem"])
def test_signed_token_verifies_independently(
    request: pytest.FixtureRequest, target: Target, pair_name: Any, alg: Any, verifier: str
) -> None:
    pair = request.getfixturevalue(pair_name)
    token, header, claims = _signed(target, pair.key, algorithm=alg)
    seen_header, seen_claims = verify_independently(token, getattr(pair, verifier), alg)
    assert seen_claims == claims
    assert seen_header == header
    assert seen_header["alg"] == alg and seen_header["typ"] == "JWT"
    assert ("kid" in seen_header) is (target is Target.CLOUD)
    assert token.count(".") == 2


@pytest.mark.parametrize(("target", "pair_name", "alg"), SIGNING_CASES)
def test_own_verify_agrees(
    request: pytest.FixtureRequest, target: Target, pair_name: Any, alg: Any
) -> None:
    pair = request.getfixturevalue(pair_name)
    token, header, claims = _signed(target, pair.key, algorithm=alg)
    audience = CLOUD_AUDIENCE if target is Target.CLOUD else None
    key = load_verifying_key(pair.certificate_pem, input_name="certificate")
    assert verify_token(token, key, audience=audience) == (header, claims)
    assert decode_unverified(f"\n {token}\n") == (header, claims)


@pytest.mark.parametrize("alg", ["none", "NONE", "HS256", "HS512", "ES256K", "EdDSA", ""])
def test_sign_token_refuses_what_is_not_allowed(rsa_pair: KeyPair, alg: str) -> None:
    with pytest.raises(QsjwtError) as info:
        sign_token({"sub": "x"}, rsa_pair.key, header={"alg": alg, "typ": "JWT"})
    assert f"refusing to sign with algorithm {alg!r}" in info.value.message


# --- decode_unverified -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "parts"),
    [("", 1), ("garbage", 1), ("a.b", 2), ("a.b.c.d", 4), ("....", 5), ("a.b.c.d.e.f", 6)],
)
def test_decode_wrong_number_of_parts(token: str, parts: int) -> None:
    with pytest.raises(TokenError) as info:
        decode_unverified(token)
    assert_error(info.value, "token", f"expected 3 dot-separated parts, found {parts}")
    assert (info.value.hint is not None) is (parts == 5)


def test_decode_jwe_says_so() -> None:
    jwe = ".".join(b64url(part) for part in [{"alg": "RSA-OAEP", "enc": "A256GCM"}] + [b"x"] * 4)
    with pytest.raises(TokenError) as info:
        decode_unverified(jwe)
    assert_error(info.value, "token", "found 5", "a JWE (5 parts) is not a signed JWT")


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        "!!!.???.***",
        f"{b64url(b'not json')}.{b64url({'a': 1})}.",
        f"{b64url(b'[1, 2]')}.{b64url({'a': 1})}.",
        f"{b64url({'alg': 'RS256'})}.{b64url(b'[1]')}.",
        f"{b64url({'alg': 'RS256'})}.{b64url(bytes([0xFF, 0xFE]))}.",
        f"{b64url({'alg': 'RS256'})}.{b64url({'a': 1})}.***",
    ],
)
def test_decode_garbage_in_three_parts(token: str) -> None:
    with pytest.raises(TokenError) as info:
        decode_unverified(token)
    assert_error(info.value, "token", "cannot be decoded")


@pytest.mark.parametrize("token", ["a\udcff.b.c", "\u00e9.b.c", "a.\u0431.c"])
def test_decode_refuses_text_that_is_not_ascii(token: str) -> None:
    """Bytes that are not UTF-8 reach us as surrogate escapes, which PyJWT cannot encode."""
    with pytest.raises(TokenError) as info:
        decode_unverified(token)
    assert_error(info.value, "token", "not ASCII")


def test_decode_does_not_judge(rsa_pair: KeyPair) -> None:
    expired, header, claims = _signed(Target.CLOUD, rsa_pair.key, now=_now() - dt.timedelta(days=9))
    assert decode_unverified(expired) == (header, claims)
    unsigned = craft_token({"alg": "none"}, {"iat": "yesterday"})
    assert decode_unverified(unsigned) == ({"alg": "none"}, {"iat": "yesterday"})


# --- verify_token ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_verifier(rsa_pair: KeyPair) -> VerifyingKey:
    return load_verifying_key(rsa_pair.certificate_pem, input_name="certificate")


def test_verify_rejects_another_key(rsa_pair: KeyPair, other_rsa_pair: KeyPair) -> None:
    token, _, _ = _signed(Target.QSEOW, rsa_pair.key)
    key = load_verifying_key(other_rsa_pair.certificate_pem, input_name="certificate")
    with pytest.raises(TokenError) as info:
        verify_token(token, key, audience=None)
    assert_error(info.value, "token", "is not valid", "signature does not match the given key")


@pytest.mark.parametrize(("signer", "verifier"), [("rsa_pair", "ec_pair"), ("ec_pair", "rsa_pair")])
def test_verify_rejects_a_key_of_the_other_type(
    request: pytest.FixtureRequest, signer: str, verifier: str
) -> None:
    # Found by these tests: PyJWT raised a bare TypeError here, which the CLI reported as an
    # internal error instead of an invalid token.
    alg = "ES256" if signer == "ec_pair" else "RS256"
    token, _, _ = _signed(Target.CLOUD, request.getfixturevalue(signer).key, algorithm=alg)
    pem = request.getfixturevalue(verifier).certificate_pem
    with pytest.raises(TokenError) as info:
        verify_token(token, load_verifying_key(pem, input_name="c"), audience=None)
    assert_error(info.value, "token", f"is signed with {alg}, which the given key")


def test_verify_rejects_a_curve_mismatch(ec_pair: KeyPair, p384_pair: KeyPair) -> None:
    token, _, _ = _signed(Target.CLOUD, ec_pair.key, algorithm="ES256")
    key = load_verifying_key(p384_pair.public_pem, input_name="c")
    with pytest.raises(TokenError) as info:
        verify_token(token, key, audience=None)
    assert_error(info.value, "token", "is not valid")


def test_verify_rejects_expired(rsa_pair: KeyPair, rsa_verifier: Any) -> None:
    token, _, _ = _signed(Target.QSEOW, rsa_pair.key, now=_now() - dt.timedelta(hours=2))
    with pytest.raises(TokenError) as info:
        verify_token(token, rsa_verifier, audience=None)
    assert_error(info.value, "token", "expired 1 hour ago (")  # qs-jwt's words, not PyJWT's
    _, claims = verify_token(token, rsa_verifier, audience=None, leeway=2 * 3600)
    assert claims["userId"] == "alice"


def test_verify_rejects_not_yet_valid(rsa_pair: KeyPair, rsa_verifier: Any) -> None:
    token, _, _ = _signed(Target.QSEOW, rsa_pair.key, now=_now() + dt.timedelta(minutes=10))
    with pytest.raises(TokenError) as info:
        verify_token(token, rsa_verifier, audience=None)
    assert_error(info.value, "token", "is not valid yet: its nbf is in 9 minutes")


def test_verify_checks_audience_only_when_asked(rsa_pair: KeyPair, rsa_verifier: Any) -> None:
    token, _, _ = _signed(Target.CLOUD, rsa_pair.key)
    with pytest.raises(TokenError) as info:
        verify_token(token, rsa_verifier, audience="qlik.example.com")
    assert_error(
        info.value,
        "token",
        f'is for another audience: it has aud "{CLOUD_AUDIENCE}", and "qlik.example.com" was '
        "expected",
    )
    assert verify_token(token, rsa_verifier, audience=None)[1]["aud"] == CLOUD_AUDIENCE


def test_verify_requires_an_audience_when_one_is_asked(
    rsa_pair: KeyPair, rsa_verifier: Any
) -> None:
    token, _, _ = _signed(Target.QSEOW, rsa_pair.key)  # no aud claim
    with pytest.raises(TokenError):
        verify_token(token, rsa_verifier, audience="qlik.example.com")


def test_verify_requires_exp(rsa_pair: KeyPair, rsa_verifier: Any) -> None:
    token = sign_token({"userId": "a"}, rsa_pair.key, header={"alg": "RS256", "typ": "JWT"})
    with pytest.raises(TokenError) as info:
        verify_token(token, rsa_verifier, audience=None)
    assert_error(info.value, "token", "has no exp claim")


@pytest.mark.parametrize("alg", ["none", "None", None, "", 5])
def test_verify_refuses_unsigned_token(rsa_verifier: Any, alg: int | str | None) -> None:
    exp = int(_now().timestamp()) + 600
    token = craft_token({"alg": alg, "typ": "JWT"}, {"userId": "a", "exp": exp})
    with pytest.raises(TokenError) as info:
        verify_token(token, rsa_verifier, audience=None)
    assert_error(info.value, "token", "which is never accepted")


def test_verify_refuses_hmac_with_the_public_key_as_secret(
    rsa_pair: KeyPair, rsa_verifier: Any
) -> None:
    """The classic algorithm confusion: HS256 keyed with the public PEM everyone has."""
    header = b64url({"alg": "HS256", "typ": "JWT"})
    claims = b64url({"userId": "mallory", "exp": int(_now().timestamp()) + 600})
    mac = hmac.new(rsa_pair.public_pem, f"{header}.{claims}".encode(), hashlib.sha256).digest()
    with pytest.raises(TokenError) as info:
        verify_token(f"{header}.{claims}.{b64url(mac)}", rsa_verifier, audience=None)
    assert_error(info.value, "token", '"HS256", which is never accepted')


def test_verify_rejects_tampered_claims(rsa_pair: KeyPair, rsa_verifier: Any) -> None:
    token, _, claims = _signed(Target.QSEOW, rsa_pair.key)
    header, _, signature = token.split(".")
    forged = f"{header}.{b64url({**claims, 'userId': 'admin'})}.{signature}"
    with pytest.raises(TokenError):
        verify_token(forged, rsa_verifier, audience=None)


# --- PyJWT as the oracle: signing does not import it, and must match it ---------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.text(),  # any code point but surrogates: escapes, RTL, astral characters...
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
REGISTERED = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti")
"""Claims PyJWT type-checks when it encodes; the tool's own claims builder sets these."""
claim_sets = st.dictionaries(
    st.text().filter(lambda name: name not in REGISTERED), json_values, max_size=8
)
extra_headers = st.dictionaries(
    st.text(min_size=1).filter(lambda name: name not in ("alg", "typ", "b64", "crit")),
    st.text(),
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(
    alg=st.sampled_from(["RS256", "RS384", "RS512"]),
    claims=claim_sets,
    extra=extra_headers,
)
def test_rs_tokens_are_byte_for_byte_what_pyjwt_makes(
    rsa_pair: KeyPair, alg: str, claims: dict[str, Any], extra: dict[str, str]
) -> None:
    """PKCS#1 v1.5 is deterministic: the same header and claims give the same token."""
    header = {"alg": alg, "typ": "JWT", **extra}
    expected = pyjwt.encode(claims, rsa_pair.key, algorithm=alg, headers=extra or None)
    assert sign_token(claims, rsa_pair.key, header=header) == expected


@pytest.mark.parametrize(
    ("pair_name", "alg"),
    [
        ("rsa_pair", "PS256"),
        ("rsa_pair", "PS384"),
        ("rsa3072_pair", "PS512"),
        ("ec_pair", "ES256"),
        ("p384_pair", "ES384"),
        ("p521_pair", "ES512"),
    ],
)
def test_ps_and_es_tokens_verify_with_pyjwt_and_jwcrypto(
    request: pytest.FixtureRequest, pair_name: str, alg: str
) -> None:
    """Randomised signatures cannot be compared byte for byte: both libraries must accept
    them, with the header PyJWT would have written."""
    pair = request.getfixturevalue(pair_name)
    token, header, claims = _signed(Target.CLOUD, pair.key, algorithm=alg)
    assert pyjwt.decode(token, pair.public_pem, algorithms=[alg], audience=CLOUD_AUDIENCE) == claims
    assert verify_independently(token, pair.public_pem, alg) == (header, claims)
    unsigned = pyjwt.encode(claims, pair.key, algorithm=alg, headers={"kid": header["kid"]})
    assert token.rsplit(".", 1)[0] == unsigned.rsplit(".", 1)[0]
    if alg.startswith("ES"):  # r || s of the curve's width, not DER
        width = {"ES256": 32, "ES384": 48, "ES512": 66}[alg]
        assert len(base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "==")) == 2 * width


class RemoteRsaKey(rsa.RSAPrivateKey):
    """A key held elsewhere (a key service): only ``sign()`` and the public half work here."""

    def __init__(self, inner: rsa.RSAPrivateKey) -> None:
        self._inner = inner
        self.calls = 0

    def sign(self, data: bytes, padding: Any, algorithm: Any) -> bytes:
        self.calls += 1
        return self._inner.sign(data, padding, algorithm)

    def public_key(self) -> rsa.RSAPublicKey:
        return self._inner.public_key()

    @property
    def key_size(self) -> int:
        return self._inner.key_size

    def decrypt(self, ciphertext: bytes, padding: Any) -> bytes:
        raise NotImplementedError

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise NotImplementedError

    def private_bytes(self, *args: Any) -> bytes:
        raise NotImplementedError

    def __copy__(self) -> RemoteRsaKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> RemoteRsaKey:
        return self


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_signing_goes_through_the_key_objects_sign(rsa_pair: KeyPair, alg: str) -> None:
    remote = RemoteRsaKey(rsa_pair.key)
    token, header, claims = _signed(Target.CLOUD, remote, algorithm=alg)
    assert remote.calls == 1
    assert verify_independently(token, rsa_pair.public_pem, alg) == (header, claims)


def test_the_mint_path_imports_neither_pyjwt_nor_x509(rsa_pair: KeyPair, tmp_path: Path) -> None:
    """PyJWT's package imports cryptography.x509 and an HTTP client: a cold qs-jwt qseow pays
    for neither (decode, verify and lint still use PyJWT; a certificate still loads x509)."""
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    code = (
        "import sys, io\n"
        "from qsjwt.cli import main\n"
        "sys.stdout = io.StringIO()\n"
        f"code = main(['qseow', '--user-id', 'a', '--user-directory', 'D', "
        f"'--private-key-file', {str(key)!r}])\n"
        "loaded = [m for m in sys.modules if m == 'jwt' or m.startswith(('jwt.', "
        "'cryptography.x509', 'urllib.request', 'http.client', 'ssl'))]\n"
        "sys.__stdout__.write(f'{code} {sorted(loaded)}')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "0 []"


def _key_with(pair: KeyPair, **changes: int) -> bytes:
    """The PEM of ``pair``'s key with some of its numbers replaced, unchecked."""
    numbers = pair.key.private_numbers()
    values = {
        "p": numbers.p,
        "q": numbers.q,
        "d": numbers.d,
        "dmp1": numbers.dmp1,
        "dmq1": numbers.dmq1,
        "iqmp": numbers.iqmp,
        **changes,
    }
    damaged = rsa.RSAPrivateNumbers(public_numbers=numbers.public_numbers, **values).private_key(
        unsafe_skip_rsa_key_validation=True
    )
    return private_pem(damaged)


@pytest.mark.parametrize("part", ["d", "dmp1", "dmq1", "iqmp"])
def test_a_damaged_rsa_key_is_refused_though_openssl_does_not_check_it(
    rsa_pair: KeyPair, part: str
) -> None:
    """Keys load without OpenSSL's slow RSA check; qs-jwt's own arithmetic and a verified
    signature stand in for it, so a key whose parts disagree never signs."""
    pem = _key_with(rsa_pair, **{part: getattr(rsa_pair.key.private_numbers(), part) + 2})
    with pytest.raises(KeyMaterialError) as info:
        load_signing_key(pem, input_name="private-key", passphrase_name="passphrase")
    assert_error(info.value, "private-key", "is a damaged RSA key")


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300)
@given(st.dictionaries(st.text(), _JSON_VALUES, max_size=6))
def test_the_claims_are_written_as_json_dumps_writes_them(claims: dict[str, Any]) -> None:
    """The encoder made once writes what ``json.dumps`` (PyJWT's) writes, byte for byte."""
    assert _CLAIMS_JSON(claims) == json.dumps(claims, separators=(",", ":"))


_ENCODERS = {
    "compact": {"separators": (",", ":")},
    "unicode": {"ensure_ascii": False},
    "sorted": {"sort_keys": True},
    "indented": {"indent": 2},
}


@settings(max_examples=100)
@given(st.sampled_from(sorted(_ENCODERS)), st.booleans(), st.dictionaries(st.text(), _JSON_VALUES))
def test_the_encoder_made_once_keeps_every_option(
    options: str, c_accelerated: bool, claims: dict[str, Any]
) -> None:
    """What ``encode`` writes, whatever the encoder's options, with or without Python's C
    encoder (a Python built without it keeps ``encode`` itself)."""
    encoder = json.JSONEncoder(**_ENCODERS[options])  # type: ignore[arg-type]
    with pytest.MonkeyPatch.context() as patch:
        if not c_accelerated:
            patch.setattr(json.encoder, "c_make_encoder", None)
        made_once = jws._object_json(encoder)
    assert made_once(claims) == encoder.encode(claims)


def test_a_value_json_cannot_write_is_refused() -> None:
    with pytest.raises(TypeError):
        _CLAIMS_JSON({"exp": object()})


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_b64url_is_base64url_without_padding(data: bytes) -> None:
    assert jws_b64url(data) == base64.urlsafe_b64encode(data).rstrip(b"=")
