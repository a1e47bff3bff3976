"""A local Qlik for tests: a real HTTPS server on 127.0.0.1 that answers like Qlik.

It implements ``POST /oauth/token`` (Private Key JWT, client credentials and user
impersonation), ``POST /login/jwt-session`` (a JWT identity provider: ``idp``), ``GET
/api/v1/users/me`` (with an access token or a session's cookie), and QSEoW virtual proxies
(``add_proxy``: ``/<prefix>/qps/user`` GET and DELETE, ``/<prefix>/qrs/about``, with the
Xrfkey pair, the proxy's certificate and claim names), with jwcrypto as the verifier (qs-jwt
signs with PyJWT).

Every behaviour cites its source in ``SOURCES`` (shared/reference/qlik-observed-behaviour.md,
which names the primary sources row by row), or is marked **unconfirmed** there. Every
unconfirmed behaviour is a switch of ``LocalQlik`` or ``QlikProxy`` (``READINGS`` lists them
with their values), so tests run under each plausible reading:

- ``error_style``: ``"generic"`` (the codes real Qlik was seen sending: ``OAUTH-5``
  "Unauthorized" 401 for any bad assertion, ``OAUTH-14`` "Invalid client_id" 400;
  ``INTERNAL-TOKEN-1``, ``LOGIN-2``, ``AUTH-5`` for a JWT login), ``"qlik"`` (Qlik's error
  body with a title that names the rule: the stand-in's own words, unconfirmed) or
  ``"rfc6749"`` (``{"error": ...}``);
- ``qps_user_logs_in``: whether a Bearer on ``GET /qps/user`` logs in (undocumented);
- ``logout_status``: what ``DELETE /qps/user`` answers (200, 204 or 405: undocumented);
- ``unknown_prefix``: a prefix with no virtual proxy gets the default proxy's 302 to a login
  form (documented behaviour of the Windows proxy) or a 404;
- ``slot_hold``: seconds an ended QSEoW session keeps its slot (documented: 5 minutes once the
  user is at the cap; the stand-in holds it always, the stricter reading) and
  ``QlikProxy.max_sessions`` (documented: 5);
- ``QlikProxy.audience`` and ``checks_audience``: whether a virtual proxy checks ``aud``
  (disputed);
- ``proxy_error_body``: a QSEoW refusal is a bare status (Qlik documents no body) or carries
  one;
- ``replay(transcript)``: answer from a recorded transcript (``qsjwt.net.record``) instead.

Where Qlik's behaviour is not documented and no switch is needed, it does the strictest
documented thing and says so in ``STRICTER_THAN_DOCUMENTED``. The TLS certificate comes from a
throw-away CA made at start-up; clients trust it through ``ca_bundle``. Routes live in
``LocalQlik.routes`` so later issues can add endpoints.

    with LocalQlik(tmp_path) as qlik:
        qlik.register(QlikClient("client-1", [jwk], scopes={"user_default"}))
        ... post to qlik.token_url with ca_bundle=qlik.ca_bundle ...
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
import secrets
import ssl
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto import jwk, jws

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
IMPERSONATION = "urn:qlik:oauth:user-impersonation"
ALGORITHMS = ("RS256", "RS512", "ES384")
MAX_ASSERTION_LIFETIME = 300
TOKEN_LIFETIME = 21600
"""What Qlik's M2M and impersonation examples return (expires_in: 21600)."""

