"""Whole-pipeline fuzzing: from arbitrary key text and settings to a token, or to our own error.

tests/login/test_properties.py fuzzes settings parsing alone and signs with one good key. Here the
key material is the variable: garbage, mangled PEM (cut, flipped, re-armored, re-encoded),
random base64, bytes that are not UTF-8, certificates and passphrases that may or may not
belong, all through ``issue_jwt`` (the use case every shell calls) with arbitrary settings. Each
example must end in one of two ways:

- a token that jwcrypto (not PyJWT, which signed it) verifies with the public half of the key
  the tool loaded, whose claims are exactly the ones the tool reports; or
- an ``InputError`` (``KeyMaterialError`` included) that names an input and shows no secret:
  no run of the key text, no passphrase.

Never any other exception, and never the bare ``QsjwtError`` of the internal guards (which
would mean validation let something through). The token side is fuzzed too: ``decode``,
``lint`` and ``verify`` on arbitrary and mutated tokens end in a result or a ``TokenError``.

The optional atheris target ``fuzz/fuzz_keys.py`` runs the same key parsers under libFuzzer.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qsjwt.app.target import parse_settings
from qsjwt.base.errors import InputError, QsjwtError, TokenError
from qsjwt.base.inputs import JWT_TARGETS, Target
from qsjwt.login.lint import lint_token
from qsjwt.signing.jws import decode_unverified, verify_token
from qsjwt.signing.keys import load_signing_key, load_verifying_key, public_pem
from tests.conftest import ENCRYPTED_KEY_PASSPHRASE, NOW, NOW_S, verify_independently
from tests.helpers import FIXED_JTI, issue_jwt, jwt_settings, values_for
from tests.leaks.material import LEGACY_PASSPHRASE, WRONG_PASSPHRASE, material

# A damaged certificate may carry a negative serial number, which cryptography warns about.
pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
FUZZ = settings(
    max_examples=int(os.environ.get("QSJWT_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MATERIAL = material()
KEYS = ("rsa3072", "rsa2048", "ec256", "ec384", "pkcs1", "encrypted", "pkcs1-encrypted")
OTHER_KEYS = ("rsa1024", "ed25519", "openssh")
LABELS = (
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
    "CERTIFICATE",
    "PUBLIC KEY",
    "DSA PRIVATE KEY",
    "X",
)
PASSPHRASES = (ENCRYPTED_KEY_PASSPHRASE, LEGACY_PASSPHRASE, WRONG_PASSPHRASE)

# --- key text -------------------------------------------------------------------------------


def _encode(pem: bytes, how: str) -> bytes | str:
    if how == "escaped":
        return pem.decode().replace("\n", "\\n")
    if how == "base64":
        return base64.b64encode(pem).decode()
    if how == "crlf":
        return pem.replace(b"\n", b"\r\n")
    if how == "str":
        return pem.decode()
    return pem


whole_key = st.builds(
    lambda name, how: _encode(MATERIAL.private(name), how),
    st.sampled_from(KEYS + OTHER_KEYS),
    st.sampled_from(["bytes", "str", "escaped", "base64", "crlf"]),
)


@st.composite
def mangled_key(draw: st.DrawFn) -> bytes:
    """A real PEM, broken in one of the ways a copy and paste breaks it."""
    pem = bytearray(MATERIAL.private(draw(st.sampled_from(KEYS + OTHER_KEYS))))
    how = draw(st.sampled_from(["cut", "flip", "drop", "insert", "swap-lines", "rearmor"]))
    at = draw(st.integers(min_value=0, max_value=len(pem) - 1))
    if how == "cut":
        return bytes(pem[:at])
    if how == "flip":
        pem[at] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        return bytes(pem)
    if how == "drop":
        return bytes(pem[:at] + pem[at + draw(st.integers(1, 80)) :])
    if how == "insert":
        return bytes(pem[:at]) + draw(st.binary(min_size=1, max_size=20)) + bytes(pem[at:])
    lines = bytes(pem).splitlines()
    if how == "swap-lines" and len(lines) > 3:
        i = draw(st.integers(1, len(lines) - 3))
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
        return b"\n".join(lines) + b"\n"
    label = draw(st.sampled_from(LABELS)).encode()
    body = b"\n".join(line for line in lines if not line.startswith(b"-----"))
    return b"-----BEGIN " + label + b"-----\n" + body + b"\n-----END " + label + b"-----\n"


@st.composite
def armored_garbage(draw: st.DrawFn) -> str:
    """PEM armor around random DER, sometimes with legacy encryption headers."""
    label = draw(st.sampled_from(LABELS))
    body = base64.encodebytes(draw(st.binary(max_size=600))).decode()
    headers = draw(
        st.sampled_from(
            [
                "",
                "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
                "00112233445566778899AABBCCDDEEFF\n\n",
                "Proc-Type: 4,ENCRYPTED\nDEK-Info: NOPE,zz\n\n",
            ]
        )
    )
    return f"-----BEGIN {label}-----\n{headers}{body}-----END {label}-----\n"


surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)
key_text = st.one_of(
    whole_key,
    mangled_key(),
    mangled_key().map(lambda pem: base64.b64encode(pem).decode()),
    armored_garbage(),
    st.binary(max_size=400).map(lambda data: base64.b64encode(data).decode()),
    st.binary(max_size=400),
    st.text(max_size=400),
    st.builds(lambda a, b: a + b, whole_key.map(str), surrogates),
)
passphrase = st.one_of(
    st.none(),
    st.sampled_from(PASSPHRASES),
    st.text(max_size=40),
    st.binary(max_size=40),
    surrogates,
)


@st.composite
def damaged_certificate(draw: st.DrawFn) -> bytes:
    """A real certificate with one bit flipped: it still parses, its key may not."""
    pem = MATERIAL.pairs[draw(st.sampled_from(KEYS))].certificate
    lines = pem.splitlines()
    der = bytearray(base64.b64decode(b"".join(lines[1:-1])))
    der[draw(st.integers(0, len(der) - 1))] ^= 1 << draw(st.integers(0, 7))
    return lines[0] + b"\n" + base64.encodebytes(bytes(der)) + lines[-1] + b"\n"


certificate = st.one_of(
    st.none(),
    damaged_certificate(),
    st.sampled_from((*KEYS, "ed25519")).map(lambda name: MATERIAL.pairs[name].certificate),
    st.sampled_from(KEYS).map(lambda name: MATERIAL.pairs[name].public),
    mangled_key(),
    armored_garbage(),
    st.text(max_size=100),
)

# --- settings ---------------------------------------------------------------------------------

FITS: dict[Target, dict[str, tuple[str, ...]]] = {
    Target.QSEOW: {"rsa": ("RS256", "RS384", "RS512", "rs256", "")},
    Target.CLOUD: {
        "rsa": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", ""),
        "ec256": ("ES256",),
        "ec384": ("ES384",),
    },
}
ODD_ALGORITHMS = ("ES256", "ES512", "HS256", "hs384", "none", "None", "EdDSA", "x", " RS256 ")
setting_text = st.one_of(
    st.sampled_from(["", " ", "5m", "1h", "0", "3601", "x=y", "a\nb", "userId", "iss", "exp=1"]),
    st.text(max_size=30),
)
OPTIONAL = ["expires-in", "groups", "name", "email", "audience", "issuer", "clock-skew"]
OPTIONAL += ["attributes", "user-id-claim", "key-id", "subject", "email-verified", "user-id"]


def _mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``usual``, so that enough examples stay intact for tokens to get made."""
    return st.sampled_from([False, False, False, True]).flatmap(
        lambda weird: odd if weird else usual
    )


