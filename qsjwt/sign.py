"""Signing and reading tokens with PyJWT, behind the algorithm allow-list."""

from __future__ import annotations

import json
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from qsjwt.algorithms import ALLOWED, SigningKey
from qsjwt.claims import Claims
from qsjwt.errors import QsjwtError, TokenError
from qsjwt.keys import VerifyingKey

EVERY_ALLOWED = tuple(dict.fromkeys(alg for algs in ALLOWED.values() for alg in algs))


def sign_token(claims: Claims, key: SigningKey, *, header: dict[str, str]) -> str:
    """The compact JWT for ``claims``; only the allow-listed algorithms, never none or HS*.

    ``key.sign()`` makes the signature, so a key held by a key service works too.
    """
    algorithm = header["alg"]
    if algorithm not in EVERY_ALLOWED:  # settings refuse these first; this is the last guard
        raise QsjwtError(f"refusing to sign with algorithm {algorithm!r}")
    extra = {name: value for name, value in header.items() if name not in ("alg", "typ")}
    return jwt.encode(claims, key, algorithm=algorithm, headers=extra or None)


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
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as err:
        raise TokenError(f"cannot be decoded: {err}", input_name="token") from None
    return header, claims


def verify_token(
    token: str, key: VerifyingKey, *, audience: str | None, leeway: int = 0
) -> tuple[dict[str, Any], Claims]:
    """Check the signature, expiry, not-before and (if given) audience of a token."""
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
    try:
        claims = jwt.decode(
            token.strip(),
            key,
            algorithms=[str(algorithm)],
            audience=audience,
            leeway=leeway,
            options={"verify_aud": audience is not None, "require": ["exp"]},
        )
    except jwt.PyJWTError as err:
        raise TokenError(f"is not valid: {err}", input_name="token") from None
    return header, claims
