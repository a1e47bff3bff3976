"""The Python API: mint, decode, verify and lint Qlik tokens from a script (0.x: it may change
before the first release).

Every value goes through the same checks and the same use case (``qsjwt.app.flow``) as the
command line and the GitHub Action, so a script gets the same errors: ``InputError`` names the
keyword argument at fault (in the input table's spelling, ``user-id`` for ``user_id``) and never
repeats its value. Times are taken as timezone-aware datetimes only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from qsjwt.app import tokens
from qsjwt.app.flow import KeySource, Minted, Request, certificates, issue, open_key
from qsjwt.app.target import parse_settings
from qsjwt.base.errors import InputError
from qsjwt.base.findings import Finding
from qsjwt.base.inputs import JWT_TARGETS, Target, parse_target
from qsjwt.base.values import RawValue

if TYPE_CHECKING:
    from qsjwt.app.flow import AccessToken, Assertion, LoadedKey
    from qsjwt.app.tokens import VerifyingKey

PrivateKey = str | bytes | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
"""PEM text (also base64 of it, or with literal ``\\n``), or a ``cryptography`` key object,
which may be one whose ``sign()`` calls a key service."""
Duration = str | int | dt.timedelta
"""``"5m"``, ``"1h"``, ``"7d"``; an int is seconds."""


class Minter:
    """Load (and check) the key once, then mint a token per call: for scripts that mint one
    per user, such as load tests.

    Raises ``InputError`` (``KeyMaterialError``) for a key that cannot sign Qlik tokens, a
    wrong passphrase, or a certificate that does not belong to the key.
    """

    def __init__(
        self,
        private_key: PrivateKey,
        *,
        passphrase: str | bytes | None = None,
        certificate: str | bytes | None = None,
    ) -> None:
        source = (
            KeySource(private_key=private_key, passphrase=passphrase)
            if isinstance(private_key, str | bytes)
            else KeySource(key_object=private_key)
        )
        self._key: LoadedKey = open_key(Target.QSEOW, source)
        self._source = KeySource(loaded=self._key, certificates=certificates(certificate))

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """What is allowed but unwise about the key (e.g. RSA under 3072 bits)."""
        return self._key.warnings

    def qseow(
        self,
        *,
        user_id: str,
        user_directory: str,
        groups: Iterable[str] = (),
        attributes: Mapping[str, str] | None = None,
        name: str | None = None,
        email: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        user_id_claim: str | None = None,
        user_directory_claim: str | None = None,
        groups_claim: str | None = None,
        expires_in: Duration | None = None,
        clock_skew: Duration | None = None,
        algorithm: str | None = None,
        now: dt.datetime | None = None,
        jti: str | None = None,
    ) -> Minted:
        """A token for a QSEoW virtual proxy (JWT authentication). Raises ``InputError``."""
        return self._mint(Target.QSEOW, _values(locals()), now, jti)

    def cloud(
        self,
        *,
        issuer: str,
        key_id: str,
        subject: str,
        name: str,
        email: str,
        email_verified: bool = True,
        groups: Iterable[str] = (),
        expires_in: Duration | None = None,
        clock_skew: Duration | None = None,
        algorithm: str | None = None,
        now: dt.datetime | None = None,
        jti: str | None = None,
    ) -> Minted:
        """A token for a Qlik Cloud JWT identity provider (single use: a new ``jti`` each
        call). Raises ``InputError``."""
        return self._mint(Target.CLOUD, _values(locals()), now, jti)

    def oauth_assertion(
        self,
        *,
        tenant: str,
        client_id: str,
        key_id: str | None = None,
        algorithm: str | None = None,
        expires_in: Duration | None = None,
        now: dt.datetime | None = None,
        jti: str | None = None,
    ) -> Assertion:
        """A Qlik Cloud OAuth client assertion (Private Key JWT), to post to the tenant's
        ``/oauth/token`` yourself; ``jti`` must be a UUID (a new one by default). Raises
        ``InputError``."""
        values = _values({**locals(), "assertion_only": True})
        settings = parse_settings(Target.OAUTH, values)
        issued = issue(Request(settings, self._source, now=_aware(now), jti=jti))
        if issued.assertion is None:  # unreachable: assertion_only was set
            raise InputError("no assertion was made", input_name="assertion-only")
        return issued.assertion

    def access_token(
        self,
        *,
        tenant: str,
        client_id: str,
        scope: str | Iterable[str] | None = None,
        grant: str | None = None,
        user_lookup: str | None = None,
        key_id: str | None = None,
        algorithm: str | None = None,
        expires_in: Duration | None = None,
        timeout: Duration | None = None,
        ca_bundle: str | None = None,
    ) -> AccessToken:
        """Trade a new client assertion for a Qlik Cloud access token at the tenant's
        ``/oauth/token``, as ``qs-jwt oauth`` does (retries on 429 and 5xx within
        ``timeout``). Raises ``InputError``, ``QlikRefusedError`` (what to change) or
        ``QlikUnreachableError``."""
        given = dict(locals())
        if isinstance(scope, Iterable) and not isinstance(scope, str):
            given["scope"] = " ".join(scope)
        settings = parse_settings(Target.OAUTH, _values(given))
        issued = issue(Request(settings, self._source))
        if issued.access is None:  # unreachable: no assertion_only here
            raise InputError("no access token was issued", input_name="assertion-only")
        return issued.access

    def _mint(
        self,
        target: Target,
        values: dict[str, RawValue],
        now: dt.datetime | None,
        jti: str | None,
    ) -> Minted:
        settings = parse_settings(target, values)
        issued = issue(Request(settings, self._source, now=_aware(now), jti=jti))
        if issued.minted is None:  # unreachable: a JWT target mints
            raise InputError("no token was minted", input_name="target")
        return issued.minted


def mint_qseow(
    private_key: PrivateKey,
    *,
    passphrase: str | bytes | None = None,
    certificate: str | bytes | None = None,
    **claims: Any,  # noqa: ANN401 (the keyword arguments of Minter.qseow)
) -> Minted:
    """One QSEoW token; see ``Minter.qseow`` for the keyword arguments."""
    return Minter(private_key, passphrase=passphrase, certificate=certificate).qseow(**claims)


def mint_cloud(
    private_key: PrivateKey,
    *,
    passphrase: str | bytes | None = None,
    certificate: str | bytes | None = None,
    **claims: Any,  # noqa: ANN401 (the keyword arguments of Minter.cloud)
) -> Minted:
    """One Qlik Cloud token; see ``Minter.cloud`` for the keyword arguments."""
    return Minter(private_key, passphrase=passphrase, certificate=certificate).cloud(**claims)


def get_access_token(
    private_key: PrivateKey,
    *,
    passphrase: str | bytes | None = None,
    **settings: Any,  # noqa: ANN401 (the keyword arguments of Minter.access_token)
) -> AccessToken:
    """One Qlik Cloud OAuth access token; see ``Minter.access_token`` for the arguments."""
    return Minter(private_key, passphrase=passphrase).access_token(**settings)


def decode_token(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, NOT verified. Raises ``TokenError`` for what is not a JWT."""
    return tokens.decode(token)


