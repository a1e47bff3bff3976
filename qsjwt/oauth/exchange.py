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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from qsjwt._version import __version__
from qsjwt.base.display import path_for_message
from qsjwt.base.errors import (
    InputError,
    QlikRefusedError,
    QlikUnreachableError,
    QsjwtError,
    ref,
)
from qsjwt.base.inputs import PRIVATE_KEY
from qsjwt.net.connection import CA_BUNDLE, TENANT, Connection
from qsjwt.oauth.assertion import (
    CLIENT_ID,
    EXPIRES_IN,
    KEY_ID,
    SCOPE,
    USER_LOOKUP,
    Grant,
    build_assertion,
    new_jti,
)
from qsjwt.oauth.assertion import OAuthSettings as Settings
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
        remaining = transport.deadline - (clock.monotonic() - start)
        try:
            with director.open(request, timeout=min(transport.timeout, remaining)) as response:
                payload = response.read(MAX_BODY + 1)
                skew = _skew(response.headers, clock.wall())
            return _issued(payload, response.headers, skew, attempt, clock.wall())
        except urllib.error.HTTPError as answer:
            with answer:
                failure = _answered(answer, settings, clock.wall())
        except (OSError, http.client.HTTPException) as err:
            failure = network_failure(err)
        elapsed = clock.monotonic() - start
        if failure.retry_after is None:
            raise failure.error
        wait = max(failure.retry_after, backoff(attempt, clock.jitter()))
        if elapsed + wait + MIN_ATTEMPT_TIME > transport.deadline:
            raise _given_up(failure, attempt, elapsed, transport.deadline)
        clock.sleep(wait)


@dataclass(frozen=True)
class _Failure:
    error: QsjwtError
    retry_after: float | None
    """None: final; otherwise the least wait before trying again"""
    asked_wait: float | None = None
    """what Qlik's Retry-After asked for, if anything"""


