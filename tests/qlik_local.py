"""A local Qlik Cloud for tests: a real HTTPS server on 127.0.0.1 that answers like Qlik.

It implements ``POST /oauth/token`` (Private Key JWT, client credentials and user
impersonation), ``POST /login/jwt-session`` (a JWT identity provider: ``idp``), ``GET
/api/v1/users/me`` (with an access token or a session's cookie), and QSEoW virtual proxies
(``add_proxy``: ``/<prefix>/qps/user`` GET and DELETE, ``/<prefix>/qrs/about``, with the
Xrfkey pair, the proxy's certificate and claim names) by the documented rules
(shared/reference/qlik-oauth-and-live.md §A), with jwcrypto as the verifier (qs-jwt signs with
PyJWT). Where Qlik's behaviour is not documented, it does the strictest documented thing and
says so in ``STRICTER_THAN_DOCUMENTED``. Errors use Qlik's ``{"errors": [...]}`` body, or RFC
6749's ``{"error": ...}`` with ``error_style="rfc6749"`` (which form Qlik uses for each refusal
is undocumented).

The TLS certificate comes from a throw-away CA made at start-up; clients trust it through
``ca_bundle``. Routes live in ``LocalQlik.routes`` so later issues can add endpoints.

    with LocalQlik(tmp_path) as qlik:
        qlik.register(QlikClient("client-1", [jwk], scopes={"user_default"}))
        ... post to qlik.token_url with ca_bundle=qlik.ca_bundle ...
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
import ssl
import threading
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
    "jwt-session refusals name the rule in their title (Qlik's detail wording is undocumented)",
    "a virtual proxy refuses a token for a user it does not know, when it has a user list",
    "a QSEoW refusal is a bare 401 with no reason (Qlik documents none)",
)
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
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)
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
    def __init__(self, status: int, code: str, title: str) -> None:
        super().__init__(title)
        self.status, self.code, self.title = status, code, title


@dataclass(frozen=True)
class Answer:
    status: int
    document: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


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
    ) -> None:
        self.directory = directory
        self.error_style = error_style
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
        if self.error_style == "rfc6749":
            return {"error": refused.code, "error_description": refused.title}
        return {
            "errors": [
                {"code": refused.code, "title": refused.title, "status": str(refused.status)}
            ]
        }


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
            if handler is None:
                raise RefusedError(404, "HTTP-404", "Not found")
            with qlik._lock:
                answer = handler(qlik, self, body)
        except RefusedError as refused:
            answer = Answer(refused.status, qlik.error_body(refused))
        payload = json.dumps(answer.document).encode()
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


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
    if user is None:  # a JWT login provisions the user
        user = qlik.add_user(
            QlikUser("u-" + secrets.token_hex(4), claims["sub"], claims["name"], claims["email"])
        )
    sid = secrets.token_urlsafe(24)
    qlik.sessions[sid] = user
    return Answer(200, {}, {"Set-Cookie": f"eas.sid={sid}; Path=/; Secure; HttpOnly"})


# --- a QSEoW virtual proxy ------------------------------------------------------------------


def _proxy_of(qlik: LocalQlik, request: BaseHTTPRequestHandler) -> QlikProxy:
    prefix = urllib.parse.urlsplit(request.path).path.strip("/").split("/")[0]
    proxy = qlik.proxies.get(prefix)
    if proxy is None:
        raise RefusedError(404, "HTTP-404", "Not found")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
    keys = [v for k, values in query.items() if k.lower() == "xrfkey" for v in values]
    header = request.headers.get("X-Qlik-Xrfkey")
    if len(keys) != 1 or header != keys[0] or len(header) != 16 or not header.isalnum():
        raise RefusedError(403, "HTTP-403", "XSRF prevention check failed")
    return proxy


def _proxy_user(
    qlik: LocalQlik, proxy: QlikProxy, request: BaseHTTPRequestHandler
) -> tuple[tuple[str, str] | None, str | None]:
    """The user a request is logged in as (a new session for a good token), and a new
    session's id to set as a cookie; (None, None) for no authentication at all."""
    sid = _cookies(request).get(proxy.cookie)
    if sid in proxy.sessions and _bearer(request) is None:
        return proxy.sessions[sid], None
    token = _bearer(request)
    if token is None:
        return None, None

    def refuse(_title: str) -> RefusedError:
        return RefusedError(401, "HTTP-401", "Unauthorized")  # QSEoW says no more

    _, claims = _verified_claims(token, proxy.certificate_pem, ("RS256", "RS384", "RS512"), refuse)
    _times(qlik, claims, refuse)
    user_id = claims.get(proxy.user_id_claim)
    directory = claims.get(proxy.user_directory_claim)
    if not isinstance(user_id, str) or not isinstance(directory, str):
        raise refuse("claims")
    if proxy.users is not None and (directory, user_id) not in proxy.users:
        raise refuse("unknown user")
    if (
        sum(1 for who in proxy.sessions.values() if who == (directory, user_id))
        >= proxy.max_sessions
    ):
        raise RefusedError(403, "HTTP-403", "OnMaxParallelSessionsExceeded")
    new = secrets.token_urlsafe(24)
    proxy.sessions[new] = (directory, user_id)
    proxy.logins += 1
    return (directory, user_id), new


def _session_cookie(proxy: QlikProxy, sid: str | None) -> dict[str, str]:
    return {"Set-Cookie": f"{proxy.cookie}={sid}; Path=/; Secure; HttpOnly"} if sid else {}


def _qps_user(qlik: LocalQlik, request: BaseHTTPRequestHandler, _body: bytes) -> Answer:
    proxy = _proxy_of(qlik, request)
    who, sid = _proxy_user(qlik, proxy, request)
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
    proxy = _proxy_of(qlik, request)
    sid = _cookies(request).get(proxy.cookie, "")
    if proxy.sessions.pop(sid, None) is None:
        return Answer(200, {"session": "inactive"})
    return Answer(200, {"session": "ended"})


def _qrs_about(qlik: LocalQlik, request: BaseHTTPRequestHandler, _body: bytes) -> Answer:
    proxy = _proxy_of(qlik, request)
    who, sid = _proxy_user(qlik, proxy, request)
    if who is None:
        return Answer(302, {}, {"Location": f"/{proxy.prefix}/login"})
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
