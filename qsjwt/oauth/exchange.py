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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from qsjwt.base.display import one_line
from qsjwt.base.errors import (
    QlikMalformedAnswerError,
    QlikRefusedError,
    QlikUnreachableError,
    QsjwtError,
    ref,
)
from qsjwt.base.inputs import PRIVATE_KEY
from qsjwt.net.connection import TENANT
from qsjwt.net.record import Exchange, Observer, Recorder, scrub
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
    OAuthSettings,
    assertion_header,
    build_assertion,
    new_assertion_jti,
)
from qsjwt.signing.jwk import thumbprint
from qsjwt.signing.keys import LoadedKey

BEARER = "Bearer"
"""How ``Authorization`` spells the scheme, whatever case Qlik's ``token_type`` uses."""
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW_NOTICE = 10
"""Seconds between Qlik's ``Date`` and ours that a refusal blames on the clock (the header has
one-second resolution and the request takes a moment: less is noise)."""


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


def token_request(settings: OAuthSettings, assertion: str) -> tuple[bytes, str]:
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
    settings: OAuthSettings,
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
    QlikUnreachableError; QlikMalformedAnswerError for an answer outside the token grammar
    (an access token, token type, lifetime or scope a hostile peer made up).
    """
    director = opener(transport)

    def attempt(number: int) -> AccessToken | Failure[QsjwtError]:
        body, content_type = token_request(settings, make_assertion(clock.wall()))
        request = urllib.request.Request(  # noqa: S310 (https only: the URL is built by oauth)
            settings.token_url,
            data=body,
            method="POST",
            headers={"Content-Type": content_type, "Accept": "application/json"},
        )
        began = clock.monotonic()
        try:
            with director.open(request, timeout=transport.timeout) as response:
                payload = response.read(MAX_BODY + 1)
                skew = _skew(response.headers, clock.wall())
            if observe is not None:  # --record
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
            return _issued(payload, response.headers, skew, number, clock.wall())
        except urllib.error.HTTPError as answer:
            with answer:
                failure, said = _answered(answer, settings, clock.wall(), facts)
                if observe is not None:
                    observe(
                        _seen(
                            request,
                            answer.code,
                            headers=answer.headers,
                            body=said,
                            clock=clock,
                            began=began,
                        )
                    )
            return failure
        except (OSError, http.client.HTTPException) as err:
            return network_failure(err)

    outcome, attempts, elapsed = retrying(attempt, deadline=transport.deadline, clock=clock)
    if not isinstance(outcome, Failure):
        return outcome
    if outcome.retry_after is None:
        raise outcome.error
    raise given_up(outcome, attempts, elapsed, transport.deadline)


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


def obtain_access_token(
    settings: OAuthSettings,
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
        return build_assertion(settings, key, now=now, jti=new_assertion_jti()).token

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


def _issued(
    payload: bytes, headers: Message, skew: int | None, attempts: int, now: dt.datetime
) -> AccessToken:
    """Qlik's token response held to RFC 6749/6750 before any of it can be printed or output:
    a hostile peer's ``::error::`` access token or scope would become a workflow command."""
    document = _json(payload) or {}
    token = document.get("access_token")
    if not isinstance(token, str) or not token:
        raise QlikUnreachableError(
            "the answer to the token request is not Qlik's token response (no access token)",
            input_name=TENANT,
            hint="check the tenant host, and that no proxy answers in Qlik's place",
        )
    if not _B64TOKEN.fullmatch(token):
        raise _malformed("its access token is not in the bearer token grammar (RFC 6750)")
    token_type = document.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise _malformed("its token type is not Bearer, the only kind this tool can use")
    expires_in, expires_at = _expiry(document, answer_date(headers) or now)
    scope = document.get("scope")
    if scope is not None and not (
        isinstance(scope, str) and len(scope) <= _MAX_SCOPE and _SCOPE.fullmatch(scope)
    ):
        raise _malformed("its scope is not a list of scope names (RFC 6749, section 3.3)")
    return AccessToken(
        access_token=token,
        token_type=BEARER,
        expires_in=expires_in,
        expires_at=expires_at,
        scope=scope or None,
        attempts=attempts,
        clock_skew=skew,
    )