def verify_token(
    token: str,
    key: str | bytes | VerifyingKey,
    *,
    audience: str | None = None,
    leeway: int = 0,
) -> dict[str, Any]:
    """The claims of a token whose signature, expiry, not-before and (if given) audience
    hold. ``key``: a certificate or public key as PEM text, or a public key object.
    Raises ``TokenError`` for an invalid token, ``InputError`` for an unusable key."""
    _, claims = tokens.verify(token, key, audience=audience, leeway=leeway)
    return claims


def lint_token(
    token: str,
    target: str,
    *,
    now: dt.datetime | None = None,
    user_id_claim: str | None = None,
    user_directory_claim: str | None = None,
) -> list[Finding]:
    """Every Qlik rule ``token`` breaks for ``target`` (``"qseow"`` or ``"cloud"``): findings
    of severity error or warning, empty when the token is fine. Raises ``TokenError``."""
    return tokens.lint(
        token,
        parse_target(target, allowed=JWT_TARGETS),
        now=_aware(now),
        user_id_claim=user_id_claim,
        user_directory_claim=user_directory_claim,
    )


_NOT_SETTINGS = frozenset({"self", "now", "jti", "given"})


def _values(arguments: Mapping[str, object]) -> dict[str, RawValue]:
    """Keyword arguments as the input table's text values (``user_id`` -> ``user-id``)."""
    values: dict[str, RawValue] = {}
    for key, value in arguments.items():
        if key in _NOT_SETTINGS or value is None:
            continue
        values[key.replace("_", "-")] = _text(key, value)
    return values


def _text(key: str, value: object) -> RawValue:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.timedelta):
        return f"{int(value.total_seconds())}s"
    if isinstance(value, int):
        return f"{value}s"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return [f"{name}={item}" for name, item in value.items()]
    if isinstance(value, Iterable):
        return [str(item) for item in value]
    raise InputError(f"has an unusable type ({type(value).__name__})", input_name=key)


def _aware(now: dt.datetime | None) -> dt.datetime:
    """``now``, which must carry a timezone: a naive time would be read as local time."""
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise InputError(
            "is a naive datetime", input_name="now", hint="use e.g. datetime.now(timezone.utc)"
        )
    return now
