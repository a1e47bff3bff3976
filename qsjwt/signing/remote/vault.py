"""Vault / OpenBao transit: the key lives in the transit engine, which signs digests.

Two REST calls and a login, with the standard library: ``POST auth/MOUNT/login`` with the CI's
identity token (or a given Vault token), ``GET TRANSIT/keys/NAME`` once for the public key,
then ``POST TRANSIT/sign/NAME/HASH`` per signature with ``prehashed``, the explicit signature
algorithm (transit's default is PSS, wrong for RS*), a PSS salt as long as the hash (its
default ``auto`` is not what JWS wants), ``marshaling_algorithm: jws`` (r || s for ECDSA) and
the key version whose public key was read, so a rotation between two calls cannot make a
signature that the printed certificate does not verify.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from qsjwt.base.errors import (
    InputError,
    KeyServiceMalformedAnswerError,
    KeyServiceUnreachableError,
    ref,
)
from qsjwt.base.inputs import KEY_SERVICE, VAULT_TOKEN
from qsjwt.net.connection import check_base_url
from qsjwt.net.transport import Answer, Transport, UnreachableError, header_value, request_json
from qsjwt.signing.remote import (
    Context,
    KeyService,
    RemoteECKey,
    RemoteKeyError,
    RemoteRSAKey,
    scrub,
)

ADDRESS = "vault-address"
ROLE = "vault-role"
AUTH_MOUNT = "vault-auth-mount"
NAMESPACE = "vault-namespace"
SIGNING_TYPES = ("rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521")
_HASH_PATH = {"sha256": "sha2-256", "sha384": "sha2-384", "sha512": "sha2-512"}


def open_vault_key(service: KeyService, context: Context) -> RemoteRSAKey | RemoteECKey:
    """The Vault or OpenBao transit key named by the reference, as a remote signing key."""
    address = context.value(ADDRESS)
    if not address:
        raise InputError(
            "is required with a vault: key service",
            input_name=ADDRESS,
            hint="the server's URL, e.g. https://vault.example.com:8200",
        )
    client = _Client(check_base_url(address, input_name=ADDRESS), service, context)
    client.log_in()
    return client.key()


class _Client:
    def __init__(self, address: str, service: KeyService, context: Context) -> None:
        self.address = address
        self.mount, self.name = service.path
        self.context = context
        self.token = ""
        self.version = 0

    # --- login -----------------------------------------------------------------------------

    def log_in(self) -> None:
        given = (self.context.secrets.vault_token or "").strip()
        if given:
            self.context.on_secret(given)
            self.token = header_value(given, input_name=VAULT_TOKEN)
            return
        from qsjwt.signing.remote.identity import identity_token  # noqa: PLC0415

        role = self.context.value(ROLE)
        if not role:
            raise InputError(
                "is required to log in to Vault with the CI's identity token",
                input_name=ROLE,
                hint="name the JWT auth role that binds this repository and branch, or give "
                f"{ref(VAULT_TOKEN)}",
            )
        jwt = identity_token(self.context)
        mount = (self.context.value(AUTH_MOUNT) or "jwt").strip("/")
        answer = self._call("POST", f"auth/{mount}/login", {"role": role, "jwt": jwt}, auth=False)
        auth = answer.document.get("auth")
        token = auth.get("client_token") if isinstance(auth, dict) else None
        if answer.status != 200 or not isinstance(token, str) or not token:
            raise RemoteKeyError(
                f"Vault refused the login (HTTP {answer.status}{self._words(answer)})",
                input_name=ROLE,
                hint=f"the role's bound_audiences must hold {ref('id-token-audience')}, and its "
                "bound_claims / bound_subject must match this repository and branch; check "
                f"the auth mount ({ref(AUTH_MOUNT)}) too",
            )
        self.context.on_secret(token)
        self.token = token

    # --- the key ---------------------------------------------------------------------------

    def key(self) -> RemoteRSAKey | RemoteECKey:
        answer = self._call("GET", f"{self.mount}/keys/{self.name}")
        self._refused(answer, "read on MOUNT/keys/KEY")
        data = answer.document.get("data")
        data = data if isinstance(data, dict) else {}
        key_type = data.get("type")
        if key_type not in SIGNING_TYPES or not data.get("supports_signing", True):
            raise RemoteKeyError(
                "is a transit key that cannot sign JWTs",
                input_name=KEY_SERVICE,
                hint="create it with type rsa-2048/3072/4096 or ecdsa-p256/p384/p521",
            )
        version = data.get("latest_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise KeyServiceMalformedAnswerError(
                "is a transit key whose latest_version Vault did not give as a number",
                input_name=KEY_SERVICE,
                hint="check that the address is Vault's and that nothing answers in its place",
            )
        self.version = version
        versions = data.get("keys")
        entry = versions.get(str(self.version)) if isinstance(versions, dict) else None
        pem = entry.get("public_key") if isinstance(entry, dict) else None
        try:
            public = serialization.load_pem_public_key(str(pem).encode())
        except ValueError:
            raise RemoteKeyError(
                "did not come with a readable public key from Vault", input_name=KEY_SERVICE
            ) from None
        if isinstance(public, rsa.RSAPublicKey):
            return RemoteRSAKey(public, self)
        if isinstance(public, ec.EllipticCurvePublicKey):
            return RemoteECKey(public, self)
        raise RemoteKeyError("is neither an RSA nor an EC key", input_name=KEY_SERVICE)

    def sign_digest(self, digest: bytes, hash_name: str, scheme: str) -> bytes:
        body: dict[str, Any] = {
            "input": base64.b64encode(digest).decode(),
            "prehashed": True,
            "marshaling_algorithm": "jws",
            "key_version": self.version,
        }
        if scheme != "ecdsa":
            body["signature_algorithm"] = scheme
        if scheme == "pss":
            body["salt_length"] = "hash"
        path = f"{self.mount}/sign/{self.name}/{_HASH_PATH[hash_name]}"
        answer = self._call("POST", path, body, retry=True)  # signing again is harmless
        self._refused(answer, "update on MOUNT/sign/KEY/*")
        data = answer.document.get("data")
        signature = data.get("signature") if isinstance(data, dict) else None
        prefix = f"vault:v{self.version}:"
        if not isinstance(signature, str) or not signature.startswith(prefix):
            raise RemoteKeyError("Vault returned no signature", input_name=KEY_SERVICE)
        encoded = signature.removeprefix(prefix)
        try:
            return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise KeyServiceMalformedAnswerError(
                "Vault returned an unreadable signature",
                input_name=KEY_SERVICE,
                hint="check that the address is Vault's and that nothing answers in its place",
            ) from None

    # --- HTTP ------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        auth: bool = True,
        retry: bool | None = None,
    ) -> Answer:
        headers = {}
        if auth:
            headers["X-Vault-Token"] = self.token
        if namespace := self.context.value(NAMESPACE):
            headers["X-Vault-Namespace"] = header_value(namespace, input_name=NAMESPACE)
        url = f"{self.address}/v1/{path}"
        transport = Transport(ca_bundle=self.context.ca_bundle)
        try:
            return request_json(
                method, url, headers=headers, body=body, transport=transport, retry=retry
            )
        except UnreachableError as err:
            raise err.error(
                f"Vault could not be reached ({err.why}); nothing was signed",
                input_name=ADDRESS,
                hint="check the address and that this runner can reach it; for a private CA "
                "set SSL_CERT_FILE to its PEM bundle",
            ) from None

    def _refused(self, answer: Answer, needs: str) -> None:
        if answer.status == 200:
            return
        if answer.status == 403:
            by_role = not (self.context.secrets.vault_token or "").strip()
            raise RemoteKeyError(
                f"Vault refused (HTTP 403, permission denied{self._words(answer)}): the policy "
                f"of this {'role' if by_role else 'token'} does not let it use the key that "
                f"{ref(KEY_SERVICE)} names",
                input_name=ROLE if by_role else VAULT_TOKEN,
                hint=f"add a Vault policy granting {needs} to the "
                + ("role's token_policies" if by_role else "token")
                + f", or name a key it may use in {ref(KEY_SERVICE)}",
            )
        if answer.status in (400, 404):
            raise RemoteKeyError(
                f"Vault has no such transit key, or refused the request (HTTP {answer.status}"
                f"{self._words(answer)})",
                input_name=KEY_SERVICE,
                hint="check the mount and the key name; the key must be an RSA or ECDSA key",
            )
        if answer.status >= 500:
            raise KeyServiceUnreachableError(
                f"Vault failed (HTTP {answer.status}{self._words(answer)}); nothing was signed",
                input_name=ADDRESS,
                hint="the server is sealed, on standby or failing: try again or ask its operators",
            )
        raise RemoteKeyError(
            f"Vault failed (HTTP {answer.status}{self._words(answer)})", input_name=KEY_SERVICE
        )

    def _words(self, answer: Answer) -> str:
        given = (*self.context.given(), self.token, self.name, self.mount)
        words = scrub(answer.errors, tuple(g for g in given if g))
        return f": {words}" if words else ""
