"""Small fakes of Azure Key Vault with Microsoft Entra ID, and of Google Cloud KMS with
Security Token Service and IAM Credentials, over HTTPS on 127.0.0.1.

They are not recordings and not emulators: each answers the requests qs-jwt makes in the
shapes the services document (Entra ID's client-credentials grant with a federated
client_assertion; Key Vault's ``keys/NAME[/VERSION]`` and ``keys/NAME/VERSION/sign``, API
7.4; STS ``v1/token``; IAM Credentials ``generateAccessToken``; Cloud KMS ``publicKey`` and
``asymmetricSign``), with a real ``cryptography`` key behind each sign, and refuse the way
they document (an AADSTS code, a Google status) with words that echo the caller's values, so
the tests can show that qs-jwt never repeats them. The federation checks only the identity
token's audience and subject (the real services also verify its signature against the
issuer's keys). The TLS certificate comes from a throw-away CA (tests/qlik_local.py's helper);
a client trusts it through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from jwcrypto import jwk, jwt

from tests.qlik_local import _make_certificates

REPOSITORY = "acme/qlik"
SUBJECT = f"repo:{REPOSITORY}:ref:refs/heads/main"
TENANT = "00000000-0000-4000-8000-00000000a2e1"
CLIENT = "11111111-1111-4111-8111-11111111c11e"
PROVIDER = "projects/123456789/locations/global/workloadIdentityPools/ci-pool/providers/github"
SERVICE_ACCOUNT = "qlik-signer@acme-qlik.iam.gserviceaccount.com"
REQUEST_TOKEN = "qs-jwt-cloud-fake-request-token"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


def id_token(audience: str, subject: str = SUBJECT) -> str:
    """A CI identity token as GitHub's looks (signed by a throw-away key the fakes never
    check)."""
    now = int(time.time())
    claims = {
        "iss": "https://token.actions.githubusercontent.com",
        "aud": audience,
        "sub": subject,
        "repository": REPOSITORY,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    signed = jwt.JWT(header={"alg": "ES256"}, claims=claims)
    signed.make_signed_token(key)
    return str(signed.serialize())


def _claims(token: str) -> dict[str, Any]:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign_digest(key: PrivateKey, digest: bytes, bits: str, *, pss: bool = False) -> bytes:
    """What the service does with a digest: DER for ECDSA (callers convert as documented)."""
    prehashed = utils.Prehashed(_HASHES[bits]())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(digest, ec.ECDSA(prehashed))
    if pss:
        pss_padding = padding.PSS(padding.MGF1(_HASHES[bits]()), padding.PSS.DIGEST_LENGTH)
        return key.sign(digest, pss_padding, prehashed)
    return key.sign(digest, padding.PKCS1v15(), prehashed)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        try:
            document = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return document if isinstance(document, dict) else {}

    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))

    @property
    def bearer(self) -> str:
        return self.headers.get("authorization", "").removeprefix("Bearer ")


Route = Callable[[Request], tuple[int, dict[str, Any]]]


@dataclass
class FakeServer:
    """An HTTPS server on 127.0.0.1; ``route`` answers every request."""

    directory: Path
    route: Route
    seen: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ca_bundle, cert, key = _make_certificates(self.directory)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                """Silent: requests carry tokens."""

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urllib.parse.urlsplit(self.path)
                request = Request(
                    method,
                    urllib.parse.unquote(parts.path),
                    dict(urllib.parse.parse_qsl(parts.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                owner.seen.append(request)
                status, document = owner.route(request)
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request: Any, client_address: Any) -> None:
                try:
                    tls = context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                try:
                    super().finish_request(tls, client_address)
                finally:
                    tls.close()

            def handle_error(self, request: Any, client_address: Any) -> None:
                """A client that hangs up is not a failure."""

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def github_token(request: Request) -> tuple[int, dict[str, Any]] | None:
    """GitHub's ``ACTIONS_ID_TOKEN_REQUEST_URL``: ``{"value": JWT}`` for the audience asked."""
    if request.path != "/github-id-token":
        return None
    if request.bearer != REQUEST_TOKEN:
        return 401, {"message": "bad request token"}
    return 200, {"value": id_token(request.query.get("audience", ""))}


# --- Azure: Entra ID and Key Vault ------------------------------------------------------------


