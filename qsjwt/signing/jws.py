"""Signing tokens behind the algorithm allow-list; reading and verifying them with PyJWT.

Signing does not import PyJWT: its package imports ``cryptography.x509`` and its JWKS client
(``urllib.request``, ``http.client``, ``ssl``) whatever one uses, which is most of a cold
``qs-jwt qseow``'s time. The compact serialisation below is the one ``jwt.encode`` makes, byte
for byte (header keys sorted, no spaces, base64url without padding; tests/signing/test_sign.py holds
PyJWT as the oracle), and every signature is made by the key object's own ``sign()``, so a key
held by a key service (a subclass whose ``sign()`` calls it) signs as before. Decoding and
verifying keep PyJWT, imported when they are first used.
"""

from __future__ import annotations

import binascii
import functools
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from qsjwt.base.errors import KeyMaterialError, QsjwtError, TokenError
from qsjwt.base.inputs import PRIVATE_KEY
from qsjwt.signing.algorithms import ALLOWED, ECDSA, RSA_PSS, SigningKey

if TYPE_CHECKING:
    import datetime as dt

    from qsjwt.signing.keys import VerifyingKey

Claims = dict[str, Any]
"""A token's claims as signed: the JWS layer owns the type, the login and OAuth layers fill it."""

EVERY_ALLOWED = tuple(dict.fromkeys(alg for algs in ALLOWED.values() for alg in algs))
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


def _object_json(encoder: json.JSONEncoder) -> Callable[[dict[str, Any]], str]:
    """``encoder.encode`` for a dict, with the C encoder that ``encode`` makes on every call
    (a microsecond of each token of ``qs-jwt bulk``) made once. Its options are ``encode``'s;
    there is no check for a circular dict (the claims are ours, and one would still fail, on
    the recursion limit). Python built without the C accelerator, and an encoder that indents
    (``encode`` does not hand those to the C encoder), keep ``encode``."""
    make = getattr(json.encoder, "c_make_encoder", None)  # not in the typeshed stubs
    if make is None or encoder.indent is not None:
        return encoder.encode
    strings = (
        json.encoder.encode_basestring_ascii
        if encoder.ensure_ascii
        else json.encoder.encode_basestring
    )
    chunks = make(
        None,
        encoder.default,
        strings,
        None,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )
    return lambda document: "".join(chunks(document, 0))


_CLAIMS_JSON = _object_json(json.JSONEncoder(separators=(",", ":")))
"""``json.dumps(claims, separators=(",", ":"))``, as PyJWT writes them."""
_HEADER_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def b64url(data: bytes) -> bytes:
    """Base64url without padding (RFC 7515, section 2): what ``base64.urlsafe_b64encode``
    makes, with two replacements instead of its byte-by-byte translation (half the time of
    the encoding itself, for each part of each token of ``qs-jwt bulk``)."""
    encoded = binascii.b2a_base64(data, newline=False)
    return encoded.replace(b"+", b"-").replace(b"/", b"_").rstrip(b"=")


def sign_token(claims: Claims, key: SigningKey, *, header: dict[str, str]) -> str:
    """The compact JWT for ``claims``; only the allow-listed algorithms, never none or HS*.

    ``key.sign()`` makes the signature, so a key held by a key service works too. The header
    carries ``typ: JWT``, ``alg`` and the other fields of ``header``, keys sorted, as
    ``jwt.encode(claims, key, algorithm, headers=...)`` writes it.
    """
    algorithm = header["alg"]
    data = signing_input(claims, algorithm, encode_header(header))
    return compact(data, signer(key, algorithm)(data))


def encode_header(header: dict[str, str]) -> bytes:
    """The token's first part and its dot, as ``sign_token`` writes it: for many tokens that
    share one header (``qs-jwt bulk``), made once."""
    algorithm = header["alg"]
    if algorithm not in EVERY_ALLOWED:  # settings refuse these first; this is the last guard
        raise QsjwtError(f"refusing to sign with algorithm {algorithm!r}")
    protected = {**header, "typ": "JWT", "alg": algorithm}
    return b64url(_HEADER_JSON(protected).encode()) + b"."


