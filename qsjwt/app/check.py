"""``check``: prove that Qlik takes a token, and learn who Qlik thinks the user is.

Each target has its least privileged proof (shared/reference/qlik-oauth-and-live.md §A5, B, C):

- QSEoW: ``GET <proxy>/qps/user`` with the token and a random Xrfkey pair, the proxy's Personal
  API, which answers with the user the proxy logged in; then ``DELETE <proxy>/qps/user`` with
  the session it made, so probes do not use up the user's parallel sessions (five by default).
- Qlik Cloud JWT identity provider: ``POST /login/jwt-session`` with a probe token (its own
  ``jti``: a token is single-use, so the one a step outputs is never spent here), then
  ``GET /api/v1/users/me`` with the session's cookies.
- OAuth: the exchange, then ``GET /api/v1/users/me`` with the access token.

Every failure names what to change. Qlik's JWT refusals say little (a QSEoW proxy gives no
reason at all), so the probe also compares Qlik's clock (its ``Date``) with this one, and lists
the settings that can cause what it saw. No token, cookie or answer body is ever shown: only
statuses, Qlik's short error codes, and the user Qlik names.
"""

from __future__ import annotations

import datetime as dt
import http.client
import http.cookiejar
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from qsjwt._version import __version__
from qsjwt.app.call import new_xrfkey
from qsjwt.base.errors import QlikRefusedError, QlikUnreachableError, QsjwtError, ref
from qsjwt.login.settings import CloudSettings, QseowSettings
from qsjwt.net.connection import TENANT, VIRTUAL_PROXY_URL
from qsjwt.net.transport import (
    MAX_BODY,
    MalformedAnswerError,
    Transport,
    answer_date,
    backoff,
    error_parts,
    network_failure,
    opener,
    read_json,
    retry_after,
)
from qsjwt.oauth.assertion import OAuthSettings
from qsjwt.oauth.exchange import CLOCK_SKEW_NOTICE

USERS_ME = "/api/v1/users/me"
JWT_SESSION = "/login/jwt-session"
PERSONAL_API = "/qps/user"

_CERTIFICATE = "certificate"
_PRIVATE_KEY = "private-key"
_CLAIMS = ("user-id-claim", "user-directory-claim")


@dataclass(frozen=True)
class Proof:
    """What Qlik said: the user it logged in, and how far its clock is from ours."""

    user: str
    """as Qlik names the user: DIRECTORY\\userId (QSEoW), or the subject (Qlik Cloud)"""
    details: dict[str, str]
    clock_skew: int | None
    """Qlik's Date minus our clock, in seconds, when Qlik sent a Date"""
    calls: tuple[str, ...]
    """what was called, in order, e.g. ``GET /jwt/qps/user``"""
    notes: tuple[str, ...] = ()
    """what did not go as planned but does not fail the check (a logout refused)"""


@dataclass
class _Session:
    """One probe's HTTP client: cookies kept, no redirects, the user's TLS and proxy rules."""

    transport: Transport
    clock: Callable[[], dt.datetime]
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)
    calls: list[str] = field(default_factory=list)
    skew: int | None = None

    def __post_init__(self) -> None:
        self.opener = opener(self.transport, urllib.request.HTTPCookieProcessor(self.jar))

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        host_input: str,
    ) -> tuple[int, dict[str, Any] | None, Message]:
        """(status, JSON document or None, headers); an HTTP error status is returned, not
        raised; a network failure raises QlikUnreachableError naming ``host_input``."""
        request = urllib.request.Request(  # noqa: S310 (https only: checked by connection)
            url,
            method=method,
            data=b"" if method in ("POST", "DELETE") else None,
            headers={
                "Accept": "application/json",
                "User-Agent": f"qs-jwt/{__version__}",
                **headers,
            },
        )
        self.calls.append(f"{method} {urllib.parse.urlsplit(url).path}")
        try:
            with self.opener.open(request, timeout=self.transport.timeout) as response:
                status, payload, answer_headers = (
                    response.status,
                    response.read(MAX_BODY),
                    response.headers,
                )
        except urllib.error.HTTPError as answer:
            with answer:
                status, answer_headers = answer.code, answer.headers
                payload = answer.read(MAX_BODY)
        except (OSError, http.client.HTTPException) as err:
            raise network_failure(err, host_input=host_input).error from None
        date = answer_date(answer_headers)
        if date is not None:
            self.skew = round((date - self.clock()).total_seconds())
        try:
            document = read_json(payload, limit=MAX_BODY) if payload.strip() else None
        except MalformedAnswerError:
            document = None
        return status, document if isinstance(document, dict) else None, answer_headers


