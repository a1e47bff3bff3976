"""``check``: prove that Qlik takes a token, and learn who Qlik thinks the user is.

Each target has its least privileged proof, built only on what Qlik documents or its own
clients do (shared/reference/qlik-observed-behaviour.md):

- QSEoW: ``GET <proxy>/qrs/about`` with the token and a random Xrfkey pair. Every resource
  behind a virtual proxy requires a login, so a 200 here proves that the proxy took the token
  and started a session; ``/qrs/about`` exists in every QSEoW release, any user may read it,
  and it changes nothing. (Whether a Bearer on ``GET /qps/user`` logs in is **not**
  documented: Qlik documents that call only as a status query, and its own clients log in
  elsewhere, enigma.js on ``/qps/csrftoken``; so the login is never asked of it.) Then ``GET
  <proxy>/qps/user`` with the session cookie alone names the user the proxy logged in, and
  ``DELETE <proxy>/qps/user`` logs out. A QSEoW user has at most 5 parallel sessions, and a
  session that ends frees its slot only after 5 minutes (help.qlik.com, "Professional access
  allocations"): a logout does not give the slot back at once.
- Qlik Cloud JWT identity provider: ``POST /login/jwt-session`` with a probe token (its own
  ``jti``: a token is single-use, so the one a step outputs is never spent here), then
  ``GET /api/v1/users/me`` with the session's cookies.
- OAuth: the exchange, then ``GET /api/v1/users/me`` with the access token.

Every call is retried on 429 and 5xx (after ``Retry-After`` when it fits) and on a dropped
connection, with the exchange's rules and within the one ``timeout``. Every failure leads with
what Qlik said (its status, and its own code and title as given, scrubbed of anything that
could be a value), then names the likely causes, most likely first, ranked from what this
tool knows: the clock difference from Qlik's ``Date``, the token's claims, the settings. No
token, cookie or answer body is ever shown.
"""

from __future__ import annotations

import base64
import http.client
import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from qsjwt._version import __version__
from qsjwt.app.call import new_xrfkey
from qsjwt.base.errors import QlikUnreachableError, QsjwtError, ref
from qsjwt.login.settings import CloudSettings, QseowSettings
from qsjwt.net.connection import TENANT, TIMEOUT, VIRTUAL_PROXY_URL
from qsjwt.net.record import Exchange, Observer, Recorder
from qsjwt.net.transport import (
    MAX_BODY,
    Clock,
    Failure,
    MalformedAnswerError,
    Transport,
    answer_date,
    given_up,
    network_failure,
    opener,
    read_json,
    retry_after,
    retrying,
)
from qsjwt.oauth.assertion import OAuthSettings
from qsjwt.oauth.exchange import CLOCK_SKEW_NOTICE, Cause, Said, refusal

USERS_ME = "/api/v1/users/me"
JWT_SESSION = "/login/jwt-session"
PERSONAL_API = "/qps/user"
QRS_ABOUT = "/qrs/about"
"""Where ``check qseow`` logs in: a QRS resource behind the proxy, which requires a login."""
SESSION_CAP = 5
"""QSEoW's parallel sessions per user (help.qlik.com, "Professional access allocations")."""
SLOT_HOLD = "5 minutes"
"""How long an ended session may still hold its slot once the user is at the cap."""

_CLOCK = Clock()
_CERTIFICATE = "certificate"
_PRIVATE_KEY = "private-key"
_CLAIMS = ("user-id-claim", "user-directory-claim")
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Proof:
    """What Qlik said: the user it logged in, and how far its clock is from ours."""

    user: str
    """as Qlik names the user: DIRECTORY\\userId (QSEoW), or the subject (Qlik Cloud)"""
    details: dict[str, str]
    clock_skew: int | None
    """Qlik's Date minus our clock, in seconds, when Qlik sent a Date"""
    calls: tuple[str, ...]
    """what was called, in order, e.g. ``GET /jwt/qrs/about``"""
    notes: tuple[str, ...] = ()
    """what did not go as planned but does not fail the check (a logout refused)"""


