"""The one HTTP client of qs-jwt: Qlik (the OAuth exchange, ``check``, ``call``) and the key
services (Vault, Azure, Google, GitHub's identity token) travel through it.

Standard library only. The rules hold for every request, so no caller can forget one:

- TLS verified (the system's CAs, or ``ca_bundle``); ``verify=False`` only from the
  ``insecure`` input, which Qlik's commands warn about on every run;
- redirects never followed: a credential is for one host;
- proxies from the environment (``https_proxy``, ``no_proxy``...), but never for a loopback
  host nor for an ``http://`` URL: a Vault token on the loopback must not travel in clear
  through a proxy;
- the user agent ``qs-jwt/<version>``, no header value with a line break, a bounded answer;
- a wall-clock deadline over the name lookup, connect, TLS, headers and body
  (``Transport.deadline``, counted from the opener's creation): every step gets
  ``min(timeout, what is left)``, so a name server that never answers, a server that sends
  a byte a second, or ``100 Continue`` lines forever, cannot hold a run past it;
- failures in words (DNS, refused, TLS, time-out, the deadline), never a header value, a
  credential, a body or a URL's query;
- retries with exponential back-off and jitter (``retrying``) on 429, 5xx and dropped
  connections, within the deadline; the caller builds each attempt, so the OAuth exchange
  signs a new assertion for each.

``Transport.observer`` sees every exchange (an ``Exchange``) once its answer is closed: the
seam a transcript writer (``--record``) is built on. More in docs/transport.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import errno
import functools
import http.client
import io
import json
import random
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Any, Generic, TypeVar, cast

from qsjwt._version import __version__
from qsjwt.base.display import path_for_message
from qsjwt.base.errors import (
    InputError,
    KeyServiceDeadlineError,
    KeyServiceUnreachableError,
    QlikDeadlineError,
    QlikUnreachableError,
    QsjwtError,
    ref,
)
from qsjwt.io.sources import read_bounded
from qsjwt.net.connection import CA_BUNDLE, DEFAULT_DEADLINE, TENANT, Connection, is_loopback

OPERATION_TIMEOUT = 15.0
"""Seconds one network operation (connect, the TLS handshake, one read or write) may wait."""
USER_AGENT = f"qs-jwt/{__version__}"
MAX_BODY = 64 * 1024
"""Bytes of a Qlik answer read at most where only its status and error codes matter: a token
response is well under 8 KB."""
MAX_JSON_DEPTH = 64
"""Nesting that ``read_json`` accepts: every answer this tool reads is a few levels deep."""
MAX_JSON_NUMBER = 10**10
"""The largest magnitude of a number ``read_json`` accepts: a time in seconds since 1970 fits
(until 2286); a larger one would overflow a date later."""
BACKOFF_BASE = 1.0
BACKOFF_CAP = 10.0
MIN_ATTEMPT_TIME = 1.0
"""Seconds left before the deadline below which no new request starts."""

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
_WORD = re.compile(r"[a-z0-9_]+")
_BAD_HEADER_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_ASCII_DIGITS = re.compile(r"[0-9]{1,9}")
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

T = TypeVar("T")
E = TypeVar("E", bound=Exception)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, for an observer (a transcript writer).

    ``url`` is the URL asked for, query included; ``headers`` and ``body`` are the answer's
    as received (the body as far as the caller read it). They may hold credentials (an access
    token, a ``Set-Cookie``): whoever writes them anywhere must redact them first. The
    request's own headers are never given: they carry the credentials sent.
    """

    method: str
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    elapsed: float
    """seconds from sending the request to closing the answer"""


Observer = Callable[[Exchange], None]


@dataclass(frozen=True)
class Transport:
    """How requests travel. ``proxies``: None reads the usual environment variables
    (``https_proxy``, ``no_proxy``...); an empty mapping uses none."""

    ca_bundle: str | None = None
    """a PEM file of the CA certificates to trust instead of the system's, as ``curl --cacert``
    (a TLS-inspecting proxy's CA, say)"""
    timeout: float = OPERATION_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    proxies: Mapping[str, str] | None = None
    verify: bool = True
    """False: TLS certificates are not checked (the ``insecure`` input, Qlik only)"""
    observer: Observer | None = None

    @classmethod
    def of(cls, connection: Connection) -> Transport:
        """The transport the user's settings ask for."""
        return cls(
            ca_bundle=connection.ca_bundle,
            deadline=float(connection.timeout),
            timeout=min(OPERATION_TIMEOUT, float(connection.timeout)),
            verify=not connection.insecure,
        )


