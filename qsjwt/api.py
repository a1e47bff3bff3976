"""The Python API: mint, decode, verify and lint Qlik tokens from a script (0.x: it may change
before the first release).

Every value goes through the same checks and the same use case (``qsjwt.app.flow``) as the
command line and the GitHub Action, so a script gets the same errors: ``InputError`` names the
keyword argument at fault (in the input table's spelling, ``user-id`` for ``user_id``) and never
repeats its value. Times are taken as timezone-aware datetimes only.

Arguments are checked for type before anything else: a value of the wrong type is a
``TypeError`` naming the argument (``user_id=123`` would otherwise mint ``"123s"``, and
``groups=b"abc"`` the groups ``"97"``, ``"98"``, ``"99"``). An error leaves the API without the
frames below it (``_clean``): a traceback printed with its locals shows no key, passphrase,
assertion or token.
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
        source = _source(private_key, passphrase)
        del private_key, passphrase  # a traceback with locals shows neither
        self._open(source, certificate)

    @classmethod
    def _of(cls, source: KeySource, certificate: str | bytes | None) -> Minter:
        """A Minter for a key already held in a ``KeySource`` (the one-call functions)."""
        minter = cls.__new__(cls)
        minter._open(source, certificate)
        return minter

    def _open(self, source: KeySource, certificate: str | bytes | None) -> None:
        with _clean():
            _typed(
                "private_key",
                source.key_object if source.private_key is None else source.private_key,
                PrivateKey,
            )
            _typed("passphrase", source.passphrase, str | bytes | None)
            _typed("certificate", certificate, str | bytes | None)
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
        """A token for a QSEoW virtual proxy (JWT authentication). Raises ``InputError``, and
        ``TypeError`` for an argument of another type than the one annotated (a list of
        ``str`` for ``groups``, a mapping of ``str`` for ``attributes``, ``str``, ``int``
        seconds or ``timedelta`` for a duration, a ``datetime`` for ``now``)."""
        return self._mint(Target.QSEOW, locals(), now, jti)

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
        call). Raises ``InputError``, and ``TypeError`` for an argument of another type than
        the one annotated (``email_verified`` a ``bool``)."""
        return self._mint(Target.CLOUD, locals(), now, jti)

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
        ``InputError``, and ``TypeError`` for an argument that is not a ``str`` (a duration:
        also ``int`` seconds or ``timedelta``; ``now``: a ``datetime``)."""
        with _clean():
            values = _values({**locals(), "assertion_only": True})
            _typed("jti", jti, str | None)
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
        ``QlikUnreachableError`` (``QlikMalformedAnswerError`` for an answer outside OAuth's
        grammar), and ``TypeError`` for an argument that is not a ``str`` (``scope``: also a
        list of ``str``; a duration: also ``int`` seconds or ``timedelta``)."""
        with _clean():
            given = dict(locals())
            if isinstance(scope, Iterable) and not isinstance(scope, str | bytes):
                given["scope"] = " ".join(_strings("scope", scope))
            settings = parse_settings(Target.OAUTH, _values(given))
            issued = issue(Request(settings, self._source))
            if issued.access is None:  # unreachable: no assertion_only here
                raise InputError("no access token was issued", input_name="assertion-only")
            return issued.access

    def _mint(
        self,
        target: Target,
        arguments: Mapping[str, object],
        now: dt.datetime | None,
        jti: str | None,
    ) -> Minted:
        with _clean():
            values = _values(arguments)
            _typed("jti", jti, str | None)
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
    """One QSEoW token; see ``Minter.qseow`` for the keyword arguments and errors."""
    source = _source(private_key, passphrase)
    del private_key, passphrase  # a traceback with locals shows neither
    with _clean():
        return Minter._of(source, certificate).qseow(**claims)


def mint_cloud(
    private_key: PrivateKey,
    *,
    passphrase: str | bytes | None = None,
    certificate: str | bytes | None = None,
    **claims: Any,  # noqa: ANN401 (the keyword arguments of Minter.cloud)
) -> Minted:
    """One Qlik Cloud token; see ``Minter.cloud`` for the keyword arguments and errors."""
    source = _source(private_key, passphrase)
    del private_key, passphrase  # a traceback with locals shows neither
    with _clean():
        return Minter._of(source, certificate).cloud(**claims)


def get_access_token(
    private_key: PrivateKey,
    *,
    passphrase: str | bytes | None = None,
    **settings: Any,  # noqa: ANN401 (the keyword arguments of Minter.access_token)
) -> AccessToken:
    """One Qlik Cloud OAuth access token; see ``Minter.access_token`` for the arguments and
    errors."""
    source = _source(private_key, passphrase)
    del private_key, passphrase  # a traceback with locals shows neither
    with _clean():
        return Minter._of(source, None).access_token(**settings)


