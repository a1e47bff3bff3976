"""One authenticated request to Qlik: use a token without curl and without a command line.

``curl -H "Authorization: Bearer $TOKEN"`` puts the token on curl's command line, where ``ps``
and audit logs show it, and the container image has no curl. ``qs-jwt call`` reads the token
from a file or a variable, sends one request with it (TLS verified, no redirects: the token is
for one host), and prints the answer. The standard library's HTTP client, as for the OAuth
exchange, and imported only by this command.

A refusal (4xx) is a QlikRefusedError (exit 3) naming the status and Qlik's error codes, never
the body; the network, TLS, a time-out or a 5xx is a QlikUnreachableError (exit 4).
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import secrets
import string
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message

from qsjwt._version import __version__
from qsjwt.base.display import scrub
from qsjwt.base.errors import InputError, QlikRefusedError, QlikUnreachableError
from qsjwt.base.findings import Finding, warning
from qsjwt.base.secret import hold
from qsjwt.net.connection import Connection, check_dns_name
from qsjwt.net.record import Exchange, Recorder
from qsjwt.net.transport import MAX_BODY, Transport, error_parts, network_failure, opener

URL = "url"
TOKEN = "token"  # noqa: S105 (an input name)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_ANSWER = 16 * 1024 * 1024
"""Bytes of an answer read at most: an API call for a pipeline, not a download."""
XRFKEY_LENGTH = 16
_QSEOW_API = re.compile(r"/(qrs|qps)(/|$)")
"""QSEoW's cross-site request forgery key: 16 letters and digits, in the query and a header."""

_STATUS_HINTS = {
    401: (
        TOKEN,
        "Qlik did not accept the token",
        "it may have expired, be for another tenant or virtual proxy, or (QSEoW) the proxy's "
        "certificate or claim names do not match it",
    ),
    403: (
        TOKEN,
        "the token's user may not do this",
        "check the OAuth client's scopes or the user's roles and security rules",
    ),
    404: (URL, "there is nothing at this path", "check the path and the virtual proxy prefix"),
}


@dataclass(frozen=True)
class Answer:
    """Qlik's answer to a successful request (2xx)."""

    status: int
    reason: str
    body: bytes
    content_type: str


def check_url(text: str) -> str:
    """An https URL without user info or fragment; raises InputError naming ``url``."""
    hint = "give the full https URL, e.g. https://tenant.eu.qlikcloud.com/api/v1/users/me"
    try:
        url = urllib.parse.urlsplit(text.strip())
        url.port  # noqa: B018 (ValueError for a port that is not a number)
    except ValueError:
        raise InputError("is not a URL", input_name=URL, hint=hint) from None
    if url.scheme.lower() != "https":
        raise InputError(
            "must use https: the token may not travel in clear", input_name=URL, hint=hint
        )
    if url.username is not None or url.password is not None:
        raise InputError(
            "holds user info (user:password@); credentials never go into the URL",
            input_name=URL,
            hint=hint,
        )
    if not url.hostname or url.fragment or any(c.isspace() for c in text.strip()):
        raise InputError("is not a URL this tool can request", input_name=URL, hint=hint)
    check_dns_name(url.hostname, input_name=URL, hint=hint)
    return text.strip()


def check_content_type(text: str) -> str:
    """A media type for the ``Content-Type`` header: printable ASCII on one line, so that no
    value can end the header and add another."""
    if not text.isascii() or not text.isprintable() or not text.strip():
        raise InputError(
            "must be one line of printable ASCII, e.g. application/json",
            input_name="content-type",
        )
    return text.strip()


def check_method(text: str) -> str:
    """The HTTP method in upper case, one of ``METHODS``; InputError naming ``method``."""
    method = text.strip().upper()
    if method not in METHODS:
        raise InputError(f"must be one of {', '.join(METHODS)}", input_name="method")
    return method