STRICTER_THAN_DOCUMENTED = (
    "kid is required in the header (the tutorial's own code sends none; the reference requires it)",
    "the JWK's alg must equal the header's alg",
    "iat may not be in the future at all, and exp must be after now: no clock tolerance",
    "a jti seen before is refused (replay protection is undocumented)",
    "jti must be a UUID",
    "aud must be a string equal to the token URL, not an array holding it",
    "user_lookup is accepted only in a JSON body (the form encoding is undocumented)",
    "client_secret next to an assertion is refused (two ways to authenticate)",
    "jwt-session and the virtual proxy allow no clock tolerance (nbf <= now < exp exactly)",
    "with error_style='qlik', refusals name the rule in their title (stand-in words)",
    "a virtual proxy refuses a token for a user it does not know, when it has a user list",
    "an ended QSEoW session holds its slot for slot_hold seconds even below the cap",
)
OBSERVED = "shared/reference/qlik-observed-behaviour.md"
SOURCES: dict[str, str] = {
    "oauth request (form or JSON, fields)": f"documented: qlik.dev ({OBSERVED})",
    "oauth assertion rules (iss=sub, aud, exp-iat <= 300, kid, RS256/RS512/ES384)": "documented",
    "oauth success body (token_type, expires_in and expires_at)": "documented (both forms)",
    "oauth refusal OAUTH-5 401 / OAUTH-14 400": "seen live (community thread; nebula.js#1450)",
    "oauth refusal titles naming the rule (error_style='qlik')": "UNCONFIRMED: stand-in words",
    "oauth 429 with Retry-After and HTTP-429": "documented: qlik.dev rate limiting",
    "jwt-session request (Bearer only) and claims": "documented (qlik.dev REST login)",
    "jwt-session INTERNAL-TOKEN-1 400 with the claim in detail": "seen live (community)",
    "jwt-session LOGIN-2 401 (no IdP for the host)": "seen live (community)",
    "jwt-session LOGIN-2 for a bad kid, issuer or signature": "UNCONFIRMED (generic style)",
    "jwt-session AUTH-5 403 (user not in the tenant)": "seen live (community)",
    "jwt-session cookies eas.sid...; users/me with cookies alone": "documented (Qlik API spec)",
    "qseow Bearer + Xrfkey pair; RS256/384/512": "documented (help.qlik.com JWT authentication)",
    "qseow any resource behind the proxy (qrs/about) logs in": "documented (proxy)",
    "qseow GET /qps/user reports {session: inactive} or the user": "documented",
    "qseow GET /qps/user with a Bearer logs in": "UNCONFIRMED: switch qps_user_logs_in",
    "qseow DELETE /qps/user logs out; status and body": "exists (documented); UNCONFIRMED answer",
    "qseow 5 parallel sessions; slot freed 5 min after the end": "documented (help.qlik.com)",
    "qseow 403 body at the session cap": "UNCONFIRMED: switch proxy_error_body",
    "qseow unknown prefix: 302 to a login form": "documented (Windows proxy); 404 a switch",
    "qseow audience checked": "UNCONFIRMED (disputed): switch checks_audience",
    "qseow refusal body": "UNCONFIRMED (none documented): switch proxy_error_body",
}
"""Each behaviour of the stand-in and where it comes from."""
READINGS: dict[str, tuple[object, ...]] = {
    "error_style": ("generic", "qlik", "rfc6749"),
    "qps_user_logs_in": (False, True),
    "logout_status": (200, 204, 405),
    "unknown_prefix": ("login-redirect", "404"),
    "checks_audience": (False, True),
    "proxy_error_body": (None, {"errors": [{"code": "HTTP-401", "title": "Unauthorized"}]}),
}
"""The plausible answers to each unconfirmed behaviour (the first is the default)."""
GENERIC_OAUTH = ("OAUTH-5", "Unauthorized", 401)
GENERIC_CLIENT = ("OAUTH-14", "Invalid client_id", 400)
LOGIN_AUDIENCE = "qlik.api/login/jwt-session"
MAX_LOGIN_LIFETIME = 3600


@dataclass
class QlikClient:
    """An OAuth client with Private Key JWT: its registered JWKs (``publicKeys``)."""

    client_id: str
    public_keys: list[dict[str, Any]]
    scopes: frozenset[str] = frozenset({"user_default"})
    grants: frozenset[str] = frozenset({"client_credentials"})
    enabled: bool = True
    private_key_jwt: bool = True


@dataclass
class QlikIdp:
    """The tenant's JWT identity provider: issuer, key ID and the certificate it verifies with."""

    issuer: str
    key_id: str
    certificate_pem: bytes


@dataclass
class QlikProxy:
    """A QSEoW virtual proxy with JWT authentication."""

    prefix: str
    certificate_pem: bytes
    user_id_claim: str = "userId"
    user_directory_claim: str = "userDirectory"
    users: set[tuple[str, str]] | None = None
    """(directory, user id) the repository knows; None: any user"""
    max_sessions: int = 5
    """documented: 5 parallel sessions per user"""
    audience: str | None = None
    checks_audience: bool = False
    """UNCONFIRMED whether a virtual proxy checks ``aud``: with True, a token must carry
    ``audience`` (if set) as its ``aud``"""
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)
    ended: list[tuple[tuple[str, str], float]] = field(default_factory=list)
    """sessions ended (user, monotonic time): each holds its slot for ``slot_hold``"""
    logins: int = 0

    @property
    def cookie(self) -> str:
        return f"X-Qlik-Session-{self.prefix}"


@dataclass
class QlikUser:
    id: str
    subject: str
    name: str = "Test User"
    email: str = "user@example.com"
    status: str = "active"


@dataclass(frozen=True)
class Scripted:
    """A canned answer for the next token request, before any checking (429, 503...)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    consume_jti: bool = False
    """record the request's jti first, as a server that failed after accepting it would"""


@dataclass(frozen=True)
class Issued:
    client_id: str
    user: QlikUser | None
    scope: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Seen:
    """One token request as received (never printed by the server)."""

    content_type: str
    fields: dict[str, Any]
    header: dict[str, Any] | None
    claims: dict[str, Any] | None