def decode_token(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, NOT verified. Raises ``TokenError`` for what is not a JWT, and
    ``TypeError`` when ``token`` is not a ``str``."""
    with _clean():
        return tokens.decode(_typed("token", token, str))


def verify_token(
    token: str,
    key: str | bytes | VerifyingKey,
    *,
    audience: str | None = None,
    leeway: int = 0,
) -> dict[str, Any]:
    """The claims of a token whose signature, expiry, not-before and (if given) audience
    hold. ``key``: a certificate or public key as PEM text, or a public key object.
    Raises ``TokenError`` for an invalid token, ``InputError`` for an unusable key, and
    ``TypeError`` when ``token`` or ``audience`` is not a ``str``, ``leeway`` not an ``int``,
    or ``key`` neither text nor a public key object."""
    with _clean():
        _typed("key", key, str | bytes | rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        _typed("audience", audience, str | None)
        _typed("leeway", leeway, int)
        _, claims = tokens.verify(
            _typed("token", token, str), key, audience=audience, leeway=leeway
        )
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
    of severity error or warning, empty when the token is fine. Raises ``TokenError``, and
    ``TypeError`` when ``token``, ``target`` or a claim name is not a ``str``, or ``now`` not
    a ``datetime``."""
    with _clean():
        for name, value in (
            ("user-id-claim", user_id_claim),
            ("user-directory-claim", user_directory_claim),
        ):
            _typed(name, value, str | None)
        return tokens.lint(
            _typed("token", token, str),
            parse_target(_typed("target", target, str), allowed=JWT_TARGETS),
            now=_aware(now),
            user_id_claim=user_id_claim,
            user_directory_claim=user_directory_claim,
        )


_NOT_SETTINGS = frozenset({"self", "now", "jti", "given"})
_DURATIONS = frozenset({"expires_in", "clock_skew", "timeout"})
_LISTS = frozenset({"groups"})
_MAPPINGS = frozenset({"attributes"})
_BOOLEANS = frozenset({"email_verified", "assertion_only"})


class _clean:  # noqa: N801 (used as a function: ``with _clean():``)
    """An error leaves the API without the frames below this one: their locals (a key's text,
    a passphrase, an assertion) would show in a traceback printed with its locals. A class,
    not ``contextlib.contextmanager``, which re-raises the error with its frames."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, _kind: object, error: BaseException | None, _frames: object) -> None:
        if isinstance(error, Exception):
            raise error.with_traceback(None) from None


def _source(private_key: object, passphrase: object) -> KeySource:
    """The key as given, held where ``repr`` does not show it; checked for type later."""
    if isinstance(private_key, str | bytes):
        return KeySource(private_key=private_key, passphrase=passphrase)  # type: ignore[arg-type]
    return KeySource(key_object=private_key, passphrase=passphrase)  # type: ignore[arg-type]


def _typed(name: str, value: Any, kind: Any) -> Any:  # noqa: ANN401 (any argument)
    """``value`` if it is of ``kind`` (a type or a union), else a TypeError naming the argument
    (never its value)."""
    if not isinstance(value, kind):
        raise TypeError(f"{name}: expected {_kind_name(kind)}, got {type(value).__name__}")
    return value


def _kind_name(kind: Any) -> str:  # noqa: ANN401
    """``str``, ``str | bytes | None``: the type as an annotation writes it."""
    if isinstance(kind, type):
        return kind.__name__
    return " | ".join(_kind_name(part) for part in getattr(kind, "__args__", (kind,)))


def _values(arguments: Mapping[str, object]) -> dict[str, RawValue]:
    """Keyword arguments as the input table's text values (``user_id`` -> ``user-id``), each
    of the type its annotation names first (``TypeError`` otherwise)."""
    values: dict[str, RawValue] = {}
    for key, value in arguments.items():
        if key == "now":
            _typed("now", value, dt.datetime | None)
        if key in _NOT_SETTINGS or value is None:
            continue
        values[key.replace("_", "-")] = _text(key, value)
    return values


def _text(key: str, value: object) -> RawValue:
    name = key  # a TypeError names the keyword argument as the caller wrote it
    if key in _BOOLEANS:
        return "true" if _typed(name, value, bool | str) is True else str(value).lower()
    if key in _DURATIONS:
        if isinstance(value, dt.timedelta):
            return f"{int(value.total_seconds())}s"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value}s"
        return _typed(name, value, str)  # type: ignore[no-any-return]
    if key in _MAPPINGS:
        mapping = _typed(name, value, Mapping)
        return [f"{_typed(name, k, str)}={_typed(name, v, str)}" for k, v in mapping.items()]
    if key in _LISTS:
        return _strings(name, value)
    return _typed(name, value, str)  # type: ignore[no-any-return]


def _strings(name: str, value: object) -> list[str]:
    """A list argument: an iterable of ``str``, never one ``str`` or ``bytes`` (whose letters
    or byte values would become the items)."""
    if isinstance(value, str | bytes | bytearray | Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{name}: expected a list of str, got {type(value).__name__}")
    return [_typed(name, item, str) for item in value]


def _aware(now: dt.datetime | None) -> dt.datetime:
    """``now``, which must carry a timezone: a naive time would be read as local time."""
    if now is None:
        return dt.datetime.now(dt.UTC)
    _typed("now", now, dt.datetime)
    if now.tzinfo is None or now.utcoffset() is None:
        raise InputError(
            "is a naive datetime", input_name="now", hint="use e.g. datetime.now(timezone.utc)"
        )
    return now
