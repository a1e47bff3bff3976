"""Trading a client assertion for a Qlik Cloud access token at ``/oauth/token``.

The standard library's HTTP client only (imported by the commands that talk to Qlik, never by
minting): TLS verification is on unless the user asks otherwise (``ca_bundle`` names the CAs
to trust; ``verify=False`` comes only from the ``insecure`` input, which warns on every run),
redirects are never followed (the assertion is bound to one host), proxies come from the usual
environment variables unless given. Each attempt signs a new assertion (new ``jti``), so a
retry can never be refused as a replay.

Retries: 429 (after ``Retry-After`` when it fits), 5xx, time-outs and dropped connections, with
exponential back-off and jitter, within ``Transport.deadline`` (60 s by default): no attempt
starts, and no wait begins, that would end past it. Qlik's token endpoint is Tier 2 (100
requests a minute).

A refusal becomes a QlikRefusedError (exit code 3) that says what to change; a network, TLS or
time-out failure a QlikUnreachableError (exit code 4). No message ever holds the assertion, the
access token or the answer's body: only the status, short known error codes and, for a clock
problem, how far the clocks differ. Sources: shared/reference/qlik-oauth-and-live.md §A4.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import errno
import http.client
import json
import random
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from qsjwt._version import __version__
from qsjwt.base.display import one_line, path_for_message
from qsjwt.base.errors import (
    InputError,
    QlikRefusedError,
    QlikUnreachableError,
    QsjwtError,
    ref,
)
from qsjwt.base.inputs import PRIVATE_KEY
from qsjwt.net.connection import CA_BUNDLE, TENANT, Connection
from qsjwt.net.record import Exchange, Observer, Recorder, scrub
from qsjwt.oauth.assertion import (
    CLIENT_ID,
    EXPIRES_IN,
    KEY_ID,
    SCOPE,
    USER_LOOKUP,
    Grant,
    assertion_header,
    build_assertion,
    new_jti,
)
from qsjwt.oauth.assertion import OAuthSettings as Settings
from qsjwt.signing.jwk import thumbprint
from qsjwt.signing.keys import LoadedKey

BEARER = "Bearer"
"""How ``Authorization`` spells the scheme, whatever case Qlik's ``token_type`` uses."""
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_DEADLINE = 60.0
"""Seconds from the first request to giving up: what the issue allows at most by default."""
DEFAULT_TIMEOUT = 15.0
"""Seconds one request may wait on the network (urllib applies it to each socket operation)."""
BACKOFF_BASE = 1.0
BACKOFF_CAP = 10.0
CLOCK_SKEW_NOTICE = 10
"""Seconds between Qlik's ``Date`` and ours that a refusal blames on the clock (the header has
one-second resolution and the request takes a moment: less is noise)."""
MAX_BODY = 64 * 1024
"""Bytes of an answer read at most: a token response is well under 8 KB."""