class RefusedError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        bare: bool = False,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(title)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.bare = bare
        """no body at all (a QSEoW refusal: Qlik documents none)"""
        self.body = body


@dataclass(frozen=True)
class Answer:
    status: int
    document: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    empty: bool = False
    """no body at all"""


Handler = Callable[["LocalQlik", BaseHTTPRequestHandler, bytes], Answer]
"""A route: (the server, the request, its body) -> the answer; raise RefusedError to refuse."""


class LocalQlik:
    """The server; a context manager that starts it in a thread and stops it."""

    def __init__(
        self,
        directory: Path,
        *,
        error_style: str = "qlik",
        clock_offset: float = 0.0,
        token_response: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        qps_user_logs_in: bool = False,
        logout_status: int = 200,
        unknown_prefix: str = "login-redirect",
        slot_hold: float = 300.0,
        proxy_error_body: dict[str, Any] | None = None,
        known_users_only: bool = False,
    ) -> None:
        self.directory = directory
        if error_style not in READINGS["error_style"]:
            raise ValueError(f"error_style {error_style!r}")
        self.error_style = error_style
        self.qps_user_logs_in = qps_user_logs_in
        self.logout_status = logout_status
        self.unknown_prefix = unknown_prefix
        self.slot_hold = slot_hold
        self.proxy_error_body = proxy_error_body
        self.known_users_only = known_users_only
        """jwt-session refuses (403 AUTH-5) a subject that is not a user yet"""
        self.replaying: list[dict[str, Any]] | None = None
        self.clock_offset = clock_offset
        """seconds Qlik's clock runs ahead of this machine's (its Date header says so too)"""
        self.token_response = token_response
        """rewrites a success body (e.g. to drop expires_in) before it is sent"""
        self.clients: dict[str, QlikClient] = {}
        self.users: list[QlikUser] = []
        self.issued: dict[str, Issued] = {}
        self.seen_jtis: set[str] = set()
        self.script: list[Scripted] = []
        self.requests: list[Seen] = []
        self.routes: dict[tuple[str, str], Handler] = {
            ("POST", "/oauth/token"): _token,
            ("POST", "/login/jwt-session"): _jwt_session,
            ("GET", "/api/v1/users/me"): _users_me,
        }
        self.idp: QlikIdp | None = None
        self.sessions: dict[str, QlikUser] = {}
        """Qlik Cloud sessions by their ``eas.sid`` cookie"""
        self.login_jtis: set[str] = set()
        self.proxies: dict[str, QlikProxy] = {}
        self._lock = threading.Lock()
        self.ca_bundle, cert_file, key_file = _make_certificates(directory)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert_file, key_file)
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return f"https://{self.host}/oauth/token"

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.clock_offset)

    def register(self, client: QlikClient) -> QlikClient:
        self.clients[client.client_id] = client
        return client

    def add_user(self, user: QlikUser) -> QlikUser:
        self.users.append(user)
        return user

    def add_proxy(self, proxy: QlikProxy) -> QlikProxy:
        """Serve a virtual proxy at ``/<prefix>``."""
        self.proxies[proxy.prefix] = proxy
        base = f"/{proxy.prefix}"
        self.routes[("GET", base + "/qps/user")] = _qps_user
        self.routes[("DELETE", base + "/qps/user")] = _qps_logout
        self.routes[("GET", base + "/qrs/about")] = _qrs_about
        return proxy

    def proxy_url(self, prefix: str) -> str:
        return f"https://{self.host}/{prefix}"

    @property
    def tenant_url(self) -> str:
        return f"https://{self.host}"

    def pass_time(self, seconds: float) -> None:
        """Age every ended QSEoW session by ``seconds`` (no test waits five minutes)."""
        for proxy in self.proxies.values():
            proxy.ended = [(who, when - seconds) for who, when in proxy.ended]

    def replay(self, transcript: Mapping[str, Any]) -> None:
        """Answer every request from ``transcript``'s exchanges, in order, whatever the path:
        the status, the headers it names (values made up: a cookie gets a random value, a
        Location the recorded path), and a body made from the recorded shape."""
        self.replaying = list(transcript["exchanges"])

    def queue(self, *answers: Scripted) -> None:
        self.script.extend(answers)

    def __enter__(self) -> LocalQlik:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- answers ----------------------------------------------------------------------------

    def error_body(self, refused: RefusedError) -> dict[str, Any]:
        if refused.bare:
            return {}
        if self.error_style == "rfc6749":
            return {"error": refused.code, "error_description": refused.title}
        if refused.body is not None:
            return refused.body
        entry = {"code": refused.code, "title": refused.title, "status": str(refused.status)}
        if refused.detail:
            entry["detail"] = refused.detail
        return {"errors": [entry], "traceId": secrets.token_hex(8)}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, qlik: LocalQlik) -> None:
        self.qlik = qlik
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """TLS per connection, in the connection's own thread: a client that never completes
        the handshake (or refuses the certificate) holds up no one else."""
        try:
            tls = self.qlik._context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is not a test failure; nothing goes to stderr."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a request holds an assertion."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        return format_datetime(self.server.qlik.now(), usegmt=True)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def _route(self, method: str) -> None:
        qlik = self.server.qlik
        path = urllib.parse.urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        handler = qlik.routes.get((method, path))
        try:
            if qlik.replaying is not None:
                with qlik._lock:
                    answer = _replayed(qlik)
            elif handler is None:
                answer = _not_found(qlik, path)
            else:
                with qlik._lock:
                    answer = handler(qlik, self, body)
        except RefusedError as refused:
            if qlik.error_style == "generic":
                refused = _generic(path, refused)
            answer = Answer(refused.status, qlik.error_body(refused), empty=refused.bare)
        payload = b"" if answer.empty else json.dumps(answer.document).encode()
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            for one in value.split("\n"):  # several Set-Cookie headers: one per line
                self.send_header(name, one)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _not_found(qlik: LocalQlik, path: str) -> Answer:
    """A path nothing serves. With a QSEoW proxy about, an unknown prefix reaches the default
    (Windows) proxy, which sends a client without "Windows" in its User-Agent to its login
    form (documented behaviour); ``unknown_prefix="404"`` is the other reading."""
    prefix = path.strip("/").split("/")[0]
    if qlik.proxies and prefix not in qlik.proxies and qlik.unknown_prefix == "login-redirect":
        target = secrets.token_hex(8)
        location = f"/internal_forms_authentication/?targetId={target}"
        return Answer(302, {}, {"Location": location}, empty=True)
    raise RefusedError(404, "HTTP-404", "Not found")