@dataclass(frozen=True)
class Clock:
    """Time as the retries see it, replaceable in tests (no test waits for real)."""

    wall: Callable[[], dt.datetime] = _utc_now
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.SystemRandom().random
    """a number in [0, 1): spreads the retries of many jobs started together"""


# --- the deadline, enforced on every socket operation ------------------------------------------


class DeadlineExceededError(TimeoutError):
    """The transport's deadline passed: a time-out of its own kind, never retried."""


@dataclass(frozen=True)
class _Deadline:
    at: float
    """``time.monotonic()`` when the deadline passes"""
    operation: float

    @contextlib.contextmanager
    def step(self) -> Iterator[float]:
        """How long one socket operation may wait: ``min(operation, what is left)``; a
        time-out that the deadline cut short becomes DeadlineExceededError."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlineExceededError("the deadline passed")
        try:
            yield min(self.operation, left)
        except TimeoutError:
            if left <= self.operation:
                raise DeadlineExceededError("the deadline passed") from None
            raise


class _Bounded:
    """A socket whose every read and write may wait only until the deadline: the standard
    library's time-out restarts with each byte received, this one does not."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline
        self._files = 0
        self._closing = False

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:  # noqa: ANN401
        with self._deadline.step() as wait:
            self._sock.settimeout(wait)
            return self._sock.recv_into(buffer, nbytes, flags)

    def sendall(self, data: Any) -> None:  # noqa: ANN401
        with self._deadline.step() as wait:
            self._sock.settimeout(wait)
            self._sock.sendall(data)

    def makefile(self, mode: str = "rb", buffering: int | None = None) -> io.BufferedReader:
        """A buffered reader whose reads come through ``recv_into`` (http.client reads the
        status, the headers and the body from it)."""
        if mode != "rb":
            raise ValueError("read-only")
        self._files += 1
        return io.BufferedReader(socket.SocketIO(cast(socket.socket, self), "rb"))

    def _decref_socketios(self) -> None:
        """Called by SocketIO.close: the socket closes once its last reader has."""
        self._files -= 1
        if self._closing and self._files <= 0:
            self._sock.close()

    def close(self) -> None:
        self._closing = True
        if self._files <= 0:
            self._sock.close()


_AddrInfo = Sequence[tuple[socket.AddressFamily, socket.SocketKind, int, str, Any]]
"""What ``getaddrinfo`` returns: family, type, protocol, canonical name, address."""


def _connect(host: str, port: int, deadline: _Deadline) -> socket.socket:
    """A connection to the first of ``host``'s addresses that accepts, as
    ``socket.create_connection`` makes it, but within the deadline: that one gives the whole
    wait to each address in turn and none to the name lookup."""
    last: OSError | None = None
    for family, kind, proto, _, address in _addresses(host, port, deadline):
        try:
            with deadline.step() as wait:
                raw = socket.socket(family, kind, proto)
                try:
                    raw.settimeout(wait)
                    raw.connect(address)
                except BaseException:
                    raw.close()
                    raise
        except DeadlineExceededError:
            raise
        except OSError as err:
            last = err
            continue
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return raw
    raise last or OSError("getaddrinfo returned no address")


def _addresses(host: str, port: int, deadline: _Deadline) -> _AddrInfo:
    """``getaddrinfo`` within the deadline. A literal address needs no lookup; a name is looked
    up in a thread, as nothing can interrupt getaddrinfo, and a name server that never answers
    would hold the run for the resolver's own time-outs (5 s a try, for each server). The
    lookup may take all the time left, not one operation's: the resolver tries again on its
    own, and a new lookup would only ask the same servers."""
    with contextlib.suppress(socket.gaierror):
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    found: list[_AddrInfo] = []
    failed: list[Exception] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except Exception as err:  # raised again below, in the caller's thread
            failed.append(err)

    # a daemon: left behind when the deadline passes, it never holds the process open
    thread = threading.Thread(target=lookup, name="qs-jwt name lookup", daemon=True)
    thread.start()
    while thread.is_alive():
        with deadline.step() as wait:  # DeadlineExceededError once none is left
            thread.join(wait)
    if failed:
        raise failed[0]
    return found[0]


class _Observed(http.client.HTTPResponse):
    """An answer that keeps what the caller reads and reports it to an observer on close."""

    report: Callable[[bytes], None] | None = None
    _seen = b""

    def read(self, amt: int | None = None) -> bytes:
        data = super().read(amt)
        if self.report is not None:
            self._seen += data
        return data

    def close(self) -> None:
        report, self.report = self.report, None
        super().close()
        if report is not None:
            report(self._seen)


