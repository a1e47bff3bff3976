"""A small JSON-over-HTTPS client for key services (standard library only).

No redirects (a credential must not follow one to another host), a time-out, a bounded
answer, and plain http only to this machine's loopback. Errors carry the status and the
service's own words (scrubbed by the caller), never a header or a credential.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from qsjwt.base.errors import InputError

LIMIT = 1024 * 1024
TIMEOUT = 30.0


@dataclass(frozen=True)
class Answer:
    status: int
    document: dict[str, Any]
    errors: str
    """the service's error words (Vault's ``errors`` list, joined), for the caller to scrub"""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:  # noqa: ANN401
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def check_base_url(text: str, *, input_name: str) -> str:
    """``https://host[:port][/path]``, or http to 127.0.0.1/::1/localhost; no user info, query
    or fragment. Refusals name the input and never repeat it."""
    url = text.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    hint = "e.g. https://vault.example.com:8200"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InputError("is not an https:// URL", input_name=input_name, hint=hint)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InputError(
            "must not carry user info, a query or a fragment", input_name=input_name, hint=hint
        )
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise InputError(
            "uses plain http to another machine: tokens would cross the network in clear",
            input_name=input_name,
            hint="use https",
        )
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def why_unreachable(err: OSError) -> str:
    """What kind of network failure ``err`` is, in words that hold no host, URL or value."""
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, str):
        return "network"
    if isinstance(reason, ssl.SSLError | ssl.CertificateError):
        return "TLS: the certificate is not trusted or the handshake failed"
    if isinstance(reason, socket.gaierror):
        return "DNS: the host name does not resolve"
    if isinstance(reason, TimeoutError | socket.timeout):
        return "time-out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, ConnectionError):
        return "connection reset or closed"
    return f"network: {type(reason).__name__}"


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
) -> Answer:
    """One request with a JSON ``body`` or an urlencoded ``form`` (OAuth token endpoints), and
    a JSON answer; OSError (unreachable, TLS, time-out) is left to the caller."""
    data = None if body is None else json.dumps(body).encode()
    kind = "application/json"
    if form is not None:
        data, kind = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    sent = urllib.request.Request(  # noqa: S310 (the scheme was checked: https or loopback http)
        url,
        data=data,
        method=method,
        headers={"Accept": "application/json", **headers}
        | ({"Content-Type": kind} if data is not None else {}),
    )
    try:
        with _OPENER.open(sent, timeout=TIMEOUT) as response:
            status, raw = response.status, response.read(LIMIT + 1)
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read(LIMIT + 1)
        err.close()
    try:
        document = json.loads(raw[:LIMIT]) if raw.strip() else {}
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    errors = document.get("errors")
    words = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
    return Answer(status, document, words)