_MISSING = re.compile(r"Missing (?:claim )?(\w+)")


def _generic(path: str, refused: RefusedError) -> RefusedError:
    """The codes real Qlik was seen sending, which do not name the rule that failed
    (shared/reference/qlik-observed-behaviour.md): ``OAUTH-5`` "Unauthorized" 401 for any bad
    assertion, ``OAUTH-14`` "Invalid client_id" 400 for an unknown client; for a JWT login
    ``INTERNAL-TOKEN-1`` with the missing claim in ``detail`` and ``LOGIN-2`` otherwise (seen
    for "no identity provider for the host"; for a bad kid, issuer or signature unconfirmed)."""
    if refused.bare or refused.body is not None:
        return refused
    if path == "/oauth/token":
        if refused.title == "Invalid client credentials":
            code, title, status = GENERIC_CLIENT
            return RefusedError(status, code, title)
        if refused.status == 401:
            code, title, status = GENERIC_OAUTH
            return RefusedError(status, code, title)
        return refused
    if path == "/login/jwt-session" and refused.code not in ("AUTH-5",):
        missing = _MISSING.match(refused.title)
        if missing:
            return RefusedError(
                400,
                "INTERNAL-TOKEN-1",
                "Invalid token request",
                f"JWT_LOGIN_VALIDATIONS Missing required claim: {missing.group(1)}",
            )
        return RefusedError(
            401, "LOGIN-2", "", body={"errors": [{"code": "LOGIN-2", "status": "401"}]}
        )
    return refused


def _replayed(qlik: LocalQlik) -> Answer:
    """The next recorded answer: its status, the headers it names, a body from its shape."""
    if not qlik.replaying:
        raise RefusedError(500, "HTTP-500", "the transcript has no more exchanges")
    recorded = qlik.replaying.pop(0)
    response = recorded["response"]
    headers: dict[str, str] = {}
    cookies = [
        f"{name}={secrets.token_urlsafe(12)}; Path=/; Secure; HttpOnly"
        for name in response["cookies"]
    ]
    if cookies:
        headers["Set-Cookie"] = "\n".join(cookies)
    if "retry_after" in response:
        headers["Retry-After"] = (
            "0" if response["retry_after"] == "date" else response["retry_after"]
        )
    if "location" in response:
        headers["Location"] = response["location"]["path"]
    document = _from_shape(response.get("body"))
    if not isinstance(document, dict):
        return Answer(int(recorded["status"]), {}, headers, empty=True)
    return Answer(int(recorded["status"]), document, headers)


def _from_shape(shape: Any) -> Any:
    """A JSON value with the recorded shape: ``string:N`` becomes N letters, ``number`` 0,
    ``boolean`` true; Qlik's own words (kept in the transcript) stay as recorded."""
    if isinstance(shape, dict):
        if "$bytes" in shape or "$form" in shape:
            return None
        return {key: _from_shape(value) for key, value in shape.items()}
    if isinstance(shape, list):
        return [_from_shape(item) for item in shape if not str(item).startswith("... ")]
    if isinstance(shape, str):
        kind, _, size = shape.partition(":")
        if kind == "string" and size.isdigit():
            return "x" * int(size)
        return {"number": 0, "boolean": True}.get(shape, shape)
    return shape