@dataclass
class _Session:
    """One probe's HTTP client: cookies kept, no redirects, the user's TLS and proxy rules,
    one deadline for every call, and 429/5xx retried as the exchange does."""

    transport: Transport
    clock: Clock
    observe: Observer | None = None
    known: tuple[str, ...] = ()
    """values that must not appear in a message (the inputs), for scrubbing Qlik's words"""
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)
    calls: list[str] = field(default_factory=list)
    skew: int | None = None
    dropped: QsjwtError | None = None
    """why the last attempt got no answer, if it got none"""

    def __post_init__(self) -> None:
        self.opener = opener(self.transport, urllib.request.HTTPCookieProcessor(self.jar))
        self.start = self.clock.monotonic()

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Callable[[], Mapping[str, str]],
        host_input: str,
    ) -> tuple[int, dict[str, Any] | None, Message, bytes]:
        """(status, JSON document or None, headers, body) of the first answer that is
        neither 429 nor 5xx; ``headers()`` is called for each attempt (a Qlik Cloud login
        spends a new probe token each time). Raises QlikUnreachableError for a network
        failure, or when 429/5xx go on past the deadline."""
        path = urllib.parse.urlsplit(url).path
        self.calls.append(f"{method} {path}")
        answered: list[tuple[int, bytes, Message]] = []

        def attempt(_number: int) -> tuple[int, bytes, Message] | Failure[QsjwtError]:
            status, payload, answer = self._once(method, url, headers(), host_input)
            if status and status != 429 and status < 500:
                return status, payload, answer
            answered[:] = [(status, payload, answer)]
            asked = retry_after(answer, self.clock.wall()) if status else None
            error = self.dropped or QlikUnreachableError("no answer", input_name=host_input)
            return Failure(error, retry_after=asked or 0.0, asked_wait=asked)

        left = self.transport.deadline - (self.clock.monotonic() - self.start)
        outcome, attempts, _ = retrying(attempt, deadline=left, clock=self.clock)
        if not isinstance(outcome, Failure):
            status, payload, answer = outcome
            return status, _document(payload), answer, payload
        elapsed = self.clock.monotonic() - self.start
        if self.dropped is not None:  # the last attempt got no answer at all
            raise given_up(outcome, attempts, elapsed, self.transport.deadline)
        status, payload, _answer = answered[0]
        raise self._given_up(
            status,
            payload,
            method=method,
            path=path,
            attempts=attempts,
            elapsed=elapsed,
            asked=outcome.asked_wait,
        )

    def _once(
        self, method: str, url: str, headers: Mapping[str, str], host_input: str
    ) -> tuple[int, bytes, Message]:
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
        began = self.clock.monotonic()
        remaining = self.transport.deadline - (began - self.start)
        try:
            with self.opener.open(
                request, timeout=max(0.1, min(self.transport.timeout, remaining))
            ) as response:
                status, payload, answer = (
                    response.status,
                    response.read(MAX_BODY),
                    response.headers,
                )
        except urllib.error.HTTPError as error:
            with error:
                status, answer = error.code, error.headers
                try:
                    payload = error.read(MAX_BODY)
                except (OSError, http.client.HTTPException):
                    payload = b""
        except (OSError, http.client.HTTPException) as err:
            failure = network_failure(err, host_input=host_input)
            if failure.retry_after is None:
                raise failure.error from None
            self.dropped = failure.error  # a time-out or a dropped connection: retried
            return 0, b"", Message()
        self.dropped = None
        if self.observe is not None:
            self.observe(
                Exchange(
                    method,
                    url,
                    status,
                    answer,
                    payload,
                    self.clock.monotonic() - began,
                    dict(request.header_items()),
                    request.data if isinstance(request.data, bytes) else None,
                )
            )
        date = answer_date(answer)
        if date is not None:
            self.skew = round((date - self.clock.wall()).total_seconds())
        return status, payload, answer

    def _given_up(
        self,
        status: int,
        payload: bytes,
        *,
        method: str,
        path: str,
        attempts: int,
        elapsed: float,
        asked: float | None,
    ) -> QlikUnreachableError:
        said = Said.of(status, payload, self.known) if payload else None
        what = "a dropped connection" if said is None else str(said)
        if asked is not None and asked > self.transport.deadline - elapsed:
            tail = (
                f"Qlik asked to wait {asked:.0f} s, past the {self.transport.deadline:.0f} s limit"
            )
        else:
            tail = (
                f"gave up after {attempts} attempt{'s' if attempts > 1 else ''} in {elapsed:.0f} s"
            )
        busy = status == 429
        return QlikUnreachableError(
            f"Qlik answered {method} {path} with {what}; {tail}",
            input_name=TIMEOUT,
            hint=(
                "Qlik limits the rate of requests: run fewer checks at once, or give a longer "
                "timeout"
                if busy
                else "Qlik may be down or overloaded: try again later, or give a longer timeout"
            ),
        )