_QLIK_CODE = re.compile(r"[A-Z][A-Z0-9]{0,15}(?:-[A-Z0-9]{1,15}){0,3}-[0-9]{1,5}")
"""Qlik's own error codes (``OAUTH-1``, ``CSRF-TOKEN-2``): short, and safe to repeat."""
RFC_CODES = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "invalid_scope",
        "unauthorized_client",
        "unsupported_grant_type",
        "unsupported_client_assertion_type",
        "access_denied",
        "server_error",
        "temporarily_unavailable",
    }
)
"""RFC 6749 §5.2 codes, and the assertion-type one Qlik's tutorial names."""
_PRINTABLE_TOKEN = re.compile(r"[\x21-\x7e]+")
_WORD = re.compile(r"[a-z0-9_]+")
MIN_ATTEMPT_TIME = 1.0
"""Seconds left before the deadline below which no new request starts."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Transport:
    """How requests travel. ``proxies``: None reads the usual environment variables
    (``https_proxy``, ``no_proxy``...); an empty mapping uses none."""

    ca_bundle: str | None = None
    """a PEM file of the CA certificates to trust instead of the system's, as ``curl --cacert``
    (a TLS-inspecting proxy's CA, say)"""
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    proxies: Mapping[str, str] | None = None
    verify: bool = True
    """False: TLS certificates are not checked (the ``insecure`` input)"""

    @classmethod
    def of(cls, connection: Connection) -> Transport:
        """The transport the user's settings ask for."""
        return cls(
            ca_bundle=connection.ca_bundle,
            deadline=float(connection.timeout),
            timeout=min(DEFAULT_TIMEOUT, float(connection.timeout)),
            verify=not connection.insecure,
        )


@dataclass(frozen=True)
class Clock:
    """Time as the exchange sees it, replaceable in tests (no test waits for real)."""

    wall: Callable[[], dt.datetime] = _utc_now
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.SystemRandom().random
    """a number in [0, 1): spreads the retries of many jobs started together"""


@dataclass(frozen=True)
class AccessToken:
    """Qlik's answer; ``access_token`` is the credential (never in ``repr``)."""

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None
    """seconds from Qlik's answer; None only if Qlik gave neither expires_in nor expires_at"""
    expires_at: dt.datetime | None
    scope: str | None
    attempts: int
    clock_skew: int | None
    """Qlik's Date minus our clock, in seconds, when Qlik sent a Date"""


@dataclass(frozen=True)
class Facts:
    """What this tool knows about the assertion it sent: the local facts a refusal's likely
    causes are ranked by (Qlik's OAuth refusals rarely name the rule that failed)."""

    kid_is_thumbprint: bool | None = None
    """whether the ``kid`` sent is this key's RFC 7638 thumbprint (None: not known)"""
    algorithm: str | None = None


def token_request(settings: Settings, assertion: str) -> tuple[bytes, str]:
    """The body and its content type: a form for client credentials (as Qlik's tutorial),
    JSON for impersonation, whose ``user_lookup`` object has no documented form encoding."""
    fields: dict[str, Any] = {
        "grant_type": settings.grant.wire_name,
        "client_id": settings.client_id,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    if settings.scope:
        fields["scope"] = settings.scope
    if settings.grant is Grant.USER_IMPERSONATION:
        if settings.user_lookup is None:
            raise ValueError("user impersonation needs a user lookup")
        fields["user_lookup"] = settings.user_lookup.as_json()
        return json.dumps(fields).encode(), "application/json"
    return urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"


def exchange(
    settings: Settings,
    make_assertion: Callable[[dt.datetime], str],
    *,
    transport: Transport = Transport(),
    clock: Clock = Clock(),
    facts: Facts = Facts(),
    observe: Observer | None = None,
) -> AccessToken:
    """Post a new assertion (``make_assertion(now)``) to ``settings.token_url`` until Qlik
    issues an access token, refuses, or the deadline passes.

    Raises InputError (``ca-bundle``) before any request; what ``make_assertion`` raises
    (before the first request, for a key Qlik would not take); QlikRefusedError;
    QlikUnreachableError; QsjwtError for a token this tool cannot use (not bearer).
    """
    if transport.timeout <= 0 or transport.deadline <= 0:
        raise ValueError("timeout and deadline must be positive")
    director = opener(transport)
    start = clock.monotonic()
    attempt = 0
    while True:
        attempt += 1
        body, content_type = token_request(settings, make_assertion(clock.wall()))
        request = urllib.request.Request(  # noqa: S310 (https only: the URL is built by oauth)
            settings.token_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                "Accept": "application/json",
                "User-Agent": f"qs-jwt/{__version__}",
            },
        )
        began = clock.monotonic()
        remaining = transport.deadline - (began - start)
        try:
            with director.open(request, timeout=min(transport.timeout, remaining)) as response:
                payload = response.read(MAX_BODY + 1)
                skew = _skew(response.headers, clock.wall())
            if observe is not None:  # --record (the transport's observer, once it has one)
                observe(
                    _seen(
                        request,
                        response.status,
                        headers=response.headers,
                        body=payload,
                        clock=clock,
                        began=began,
                    )
                )
            return _issued(payload, response.headers, skew, attempt, clock.wall())
        except urllib.error.HTTPError as answer:
            with answer:
                failure = _answered(answer, settings, clock.wall(), facts)
                if observe is not None:
                    observe(
                        _seen(
                            request,
                            answer.code,
                            headers=answer.headers,
                            body=failure.body,
                            clock=clock,
                            began=began,
                        )
                    )
        except (OSError, http.client.HTTPException) as err:
            failure = network_failure(err)
        elapsed = clock.monotonic() - start
        if failure.retry_after is None:
            raise failure.error
        wait = max(failure.retry_after, backoff(attempt, clock.jitter()))
        if elapsed + wait + MIN_ATTEMPT_TIME > transport.deadline:
            raise _given_up(failure, attempt, elapsed, transport.deadline)
        clock.sleep(wait)


def _seen(
    request: urllib.request.Request,
    status: int,
    *,
    headers: Message,
    body: bytes,
    clock: Clock,
    began: float,
) -> Exchange:
    sent = request.data if isinstance(request.data, bytes) else None
    return Exchange(
        request.get_method(),
        request.full_url,
        status,
        headers,
        body,
        clock.monotonic() - began,
        dict(request.header_items()),
        sent,
    )


@dataclass(frozen=True)
class _Failure:
    error: QsjwtError
    retry_after: float | None
    """None: final; otherwise the least wait before trying again"""
    asked_wait: float | None = None
    """what Qlik's Retry-After asked for, if anything"""
    body: bytes = b""
    """the answer's body, for a transcript"""


def obtain_access_token(
    settings: Settings,
    key: LoadedKey,
    *,
    transport: Transport | None = None,
    clock: Clock = Clock(),
    record: Recorder | None = None,
) -> AccessToken:
    """Sign a new assertion with ``key`` for each attempt and trade it for an access token:
    what every shell does for the ``oauth`` target without ``assertion-only``. ``record``:
    every exchange goes into this transcript (``--record``), the settings' values redacted."""

    def assertion(now: dt.datetime) -> str:
        return build_assertion(settings, key, now=now, jti=new_jti()).token

    header = assertion_header(settings, key)
    facts = Facts(kid_is_thumbprint=header["kid"] == thumbprint(key.key), algorithm=header["alg"])
    if record is not None:
        record.redact(*_known(settings))
    return exchange(
        settings,
        assertion,
        transport=transport or Transport.of(settings.connection),
        clock=clock,
        facts=facts,
        observe=record,
    )


def opener(
    transport: Transport, *extra: urllib.request.BaseHandler
) -> urllib.request.OpenerDirector:
    """An HTTP client with the transport's TLS and proxy rules that never follows a redirect;
    ``extra`` handlers (a cookie jar) are added. Raises InputError for a bad ``ca-bundle``."""
    if not transport.verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the user's explicit choice, warned about
        return _build(transport, context, extra)
    try:
        context = ssl.create_default_context(cafile=transport.ca_bundle)
    except OSError as err:
        shown = path_for_message(transport.ca_bundle or "")
        if isinstance(err, ssl.SSLError):
            raise InputError(
                f"{shown} holds no PEM CA certificate",
                input_name=CA_BUNDLE,
                hint="give a PEM file of the CA that signs the certificate the server shows",
            ) from None
        raise InputError(
            f"{shown} cannot be read as a file", input_name=CA_BUNDLE, hint="give a PEM file"
        ) from None
    return _build(transport, context, extra)


def _build(
    transport: Transport, context: ssl.SSLContext, extra: tuple[urllib.request.BaseHandler, ...]
) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.ProxyHandler(None if transport.proxies is None else dict(transport.proxies)),
        urllib.request.HTTPSHandler(context=context),
        _NoRedirects(),
        *extra,
    )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to report, never a place to send the assertion."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:  # noqa: ANN401
        return None