class _PlainConnection(http.client.HTTPConnection):
    response_class = _Observed

    def __init__(self, host: str, *, deadline: _Deadline, timeout: float | None = None) -> None:
        super().__init__(host, timeout=timeout)
        self._deadline = deadline

    def connect(self) -> None:
        self.sock = cast(
            socket.socket, _Bounded(_connect(self.host, self.port, self._deadline), self._deadline)
        )


class _TLSConnection(http.client.HTTPSConnection):
    response_class = _Observed

    def __init__(
        self,
        host: str,
        *,
        context: ssl.SSLContext,
        deadline: _Deadline,
        timeout: float | None = None,
    ) -> None:
        super().__init__(host, timeout=timeout, context=context)
        self._tls = context
        self._deadline = deadline

    def connect(self) -> None:
        """Connect (through the proxy's tunnel, if any), then the TLS handshake: each step
        waits only as long as the deadline leaves."""
        raw = _connect(self.host, self.port, self._deadline)
        self.sock = cast(socket.socket, _Bounded(raw, self._deadline))
        tunnel_host: str | None = getattr(self, "_tunnel_host", None)
        if tunnel_host:
            getattr(self, "_tunnel")()  # noqa: B009 (private in the stubs, stable since 3.2)
        with self._deadline.step() as wait:
            raw.settimeout(wait)
            tls = self._tls.wrap_socket(raw, server_hostname=tunnel_host or self.host)
        self.sock = cast(socket.socket, _Bounded(tls, self._deadline))


class _HTTPS(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext, deadline: _Deadline) -> None:
        super().__init__(context=context)
        self._make = functools.partial(_TLSConnection, context=context, deadline=deadline)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(cast(Any, self._make), req)


class _HTTP(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._make = functools.partial(_PlainConnection, deadline=deadline)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(cast(Any, self._make), req)


class _Proxies(urllib.request.ProxyHandler):
    """The environment's proxies, except for a loopback host or a plain-http URL."""

    def proxy_open(
        self,
        req: urllib.request.Request,
        proxy: str,
        type: str,
    ) -> http.client.HTTPResponse | None:
        if req.type != "https" or is_loopback(urllib.parse.urlsplit(req.full_url).hostname or ""):
            return None
        return cast("http.client.HTTPResponse | None", super().proxy_open(req, proxy, type))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to report, never a place to send a credential."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:  # noqa: ANN401
        return None


class _Rules(urllib.request.BaseHandler):
    """Before each request: no header value with a line break. After: the observer."""

    handler_order = 100  # before the error processor turns an answer into an HTTPError

    def __init__(self, observer: Observer | None) -> None:
        self._observer = observer

    def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
        for name, value in req.header_items():
            header_value(value, input_name=name.lower())
        req.started = time.monotonic()  # type: ignore[attr-defined]
        return req

    def http_response(
        self, req: urllib.request.Request, response: http.client.HTTPResponse
    ) -> http.client.HTTPResponse:
        observer = self._observer
        if observer is not None and isinstance(response, _Observed):
            started: float = getattr(req, "started", time.monotonic())
            method, url = req.get_method(), req.full_url
            status, headers = response.status, list(response.headers.items())

            def report(body: bytes) -> None:
                elapsed = time.monotonic() - started
                observer(Exchange(method, url, status, headers, body, elapsed))

            response.report = report
        return response

    https_request = http_request
    https_response = http_response


def header_value(value: str, *, input_name: str) -> str:
    """``value`` if it can go into a header; InputError naming ``input_name`` (never showing
    the value) for a line break or another control character, which would split the request."""
    if _BAD_HEADER_VALUE.search(value):
        raise InputError(
            "holds a line break or a control character, which cannot go into a request header",
            input_name=input_name,
            hint="give the value on one line, without control characters",
        )
    return value


def opener(
    transport: Transport, *extra: urllib.request.BaseHandler
) -> urllib.request.OpenerDirector:
    """An HTTP client with the transport's rules, whose deadline starts now; ``extra``
    handlers (a cookie jar) are added. Raises InputError for a bad ``ca-bundle``."""
    if transport.timeout <= 0 or transport.deadline <= 0:
        raise ValueError("timeout and deadline must be positive")
    if transport.verify:
        context = _verifying(transport.ca_bundle)
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the user's explicit choice, warned about
    deadline = _Deadline(time.monotonic() + transport.deadline, transport.timeout)
    director = urllib.request.build_opener(
        _Proxies(None if transport.proxies is None else dict(transport.proxies)),
        _HTTPS(context, deadline),
        _HTTP(deadline),
        _NoRedirects(),
        _Rules(transport.observer),
        *extra,
    )
    director.addheaders = [("User-Agent", USER_AGENT)]
    return director


def _verifying(ca_bundle: str | None) -> ssl.SSLContext:
    """The system's CAs, or only the certificates of ``ca_bundle``, read bounded and
    non-blocking (``read_bounded``: a FIFO with no writer is refused, never waited on)."""
    if not ca_bundle:
        return ssl.create_default_context()
    pem = read_bounded(ca_bundle, CA_BUNDLE_LIMIT, input_name=CA_BUNDLE, secret_hint=None)
    blocks = _PEM_CERTIFICATE.findall(pem)  # comments around them (certifi's) may not be ASCII
    try:
        if blocks:
            return ssl.create_default_context(cadata=b"\n".join(blocks).decode("ascii"))
    except ssl.SSLError:
        pass
    raise InputError(
        f"{path_for_message(ca_bundle)} holds no PEM CA certificate",
        input_name=CA_BUNDLE,
        hint="give a PEM file of the CA that signs the certificate the server shows",
    )


CA_BUNDLE_LIMIT = 16 * 1024 * 1024
"""Bytes of a CA bundle read at most: a system's whole bundle is about 200 KB."""
_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----"
)