def _document(payload: bytes) -> dict[str, Any] | None:
    try:
        document = read_json(payload, limit=MAX_BODY) if payload.strip() else None
    except MalformedAnswerError:
        return None
    return document if isinstance(document, dict) else None


def _claims(token: str) -> dict[str, Any]:
    """The claims of a token this tool made (read, not verified: for naming causes only)."""
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


# --- QSEoW --------------------------------------------------------------------------------------


def check_qseow(
    proxy_url: str,
    token: str,
    *,
    transport: Transport,
    clock: Clock = _CLOCK,
    observe: Observer | None = None,
    known: tuple[str, ...] = (),
    token_user: str = "the token's user",  # noqa: S107 (words, not a password)
) -> Proof:
    """Log in at the virtual proxy with ``token`` on a QRS call, read who it logged in with
    the session cookie, log out again."""
    session = _Session(transport, clock, observe, known)
    xrfkey = new_xrfkey()
    query = f"?xrfkey={xrfkey}"
    status, _, answer, payload = session.send(
        "GET",
        f"{proxy_url}{QRS_ABOUT}{query}",
        headers=lambda: {"Authorization": f"Bearer {token}", "X-Qlik-Xrfkey": xrfkey},
        host_input=VIRTUAL_PROXY_URL,
    )
    if status != 200:
        raise _qseow_refusal(Said.of(status, payload, known), session.skew, _claims(token), answer)
    status, document, _, _ = session.send(
        "GET",
        f"{proxy_url}{PERSONAL_API}{query}",
        headers=lambda: {"X-Qlik-Xrfkey": xrfkey},
        host_input=VIRTUAL_PROXY_URL,
    )
    notes: list[str] = []
    user_id = document.get("userId") if document and status == 200 else None
    directory = document.get("userDirectory") if document and status == 200 else None
    if isinstance(user_id, str) and isinstance(directory, str):
        user = f"{directory}\\{user_id}"
        details = {"userId": user_id, "userDirectory": directory}
    else:
        # The QRS answered, so the proxy took the token; its Personal API just does not say
        # whom it logged in (no session cookie, or another answer): name the token's user.
        user, details = token_user, {}
        notes.append(
            f"the proxy took the token (the QRS answered) but its Personal API reported no "
            f"user ({status}): {token_user} is the token's user, not Qlik's word"
        )
    logout, _, _, _ = session.send(
        "DELETE",
        f"{proxy_url}{PERSONAL_API}{query}",
        headers=lambda: {"X-Qlik-Xrfkey": xrfkey},
        host_input=VIRTUAL_PROXY_URL,
    )
    if logout not in (200, 204):
        notes.append(
            f"the proxy did not end the probe's session ({logout}); it lasts until it times "
            f"out, and holds one of the user's {SESSION_CAP} parallel sessions until then"
        )
    return Proof(
        user=user,
        details=details,
        clock_skew=session.skew,
        calls=tuple(session.calls),
        notes=tuple(notes),
    )