def _family(name: str) -> str:
    return name if name.startswith("ec") else "rsa"


@st.composite
def pipeline_inputs(draw: st.DrawFn) -> dict[str, object]:
    """Target, settings and key material that mostly fit together, with garbage mixed in.

    About half the examples keep every piece intact, so both endings (a token, an error) are
    exercised; the rest swap in mangled or arbitrary key text, passphrases, certificates,
    algorithms and settings values.
    """
    target = draw(st.sampled_from(JWT_TARGETS))
    name = draw(st.sampled_from(KEYS))
    fitting = FITS[target].get(_family(name), ("RS256",))
    algorithm = draw(_mostly(st.sampled_from(fitting), st.sampled_from(ODD_ALGORITHMS)))
    values: dict[str, object] = values_for(target, algorithm=algorithm)
    tweaks = st.lists(st.sampled_from(OPTIONAL), min_size=1, max_size=2, unique=True)
    for optional in draw(_mostly(st.just([]), tweaks)):
        values[optional] = draw(setting_text)
    intact = st.builds(
        lambda how: _encode(MATERIAL.private(name), how),
        st.sampled_from(["bytes", "str", "escaped", "base64", "crlf"]),
    )
    key = draw(_mostly(intact, key_text))
    right_passphrase = {"encrypted": ENCRYPTED_KEY_PASSPHRASE, "pkcs1-encrypted": LEGACY_PASSPHRASE}
    secret = draw(_mostly(st.just(right_passphrase.get(name)), passphrase))
    cert = draw(_mostly(st.sampled_from([None, MATERIAL.pairs[name].certificate]), certificate))
    return {"target": target, "values": values, "key": key, "secret": secret, "cert": cert}