# --- /oauth/token ---------------------------------------------------------------------------


def _token(qlik: LocalQlik, request: BaseHTTPRequestHandler, body: bytes) -> Answer:
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
    fields = _fields(content_type, body)
    header, claims = _peek(fields.get("client_assertion"))
    qlik.requests.append(Seen(content_type, fields, header, claims))
    if qlik.script:
        scripted = qlik.script.pop(0)
        if scripted.consume_jti and claims:
            qlik.seen_jtis.add(str(claims.get("jti")))
        canned = scripted.body or {"errors": [{"code": f"HTTP-{scripted.status}"}]}
        return Answer(scripted.status, canned, scripted.headers)
    client = _authenticate(qlik, fields)
    grant = fields.get("grant_type")
    user = _impersonated(qlik, client, fields, content_type) if grant == IMPERSONATION else None
    scope = _scope(client, fields.get("scope"))
    now = qlik.now()
    token = secrets.token_urlsafe(32)
    expires_at = now + dt.timedelta(seconds=TOKEN_LIFETIME)
    qlik.issued[token] = Issued(client.client_id, user, scope, expires_at)
    document: dict[str, Any] = {
        "access_token": token,
        "token_type": "bearer",  # the schema's spelling; the tutorial shows "Bearer"
        "expires_in": TOKEN_LIFETIME,
        "expires_at": expires_at.isoformat().replace("+00:00", "Z"),
        "scope": scope,
    }
    if qlik.token_response is not None:
        document = qlik.token_response(document)
    return Answer(200, document)


