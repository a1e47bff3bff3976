"""``decode``, ``verify`` and ``lint``: what every shell asks of a token it was given."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from qsjwt.base.findings import Finding, warning
from qsjwt.base.formats import iso_utc
from qsjwt.base.inputs import CERTIFICATE, Target
from qsjwt.base.rules import MILLISECONDS
from qsjwt.login.lint import lint_token
from qsjwt.signing import jws
from qsjwt.signing.keys import VerifyingKey, load_certificate, load_verifying_key

__all__ = [
    "VerifyingKey",
    "certificate_findings",
    "decode",
    "lint",
    "times",
    "validity",
    "verify",
]


def decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, NOT verified. Raises ``TokenError`` for what is not a JWT."""
    return jws.decode_unverified(token)


def verify(
    token: str,
    key: str | bytes | VerifyingKey,
    *,
    audience: str | None = None,
    leeway: int = 0,
    now: dt.datetime | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a token whose signature, expiry, not-before and (if given)
    audience hold; ``key`` is a certificate or public key as PEM, or a public key object.
    Raises ``TokenError`` for an invalid token, ``InputError`` for an unusable key."""
    verifying = (
        load_verifying_key(key, input_name=CERTIFICATE) if isinstance(key, str | bytes) else key
    )
    return jws.verify_token(token, verifying, audience=audience, leeway=leeway, now=now)


def certificate_findings(text: str | bytes, *, now: dt.datetime) -> list[Finding]:
    """A warning when the certificate a token is verified with is expired or not valid yet:
    Qlik, configured with it, may refuse the token even though its signature holds."""
    if b"-----BEGIN CERTIFICATE-----" not in (text.encode() if isinstance(text, str) else text):
        return []
    certificate = load_certificate(text, input_name=CERTIFICATE)
    if now < certificate.not_valid_before_utc:
        return [
            warning(
                f"is not valid before {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC: "
                "Qlik may refuse tokens it checks with it until then",
                CERTIFICATE,
            )
        ]
    if now > certificate.not_valid_after_utc:
        return [
            warning(
                f"expired on {certificate.not_valid_after_utc:%Y-%m-%d}: Qlik may refuse tokens "
                "it checks with it; make a new key and certificate (qs-jwt keygen)",
                CERTIFICATE,
            )
        ]
    return []


def validity(claims: Mapping[str, Any], *, now: dt.datetime) -> tuple[bool, str]:
    """Whether a token is in date at ``now`` (its signature aside), in words: ``expired 5
    minutes ago (...)``, ``valid for 55 minutes more``..."""
    exp, nbf = claims.get("exp"), claims.get("nbf")
    seconds = [v for v in (exp, nbf) if v is not None]
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in seconds):
        return False, "its exp or nbf is not a number of seconds"
    if exp is not None and now.timestamp() > exp:
        return False, f"expired {jws.when(exp, now)}"
    if nbf is not None and now.timestamp() < nbf:
        return False, f"not valid yet: its nbf is {jws.when(nbf, now)}"
    if exp is None:
        return True, "in date, and never expires (no exp claim: Qlik may refuse it)"
    return True, f"in date: expires {jws.when(exp, now)}"


def lint(
    token: str,
    target: Target,
    *,
    now: dt.datetime,
    user_id_claim: str | None = None,
    user_directory_claim: str | None = None,
) -> list[Finding]:
    """Every Qlik rule ``token`` breaks for ``target``. Raises ``TokenError``."""
    header, claims = jws.decode_unverified(token)
    return lint_token(
        header,
        claims,
        target,
        now=int(now.timestamp()),
        user_id_claim=user_id_claim,
        user_directory_claim=user_directory_claim,
        size=len(token.strip()),
    )


def times(claims: Mapping[str, Any]) -> dict[str, str]:
    """``iat``, ``nbf`` and ``exp`` as ISO 8601 UTC, where they are plausible seconds."""
    return {
        name: iso_utc(dt.datetime.fromtimestamp(claims[name], tz=dt.UTC))
        for name in ("iat", "nbf", "exp")
        if isinstance(claims.get(name), int)
        and not isinstance(claims.get(name), bool)
        and 0 <= claims[name] < MILLISECONDS
    }