# --- the pipeline ---------------------------------------------------------------------------


def _assert_our_error(err: QsjwtError) -> None:
    """Ours, naming an input, and showing no run of any key text and no known passphrase."""
    assert isinstance(err, InputError), f"an internal guard fired: {err!r}"
    assert err.input_name, "every refusal names an input"
    shown = err.render()
    leaks = MATERIAL.leaks(shown)
    assert not leaks, f"{leaks} in {shown!r}"
    event(f"refused: {err.input_name}")


@FUZZ
@given(given_inputs=pipeline_inputs())
def test_mint_from_any_key_text_makes_a_verifiable_token_or_our_error(given_inputs: Any) -> None:
    target, key, secret = given_inputs["target"], given_inputs["key"], given_inputs["secret"]
    try:
        parsed = jwt_settings(parse_settings(target, given_inputs["values"]))
        minted = issue_jwt(
            parsed,
            private_key=key,
            passphrase=secret,
            certificate=given_inputs["cert"],
            now=NOW,
            jti=FIXED_JTI,
        )
    except QsjwtError as err:
        _assert_our_error(err)
        return
    loaded = load_signing_key(key, secret, input_name="k", passphrase_name="p")
    header, claims = verify_independently(
        minted.token, public_pem(loaded.key), minted.header["alg"], check_time=False
    )
    assert header == minted.header
    assert claims == minted.claims
    assert claims["exp"] - claims["iat"] == minted.expires_in > 0
    if target is Target.CLOUD:
        assert header["kid"] and claims["aud"] == "qlik.api/login/jwt-session"
    else:
        assert header["alg"].startswith("RS")
    assert not any(f.severity == "error" for f in lint_token(header, claims, target, now=NOW_S))
    event(f"token: {header['alg']}")


@FUZZ
@given(key=key_text, secret=passphrase)
def test_key_loading_alone_never_raises_anything_else(key: Any, secret: Any) -> None:
    try:
        loaded = load_signing_key(key, secret, input_name="private-key", passphrase_name="pp")
    except QsjwtError as err:
        _assert_our_error(err)
        return
    der = loaded.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert der  # a usable private key came out of it


# --- the token side -------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        st.text(max_size=20),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
claim_sets = st.dictionaries(
    st.sampled_from(["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "kid", "userId", "x"]),
    json_values,
    max_size=8,
)


@st.composite
def tokens(draw: st.DrawFn) -> str:
    """Arbitrary text, JSON segments that are not JWTs, and real tokens cut or recombined."""
    kind = draw(st.sampled_from(["text", "surrogates", "segments", "json"]))
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "surrogates":  # what a shell hands over for bytes that are not UTF-8
        joined: str = draw(st.builds(lambda a, b: a + b, st.text(max_size=40), surrogates))
        return joined
    if kind == "segments":
        parts = draw(st.lists(st.text(alphabet="AZaz09-_.=", max_size=40), min_size=1, max_size=6))
        return ".".join(parts)
    header = draw(
        st.one_of(
            claim_sets,
            st.fixed_dictionaries({"alg": st.sampled_from(["RS256", "ES256", "none", "HS256"])}),
        )
    )
    payload = draw(st.one_of(claim_sets, json_values))
    signature = draw(st.binary(max_size=64))
    return ".".join(
        [
            _b64url(json.dumps(header).encode()),
            _b64url(json.dumps(payload).encode()),
            _b64url(signature),
        ]
    )


@FUZZ
@given(token=tokens(), target=st.sampled_from(JWT_TARGETS), audience=st.none() | st.text())
def test_decode_lint_and_verify_end_in_a_result_or_a_token_error(
    token: Any, target: Target, audience: Any
) -> None:
    verifying = load_verifying_key(MATERIAL.pairs["rsa3072"].public, input_name="certificate")
    try:
        header, claims = decode_unverified(token)
    except TokenError:
        return
    if isinstance(header, dict) and isinstance(claims, dict):
        lint_token(
            header, claims, target, now=int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())
        )
    try:
        verify_token(token, verifying, audience=audience)
    except TokenError:
        return
    raise AssertionError("a token nobody signed verified")