def _issued(
    payload: bytes, headers: Message, skew: int | None, attempts: int, now: dt.datetime
) -> AccessToken:
    document = _json(payload) or {}
    token = document.get("access_token")
    if not isinstance(token, str) or not _PRINTABLE_TOKEN.fullmatch(token):
        raise QlikUnreachableError(
            "the answer to the token request is not Qlik's token response (no access token)",
            input_name=TENANT,
            hint="check the tenant host, and that no proxy answers in Qlik's place",
        )
    token_type = document.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise QsjwtError(
            "Qlik issued an access token that is not a bearer token; this tool cannot use it"
        )
    expires_in, expires_at = _expiry(document, answer_date(headers) or now)
    scope = document.get("scope")
    return AccessToken(
        access_token=token,
        token_type=BEARER,
        expires_in=expires_in,
        expires_at=expires_at,
        scope=scope if isinstance(scope, str) and scope.isprintable() else None,
        attempts=attempts,
        clock_skew=skew,
    )


def _expiry(document: dict[str, Any], issued: dt.datetime) -> tuple[int | None, dt.datetime | None]:
    """``expires_in`` (the tutorial's) or ``expires_at`` (the schema's, ISO 8601), each from
    the other when only one is given; ``issued`` is Qlik's Date when it sent one."""
    seconds = document.get("expires_in")
    stamp = document.get("expires_at")
    at = None
    if isinstance(stamp, str):
        try:
            at = dt.datetime.fromisoformat(stamp)
        except ValueError:
            at = None
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
    issued = issued.replace(microsecond=0)
    if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds >= 0:
        return seconds, at or issued + dt.timedelta(seconds=seconds)
    if at is not None:
        return max(0, int((at - issued).total_seconds())), at
    return None, None