def signing_input(claims: Claims, algorithm: str, encoded_header: bytes) -> bytes:
    """What is signed: ``encoded_header`` and the claims (``qs-jwt bulk`` makes a batch of them
    before it signs them one after the other)."""
    if algorithm not in EVERY_ALLOWED:
        raise QsjwtError(f"refusing to sign with algorithm {algorithm!r}")
    if not isinstance(claims, dict):
        raise TypeError("the claims of a JWT are a JSON object (a dict)")
    return encoded_header + b64url(_CLAIMS_JSON(claims).encode("utf-8"))


def compact(data: bytes, signed: bytes) -> str:
    """The compact JWT: the signing input ``data``, a dot and its signature ``signed``."""
    return (data + b"." + b64url(signed)).decode()


def signer(key: SigningKey, algorithm: str) -> Callable[[bytes], bytes]:
    """What makes the JWS signature of some data: PKCS#1 v1.5 for RS*, PSS with a salt as long
    as the hash for PS*, and for ES* the fixed-width r || s that JWS wants from the DER the
    key's ``sign()`` returns. A key object that is not OpenSSL's own (a key service's, one
    passed to the API) has each signature verified first (``_verify``). The padding and hash
    are made once, for the many signatures of ``qs-jwt bulk``."""
    digest = _HASHES[algorithm[2:]]()
    if algorithm in ECDSA:
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise QsjwtError(f"an {algorithm} signature needs an EC key")
        curve_key, scheme = key, ec.ECDSA(digest)
        width = (curve_key.curve.key_size + 7) // 8

        def sign_ec(data: bytes) -> bytes:
            der = curve_key.sign(data, scheme)
            _verify(curve_key, lambda: curve_key.public_key().verify(der, data, scheme))
            r, s = decode_dss_signature(der)
            return r.to_bytes(width, "big") + s.to_bytes(width, "big")

        return sign_ec
    if isinstance(key, ec.EllipticCurvePrivateKey):
        raise QsjwtError(f"an {algorithm} signature needs an RSA key")
    rsa_key = key
    padded: padding.AsymmetricPadding = (
        padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        if algorithm in RSA_PSS
        else padding.PKCS1v15()
    )

    def sign_rsa(data: bytes) -> bytes:
        signed = rsa_key.sign(data, padded, digest)
        _verify(rsa_key, lambda: rsa_key.public_key().verify(signed, data, padded, digest))
        return signed

    if _checks_itself(rsa_key):  # nothing to check after each signature: OpenSSL's own sign
        return functools.partial(rsa_key.sign, padding=padded, algorithm=digest)
    return sign_rsa


def _verify(key: SigningKey, check: Callable[[], None]) -> None:
    """Run ``check`` (the signature verified with the key's public key) for a key whose
    ``sign()`` is not OpenSSL's, which checks its own results: a key object whose ``sign()``
    returns garbage must not make a token that verifies with no key. Raises KeyMaterialError."""
    if _checks_itself(key):
        return
    try:
        check()
    except (InvalidSignature, ValueError, TypeError):
        raise KeyMaterialError(
            "made a signature that does not verify with its own public key; no token was made",
            input_name=PRIVATE_KEY,
            hint="a key object's sign() must return the signature the key's public key verifies",
        ) from None


def _checks_itself(key: SigningKey) -> bool:
    """Whether ``key.sign()`` is OpenSSL's (``cryptography``'s own key classes), which checks
    its own results."""
    return type(key).__module__.startswith(_OPENSSL)


_OPENSSL = "cryptography.hazmat.bindings."
"""Where ``cryptography``'s own key classes live: their ``sign()`` is OpenSSL's."""


