"""``decode``, ``verify`` and ``lint``: what every shell asks of a token it was given."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from qsjwt.base.findings import Finding
from qsjwt.base.formats import iso_utc
from qsjwt.base.inputs import CERTIFICATE, Target
from qsjwt.base.rules import MILLISECONDS
from qsjwt.login.lint import lint_token
from qsjwt.signing import jws
from qsjwt.signing.keys import VerifyingKey, load_verifying_key

__all__ = ["VerifyingKey", "decode", "lint", "times", "verify"]


def decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, NOT verified. Raises ``TokenError`` for what is not a JWT."""
    return jws.decode_unverified(token)


def verify(
    token: str,
    key: str | bytes | VerifyingKey,
    *,
    audience: str | None = None,
    leeway: int = 0,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a token whose signature, expiry, not-before and (if given)
    audience hold; ``key`` is a certificate or public key as PEM, or a public key object.
    Raises ``TokenError`` for an invalid token, ``InputError`` for an unusable key."""
    verifying = (
        load_verifying_key(key, input_name=CERTIFICATE) if isinstance(key, str | bytes) else key
    )
    return jws.verify_token(token, verifying, audience=audience, leeway=leeway)


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
        now=now,
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