def _clock(skew: int | None) -> Cause | None:
    """Qlik's clock, when it is far enough from ours to explain a refusal."""
    if skew is None or abs(skew) < CLOCK_SKEW_NOTICE:
        return None
    way = "ahead of" if skew > 0 else "behind"
    return Cause(
        "clock-skew",
        f"Qlik's clock is {abs(skew)} s {way} this machine's: sync this machine's clock (NTP), "
        f"or raise {ref('clock-skew')} to more than {abs(skew)} s",
    )


def _qseow_token_causes(skew: int | None, claims: Mapping[str, Any]) -> list[Cause]:
    """Why a virtual proxy refuses a token, most likely first; Qlik gives no reason."""
    causes = [cause for cause in (_clock(skew),) if cause]
    causes += [
        Cause(
            _PRIVATE_KEY,
            "the proxy's JWT certificate must be the one of this key (compare it with "
            f"{ref(_CERTIFICATE)})",
        ),
        Cause(
            _CLAIMS[0],
            f"its JWT attributes for user ID and user directory must be {ref(_CLAIMS[0])} and "
            f"{ref(_CLAIMS[1])}",
        ),
    ]
    audience = (
        "the token carries an audience (aud): if the proxy checks one, it must be the same"
        if "aud" in claims
        else f"if the proxy expects an audience, give it in {ref('audience')}"
    )
    causes.append(Cause("audience", audience + " (unconfirmed: Qlik documents no audience field)"))
    causes.append(Cause(None, "the user must exist in the user directory and be active"))
    return causes


_CAP = Cause(
    None,
    f"the user is at QSEoW's cap of {SESSION_CAP} parallel sessions, and an ended session may "
    f"hold its slot for {SLOT_HOLD}: give each parallel job its own service user, or space "
    "the runs",
)
_ALLOW_LIST = Cause(
    VIRTUAL_PROXY_URL, "this host name must be on the virtual proxy's host allow list"
)


def _qseow_refusal(
    said: Said, skew: int | None, claims: Mapping[str, Any], headers: Message
) -> QsjwtError:
    status = said.status
    if status in _REDIRECTS:
        to_login = "a redirect to a login" if headers.get("Location") else "a redirect"
        return refusal(
            f"the virtual proxy answered {said}, {to_login}: it did not take the token",
            [
                Cause(
                    VIRTUAL_PROXY_URL,
                    "the URL's prefix must be the JWT virtual proxy's: Qlik's default proxy "
                    "answers a prefix it does not know with its login form, e.g. "
                    "https://qlik.example.com/jwt",
                ),
                Cause(VIRTUAL_PROXY_URL, "the virtual proxy's authentication method must be JWT"),
                *_qseow_token_causes(skew, claims),
            ],
        )
    if status == 401:
        causes = _qseow_token_causes(skew, claims)
        return refusal(
            f"the virtual proxy refused the token ({said})",
            causes,
            blame=causes[0].input_name == "clock-skew",  # the proxy gives no reason
        )
    if status == 403:
        about_sessions = any(f" {w} " in said.words for w in ("session", "sessions", "parallel"))
        return refusal(
            f"the virtual proxy refused the login ({said})",
            [_CAP, _ALLOW_LIST] if about_sessions else [_ALLOW_LIST, _CAP],
        )
    if status == 404:
        return refusal(
            f"there is no virtual proxy at this prefix ({said})",
            [
                Cause(
                    VIRTUAL_PROXY_URL,
                    "give the URL with the virtual proxy's prefix, e.g. "
                    "https://qlik.example.com/jwt",
                )
            ],
        )
    if status == 400:
        return refusal(
            f"the proxy answered {said}",
            [
                Cause(
                    VIRTUAL_PROXY_URL,
                    "the virtual proxy must be linked to a proxy service (QMC, Virtual "
                    "proxies, Proxies)",
                ),
                *_qseow_token_causes(skew, claims),
            ],
        )
    return refusal(
        f"the virtual proxy answered {said}, not a login",
        [Cause(VIRTUAL_PROXY_URL, "check the URL"), *_qseow_token_causes(skew, claims)],
    )