def decode_unverified(token: str) -> tuple[dict[str, Any], Claims]:
    """Header and claims of a token, without checking anything: for decode and lint."""
    token = token.strip()
    if not token.isascii():  # a JWT is base64url and dots; PyJWT crashes on surrogate escapes
        raise TokenError(
            "is not a JWT: it holds characters outside base64url (not ASCII)", input_name="token"
        )
    if token.count(".") != 2:
        hint = "a JWE (5 parts) is not a signed JWT" if token.count(".") == 4 else None
        raise TokenError(
            f"is not a JWT: expected 3 dot-separated parts, found {token.count('.') + 1}",
            input_name="token",
            hint=hint,
        )
    import jwt  # noqa: PLC0415 (only here and in verify_token: signing does without it)

    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as err:
        raise TokenError(f"cannot be decoded: {err}", input_name="token") from None
    return header, claims


def verify_token(
    token: str,
    key: VerifyingKey,
    *,
    audience: str | None,
    leeway: int = 0,
    now: dt.datetime | None = None,
) -> tuple[dict[str, Any], Claims]:
    """Check the signature, expiry, not-before and (if given) audience of a token, and say
    what fails in qs-jwt's words (the ``aud`` found, how long ago it expired)."""
    header, _ = decode_unverified(token)
    algorithm = header.get("alg")
    if algorithm not in EVERY_ALLOWED:
        raise TokenError(
            f"uses algorithm {json.dumps(algorithm)}, which is never accepted", input_name="token"
        )
    if str(algorithm).startswith("ES") != isinstance(key, ec.EllipticCurvePublicKey):
        raise TokenError(
            f"is signed with {algorithm}, which the given key's type cannot verify",
            input_name="token",
            hint="give the certificate or public key of the key that signed it",
        )
    import datetime as dt  # noqa: PLC0415 (verifying only: a mint needs no datetime)

    import jwt  # noqa: PLC0415

    try:  # the signature only: the claims are checked below, in words that say what is wrong
        claims = jwt.decode(
            token.strip(),
            key,
            algorithms=[str(algorithm)],
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise TokenError(
            f"is not valid: its {algorithm} signature does not match the given key",
            input_name="token",
            hint="give the certificate or public key of the key that signed it",
        ) from None
    except jwt.PyJWTError as err:
        raise TokenError(f"is not valid: {err}", input_name="token") from None
    _check_times(claims, now or dt.datetime.now(dt.UTC), leeway)
    if audience is not None:
        _check_audience(claims, audience)
    return header, claims


def _check_times(claims: Mapping[str, Any], now: dt.datetime, leeway: int) -> None:
    at = now.timestamp()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if exp is None:
        raise TokenError(
            "has no exp claim: a token that never expires is not accepted here",
            input_name="token",
        )
    for name, value in (("exp", exp), ("nbf", nbf)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TokenError(
                f"is not valid: its {name} claim is not a number of seconds", input_name="token"
            )
    if at > exp + leeway:
        raise TokenError(f"expired {when(exp, now)}", input_name="token")
    if nbf is not None and at < nbf - leeway:
        raise TokenError(
            f"is not valid yet: its nbf is {when(nbf, now)}",
            input_name="token",
            hint="the clock of the machine that signed it may run ahead",
        )


def _check_audience(claims: Mapping[str, Any], expected: str) -> None:
    found = claims.get("aud")
    audiences = [found] if isinstance(found, str) else found if isinstance(found, list) else []
    if expected in audiences:
        return
    shown = "no aud claim" if found is None else f"aud {_shown(found)}"
    raise TokenError(
        f"is for another audience: it has {shown}, and {_shown(expected)} was expected",
        input_name="token",
    )


def _shown(value: object, limit: int = 120) -> str:
    """A claim's value for a message: JSON, one line, bounded."""
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def when(moment: float, now: dt.datetime) -> str:
    """``expired 5 minutes ago (2026-01-01T10:00:00Z)``-style words for a claim's time."""
    import datetime as dt  # noqa: PLC0415 (loaded already: now is a datetime)

    delta = moment - now.timestamp()
    stamp = dt.datetime.fromtimestamp(moment, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    span = _span(abs(delta))
    if delta < 0:
        return f"{span} ago ({stamp})"
    return f"in {span} ({stamp})"


def _span(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    count = int(seconds)
    return f"{count} second{'s' if count != 1 else ''}"