@dataclass
class Azure:
    """Entra ID's token endpoint and a vault, on one server. Keys: rsa (RSA 2048), ec256,
    ec384; "locked" can be read but its sign is refused (403, as without the sign
    permission)."""

    keys: dict[str, PrivateKey] = field(
        default_factory=lambda: {
            "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec256": ec.generate_private_key(ec.SECP256R1()),
            "ec384": ec.generate_private_key(ec.SECP384R1()),
            "locked": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        }
    )
    versions: dict[str, str] = field(default_factory=dict)
    issued: set[str] = field(default_factory=set)
    server: FakeServer | None = None

    def start(self, directory: Path) -> Azure:
        self.versions = {name: secrets.token_hex(16) for name in self.keys}
        self.server = FakeServer(directory, self.route)
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def route(self, request: Request) -> tuple[int, dict[str, Any]]:
        if (answer := github_token(request)) is not None:
            return answer
        if request.method == "POST" and request.path.endswith("/oauth2/v2.0/token"):
            return self.token(request)
        if request.query.get("api-version") != "7.4":
            return 400, {"error": {"code": "BadParameter", "message": "api-version"}}
        if request.bearer not in self.issued:
            return 401, {"error": {"code": "Unauthorized", "message": "AKV10000"}}
        parts = request.path.strip("/").split("/")
        if parts[0] != "keys" or len(parts) < 2 or parts[1] not in self.keys:
            return 404, {
                "error": {"code": "KeyNotFound", "message": f"A key {parts} was not found"}
            }
        name = parts[1]
        if request.method == "GET" and len(parts) in (2, 3):
            return self.key(name)
        if request.method == "POST" and len(parts) == 4 and parts[3] == "sign":
            return self.sign(name, parts[2], request.json())
        return 405, {"error": {"code": "BadParameter", "message": "no such operation"}}

    def token(self, request: Request) -> tuple[int, dict[str, Any]]:
        form = request.form()
        tenant = request.path.strip("/").split("/")[0]
        if tenant != TENANT:
            return 400, {
                "error": "invalid_request",
                "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                "error_codes": [90002],
            }
        claims = _claims(form.get("client_assertion", ""))
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            or form.get("scope") != "https://vault.azure.net/.default"
        ):
            return 400, {"error": "invalid_request", "error_codes": [900144]}
        if form.get("client_id") != CLIENT:
            return 400, {
                "error": "unauthorized_client",
                "error_description": f"AADSTS700016: Application '{form.get('client_id')}' "
                f"was not found in the directory '{tenant}'.",
                "error_codes": [700016],
            }
        if claims.get("aud") != "api://AzureADTokenExchange" or claims.get("sub") != SUBJECT:
            return 400, {
                "error": "invalid_client",
                "error_description": "AADSTS700213: No matching federated identity record "
                f"found for presented assertion subject '{claims.get('sub')}'. Assertion "
                f"audience '{claims.get('aud')}'.",
                "error_codes": [700213],
            }
        token = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(24) + ".kv-access-token"
        self.issued.add(token)
        return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}

    def key(self, name: str) -> tuple[int, dict[str, Any]]:
        key = self.keys[name]
        kid = f"{self.url}/keys/{name}/{self.versions[name]}"
        document: dict[str, Any] = json.loads(jwk.JWK.from_pyca(key.public_key()).export_public())
        document.pop("kid", None)
        if document["kty"] == "RSA":
            document["kty"] = "RSA-HSM"
        document.update(kid=kid, key_ops=["sign", "verify"])
        return 200, {"key": document, "attributes": {"enabled": True}}

    def sign(self, name: str, version: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if name == "locked":
            return 403, {
                "error": {
                    "code": "Forbidden",
                    "message": f"The user, group or application 'appid={CLIENT}' does not have "
                    "keys sign permission on key vault 'locked'.",
                    "innererror": {"code": "ForbiddenByRbac"},
                }
            }
        if version != self.versions[name]:
            return 404, {"error": {"code": "KeyNotFound", "message": "no such version"}}
        alg, value = str(body.get("alg")), str(body.get("value"))
        digest = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        key = self.keys[name]
        bits = alg[2:]
        if len(digest) * 8 != int(bits):
            return 400, {"error": {"code": "BadParameter", "message": "digest length"}}
        signature = sign_digest(key, digest, bits, pss=alg.startswith("PS"))
        if isinstance(key, ec.EllipticCurvePrivateKey):  # Key Vault returns r || s
            r, s = utils.decode_dss_signature(signature)
            width = (key.curve.key_size + 7) // 8
            signature = r.to_bytes(width, "big") + s.to_bytes(width, "big")
        return 200, {
            "kid": f"{self.url}/keys/{name}/{version}",
            "value": base64.urlsafe_b64encode(signature).rstrip(b"=").decode(),
        }


# --- Google Cloud: STS, IAM Credentials and Cloud KMS -----------------------------------------

KEY_RING = "projects/acme-qlik/locations/europe-west1/keyRings/qlik/cryptoKeys"
GCP_KEYS = {
    "rsa": "RSA_SIGN_PKCS1_2048_SHA256",
    "pss": "RSA_SIGN_PSS_2048_SHA256",
    "ec384": "EC_SIGN_P384_SHA384",
    "locked": "EC_SIGN_P256_SHA256",
}


def gcp_version(name: str) -> str:
    return f"{KEY_RING}/{name}/cryptoKeyVersions/1"


@dataclass
class Google:
    """STS, IAM Credentials and Cloud KMS on one server (``QSJWT_GCP_API_ROOT``). The
    provider takes tokens for PROVIDER's default audience whose subject is SUBJECT; only
    SERVICE_ACCOUNT may be impersonated; "locked" refuses asymmetricSign (403)."""

    keys: dict[str, PrivateKey] = field(default_factory=dict)
    federated: set[str] = field(default_factory=set)
    impersonated: set[str] = field(default_factory=set)
    server: FakeServer | None = None

    def start(self, directory: Path) -> Google:
        for name, algorithm in GCP_KEYS.items():
            if algorithm.startswith("RSA"):
                self.keys[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            else:
                curve = ec.SECP384R1() if "P384" in algorithm else ec.SECP256R1()
                self.keys[name] = ec.generate_private_key(curve)
        self.server = FakeServer(directory, self.route)
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def route(self, request: Request) -> tuple[int, dict[str, Any]]:
        if (answer := github_token(request)) is not None:
            return answer
        if request.method == "POST" and request.path == "/v1/token":
            return self.exchange(request.json())
        if request.path.endswith(":generateAccessToken"):
            return self.impersonate(request)
        if request.bearer not in self.federated | self.impersonated:
            return 401, _status(401, "UNAUTHENTICATED", "Request had invalid credentials.")
        path = request.path.removeprefix("/v1/")
        name, _, verb = path.rpartition(":") if ":" in path else (path, "", "")
        if request.method == "GET" and name.endswith("/publicKey"):
            return self.public_key(name.removesuffix("/publicKey"))
        if request.method == "POST" and verb == "asymmetricSign":
            return self.sign(name, request.json())
        return 404, _status(404, "NOT_FOUND", f"{path} not found")

    def exchange(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if (
            body.get("grantType") != "urn:ietf:params:oauth:grant-type:token-exchange"
            or body.get("subjectTokenType") != "urn:ietf:params:oauth:token-type:jwt"
        ):
            return 400, {"error": "invalid_request", "error_description": "bad grant"}
        if body.get("audience") != f"//iam.googleapis.com/{PROVIDER}":
            return 400, {
                "error": "invalid_target",
                "error_description": 'The target service indicated by the "audience" '
                "parameters is invalid. This might either be because the pool or provider is "
                "disabled or deleted or because it doesn't exist.",
            }
        claims = _claims(str(body.get("subjectToken") or ""))
        if claims.get("aud") != f"https://iam.googleapis.com/{PROVIDER}":
            return 400, {
                "error": "invalid_grant",
                "error_description": f"The audience in ID Token [{claims.get('aud')}] does not "
                "match the expected audience.",
            }
        if claims.get("sub") != SUBJECT:
            return 400, {
                "error": "unauthorized_client",
                "error_description": "The given credential is rejected by the attribute "
                f"condition. Subject {claims.get('sub')}.",
            }
        token = "ya29.federated-" + secrets.token_urlsafe(24)
        self.federated.add(token)
        return 200, {
            "access_token": token,
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "Bearer",
            "expires_in": 3600,
        }

    def impersonate(self, request: Request) -> tuple[int, dict[str, Any]]:
        account = request.path.removeprefix("/v1/projects/-/serviceAccounts/").removesuffix(
            ":generateAccessToken"
        )
        if request.bearer not in self.federated or account != SERVICE_ACCOUNT:
            return 403, _status(
                403,
                "PERMISSION_DENIED",
                f"Permission 'iam.serviceAccounts.getAccessToken' denied on resource {account} "
                "(or it may not exist).",
            )
        token = "ya29.impersonated-" + secrets.token_urlsafe(24)
        self.impersonated.add(token)
        return 200, {"accessToken": token, "expireTime": "2030-01-01T00:10:00Z"}

    def _key(self, name: str) -> str | None:
        for short in self.keys:
            if name == gcp_version(short):
                return short
        return None

    def public_key(self, name: str) -> tuple[int, dict[str, Any]]:
        short = self._key(name)
        if short is None:
            return 404, _status(404, "NOT_FOUND", f"{name} not found.")
        return 200, {
            "pem": pem(self.keys[short]).decode(),
            "algorithm": GCP_KEYS[short],
            "name": name,
            "protectionLevel": "HSM",
        }

    def sign(self, name: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        short = self._key(name)
        if short is None:
            return 404, _status(404, "NOT_FOUND", f"{name} not found.")
        if short == "locked":
            return 403, _status(
                403,
                "PERMISSION_DENIED",
                f"Permission 'cloudkms.cryptoKeyVersions.useToSign' denied on resource '{name}'",
            )
        algorithm = GCP_KEYS[short]
        bits = algorithm[-3:]
        digest_field = body.get("digest") or {}
        digest = base64.b64decode(str(digest_field.get(f"sha{bits}", "")))
        if len(digest) != hashlib.new(f"sha{bits}").digest_size:
            return 400, _status(400, "INVALID_ARGUMENT", "digest does not fit the algorithm")
        signature = sign_digest(self.keys[short], digest, bits, pss="PSS" in algorithm)
        return 200, {
            "signature": base64.b64encode(signature).decode(),
            "name": name,
            "verifiedDigestCrc32c": False,
            "protectionLevel": "HSM",
        }


def _status(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}