def _expiry(document: dict[str, Any], issued: dt.datetime) -> tuple[int | None, dt.datetime | None]:
    """``expires_in`` (the tutorial's) or ``expires_at`` (the schema's, ISO 8601), each from
    the other when only one is given; ``issued`` is Qlik's Date when it sent one. A lifetime
    over ``MAX_LIFETIME`` (``3e11``, year 9999 at -14:00) is a malformed answer, not a date
    that overflows."""
    seconds = document.get("expires_in")
    stamp = document.get("expires_at")
    issued = issued.replace(microsecond=0)
    at = None
    if isinstance(stamp, str):
        try:
            at = dt.datetime.fromisoformat(stamp)
            at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
        except ValueError:
            at = None
        except OverflowError:  # year 9999 at -14:00 is year 10000 in UTC
            raise _malformed("its expires_at is more than a year away") from None
        if at is not None and abs(at - issued) > MAX_LIFETIME:
            raise _malformed("its expires_at is more than a year away")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        if seconds > MAX_LIFETIME.total_seconds():
            raise _malformed("its expires_in is more than a year")
        return int(seconds), at or issued + dt.timedelta(seconds=int(seconds))
    if at is not None:
        return max(0, int((at - issued).total_seconds())), at
    return None, None


MAX_LIFETIME = dt.timedelta(days=366)
"""The longest lifetime an access token's answer may state (Qlik's last hours): more is a
malformed answer, never a date computed past year 9999."""
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
"""RFC 6750's b64token: what ``Authorization: Bearer`` can carry, and nothing a runner or a
terminal reads as a command."""
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
"""RFC 6749's scope: scope tokens of printable ASCII but quote and backslash, one space apart."""
_MAX_SCOPE = 4096


def _malformed(what: str) -> QlikMalformedAnswerError:
    return QlikMalformedAnswerError(
        f"the token endpoint answered, but not as Qlik does: {what}; nothing of it is output",
        input_name=TENANT,
        hint="check the tenant host, and that no proxy answers in Qlik's place",
    )


def _answered(
    answer: urllib.error.HTTPError, settings: OAuthSettings, now: dt.datetime, facts: Facts
) -> tuple[Failure[QsjwtError], bytes]:
    """Qlik's refusal or failure, and the answer's body (for a transcript)."""
    status = answer.code
    try:
        body = answer.read(MAX_BODY + 1)
    except (OSError, http.client.HTTPException):
        body = b""
    if status != 429 and status < 500:
        refused = _refusal(status, body, settings, _skew(answer.headers, now), facts)
        return Failure(refused, None), body
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
    return Failure(error, asked or 0.0, asked), body


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
    status: int, body: bytes, settings: OAuthSettings, skew: int | None, facts: Facts
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
        return only(Cause(TENANT, "there is no OAuth token endpoint at this host: " + TENANT_HINT))
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


def _ranked_by_facts(settings: OAuthSettings, facts: Facts) -> list[Cause]:
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


def _known(settings: OAuthSettings) -> tuple[str, ...]:
    """The settings' values Qlik may echo: never repeated in a message."""
    values = [settings.client_id, settings.key_id, settings.tenant]
    if settings.user_lookup is not None:
        values.append(settings.user_lookup.value)
    return tuple(value for value in values if value)


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
    + TENANT_HINT
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


def _skew(headers: Message, now: dt.datetime) -> int | None:
    """Qlik's clock minus ours, whole seconds (positive: ours is behind)."""
    theirs = answer_date(headers)
    return None if theirs is None else round((theirs - now).total_seconds())


def _json(payload: bytes) -> dict[str, Any] | None:
    try:
        return read_json(payload, limit=MAX_BODY)
    except MalformedAnswerError:
        return None
