"""The claims of a token, exactly as each Qlik target reads them.

``now`` (seconds since the epoch, as a JWT writes times) and ``jti`` come from the caller, so
the same settings always give the same claims and tests need no clock.
"""

from __future__ import annotations

import os

from qsjwt.base.rules import CLOUD_AUDIENCE
from qsjwt.login.settings import CloudSettings, LoginSettings, QseowSettings
from qsjwt.signing.jws import Claims, b64url

JTI_BYTES = 33
"""264 random bits, well over the 128 Qlik Cloud's replay protection needs; a multiple of 3
bytes, so each id is 44 base64url characters with no padding, and many are encoded at once."""
_JTI_CHARS = JTI_BYTES * 4 // 3


def new_jti() -> str:
    """A fresh token id: Qlik Cloud refuses a ``jti`` it has seen.

    What ``secrets.token_urlsafe`` returns (the OS's random bytes in base64url), without
    importing ``secrets``, whose ``hmac`` loads a second OpenSSL (``_hashlib``) at start-up.
    """
    return new_jtis(1)[0]


def new_jtis(count: int) -> list[str]:
    """``count`` fresh token ids, from one read of the OS's random bytes and one encoding
    (``qs-jwt bulk`` makes one for each row of a task)."""
    text = b64url(os.urandom(JTI_BYTES * count)).decode("ascii")
    return [text[start : start + _JTI_CHARS] for start in range(0, len(text), _JTI_CHARS)]


def build_claims(settings: LoginSettings, *, now: int, jti: str) -> Claims:
    """``iat`` and ``nbf`` are both ``now`` back-dated by the clock skew (Qlik's rule 15: a
    Qlik clock a little behind ours must not see a token from the future), and ``exp`` is
    ``nbf`` + lifetime, so exp - nbf is exactly the lifetime the settings checked.
    """
    iat = now - settings.clock_skew
    if isinstance(settings, QseowSettings):
        return _qseow(settings, iat, jti)
    return _cloud(settings, iat, jti)


def build_header(settings: LoginSettings) -> dict[str, str]:
    """``alg`` and ``typ``; Qlik Cloud also needs ``kid``, the identity provider's key id."""
    header = {"alg": settings.algorithm, "typ": "JWT"}
    if isinstance(settings, CloudSettings):
        header["kid"] = settings.key_id
    return header


def _qseow(s: QseowSettings, iat: int, jti: str) -> Claims:
    claims: Claims = {s.user_id_claim: s.user_id, s.user_directory_claim: s.user_directory}
    if s.name:
        claims["name"] = s.name
    if s.email:
        claims["email"] = s.email
    if s.groups:
        claims[s.groups_claim] = list(s.groups)
    if s.attributes:
        claims.update(s.attributes)
    if s.issuer:
        claims["iss"] = s.issuer
    if s.audience:
        claims["aud"] = s.audience
    return _times(claims, jti, iat, s.lifetime)


def _cloud(s: CloudSettings, iat: int, jti: str) -> Claims:
    claims: Claims = {
        "iss": s.issuer,
        "aud": CLOUD_AUDIENCE,
        "sub": s.subject,
        "subType": "user",
        "name": s.name,
        "email": s.email,
        "email_verified": s.email_verified,
    }
    if s.groups:
        claims["groups"] = list(s.groups)
    return _times(claims, jti, iat, s.lifetime)


def _times(claims: Claims, jti: str, iat: int, lifetime: int) -> Claims:
    """The id and times every token ends with, in this order."""
    claims["jti"] = jti
    claims["iat"] = claims["nbf"] = iat
    claims["exp"] = iat + lifetime
    return claims
