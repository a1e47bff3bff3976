"""A hostile Vault transit on http://127.0.0.1 (Vault's loopback exception): it logs in, serves
a public key and signs, each of which it can do wrongly on purpose (issue 19).

``mode`` picks the lie: ``good`` (an honest Vault), ``other-key`` (signs with another key than
the one it serves), ``garbage`` (random bytes as the signature), ``bad-version``
(``latest_version: "abc"``), ``echo-login`` (the login's refusal quotes the identity token it
was given), ``echo`` (logs in, then refuses, quoting the Vault token it got: raw, base64,
URL-encoded, JSON-escaped and in part). The real Vault's behaviour is tested against OpenBao
(tests/keyless_rigs.py); this fake only answers wrongly.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

FETCHED_TOKEN = "hvs.CAESIFetchedByLoginFromTheFakeVault0123456789abcdef"
"""The Vault token the fake's login hands out: a credential the tool fetched, never given."""
MODES = ("good", "other-key", "garbage", "bad-version", "echo-login", "echo")
_HASHES = {"sha2-256": hashes.SHA256(), "sha2-384": hashes.SHA384(), "sha2-512": hashes.SHA512()}


def echoes(secret: str) -> str:
    """``secret`` in every form a careless service repeats it."""
    return "; ".join(
        [
            f"invalid token {secret}",
            f"b64 {base64.b64encode(secret.encode()).decode()}",
            f"b64url {base64.urlsafe_b64encode(b'{' + secret.encode()).decode()}",
            f"url {urllib.parse.quote(secret, safe='')}",
            f"json {json.dumps({'t': secret})}",
            f"part {secret[5:27]}",
        ]
    )


@dataclass
class FakeVault:
    mode: str
    key: rsa.RSAPrivateKey
    port: int = 0
    seen_tokens: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def answer(self, method: str, path: str, body: dict[str, Any], token: str) -> tuple[int, Any]:
        if token:
            self.seen_tokens.append(token)
        if path == "/v1/auth/jwt/login":
            if self.mode == "echo-login":
                return 400, {"errors": [echoes(str(body.get("jwt")))]}
            return 200, {"auth": {"client_token": FETCHED_TOKEN}}
        if self.mode == "echo":
            return 403, {"errors": [echoes(token)]}
        if method == "GET" and path.startswith("/v1/transit/keys/"):
            version: object = "abc" if self.mode == "bad-version" else 1
            keys = {"1": {"public_key": self.public_pem()}}
            return 200, {"data": {"type": "rsa-2048", "latest_version": version, "keys": keys}}
        if method == "POST" and path.startswith("/v1/transit/sign/"):
            return 200, {"data": {"signature": "vault:v1:" + self._sign(path, body)}}
        return 404, {"errors": []}

    def _sign(self, path: str, body: dict[str, Any]) -> str:
        digest = base64.b64decode(body["input"])
        algorithm = utils.Prehashed(_HASHES[path.rsplit("/", 1)[1]])
        signer = self.key
        if self.mode == "garbage":
            signed = os.urandom(self.key.key_size // 8)
        else:
            if self.mode == "other-key":
                signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            scheme: padding.AsymmetricPadding = padding.PKCS1v15()
            if body.get("signature_algorithm") == "pss":
                scheme = padding.PSS(padding.MGF1(algorithm._algorithm), len(digest))
            signed = signer.sign(digest, scheme, algorithm)
        return base64.urlsafe_b64encode(signed).decode().rstrip("=")


@contextmanager
def fake_vault(mode: str, key: rsa.RSAPrivateKey) -> Iterator[FakeVault]:
    vault = FakeVault(mode, key)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            token = self.headers.get("X-Vault-Token") or ""
            status, document = vault.answer(self.command, self.path, body, token)
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve  # noqa: N815 (http.server's names)

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    vault.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield vault
    finally:
        server.shutdown()
        server.server_close()