# --- Qlik Cloud ---------------------------------------------------------------------------------


def check_cloud(
    tenant_url: str,
    make_token: Callable[[], str],
    *,
    transport: Transport,
    clock: Clock = _CLOCK,
    observe: Observer | None = None,
    known: tuple[str, ...] = (),
) -> Proof:
    """Start a session with a new probe token (``make_token()``, each with its own ``jti``),
    then read ``users/me`` with the session's cookies. 429 and 5xx are retried with a new
    probe token, within ``transport.deadline``."""
    session = _Session(transport, clock, observe, known)
    status, _, _, payload = session.send(
        "POST",
        tenant_url + JWT_SESSION,
        headers=lambda: {"Authorization": f"Bearer {make_token()}"},
        host_input=TENANT,
    )
    if status not in (200, 204):
        raise _cloud_refusal(Said.of(status, payload, known), session.skew)
    return _users_me(session, tenant_url, {}, host_input=TENANT)


def check_access_token(
    tenant_url: str,
    access_token: str,
    *,
    transport: Transport,
    clock: Clock = _CLOCK,
    observe: Observer | None = None,
    known: tuple[str, ...] = (),
) -> Proof:
    """``users/me`` with an OAuth access token."""
    session = _Session(transport, clock, observe, known)
    return _users_me(
        session, tenant_url, {"Authorization": f"Bearer {access_token}"}, host_input=TENANT
    )