def new_xrfkey() -> str:
    """A fresh 16-character X-Qlik-Xrfkey, the anti-CSRF key QRS and the proxy's APIs require."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(XRFKEY_LENGTH))


def call(
    method: str,
    url: str,
    token: str,
    *,
    body: bytes | None = None,
    content_type: str = "application/json",
    xrfkey: str | None = None,
    transport: Transport,
    record: Recorder | None = None,
) -> Answer:
    """Send one request with ``Authorization: Bearer token``; ``xrfkey`` adds QSEoW's key to
    the query and the ``X-Qlik-Xrfkey`` header. Raises QlikRefusedError, QlikUnreachableError
    and InputError (``ca-bundle``). ``record``: the exchange goes into this transcript
    (``--record``)."""
    hold(token)  # whatever echoes it back is scrubbed from every line printed
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "User-Agent": f"qs-jwt/{__version__}",
    }
    if body is not None:
        headers["Content-Type"] = check_content_type(content_type)
    if xrfkey is not None:
        headers["X-Qlik-Xrfkey"] = xrfkey
        url = _with_query(url, "Xrfkey", xrfkey)
    request = urllib.request.Request(  # noqa: S310 (https only: check_url)
        url, data=body, method=method, headers=headers
    )
    began = time.monotonic()

    def seen(status: int, answer_headers: Message, answer_body: bytes) -> None:
        if record is not None:  # --record (the transport's observer, once it has one)
            record(
                Exchange(
                    method,
                    url,
                    status,
                    answer_headers,
                    answer_body,
                    time.monotonic() - began,
                    dict(request.header_items()),
                    body,
                )
            )

    try:
        with opener(transport).open(request, timeout=transport.timeout) as response:
            data = response.read(MAX_ANSWER + 1)
            seen(response.status, response.headers, data)
            if len(data) > MAX_ANSWER:
                raise QlikUnreachableError(
                    f"the answer is larger than {MAX_ANSWER // (1024 * 1024)} MB",
                    input_name=URL,
                    hint="ask for less (a filter or a page size)",
                )
            return Answer(
                response.status,
                response.reason,
                _unechoed(data),
                response.headers.get("Content-Type", ""),
            )
    except urllib.error.HTTPError as answer:
        with answer:
            path = urllib.parse.urlsplit(url).path
            refused = answer.read(MAX_BODY)
            seen(answer.code, answer.headers, refused)
            raise _refused(answer.code, refused, path=path, xrfkey=xrfkey is not None) from None
    except (OSError, http.client.HTTPException) as err:
        raise network_failure(err, host_input=URL).error from None


def _unechoed(body: bytes) -> bytes:
    """A text answer with every echo of the bearer token (or of another credential this run
    holds) cut out, in any encoding (``scrub``): an endpoint that reflects the request must
    not put the token in a log or a saved file. A binary answer is kept as it came."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    scrubbed = scrub(text)
    return body if scrubbed == text else scrubbed.encode("utf-8")


def _refused(
    status: int, body: bytes, *, path: str = "", xrfkey: bool = True
) -> QlikRefusedError | QlikUnreachableError:
    codes = [code for code in error_parts(body)[0] if code != f"HTTP-{status}"]
    said = f" ({', '.join(codes[:3])})" if codes else ""
    if status >= 500:
        return QlikUnreachableError(
            f"Qlik answered {status}{said}: the server failed",
            input_name=URL,
            hint="try again later; check Qlik's status page",
        )
    if 300 <= status < 400:
        return QlikRefusedError(
            f"Qlik answered {status}, a redirect, which is never followed with a token",
            input_name=URL,
            hint="give the final URL (a virtual proxy redirects to its login page when it "
            "does not take the token)",
        )
    input_name, what, hint = _STATUS_HINTS.get(
        status, (URL, "Qlik refused the request", "check the method, the URL and the body")
    )
    if status == 403 and not xrfkey and _QSEOW_API.search(path):
        input_name, what = (
            "xrfkey",
            "the proxy refused a QRS or Personal API call without an Xrfkey",
        )
        hint = "add --xrfkey: QSEoW's QRS and proxy APIs need the Xrfkey pair"
    if status == 401:
        hint += "; mint a new one just before the call"
    return QlikRefusedError(f"{what}: {status}{said}", input_name=input_name, hint=hint)


def _with_query(url: str, name: str, value: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k.lower() != name.lower()] + [(name, value)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def transport_for(connection: Connection) -> Transport:
    """The transport ``call`` uses for the connection settings a shell parsed."""
    return Transport.of(connection)


_DNS_NAME = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+){2,}")
"""A bare audience that names a host (at least three labels: ``qlik.api`` is no host)."""


def audience_warning(token: str, url: str) -> Finding | None:
    """A warning when ``token`` is a JWT whose ``aud`` names a host and none is the URL's: the
    token goes to whatever host the URL names, so a mistyped or hostile URL receives it.
    Nothing is shown of either value; a token that is not a JWT (an opaque access token) or
    names no host in ``aud`` gets no warning."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError, RecursionError):
        return None
    audience = claims.get("aud") if isinstance(claims, dict) else None
    values = audience if isinstance(audience, list) else [audience]
    hosts = set()
    for value in values:
        if not isinstance(value, str):
            continue
        if "://" in value:
            hosts.add((urllib.parse.urlsplit(value).hostname or "").lower())
        elif _DNS_NAME.fullmatch(value):
            hosts.add(value.lower())
    hosts.discard("")
    target = (urllib.parse.urlsplit(url).hostname or "").lower()
    if not hosts or target in hosts:
        return None
    return warning(
        "the token's audience (aud) names another host than the URL does; the token is sent "
        "to the URL's host whatever it is: check that the URL is Qlik's",
        URL,
    )