# --- retries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure(Generic[E]):
    """An attempt that did not succeed: what to raise, and whether another try is worth it."""

    error: E
    retry_after: float | None
    """None: final; otherwise the least wait before trying again"""
    asked_wait: float | None = None
    """what the server's Retry-After asked for, if anything"""


def retrying(attempt: Callable[[int], T], *, deadline: float, clock: Clock) -> tuple[T, int, float]:
    """Call ``attempt(1)``, ``attempt(2)``... until it returns a result, a final Failure, or
    a retryable one whose wait would end past ``deadline`` seconds from now. Returns the last
    outcome, the number of attempts and the seconds spent."""
    start = clock.monotonic()
    number = 0
    while True:
        number += 1
        outcome = attempt(number)
        elapsed = clock.monotonic() - start
        if not isinstance(outcome, Failure) or outcome.retry_after is None:
            return outcome, number, elapsed
        wait = max(outcome.retry_after, backoff(number, clock.jitter()))
        if elapsed + wait + MIN_ATTEMPT_TIME > deadline:
            return outcome, number, elapsed
        clock.sleep(wait)


def backoff(attempt: int, jitter: float) -> float:
    """Equal jitter: half the exponential step always, the other half at random."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (attempt - 1))
    return step / 2 + step / 2 * jitter


def retry_after(headers: Message, now: dt.datetime) -> float | None:
    """``Retry-After`` in seconds (ASCII digits, or an HTTP date), or None if absent or
    unreadable (``"²".isdigit()`` is true in Python: such a value is refused)."""
    value = (headers.get("Retry-After") or "").strip()
    if _ASCII_DIGITS.fullmatch(value):
        return float(value)
    if not value.isascii():
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def answer_date(headers: Message) -> dt.datetime | None:
    """The answer's ``Date`` header as a UTC time (for the clock difference), or None."""
    try:
        when = email.utils.parsedate_to_datetime(headers.get("Date") or "")
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else None


# --- answers -------------------------------------------------------------------------------------


class MalformedAnswerError(ValueError):
    """An answer that is not a JSON object within this tool's bounds (its words never shown)."""

    def __init__(self) -> None:
        super().__init__("the answer is not a JSON object within bounds")


def read_json(body: bytes, *, limit: int) -> dict[str, Any]:
    """``body`` as a JSON object of at most ``limit`` bytes, nested at most MAX_JSON_DEPTH
    deep, with numbers of at most MAX_JSON_NUMBER; MalformedAnswerError otherwise (a document
    60,000 levels deep would exhaust the parser's recursion; 1e400 is infinity)."""
    if len(body) > limit or _depth(body) > MAX_JSON_DEPTH:
        raise MalformedAnswerError
    try:
        document = json.loads(
            body, parse_int=_bounded_int, parse_float=_bounded_float, parse_constant=_refuse
        )
    except (ValueError, RecursionError):
        raise MalformedAnswerError from None
    if not isinstance(document, dict):
        raise MalformedAnswerError
    return document