def check_qseow(
    proxy_url: str,
    token: str,
    *,
    transport: Transport,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Proof:
    """Log in at the virtual proxy with ``token``, read who it logged in, log out again."""
    session = _Session(transport, clock)
    xrfkey = new_xrfkey()
    user_url = f"{proxy_url}{PERSONAL_API}?xrfkey={xrfkey}"
    status, document, _ = session.send(
        "GET",
        user_url,
        headers={"Authorization": f"Bearer {token}", "X-Qlik-Xrfkey": xrfkey},
        host_input=VIRTUAL_PROXY_URL,
    )
    if status != 200 or document is None:
        raise _qseow_refusal(status, session.skew)
    user_id, directory = document.get("userId"), document.get("userDirectory")
    if not isinstance(user_id, str) or not isinstance(directory, str):
        raise QlikRefusedError(
            "the virtual proxy did not log the token in (it reports no session)",
            input_name=None,
            hint=_qseow_causes(session.skew),
        )
    notes = []
    logout, _, _ = session.send(
        "DELETE", user_url, headers={"X-Qlik-Xrfkey": xrfkey}, host_input=VIRTUAL_PROXY_URL
    )
    if logout not in (200, 204):
        notes.append(
            f"the proxy did not end the probe's session ({logout}); it lasts until the "
            "session times out"
        )
    return Proof(
        user=f"{directory}\\{user_id}",
        details={"userId": user_id, "userDirectory": directory},
        clock_skew=session.skew,
        calls=tuple(session.calls),
        notes=tuple(notes),
    )


def check_cloud(
    tenant_url: str,
    make_token: Callable[[], str],
    *,
    transport: Transport,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> Proof:
    """Start a session with a new probe token (``make_token()``, each with its own ``jti``),
    then read ``users/me`` with the session's cookies. 429 and 5xx are retried with a new
    probe token, within ``transport.deadline``."""
    session = _Session(transport, clock)
    start = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        status, document, headers = session.send(
            "POST",
            tenant_url + JWT_SESSION,
            headers={"Authorization": f"Bearer {make_token()}"},
            host_input=TENANT,
        )
        if status == 429 or status >= 500:
            wait = max(retry_after(headers, clock()) or 0.0, backoff(attempt, 0.5))
            if time.monotonic() - start + wait + 1 > transport.deadline:
                raise QlikUnreachableError(
                    f"Qlik answered {status} to the login {attempt} time(s); gave up",
                    input_name=TENANT,
                    hint="try again later, or give a longer timeout",
                )
            sleep(wait)
            continue
        if status not in (200, 204):
            raise _cloud_refusal(status, document, session.skew)
        break
    return _users_me(session, tenant_url, {}, host_input=TENANT)


def check_access_token(
    tenant_url: str,
    access_token: str,
    *,
    transport: Transport,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Proof:
    """``users/me`` with an OAuth access token."""
    session = _Session(transport, clock)
    return _users_me(
        session, tenant_url, {"Authorization": f"Bearer {access_token}"}, host_input=TENANT
    )


def _users_me(
    session: _Session, tenant_url: str, headers: dict[str, str], *, host_input: str
) -> Proof:
    status, document, _ = session.send(
        "GET", tenant_url + USERS_ME, headers=headers, host_input=host_input
    )
    if status != 200 or document is None:
        codes = _codes(document)
        raise QlikRefusedError(
            f"Qlik took the login but refused users/me: {status}{codes}",
            input_name=None,
            hint="the session or token lacks the user_default scope, or the user is disabled",
        )
    subject = document.get("subject")
    details = {
        key: value
        for key in ("id", "subject", "name", "email", "status")
        if isinstance(value := document.get(key), str) and value.isprintable()
    }
    user = subject if isinstance(subject, str) and subject.isprintable() else details.get("id", "?")
    notes: tuple[str, ...] = ()
    if details.get("status") not in (None, "active"):
        notes = (f"Qlik reports the user's status as {details['status']}",)
    return Proof(user, details, session.skew, tuple(session.calls), notes)


def _codes(document: dict[str, Any] | None) -> str:
    codes = error_parts(json.dumps(document).encode())[0] if document else []
    return f" ({', '.join(codes[:3])})" if codes else ""


def _clock(skew: int | None) -> str | None:
    """Qlik's clock, when it is far enough from ours to explain a refusal."""
    if skew is None or abs(skew) < CLOCK_SKEW_NOTICE:
        return None
    way = "ahead of" if skew > 0 else "behind"
    return (
        f"Qlik's clock is {abs(skew)} s {way} this machine's: sync this machine's clock (NTP), "
        f"or raise {ref('clock-skew')} to more than {abs(skew)} s"
    )


def _qseow_causes(skew: int | None) -> str:
    clock = _clock(skew)
    if clock:
        return clock
    return (
        "the proxy's JWT certificate must be the one of this key (compare it with "
        f"{ref(_CERTIFICATE)}), its JWT attributes for user ID and user directory must be "
        f"{ref(_CLAIMS[0])} and {ref(_CLAIMS[1])}, and the user must exist and be active"
    )


def _qseow_refusal(status: int, skew: int | None) -> QsjwtError:
    if status in (301, 302, 303, 307, 308):
        return QlikRefusedError(
            f"the virtual proxy answered {status}, a redirect to a login: it did not take the "
            "token",
            input_name=VIRTUAL_PROXY_URL,
            hint="its authentication method must be JWT; " + _qseow_causes(skew),
        )
    if status == 401:
        return QlikRefusedError(
            "the virtual proxy refused the token (401)", input_name=None, hint=_qseow_causes(skew)
        )
    if status == 403:
        return QlikRefusedError(
            "the virtual proxy refused the request (403)",
            input_name=VIRTUAL_PROXY_URL,
            hint="add this host name to the virtual proxy's host allow list; a user over the "
            "parallel-session limit is refused this way too",
        )
    if status == 404:
        return QlikRefusedError(
            "there is no virtual proxy at this prefix (404)",
            input_name=VIRTUAL_PROXY_URL,
            hint="give the URL with the virtual proxy's prefix, e.g. https://qlik.example.com/jwt",
        )
    if status == 400:
        return QlikRefusedError(
            "the proxy answered 400: the virtual proxy is not linked to a proxy service",
            input_name=VIRTUAL_PROXY_URL,
            hint="link the virtual proxy to the proxy (QMC, Virtual proxies, Proxies)",
        )
    if status >= 500:
        return QlikUnreachableError(
            f"the proxy answered {status}: the server failed",
            input_name=VIRTUAL_PROXY_URL,
            hint="try again later",
        )
    return QlikRefusedError(
        f"the virtual proxy answered {status}, not a user",
        input_name=VIRTUAL_PROXY_URL,
        hint=_qseow_causes(skew),
    )


_CLOUD_RULES: tuple[tuple[tuple[str, ...], str | None, str], ...] = (
    (
        ("issuer", "iss"),
        "issuer",
        "no JWT identity provider of the tenant has this issuer: copy its issuer exactly",
    ),
    (
        ("kid", "keyid", "key id"),
        "key-id",
        "the identity provider's key ID is another one: copy it exactly",
    ),
    (
        ("signature", "verify", "verification", "certificate", "public key"),
        _PRIVATE_KEY,
        "the identity provider's certificate is not this key's: paste the certificate of this "
        "key (the one-line PEM qs-jwt keygen prints), or sign with the key of the one it holds",
    ),
    (
        ("expired", "exp", "nbf", "not before", "not yet valid", "iat", "clock", "lifetime"),
        "expires-in",
        "the token's times were refused: check this machine's clock, clock-skew and expires-in "
        "(at most 1h)",
    ),
    (
        ("jti", "replay", "already used", "reused"),
        None,
        "Qlik saw this token's jti before: a token is single-use (check mints a new one)",
    ),
    (
        ("email", "email_verified"),
        "email",
        "the e-mail claims were refused: give the user's e-mail address, verified",
    ),
    (
        ("sub", "subject", "subtype", "user"),
        "subject",
        "the user claims were refused: give a stable subject, with name and e-mail",
    ),
)


def _cloud_refusal(status: int, document: dict[str, Any] | None, skew: int | None) -> QsjwtError:
    codes, words = error_parts(json.dumps(document).encode()) if document else ([], " ")
    said = f" ({', '.join(codes[:3])})" if codes else ""
    what = f"Qlik refused the login with the token: {status}{said}"
    clock = _clock(skew)
    for keys, input_name, hint in _CLOUD_RULES:
        if any(f" {key} " in words for key in keys):
            if input_name == "expires-in" and clock:
                return QlikRefusedError(what, input_name="clock-skew", hint=clock)
            return QlikRefusedError(what, input_name=input_name, hint=hint)
    if clock:
        return QlikRefusedError(what, input_name="clock-skew", hint=clock)
    return QlikRefusedError(
        what,
        input_name=None,
        hint="check the identity provider's issuer, key ID and certificate against "
        f"{ref('issuer')}, {ref('key-id')} and this key; a disabled identity provider is "
        "refused the same way",
    )


def prove(
    settings: QseowSettings | CloudSettings | OAuthSettings,
    token: str,
    make_probe: Callable[[], str],
) -> Proof:
    """What each shell runs for ``check``: ``token`` is the QSEoW token itself (it may be
    used more than once), or the OAuth access token; a Qlik Cloud login spends a probe token
    from ``make_probe`` instead, never the one the run outputs."""
    if isinstance(settings, OAuthSettings):
        transport = Transport.of(settings.connection)
        return check_access_token(f"https://{settings.tenant}", token, transport=transport)
    if settings.check is None:
        raise ValueError("check was not asked for")
    transport = Transport.of(settings.check.connection)
    if isinstance(settings, QseowSettings):
        return check_qseow(settings.check.url, token, transport=transport)
    return check_cloud(settings.check.url, make_probe, transport=transport)


def describe(proof: Proof) -> str:
    """One line for a log: who Qlik logged in, the clocks, and what was called."""
    clock = "" if proof.clock_skew is None else f"; clocks differ by {proof.clock_skew} s"
    return f"check passed: Qlik logged in {proof.user}{clock} ({', '.join(proof.calls)})" + "".join(
        f"; {note}" for note in proof.notes
    )