def _answered(
    answer: urllib.error.HTTPError, settings: Settings, now: dt.datetime, facts: Facts
) -> _Failure:
    status = answer.code
    try:
        body = answer.read(MAX_BODY + 1)
    except (OSError, http.client.HTTPException):
        body = b""
    if status != 429 and status < 500:
        refused = _refusal(status, body, settings, _skew(answer.headers, now), facts)
        return _Failure(refused, None, body=body)
    error: QsjwtError
    if status == 429:
        error = QlikRefusedError(
            "Qlik limits the rate of token requests (HTTP 429)",
            hint="the token endpoint takes 100 requests a minute per tenant: mint once per job",
        )
    else:
        error = QlikUnreachableError(
            f"Qlik's token endpoint kept failing (HTTP {status})",
            hint="Qlik Cloud may be down: check status.qlik.com and try again later",
        )
    asked = retry_after(answer.headers, now)
    return _Failure(error, asked or 0.0, asked, body)


@dataclass(frozen=True)
class Said:
    """Qlik's answer as far as it may be shown: the status, Qlik's codes, and its first title
    and detail as given, scrubbed of anything that could be an id or a value."""

    status: int
    codes: tuple[str, ...] = ()
    title: str | None = None
    detail: str | None = None
    words: str = " "
    """titles and details, lower case and space-padded, for matching (never shown)"""

    @classmethod
    def of(cls, status: int, payload: bytes, known: Iterable[str] = ()) -> Said:
        codes, words = error_parts(payload)
        title = detail = None
        document = _json(payload) or {}
        errors = document.get("errors")
        entries = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
        for entry in [*entries, document]:
            for key in ("title", "error_description", "detail"):
                text = entry.get(key)
                if not isinstance(text, str) or not text.strip():
                    continue
                if key == "detail":
                    detail = detail or scrub(text.strip(), known)
                else:
                    title = title or scrub(text.strip(), known)
        codes = [code for code in codes if code != f"HTTP-{status}"] or codes
        return cls(status, tuple(codes[:3]), title, detail, words or " ")

    def __str__(self) -> str:
        """``401 OAUTH-5 'Unauthorized'``: the status, Qlik's codes, its title as given."""
        text = ", ".join([str(self.status), *self.codes])
        if self.title:
            text += " " + one_line(self.title, 120)
        if self.detail:
            text += f" (detail: {one_line(self.detail, 160)})"
        return text


@dataclass(frozen=True)
class Cause:
    """One likely cause of a refusal: the input to change, and how."""

    input_name: str | None
    text: str


def refusal(
    said: str,
    causes: Sequence[Cause],
    *,
    kind: type[QsjwtError] = QlikRefusedError,
    blame: bool = True,
) -> QsjwtError:
    """``said`` first (what Qlik answered), then the likely causes, most likely first; the
    error names the first cause's input, unless ``blame`` is False (Qlik gave no reason and
    no local fact singles one out)."""
    unique = list({cause.text: cause for cause in causes}.values())
    if len(unique) == 1:
        hint = unique[0].text
    else:
        hint = "likely causes, most likely first: " + "; ".join(
            f"({number}) {cause.text}" for number, cause in enumerate(unique, 1)
        )
    named = unique[0].input_name if unique and blame else None
    return kind(said, input_name=named, hint=hint or None)