def _users_me(
    session: _Session, tenant_url: str, headers: dict[str, str], *, host_input: str
) -> Proof:
    status, document, _, payload = session.send(
        "GET", tenant_url + USERS_ME, headers=lambda: headers, host_input=host_input
    )
    if status != 200 or document is None:
        raise refusal(
            f"Qlik took the login but refused users/me: {Said.of(status, payload, session.known)}",
            [
                Cause(
                    None,
                    "the session or token lacks the user_default scope, or the user is disabled",
                )
            ],
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


_ISSUER = Cause(
    "issuer",
    "no JWT identity provider of the tenant has this issuer: copy its issuer exactly into "
    f"{ref('issuer')}",
)
_KEY_ID = Cause(
    "key-id", f"the identity provider's key ID is another one: copy it exactly into {ref('key-id')}"
)
_CLOUD_CERTIFICATE = Cause(
    _PRIVATE_KEY,
    "the identity provider's certificate is not this key's: paste the certificate of this "
    "key (the one-line PEM qs-jwt keygen prints), or sign with the key of the one it holds",
)
_TIMES = Cause(
    "expires-in",
    f"the token's times were refused: check this machine's clock, {ref('clock-skew')} and "
    f"{ref('expires-in')} (at most 1h)",
)
_CLOUD_RULES: tuple[tuple[tuple[str, ...], Cause], ...] = (
    (("issuer", "iss"), _ISSUER),
    (("kid", "keyid", "key id"), _KEY_ID),
    (("signature", "verify", "verification", "certificate", "public key"), _CLOUD_CERTIFICATE),
    (
        ("expired", "exp", "nbf", "not before", "not yet valid", "iat", "clock", "lifetime"),
        _TIMES,
    ),
    (
        ("jti", "replay", "already used", "reused"),
        Cause(
            None, "Qlik saw this token's jti before: a token is single-use (check mints a new one)"
        ),
    ),
    (
        ("email", "email_verified"),
        Cause("email", "the e-mail claims were refused: give the user's e-mail address, verified"),
    ),
    (
        ("sub", "subject", "subtype", "user"),
        Cause(
            "subject", "the user claims were refused: give a stable subject, with name and e-mail"
        ),
    ),
)
"""Words of Qlik's titles and details (``detail`` names the claim for INTERNAL-TOKEN-1)."""
_CLOUD_CODES: dict[str, list[Cause]] = {
    "LOGIN-2": [
        Cause(
            TENANT,
            "the tenant has no JWT identity provider for this host: give the tenant's own host "
            "(an alias is another host), and check that the identity provider is enabled",
        ),
        _ISSUER,
        _KEY_ID,
    ],
    "AUTH-5": [
        Cause(
            "subject",
            "the user is not in the tenant or may not log in: check the subject, and that the "
            "user is active",
        )
    ],
}
"""The codes real Qlik sends for a JWT login (seen live: qlik-observed-behaviour.md)."""


def _cloud_refusal(said: Said, skew: int | None) -> QsjwtError:
    what = f"Qlik refused the login with the token: {said}"
    causes: list[Cause] = []
    for code in said.codes:
        causes += _CLOUD_CODES.get(code, [])
    causes += [cause for keys, cause in _CLOUD_RULES if any(f" {k} " in said.words for k in keys)]
    clock = _clock(skew)
    if clock is not None and (not causes or _TIMES in causes):
        causes = [clock, *[c for c in causes if c is not _TIMES]]
    elif clock is not None:
        causes.append(clock)
    if not causes:
        causes = [_ISSUER, _KEY_ID, _CLOUD_CERTIFICATE]
        causes.append(Cause(None, "a disabled identity provider is refused the same way"))
    return refusal(what, causes)


# --- every target -------------------------------------------------------------------------------


def prove(
    settings: QseowSettings | CloudSettings | OAuthSettings,
    token: str,
    make_probe: Callable[[], str],
    *,
    record: Recorder | None = None,
    clock: Clock = _CLOCK,
) -> Proof:
    """What each shell runs for ``check``: ``token`` is the QSEoW token itself (it may be
    used more than once), or the OAuth access token; a Qlik Cloud login spends a probe token
    from ``make_probe`` instead, never the one the run outputs. ``record``: every exchange
    goes into this transcript (``--record``), with the settings' values redacted."""
    known = _known(settings)
    if record is not None:
        record.redact(*known)
    if isinstance(settings, OAuthSettings):
        return check_access_token(
            f"https://{settings.tenant}",
            token,
            transport=Transport.of(settings.connection),
            clock=clock,
            observe=record,
            known=known,
        )
    if settings.check is None:
        raise ValueError("check was not asked for")
    transport = Transport.of(settings.check.connection)
    if isinstance(settings, QseowSettings):
        return check_qseow(
            settings.check.url,
            token,
            transport=transport,
            clock=clock,
            observe=record,
            known=known,
            token_user=f"{settings.user_directory}\\{settings.user_id}",
        )
    return check_cloud(
        settings.check.url,
        make_probe,
        transport=transport,
        clock=clock,
        observe=record,
        known=known,
    )


def _known(settings: QseowSettings | CloudSettings | OAuthSettings) -> tuple[str, ...]:
    """The settings' values that Qlik may echo and that no message or transcript repeats."""
    values: list[str | None]
    if isinstance(settings, OAuthSettings):
        values = [settings.client_id, settings.key_id, settings.tenant]
        if settings.user_lookup is not None:
            values.append(settings.user_lookup.value)
    elif isinstance(settings, QseowSettings):
        values = [settings.user_id, settings.user_directory, settings.name, settings.email]
        values += [settings.audience, settings.issuer, *settings.groups]
        values += [value for _, value in settings.attributes]
    else:
        values = [settings.issuer, settings.key_id, settings.subject, settings.name]
        values += [settings.email, *settings.groups]
    if not isinstance(settings, OAuthSettings) and settings.check is not None:
        values.append(urllib.parse.urlsplit(settings.check.url).hostname)
    return tuple(value for value in values if value)


def describe(proof: Proof) -> str:
    """One line for a log: who Qlik logged in, the clocks, and what was called."""
    clock = "" if proof.clock_skew is None else f"; clocks differ by {proof.clock_skew} s"
    return f"check passed: Qlik logged in {proof.user}{clock} ({', '.join(proof.calls)})" + "".join(
        f"; {note}" for note in proof.notes
    )
