"""Trading a client assertion for a Qlik Cloud access token at ``/oauth/token``.

The request travels through ``qsjwt.net.transport`` (TLS, proxies, no redirects, the deadline;
imported by the commands that talk to Qlik, never by minting). Each attempt signs a new
assertion (new ``jti``), so a retry can never be refused as a replay.

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
import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from qsjwt.base.errors import QlikRefusedError, QlikUnreachableError, QsjwtError
from qsjwt.base.inputs import PRIVATE_KEY
from qsjwt.net.connection import TENANT
from qsjwt.net.transport import (
    MAX_BODY,
    TENANT_HINT,
    Clock,
    Failure,
    MalformedAnswerError,
    Transport,
    answer_date,
    error_parts,
    given_up,
    network_failure,
    opener,
    read_json,
    retry_after,
    retrying,
)
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
CLOCK_SKEW_NOTICE = 10
"""Seconds between Qlik's ``Date`` and ours that a refusal blames on the clock (the header has
one-second resolution and the request takes a moment: less is noise)."""
_PRINTABLE_TOKEN = re.compile(r"[\x21-\x7e]+")


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
    director = opener(transport)

    def attempt(number: int) -> AccessToken | Failure:
        body, content_type = token_request(settings, make_assertion(clock.wall()))
        request = urllib.request.Request(  # noqa: S310 (https only: the URL is built by oauth)
            settings.token_url,
            data=body,
            method="POST",
            headers={"Content-Type": content_type, "Accept": "application/json"},
        )
        try:
            with director.open(request, timeout=transport.timeout) as response:
                payload = response.read(MAX_BODY + 1)
                skew = _skew(response.headers, clock.wall())
            return _issued(payload, response.headers, skew, number, clock.wall())
        except urllib.error.HTTPError as answer:
            with answer:
                return _answered(answer, settings, clock.wall())
        except (OSError, http.client.HTTPException) as err:
            return network_failure(err)

    outcome, attempts, elapsed = retrying(attempt, deadline=transport.deadline, clock=clock)
    if not isinstance(outcome, Failure):
        return outcome
    if outcome.retry_after is None:
        raise outcome.error
    raise given_up(outcome, attempts, elapsed, transport.deadline)


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


def _answered(answer: urllib.error.HTTPError, settings: Settings, now: dt.datetime) -> Failure:
    status = answer.code
    try:
        body = answer.read(MAX_BODY + 1)
    except (OSError, http.client.HTTPException):
        body = b""
    if status != 429 and status < 500:
        return Failure(_refusal(status, body, settings, _skew(answer.headers, now)), None)
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
    return Failure(error, asked or 0.0, asked)


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
        return refused("there is no OAuth token endpoint at this host", TENANT, TENANT_HINT)
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


_LOOKUP_HINT = (
    "the user must already exist in the tenant: check the field (subject or userId) and value"
)
_CREDENTIALS_HINT = (
    "check the client-id (the client's ID, not its name), that the client's Public key holds "
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
        TENANT_HINT + " (region included; an alias host is a different audience)",
    ),
    (
        ("kid", "no matching key", "key not found", "unknown key", "no key"),
        KEY_ID,
        "no key registered in the client has this kid",
        "give the kid of the JWK in the client's Public key, or leave key-id empty and register "
        "the JWK that qs-jwt jwk prints for this key",
    ),
    (
        ("signature",),
        PRIVATE_KEY,
        "the signature did not verify against the registered key",
        "sign with the private key whose JWK is registered; the JWK's alg must be the algorithm "
        "used (RS256 for RSA unless algorithm is set)",
    ),
    (
        ("expired", "not yet valid", "iat", "exp", "lifetime", "issued in the future"),
        EXPIRES_IN,
        "the assertion's times were refused",
        "check this machine's clock; expires-in may be at most 5m",
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


def _skew(headers: Message, now: dt.datetime) -> int | None:
    """Qlik's clock minus ours, whole seconds (positive: ours is behind)."""
    theirs = answer_date(headers)
    return None if theirs is None else round((theirs - now).total_seconds())


def _json(payload: bytes) -> dict[str, Any] | None:
    try:
        return read_json(payload, limit=MAX_BODY)
    except MalformedAnswerError:
        return None