def _fields(content_type: str, body: bytes) -> dict[str, Any]:
    if content_type == "application/json":
        try:
            document = json.loads(body)
        except ValueError:
            raise RefusedError(400, "invalid_request", "Body is not JSON") from None
        if not isinstance(document, dict):
            raise RefusedError(400, "invalid_request", "Body is not a JSON object")
        return document
    if content_type == "application/x-www-form-urlencoded":
        try:
            pairs = urllib.parse.parse_qs(body.decode(), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise RefusedError(400, "invalid_request", "Malformed form body") from None
        if any(len(values) != 1 for values in pairs.values()):
            raise RefusedError(400, "invalid_request", "A parameter is repeated")
        return {name: values[0] for name, values in pairs.items()}
    raise RefusedError(400, "invalid_request", "Unsupported content type")


def _authenticate(qlik: LocalQlik, fields: dict[str, Any]) -> QlikClient:
    if fields.get("grant_type") not in ("client_credentials", IMPERSONATION):
        raise RefusedError(400, "unsupported_grant_type", "Unsupported grant type")
    if fields.get("client_assertion_type") != JWT_BEARER:
        raise RefusedError(400, "unsupported_client_assertion_type", "Unsupported assertion type")
    if "client_secret" in fields:
        raise RefusedError(400, "invalid_request", "More than one client authentication method")
    client = qlik.clients.get(str(fields.get("client_id")))
    if client is None:
        raise RefusedError(401, "invalid_client", "Invalid client credentials")
    if not client.enabled:
        raise RefusedError(401, "unauthorized_client", "Client is disabled")
    if not client.private_key_jwt:
        raise RefusedError(
            400, "unsupported_client_assertion_type", "Client does not allow assertions"
        )
    if fields["grant_type"] not in client.grants:
        raise RefusedError(400, "unauthorized_client", "Grant type not allowed for this client")
    assertion = fields.get("client_assertion")
    if not isinstance(assertion, str):
        raise RefusedError(400, "invalid_request", "Missing client_assertion")
    _verify(qlik, client, assertion)
    return client


def _peek(token: object) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Header and claims as sent, unchecked: for tests to look at, never to trust."""
    try:
        assert isinstance(token, str)
        header, payload, _ = token.split(".")
        parts = [
            json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in (header, payload)
        ]
    except (AssertionError, ValueError):
        return None, None
    return tuple(p if isinstance(p, dict) else None for p in parts)  # type: ignore[return-value]


def _verify(qlik: LocalQlik, client: QlikClient, token: str) -> None:
    header, _ = _peek(token)
    if header is None:
        raise RefusedError(401, "invalid_client", "Malformed assertion")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise RefusedError(
            401, "invalid_client", "Signature validation failed: algorithm not allowed"
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise RefusedError(401, "invalid_client", "Missing kid in assertion header")
    registered = [key for key in client.public_keys if key.get("kid") == kid]
    if not registered:
        raise RefusedError(401, "invalid_client", "No matching key found for kid")
    public = registered[0]
    if public.get("alg") != alg:
        raise RefusedError(
            401, "invalid_client", "Signature validation failed: alg does not match key"
        )
    checker = jws.JWS()
    try:
        checker.deserialize(token)
        checker.verify(jwk.JWK(**public), alg=alg)
    except (jws.InvalidJWSSignature, jws.InvalidJWSObject, ValueError):
        raise RefusedError(401, "invalid_client", "Signature validation failed") from None
    claims = json.loads(checker.payload)
    if not isinstance(claims, dict):
        raise RefusedError(401, "invalid_client", "Malformed assertion")
    _check_claims(qlik, client, claims)


def _check_claims(qlik: LocalQlik, client: QlikClient, claims: dict[str, Any]) -> None:
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise RefusedError(401, "invalid_client", "Invalid issuer or subject")
    if claims.get("aud") != qlik.token_url:
        raise RefusedError(401, "invalid_client", "Invalid audience")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in (iat, exp)):
        raise RefusedError(401, "invalid_client", "Invalid iat or exp")
    assert isinstance(iat, int) and isinstance(exp, int)
    if exp - iat > MAX_ASSERTION_LIFETIME:
        raise RefusedError(401, "invalid_client", "Assertion lifetime exceeds 300 seconds")
    now = qlik.now().timestamp()
    if iat > now:
        raise RefusedError(401, "invalid_client", "Assertion issued in the future")
    if exp <= now:
        raise RefusedError(401, "invalid_client", "Assertion expired")
    jti = claims.get("jti")
    try:
        uuid.UUID(str(jti))
    except ValueError:
        raise RefusedError(401, "invalid_client", "jti must be a UUID") from None
    if jti in qlik.seen_jtis:
        raise RefusedError(401, "invalid_client", "Assertion replay: jti already used")
    qlik.seen_jtis.add(str(jti))


def _impersonated(
    qlik: LocalQlik, client: QlikClient, fields: dict[str, Any], content_type: str
) -> QlikUser:
    lookup = fields.get("user_lookup")
    if content_type != "application/json" or not isinstance(lookup, dict):
        raise RefusedError(400, "invalid_request", "user_lookup must be a JSON object")
    field_name, value = lookup.get("field"), lookup.get("value")
    if field_name not in ("subject", "userId") or not isinstance(value, str):
        raise RefusedError(400, "invalid_request", "Invalid user_lookup")
    attribute = "subject" if field_name == "subject" else "id"
    for user in qlik.users:
        if getattr(user, attribute) == value:
            if user.status != "active":
                raise RefusedError(403, "access_denied", "User is disabled")
            return user
    raise RefusedError(400, "invalid_grant", "User not found")


def _scope(client: QlikClient, requested: object) -> str:
    """Omitted: the client's scopes. Given: each must be one the client has."""
    if requested is None:
        return " ".join(sorted(client.scopes))
    if not isinstance(requested, str):
        raise RefusedError(400, "invalid_scope", "Invalid scope")
    asked = requested.split(" ")
    if not all(asked) or not set(asked) <= client.scopes:
        raise RefusedError(400, "invalid_scope", "Invalid scope")
    return " ".join(asked)


# --- /api/v1/users/me -----------------------------------------------------------------------


def _users_me(qlik: LocalQlik, request: BaseHTTPRequestHandler, _body: bytes) -> Answer:
    session = qlik.sessions.get(_cookies(request).get("eas.sid", ""))
    if session is not None and not request.headers.get("Authorization"):
        return Answer(200, _user_document(session, bot=False))
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    issued = qlik.issued.get(token) if scheme.lower() == "bearer" else None
    if issued is None or issued.expires_at <= qlik.now():
        raise RefusedError(401, "HTTP-401", "Not authorized")
    user = issued.user or QlikUser(
        id="bot-" + issued.client_id, subject="qlikbot@" + issued.client_id, name="Bot"
    )
    return Answer(200, _user_document(user, bot=issued.user is None))


def _user_document(user: QlikUser, *, bot: bool) -> dict[str, Any]:
    return {
        "id": user.id,
        "tenantId": "local-tenant",
        "subject": user.subject,
        "name": user.name,
        "email": user.email,
        "status": user.status,
        "assignedRoles": [{"name": "TenantAdmin"}] if bot else [],
        "assignedGroups": [],
    }


def _cookies(request: BaseHTTPRequestHandler) -> dict[str, str]:
    jar: dict[str, str] = {}
    for part in (request.headers.get("Cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            jar[name] = value
    return jar


def _bearer(request: BaseHTTPRequestHandler) -> str | None:
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _verified_claims(
    token: str,
    certificate_pem: bytes,
    algorithms: tuple[str, ...],
    refuse: Callable[[str], RefusedError],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a token signed by the certificate's key (jwcrypto), or ``refuse``."""
    header, _ = _peek(token)
    if header is None or header.get("alg") not in algorithms:
        raise refuse("Invalid token: algorithm not allowed")
    key = jwk.JWK.from_pyca(x509.load_pem_x509_certificate(certificate_pem).public_key())
    checker = jws.JWS()
    try:
        checker.deserialize(token)
        checker.verify(key, alg=header["alg"])
    except (jws.InvalidJWSSignature, jws.InvalidJWSObject, ValueError):
        raise refuse("Invalid signature: the token does not verify with the certificate") from None
    claims = json.loads(checker.payload)
    if not isinstance(claims, dict):
        raise refuse("Invalid token: malformed claims")
    return header, claims


def _times(qlik: LocalQlik, claims: dict[str, Any], refuse: Callable[[str], RefusedError]) -> None:
    now = qlik.now().timestamp()
    nbf, exp = claims.get("nbf", claims.get("iat")), claims.get("exp")
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in (nbf, exp)):
        raise refuse("Invalid token: exp and nbf must be whole seconds")
    assert isinstance(nbf, int) and isinstance(exp, int)
    if exp <= now:
        raise refuse("Token expired (exp is past)")
    if nbf > now:
        raise refuse("Token not yet valid (nbf is in the future)")


# --- POST /login/jwt-session (a Qlik Cloud JWT identity provider) -----------------------------

LOGIN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


def _jwt_session(qlik: LocalQlik, request: BaseHTTPRequestHandler, _body: bytes) -> Answer:
    def refuse(title: str) -> RefusedError:
        return RefusedError(401, "AUTH-1", title)

    token = _bearer(request)
    idp = qlik.idp
    if token is None:
        raise refuse("Missing bearer token")
    header, _ = _peek(token)
    if idp is None:
        raise refuse("No JWT identity provider is configured")
    if header is None or header.get("kid") != idp.key_id:
        raise refuse("Invalid kid: no key with this key id")
    header, claims = _verified_claims(token, idp.certificate_pem, LOGIN_ALGORITHMS, refuse)
    if claims.get("iss") != idp.issuer:
        raise refuse("Invalid issuer")
    if claims.get("aud") != LOGIN_AUDIENCE:
        raise refuse("Invalid audience")
    _times(qlik, claims, refuse)
    nbf, exp = claims.get("nbf", claims.get("iat")), claims["exp"]
    if exp - nbf > MAX_LOGIN_LIFETIME:
        raise refuse("Token lifetime exceeds 3600 seconds (exp - nbf)")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise refuse("Missing jti")
    if jti in qlik.login_jtis:
        raise refuse("Token replay: jti already used")
    if claims.get("subType") != "user" or not isinstance(claims.get("sub"), str):
        raise refuse("Invalid sub or subType")
    for name in ("name", "email"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise refuse(f"Missing claim {name}")
    if not isinstance(claims.get("email_verified"), bool):
        raise refuse("Invalid email_verified: must be a boolean")
    qlik.login_jtis.add(jti)
    user = next((u for u in qlik.users if u.subject == claims["sub"]), None)
    if user is None and qlik.known_users_only:  # seen live: 403 AUTH-5
        raise RefusedError(403, "AUTH-5", "User is not a member of tenant")
    if user is None:  # a JWT login provisions the user
        user = qlik.add_user(
            QlikUser("u-" + secrets.token_hex(4), claims["sub"], claims["name"], claims["email"])
        )
    sid = secrets.token_urlsafe(24)
    qlik.sessions[sid] = user
    return Answer(200, {}, {"Set-Cookie": f"eas.sid={sid}; Path=/; Secure; HttpOnly"})


# --- a QSEoW virtual proxy ------------------------------------------------------------------


def _proxy_refusal(qlik: LocalQlik, status: int, title: str) -> RefusedError:
    """A QSEoW refusal: a bare status (Qlik documents no body), or ``proxy_error_body``."""
    body = qlik.proxy_error_body
    return RefusedError(status, f"HTTP-{status}", title, bare=body is None, body=body)


def _proxy_of(qlik: LocalQlik, request: BaseHTTPRequestHandler) -> QlikProxy:
    prefix = urllib.parse.urlsplit(request.path).path.strip("/").split("/")[0]
    proxy = qlik.proxies.get(prefix)
    if proxy is None:
        raise RefusedError(404, "HTTP-404", "Not found")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
    keys = [v for k, values in query.items() if k.lower() == "xrfkey" for v in values]
    header = request.headers.get("X-Qlik-Xrfkey")
    if len(keys) != 1 or header != keys[0] or len(header) != 16 or not header.isalnum():
        raise _proxy_refusal(qlik, 403, "XSRF prevention check failed")  # documented: the pair
    return proxy


def _slots_taken(qlik: LocalQlik, proxy: QlikProxy, who: tuple[str, str]) -> int:
    """Open sessions, and ended ones still within ``slot_hold`` (documented: a session that
    ends frees its slot after 5 minutes once the user is at the maximum)."""
    now = time.monotonic()
    proxy.ended = [(user, when) for user, when in proxy.ended if now - when < qlik.slot_hold]
    open_ = sum(1 for user in proxy.sessions.values() if user == who)
    return open_ + sum(1 for user, _ in proxy.ended if user == who)


def _proxy_user(
    qlik: LocalQlik, proxy: QlikProxy, request: BaseHTTPRequestHandler, *, logs_in: bool = True
) -> tuple[tuple[str, str] | None, str | None]:
    """The user a request is logged in as (a new session for a good token when ``logs_in``),
    and a new session's id to set as a cookie; (None, None) for no authentication at all."""
    sid = _cookies(request).get(proxy.cookie)
    if sid in proxy.sessions and (_bearer(request) is None or not logs_in):
        return proxy.sessions[sid], None
    token = _bearer(request)
    if token is None or not logs_in:
        return None, None

    def refuse(_title: str) -> RefusedError:
        return _proxy_refusal(qlik, 401, "Unauthorized")  # QSEoW says no more

    _, claims = _verified_claims(token, proxy.certificate_pem, ("RS256", "RS384", "RS512"), refuse)
    _times(qlik, claims, refuse)
    if proxy.checks_audience and proxy.audience is not None and claims.get("aud") != proxy.audience:
        raise refuse("audience")
    user_id = claims.get(proxy.user_id_claim)
    directory = claims.get(proxy.user_directory_claim)
    if not isinstance(user_id, str) or not isinstance(directory, str):
        raise refuse("claims")
    if proxy.users is not None and (directory, user_id) not in proxy.users:
        raise refuse("unknown user")
    if _slots_taken(qlik, proxy, (directory, user_id)) >= proxy.max_sessions:
        raise _proxy_refusal(qlik, 403, "Forbidden")  # the body at the cap is undocumented
    new = secrets.token_urlsafe(24)
    proxy.sessions[new] = (directory, user_id)
    proxy.logins += 1
    return (directory, user_id), new


def _session_cookie(proxy: QlikProxy, sid: str | None) -> dict[str, str]:
    return {"Set-Cookie": f"{proxy.cookie}={sid}; Path=/; Secure; HttpOnly"} if sid else {}


def _qps_user(qlik: LocalQlik, request: BaseHTTPRequestHandler, _body: bytes) -> Answer:
    """Documented as a status query; whether a Bearer here logs in is not
    (``qps_user_logs_in``)."""
    proxy = _proxy_of(qlik, request)
    who, sid = _proxy_user(qlik, proxy, request, logs_in=qlik.qps_user_logs_in)
    if who is None:
        return Answer(200, {"session": "inactive"})
    directory, user_id = who
    document = {
        "userDirectory": directory,
        "userId": user_id,
        "userName": user_id,
        "logoutUri": f"https://{qlik.host}/{proxy.prefix}/qps/user",
    }
    return Answer(200, document, _session_cookie(proxy, sid))


def _qps_logout(qlik: LocalQlik, request: BaseHTTPRequestHandler, _body: bytes) -> Answer:
    """Documented: "the user logs out"; the status and body are not (``logout_status``)."""
    proxy = _proxy_of(qlik, request)
    if qlik.logout_status == 405:
        return Answer(405, {}, empty=True)
    sid = _cookies(request).get(proxy.cookie, "")
    who = proxy.sessions.pop(sid, None)
    if who is not None:
        proxy.ended.append((who, time.monotonic()))
    if qlik.logout_status == 204:
        return Answer(204, {}, empty=True)
    return Answer(200, {"session": "inactive" if who is None else "ended"})


def _qrs_about(qlik: LocalQlik, request: BaseHTTPRequestHandler, _body: bytes) -> Answer:
    """Any resource behind the proxy requires a login (documented)."""
    proxy = _proxy_of(qlik, request)
    who, sid = _proxy_user(qlik, proxy, request)
    if who is None:
        return Answer(302, {}, {"Location": f"/{proxy.prefix}/login"}, empty=True)
    return Answer(
        200, {"buildVersion": "14.187.4", "schemaPath": "About"}, _session_cookie(proxy, sid)
    )


# --- certificates ---------------------------------------------------------------------------


def _make_certificates(directory: Path) -> tuple[str, str, str]:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost; the CA's key is
    never written."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "qs-jwt local Qlik test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "local-qlik-ca.pem"
    cert_file = directory / "local-qlik-server.pem"
    key_file = directory / "local-qlik-server-key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return str(ca_file), str(cert_file), str(key_file)