def _refusal(
    status: int, body: bytes, settings: Settings, skew: int | None, facts: Facts
) -> QsjwtError:
    """Qlik's own words first, then the causes, ranked from what this tool knows (Qlik's
    generic ``OAUTH-5`` "Unauthorized" names none)."""
    said = Said.of(status, body, _known(settings))
    codes, words = said.codes, said.words
    what = f"Qlik refused the token request: HTTP {said}"

    def only(cause: Cause) -> QsjwtError:
        return refusal(what, [cause])

    if 300 <= status < 400:
        return only(
            Cause(
                TENANT,
                "it answered with a redirect, which is never followed: give the tenant's own "
                "host, region included, e.g. tenant.eu.qlikcloud.com",
            )
        )
    if status in (404, 405):
        return only(Cause(TENANT, "there is no OAuth token endpoint at this host: " + _TENANT_HINT))
    if "unsupported_client_assertion_type" in codes:
        return only(
            Cause(
                CLIENT_ID,
                "the OAuth client does not accept Private key JWT: set its authentication "
                "method to Private key JWT (allowedAuthMethods: private_key_jwt)",
            )
        )
    if {"unsupported_grant_type", "unauthorized_client"} & set(codes):
        return only(
            Cause(
                CLIENT_ID,
                "the OAuth client may not use this grant, or it is disabled: "
                + _GRANT_HINT[settings.grant],
            )
        )
    if "invalid_scope" in codes or " scope " in words or " scopes " in words:
        return only(
            Cause(
                SCOPE,
                "the scope is not allowed for this client: ask only for scopes the OAuth "
                "client has (leave scope empty to get all of them)",
            )
        )
    causes: list[Cause] = []
    if "OAUTH-14" in codes or any(f" {w} " in words for w in ("client_id", "client credentials")):
        causes += [_CLIENT, _AUDIENCE]
    matched = [
        cause
        for needles, cause in _BY_WORDS
        if any(f" {needle} " in words for needle in needles)
        and (cause.input_name != USER_LOOKUP or settings.grant is Grant.USER_IMPERSONATION)
    ]
    kid = _kid_cause(facts)
    matched = [kid if cause is _KID_WORDS else cause for cause in matched]
    if matched and matched[0] is _SIGNATURE and facts.kid_is_thumbprint is False:
        matched.insert(0, _KID_NOT_THUMBPRINT)  # the most common cause goes first
    clock_off = skew is not None and abs(skew) >= CLOCK_SKEW_NOTICE and status in (400, 401)
    if clock_off and skew is not None and not (matched and matched[0].input_name in _NOT_THE_CLOCK):
        direction = "behind" if skew > 0 else "ahead of"
        causes.append(
            Cause(
                None,
                f"this machine's clock is {abs(skew)} s {direction} Qlik's: set it right (NTP); "
                "an assertion is valid only from its iat to its exp",
            )
        )
    causes += matched
    if status == 403:
        causes.append(
            Cause(
                CLIENT_ID,
                "the client or the user is disabled, or the tenant's maximum number of tokens "
                "is reached: check in the Administration activity center that the OAuth "
                "client is enabled",
            )
        )
    if "invalid_grant" in codes and settings.grant is Grant.USER_IMPERSONATION:
        causes.append(
            Cause(USER_LOOKUP, "the user to impersonate was not accepted: " + _LOOKUP_HINT)
        )
    causes += _ranked_by_facts(settings, facts)
    return refusal(what, causes)


def _kid_cause(facts: Facts) -> Cause:
    if facts.kid_is_thumbprint is None:
        return _KID_WORDS
    return _KID_THUMBPRINT if facts.kid_is_thumbprint else _KID_NOT_THUMBPRINT


def _ranked_by_facts(settings: Settings, facts: Facts) -> list[Cause]:
    """Every cause of a credentials refusal, the likeliest first by what this tool knows."""
    kid = _kid_cause(facts)
    algorithm = Cause(
        PRIVATE_KEY,
        f"the registered JWK's alg must be the one used ({facts.algorithm or 'RS256'}), and the "
        "JWK this key's public key",
    )
    causes = [kid, algorithm, _AUDIENCE, _CLIENT]
    causes.append(
        Cause(
            CLIENT_ID,
            "the client must accept Private key JWT and be enabled"
            + (
                "; an impersonation client may need its client secret too (unconfirmed)"
                if settings.grant is Grant.USER_IMPERSONATION
                else ""
            ),
        )
    )
    return causes