def _depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects, strings left out."""
    depth = deepest = 0
    for bracket in _STRING.sub(b"", body).translate(None, b"".join(_NOT_BRACKETS)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


_NOT_BRACKETS = [bytes([b]) for b in range(256) if bytes([b]) not in (b"[", b"]", b"{", b"}")]


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > len(str(MAX_JSON_NUMBER)):
        raise ValueError("number out of bounds")
    number = int(text)
    if abs(number) > MAX_JSON_NUMBER:
        raise ValueError("number out of bounds")
    return number


def _bounded_float(text: str) -> float:
    number = float(text)
    if not abs(number) <= MAX_JSON_NUMBER:  # infinity and NaN fail too
        raise ValueError("number out of bounds")
    return number


def _refuse(_text: str) -> None:
    raise ValueError("NaN and Infinity are not JSON")


def error_parts(body: bytes) -> tuple[list[str], str]:
    """Known error codes (safe to show) and the words of titles and details, lower case and
    space-padded for whole-word matching (never shown), from Qlik's ``errors[]`` or an RFC 6749
    ``error``."""
    try:
        document = read_json(body, limit=MAX_BODY)
    except MalformedAnswerError:
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


# --- failures in words -------------------------------------------------------------------------


TENANT_HINT = "give the tenant's host exactly as Qlik shows it, e.g. tenant.eu.qlikcloud.com"
_NETWORK_HINT = "check the host, the network and any proxy (https_proxy, no_proxy)"


def network_failure(err: BaseException, host_input: str = TENANT) -> Failure[QsjwtError]:
    """A failure to reach Qlik before any answer: whether it is worth another try, and what
    to tell; ``host_input`` is the input that names the host (``tenant``, or ``call``'s
    ``url``)."""
    reason: object = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, DeadlineExceededError):
        return Failure(
            QlikDeadlineError(
                "Qlik did not answer in time: the deadline passed",
                input_name=host_input,
                hint=f"check the host and the network, or give a longer {ref('timeout')}",
            ),
            None,
        )
    if isinstance(reason, ssl.SSLCertVerificationError):
        what = (
            "the server's certificate is not for the host asked for"
            if reason.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH
            else "the server's certificate is not trusted"
        )
        return Failure(
            QlikUnreachableError(
                f"TLS: {what}",
                input_name=CA_BUNDLE,
                hint="behind a TLS-inspecting proxy or a private CA, give its CA certificate in "
                f"{ref(CA_BUNDLE)}",
            ),
            None,
        )
    if isinstance(reason, ssl.SSLError) and not isinstance(reason, ssl.SSLEOFError):
        return Failure(
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
            hint=(TENANT_HINT if host_input == TENANT else f"check the host in {ref(host_input)}")
            + "; a proxy needs https_proxy set",
        )
        return Failure(error, 0.0 if reason.errno == socket.EAI_AGAIN else None)
    if isinstance(reason, TimeoutError):
        what = "the request timed out"
    elif isinstance(reason, ConnectionError | ssl.SSLEOFError | http.client.IncompleteRead):
        what = "the connection was " + (
            "refused" if isinstance(reason, ConnectionRefusedError) else "dropped"
        )
    elif isinstance(reason, http.client.HTTPException):
        return Failure(
            QlikUnreachableError(
                "the server at this host did not answer in HTTP",
                input_name=host_input,
                hint=TENANT_HINT if host_input == TENANT else f"check {ref(host_input)}",
            ),
            None,
        )
    else:
        code = errno.errorcode.get(getattr(reason, "errno", None) or 0)
        return Failure(
            QlikUnreachableError(
                "could not connect" + (f" ({code})" if code else ""),
                input_name=host_input,
                hint=_NETWORK_HINT,
            ),
            None,
        )
    return Failure(
        QlikUnreachableError(
            f"could not reach Qlik: {what}", input_name=host_input, hint=_NETWORK_HINT
        ),
        0.0,
    )


def given_up(
    failure: Failure[QsjwtError], attempts: int, elapsed: float, deadline: float
) -> QsjwtError:
    """The last failure's error, saying why no further attempt was made."""
    error = failure.error
    if failure.asked_wait is not None and failure.asked_wait > deadline - elapsed:
        tail = f"Qlik asked to wait {failure.asked_wait:.0f} s, past the {deadline:.0f} s limit"
    else:
        tail = f"gave up after {attempts} attempt{'s' if attempts > 1 else ''} in {elapsed:.0f} s"
    return type(error)(error.message + f"; {tail}", input_name=error.input_name, hint=error.hint)