def obtain_access_token(
    settings: Settings,
    key: LoadedKey,
    *,
    transport: Transport | None = None,
    clock: Clock = Clock(),
) -> AccessToken:
    """Sign a new assertion with ``key`` for each attempt and trade it for an access token:
    what every shell does for the ``oauth`` target without ``assertion-only``."""

    def assertion(now: dt.datetime) -> str:
        return build_assertion(settings, key, now=now, jti=new_jti()).token

    return exchange(
        settings, assertion, transport=transport or Transport.of(settings.connection), clock=clock
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


def _answered(answer: urllib.error.HTTPError, settings: Settings, now: dt.datetime) -> _Failure:
    status = answer.code
    try:
        body = answer.read(MAX_BODY + 1)
    except (OSError, http.client.HTTPException):
        body = b""
    if status != 429 and status < 500:
        return _Failure(_refusal(status, body, settings, _skew(answer.headers, now)), None)
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
    return _Failure(error, asked or 0.0, asked)


def _refusal(status: int, body: bytes, settings: Settings, skew: int | None) -> QlikRefusedError:
    """What to change, from the status, the error codes and the words Qlik uses (matched, never
    repeated)."""
    codes, words = error_parts(body)
    shown = ", ".join([str(status), *codes[:3]])
    said = f"Qlik refused the token request (HTTP {shown})"

    def refused(what: str, input_name: str | None, hint: str) -> QlikRefusedError:
        return QlikRefusedError(f"{said}: {what}", input_name=input_name, hint=hint)

    if 300 <= status < 400:
        return refused(
            "it answered with a redirect, which is never followed",
            TENANT,
            "give the tenant's own host, region included, e.g. tenant.eu.qlikcloud.com",
        )
    if status in (404, 405):
        return refused("there is no OAuth token endpoint at this host", TENANT, _TENANT_HINT)
    if "unsupported_client_assertion_type" in codes:
        return refused(
            "the OAuth client does not accept Private key JWT",
            CLIENT_ID,
            "set the client's authentication method to Private key JWT "
            "(allowedAuthMethods: private_key_jwt)",
        )
    if {"unsupported_grant_type", "unauthorized_client"} & set(codes):
        return refused(
            "the OAuth client may not use this grant, or it is disabled",
            CLIENT_ID,
            _GRANT_HINT[settings.grant],
        )
    if "invalid_scope" in codes or " scope " in words or " scopes " in words:
        return refused(
            "the scope is not allowed for this client",
            SCOPE,
            "ask only for scopes the OAuth client has (leave scope empty to get all of them)",
        )
    matched = next(
        (
            entry
            for entry in _BY_WORDS
            if any(f" {needle} " in words for needle in entry[0])
            and (entry[1] != USER_LOOKUP or settings.grant is Grant.USER_IMPERSONATION)
        ),
        None,
    )
    clock_off = skew is not None and abs(skew) >= CLOCK_SKEW_NOTICE and status in (400, 401)
    if skew is not None and clock_off and (matched is None or matched[1] not in _NOT_THE_CLOCK):
        direction = "behind" if skew > 0 else "ahead of"
        return refused(
            f"this machine's clock is {abs(skew)} s {direction} Qlik's",
            None,
            "set the clock right (NTP): an assertion is valid only from its iat to its exp",
        )
    if matched is not None:
        _, input_name, what, hint = matched
        return refused(what, input_name, hint)
    if status == 403:
        return refused(
            "the client or the user is disabled, or the tenant's maximum number of tokens is "
            "reached",
            CLIENT_ID,
            "check in the Administration activity center that the OAuth client is enabled",
        )
    if "invalid_grant" in codes and settings.grant is Grant.USER_IMPERSONATION:
        return refused("the user to impersonate was not accepted", USER_LOOKUP, _LOOKUP_HINT)
    return refused("the client's credentials were not accepted", CLIENT_ID, _CREDENTIALS_HINT)


_TENANT_HINT = "give the tenant's host exactly as Qlik shows it, e.g. tenant.eu.qlikcloud.com"
_LOOKUP_HINT = (
    "the user must already exist in the tenant: check the field (subject or userId) and value"
)
_CREDENTIALS_HINT = (
    f"check {ref(CLIENT_ID)} (the client's ID, not its name), that the client's Public key holds "
    "this key's JWK with the same kid, that it accepts Private key JWT and is enabled, and the "
    "tenant host"
)
_GRANT_HINT = {
    Grant.CLIENT_CREDENTIALS: "use an enabled machine-to-machine (M2M) client for "
    "client-credentials",
    Grant.USER_IMPERSONATION: "use an enabled M2M impersonation client for user-impersonation",
}
_BY_WORDS: tuple[tuple[tuple[str, ...], str | None, str, str], ...] = (
    (
        ("audience",),
        TENANT,
        "the assertion's audience is not this tenant's token URL",
        _TENANT_HINT + " (region included; an alias host is a different audience)",
    ),
    (
        ("kid", "no matching key", "key not found", "unknown key", "no key"),
        KEY_ID,
        "no key registered in the client has this kid",
        "give the kid of the JWK in the client's Public key, or leave "
        f"{ref(KEY_ID)} empty and register the JWK that qs-jwt jwk prints for this key",
    ),
    (
        ("signature",),
        PRIVATE_KEY,
        "the signature did not verify against the registered key",
        "sign with the private key whose JWK is registered; the JWK's alg must be the algorithm "
        f"used (RS256 for RSA unless {ref('algorithm')} is set)",
    ),
    (
        ("expired", "not yet valid", "iat", "exp", "lifetime", "issued in the future"),
        EXPIRES_IN,
        "the assertion's times were refused",
        f"check this machine's clock; {ref(EXPIRES_IN)} may be at most 5m",
    ),
    (
        ("jti", "replay"),
        None,
        "the assertion's jti was seen before",
        "every request needs a new assertion: never reuse one",
    ),
    (
        ("disabled", "inactive"),
        CLIENT_ID,
        "the OAuth client (or the user) is disabled",
        "enable the client in the Administration activity center",
    ),
    (
        ("user", "user not found"),
        USER_LOOKUP,
        "the user to impersonate was not found",
        _LOOKUP_HINT,
    ),
)
"""Words of Qlik's titles and details, in the order that decides: the tutorial's
troubleshooting strings ("Signature validation failed", "Invalid audience") first."""
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