def _known(settings: Settings) -> tuple[str, ...]:
    """The settings' values Qlik may echo: never repeated in a message."""
    values = [settings.client_id, settings.key_id, settings.tenant]
    if settings.user_lookup is not None:
        values.append(settings.user_lookup.value)
    return tuple(value for value in values if value)


_TENANT_HINT = "give the tenant's host exactly as Qlik shows it, e.g. tenant.eu.qlikcloud.com"
_LOOKUP_HINT = (
    "the user must already exist in the tenant: check the field (subject or userId) and value"
)
_GRANT_HINT = {
    Grant.CLIENT_CREDENTIALS: "use an enabled machine-to-machine (M2M) client for "
    "client-credentials",
    Grant.USER_IMPERSONATION: "use an enabled M2M impersonation client for user-impersonation",
}
_CLIENT = Cause(
    CLIENT_ID, f"{ref(CLIENT_ID)} must be the OAuth client's ID (not its name), in this tenant"
)
_AUDIENCE = Cause(
    TENANT,
    "the assertion's audience is https://TENANT/oauth/token: "
    + _TENANT_HINT
    + " (region included; an alias host is a different audience)",
)
_KID_NOT_THUMBPRINT = Cause(
    KEY_ID,
    f"the kid sent ({ref(KEY_ID)}) is not this key's RFC 7638 thumbprint: the client's Public "
    f"key must hold a JWK with exactly that kid, for this key; or leave {ref(KEY_ID)} empty and "
    "register the JWK that qs-jwt jwk prints",
)
_KID_THUMBPRINT = Cause(
    KEY_ID,
    "the kid sent is this key's RFC 7638 thumbprint: the client's Public key must hold the JWK "
    "qs-jwt jwk prints for this key, with that kid (a JWK registered under another kid is not "
    f"found; give that kid in {ref(KEY_ID)})",
)
_KID_WORDS = Cause(
    KEY_ID,
    f"no key registered in the client's Public key may have the kid sent ({ref(KEY_ID)}): "
    "register the JWK that qs-jwt jwk prints for this key, or give the registered JWK's kid in "
    f"{ref(KEY_ID)}",
)
"""The kid cause when the facts do not say whether the kid is the key's thumbprint."""
_SIGNATURE = Cause(
    PRIVATE_KEY,
    "the signature did not verify against the registered key: sign with the private key whose "
    "JWK is registered; the JWK's alg must be the algorithm used",
)
_BY_WORDS: tuple[tuple[tuple[str, ...], Cause], ...] = (
    (("audience",), _AUDIENCE),
    (("kid", "no matching key", "key not found", "unknown key", "no key"), _KID_WORDS),
    (("signature",), _SIGNATURE),
    (
        ("expired", "not yet valid", "iat", "exp", "lifetime", "issued in the future"),
        Cause(
            EXPIRES_IN,
            "the assertion's times were refused: check this machine's clock; "
            f"{ref(EXPIRES_IN)} may be at most 5m",
        ),
    ),
    (
        ("jti", "replay"),
        Cause(None, "the assertion's jti was seen before: every request needs a new assertion"),
    ),
    (
        ("disabled", "inactive"),
        Cause(
            CLIENT_ID,
            "the OAuth client (or the user) is disabled: enable it in the Administration "
            "activity center",
        ),
    ),
    (
        ("user", "user not found"),
        Cause(USER_LOOKUP, "the user to impersonate was not found: " + _LOOKUP_HINT),
    ),
)
"""Words of Qlik's titles and details, when they say more than Qlik's generic ``OAUTH-5``
"Unauthorized" (the tutorial's "Signature validation failed", "Invalid audience")."""
_NOT_THE_CLOCK = (TENANT, KEY_ID, PRIVATE_KEY)
"""Refusals a wrong clock cannot cause: they are reported even when the clocks differ."""


def error_parts(body: bytes) -> tuple[list[str], str]:
    """Known error codes (safe to show) and the words of titles and details, lower case and
    space-padded for whole-word matching (never shown), from Qlik's ``errors[]`` or an RFC 6749
    ``error``."""
    document = _json(body)
    if document is None:
        return [], ""
    entries: list[Any] = [document]
    errors = document.get("errors")
    if isinstance(errors, list):
        entries.extend(errors)
    codes: list[str] = []
    words: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for key in ("error", "code"):
            code = entry.get(key)
            if isinstance(code, str) and (code in RFC_CODES or _QLIK_CODE.fullmatch(code)):
                codes.append(code)
        for key in ("error_description", "title", "detail"):
            text = entry.get(key)
            if isinstance(text, str):
                words.extend(_WORD.findall(text.lower()))
    return list(dict.fromkeys(codes)), " " + " ".join(words) + " "