# --- JSON services (the key services) ----------------------------------------------------------


LIMIT = 1024 * 1024
"""Bytes of a key service's answer read at most."""


@dataclass(frozen=True)
class Answer:
    """A JSON service's answer: its status and its JSON object ({} when it sent none)."""

    status: int
    document: dict[str, Any]
    errors: str
    """the service's error words (Vault's ``errors`` list, joined), for the caller to scrub"""


class UnreachableError(Exception):
    """A key service could not be reached; ``why`` says how, in words that hold no host, URL,
    header or value."""

    def __init__(self, why: str, *, deadline: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.deadline = deadline

    def error(self, message: str, *, input_name: str, hint: str) -> KeyServiceUnreachableError:
        """The key service's error for the user: its own kind when the deadline passed."""
        kind = KeyServiceDeadlineError if self.deadline else KeyServiceUnreachableError
        return kind(message, input_name=input_name, hint=hint)


class _Again(Exception):  # noqa: N818 (internal: an answer worth another try)
    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def request_json(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    transport: Transport = Transport(),
    retry: bool | None = None,
    clock: Clock = Clock(),
) -> Answer:
    """One request with a JSON ``body`` or an urlencoded ``form`` (OAuth token endpoints), and
    a JSON answer. 429, 5xx and dropped connections are tried again within the deadline for
    an idempotent method, or when ``retry`` says so. Raises UnreachableError (network, TLS,
    time-out, the deadline) and InputError (a bad CA bundle, a header value with a line
    break)."""
    data = None if body is None else json.dumps(body).encode()
    kind = "application/json"
    if form is not None:
        data, kind = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    sent = {"Accept": "application/json", **headers}
    if data is not None:
        sent["Content-Type"] = kind
    again = method in _IDEMPOTENT if retry is None else retry
    director = opener(transport)

    def attempt(_number: int) -> Answer | Failure[Exception]:
        request = urllib.request.Request(  # noqa: S310 (callers check the scheme)
            url, data=data, method=method, headers=sent
        )
        try:
            with director.open(request, timeout=transport.timeout) as response:
                status, raw, answered = response.status, response.read(LIMIT + 1), response.headers
        except urllib.error.HTTPError as err:
            with err:
                status, raw, answered = err.code, err.read(LIMIT + 1), err.headers
        except (OSError, http.client.HTTPException) as err:
            why, dropped = _why(err)
            return Failure(
                UnreachableError(why, deadline=isinstance(_reason(err), DeadlineExceededError)),
                0.0 if again and dropped else None,
            )
        answer = _answer(status, raw)
        if again and (status == 429 or status >= 500):
            asked = retry_after(answered, clock.wall())
            return Failure(_Again(answer), asked or 0.0, asked)
        return answer

    outcome, _, _ = retrying(attempt, deadline=transport.deadline, clock=clock)
    if not isinstance(outcome, Failure):
        return outcome
    if isinstance(outcome.error, _Again):
        return outcome.error.answer
    raise outcome.error


def _answer(status: int, raw: bytes) -> Answer:
    try:
        document = read_json(raw, limit=LIMIT) if raw.strip() else {}
    except MalformedAnswerError:
        document = {}
    errors = document.get("errors")
    words = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
    return Answer(status, document, words)


def _reason(err: BaseException) -> object:
    return err.reason if isinstance(err, urllib.error.URLError) else err


def _why(err: BaseException) -> tuple[str, bool]:
    """What kind of network failure ``err`` is, in words that hold no host, URL or value, and
    whether the connection dropped (worth another try)."""
    reason = _reason(err)
    if isinstance(reason, DeadlineExceededError):
        return "the deadline passed before it answered", False
    if isinstance(reason, ssl.SSLError | ssl.CertificateError) and not isinstance(
        reason, ssl.SSLEOFError
    ):
        return "TLS: the certificate is not trusted or the handshake failed", False
    if isinstance(reason, socket.gaierror):
        return "DNS: the host name does not resolve", False
    if isinstance(reason, TimeoutError):
        return "time-out", False
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused", False
    if isinstance(reason, ConnectionError | ssl.SSLEOFError | http.client.IncompleteRead):
        return "connection reset or closed", True
    if isinstance(reason, http.client.HTTPException):
        return "the server did not answer in HTTP", False
    if isinstance(reason, str):
        return "network", False
    return f"network: {type(reason).__name__}", False