def network_failure(err: BaseException, host_input: str = TENANT) -> _Failure:
    """Whether a failure before any answer is worth another try, and what to tell;
    ``host_input`` is the input that names the host (``tenant``, or ``call``'s ``url``)."""
    reason: object = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, ssl.SSLCertVerificationError):
        what = (
            "the server's certificate is not for the host asked for"
            if reason.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH
            else "the server's certificate is not trusted"
        )
        return _Failure(
            QlikUnreachableError(
                f"TLS: {what}",
                input_name=CA_BUNDLE,
                hint="behind a TLS-inspecting proxy or a private CA, give its CA certificate in "
                f"{ref(CA_BUNDLE)}",
            ),
            None,
        )
    if isinstance(reason, ssl.SSLError) and not isinstance(reason, ssl.SSLEOFError):
        return _Failure(
            QlikUnreachableError(
                "TLS: the handshake with the server failed",
                input_name=host_input,
                hint="check the host and any proxy between here and Qlik",
            ),
            None,
        )
    if isinstance(reason, socket.gaierror):
        error = QlikUnreachableError(
            "the host name does not resolve",
            input_name=host_input,
            hint=(_TENANT_HINT if host_input == TENANT else f"check the host in {ref(host_input)}")
            + "; a proxy needs https_proxy set",
        )
        return _Failure(error, 0.0 if reason.errno == socket.EAI_AGAIN else None)
    if isinstance(reason, TimeoutError):
        what = "the request timed out"
    elif isinstance(reason, ConnectionError | ssl.SSLEOFError | http.client.IncompleteRead):
        what = "the connection was " + (
            "refused" if isinstance(reason, ConnectionRefusedError) else "dropped"
        )
    elif isinstance(reason, http.client.HTTPException):
        return _Failure(
            QlikUnreachableError(
                "the server at this host did not answer in HTTP",
                input_name=host_input,
                hint=_TENANT_HINT if host_input == TENANT else f"check {ref(host_input)}",
            ),
            None,
        )
    else:
        code = errno.errorcode.get(getattr(reason, "errno", None) or 0)
        return _Failure(
            QlikUnreachableError(
                "could not connect" + (f" ({code})" if code else ""),
                input_name=host_input,
                hint="check the host, the network and any proxy (https_proxy, no_proxy)",
            ),
            None,
        )
    return _Failure(
        QlikUnreachableError(
            f"could not reach Qlik: {what}",
            input_name=host_input,
            hint="check the host, the network and any proxy (https_proxy, no_proxy)",
        ),
        0.0,
    )


def _given_up(failure: _Failure, attempts: int, elapsed: float, deadline: float) -> QsjwtError:
    error = failure.error
    if failure.asked_wait is not None and failure.asked_wait > deadline - elapsed:
        tail = f"Qlik asked to wait {failure.asked_wait:.0f} s, past the {deadline:.0f} s limit"
    else:
        tail = f"gave up after {attempts} attempt{'s' if attempts > 1 else ''} in {elapsed:.0f} s"
    return type(error)(error.message + f"; {tail}", input_name=error.input_name, hint=error.hint)


def backoff(attempt: int, jitter: float) -> float:
    """Equal jitter: half the exponential step always, the other half at random."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (attempt - 1))
    return step / 2 + step / 2 * jitter


def retry_after(headers: Message, now: dt.datetime) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), or None if absent or unreadable."""
    value = (headers.get("Retry-After") or "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def answer_date(headers: Message) -> dt.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(headers.get("Date") or "")
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None


def _skew(headers: Message, now: dt.datetime) -> int | None:
    """Qlik's clock minus ours, whole seconds (positive: ours is behind)."""
    theirs = answer_date(headers)
    return None if theirs is None else round((theirs - now).total_seconds())


def _json(payload: bytes) -> dict[str, Any] | None:
    if len(payload) > MAX_BODY:
        return None
    try:
        document = json.loads(payload)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
