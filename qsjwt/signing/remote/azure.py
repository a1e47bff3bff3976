"""Azure Key Vault: the key lives in a vault (or a Managed HSM), which signs digests.

Standard library only, no Azure SDK: azure-identity and azure-keyvault-keys add about 11 MiB
and a dozen distributions to what is two REST calls and one token request, and the default
image must not grow for a back end most runs never load (this module is imported only when
``key-service`` names an ``azurekv:`` key).

``key-service`` is ``azurekv:`` and the key's URL, ``https://NAME.vault.azure.net/keys/KEY``
with an optional ``/VERSION``. The pipeline proves who it is with a federated credential:
the CI's OIDC token (audience ``api://AzureADTokenExchange`` unless ``id-token-audience``
says otherwise) is the ``client_assertion`` of a client-credentials request to Microsoft
Entra ID's token endpoint for ``azure-tenant-id`` / ``azure-client-id``, which returns a Key
Vault access token. ``AZURE_AUTHORITY_HOST`` (the Azure SDK's variable) replaces
``https://login.microsoftonline.com`` for a sovereign cloud or a test; https only, except to
this machine's loopback.

``GET keys/NAME[/VERSION]`` gives the public key (a JWK) and the version; every signature is
``POST keys/NAME/VERSION/sign`` with that version, ``{"alg": "RS256", "value": digest}``, so
a rotation between two calls cannot make a signature the printed certificate does not
verify. Key Vault names the algorithms as JWS does (RS/PS/ES 256-512; ES256 needs P-256,
ES384 P-384, ES512 P-521) and returns ECDSA signatures as r || s. Every token obtained goes
to ``on_secret`` before it is used; no message shows one, or Azure's own words (they name
the application, the tenant and the vault): only Azure's error codes.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import urllib.parse
from typing import Any, NoReturn

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from qsjwt.base.errors import (
    InputError,
    KeyServiceMalformedAnswerError,
    KeyServiceUnreachableError,
    ref,
)
from qsjwt.base.inputs import ID_TOKEN, KEY_SERVICE
from qsjwt.net.connection import check_base_url
from qsjwt.net.transport import Answer, Transport, UnreachableError, request_json
from qsjwt.signing.jws import b64url
from qsjwt.signing.remote import Context, KeyService, RemoteECKey, RemoteKeyError, RemoteRSAKey

TENANT = "azure-tenant-id"
CLIENT = "azure-client-id"
AUTHORITY = "AZURE_AUTHORITY_HOST"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
API_VERSION = "7.4"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_SUFFIXES = {
    "vault.azure.net": "https://vault.azure.net/.default",
    "vault.azure.cn": "https://vault.azure.cn/.default",
    "vault.usgovcloudapi.net": "https://vault.usgovcloudapi.net/.default",
    "managedhsm.azure.net": "https://managedhsm.azure.net/.default",
}
"""a vault's DNS suffix -> the scope of the access token Entra ID issues for it"""
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_KEY_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
_VERSION = re.compile(r"[0-9A-Za-z]{1,64}")
_GUID_OR_DOMAIN = re.compile(r"[0-9A-Za-z][0-9A-Za-z.-]{0,253}")
_CURVES: dict[str, tuple[ec.EllipticCurve, str]] = {
    "P-256": (ec.SECP256R1(), "sha256"),
    "P-384": (ec.SECP384R1(), "sha384"),
    "P-521": (ec.SECP521R1(), "sha512"),
}
"""Key Vault's curve -> the curve and the one hash its ES algorithm uses"""
_JWS = {"pkcs1v15": "RS", "pss": "PS", "ecdsa": "ES"}


def parse_azure_reference(rest: str) -> tuple[str, str, str]:
    """(vault URL, key name, version or ''); InputError naming ``key-service`` (never
    repeating it) otherwise."""
    parts = urllib.parse.urlsplit(rest.strip())
    host = (parts.hostname or "").lower()
    segments = parts.path.strip("/").split("/")
    if (
        parts.scheme not in ("https", "http")
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or not host
        or len(segments) not in (2, 3)
        or segments[0] != "keys"
        or not _KEY_NAME.fullmatch(segments[1])
        or (len(segments) == 3 and not _VERSION.fullmatch(segments[2]))
    ):
        _refuse("is not a Key Vault key URL")
    if host not in _LOOPBACK and _suffix(host) is None:
        _refuse("names a host that is not an Azure Key Vault or Managed HSM")
    if parts.scheme == "http" and host not in _LOOPBACK:
        _refuse("uses plain http to another machine: tokens would cross the network in clear")
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    version = segments[2] if len(segments) == 3 else ""
    return f"{parts.scheme}://{netloc}", segments[1], version


def _suffix(host: str) -> str | None:
    for suffix in _SUFFIXES:
        if host.endswith("." + suffix) and host.count(".") == suffix.count(".") + 1:
            return suffix
    return None


def _refuse(problem: str) -> NoReturn:
    raise InputError(
        problem,
        input_name=KEY_SERVICE,
        hint="azurekv:https://VAULT.vault.azure.net/keys/KEY, or .../keys/KEY/VERSION",
    )


def open_azure_key(service: KeyService, context: Context) -> RemoteRSAKey | RemoteECKey:
    """The Azure Key Vault key named by the reference, as a remote signing key."""
    vault, name, version = service.path
    client = _Client(vault, name, version, context)
    client.log_in()
    return client.key()


_NOT_KEY_VAULT = "check that the address is Key Vault's and that nothing answers in its place"


class _Client:
    def __init__(self, vault: str, name: str, version: str, context: Context) -> None:
        self.vault = vault
        self.name = name
        self.version = version
        self.context = context
        self.token = ""
        self.curve_hash = ""
        """an EC key's one hash (ES256 on P-256...); '' for RSA"""
        self.transport = Transport(ca_bundle=context.ca_bundle)

    # --- Microsoft Entra ID: the CI's OIDC token for a Key Vault access token ----------------

    def log_in(self) -> None:
        tenant = self._setting(TENANT, "AZURE_TENANT_ID", "the directory (tenant) ID")
        client = self._setting(CLIENT, "AZURE_CLIENT_ID", "the application (client) ID")
        authority = check_base_url(
            self.context.ci_env.get(AUTHORITY, "").strip() or DEFAULT_AUTHORITY,
            input_name=AUTHORITY,
        )
        from qsjwt.signing.remote.identity import AUDIENCE, identity_token  # noqa: PLC0415

        values = dict(self.context.values)
        if not values.get(AUDIENCE, "").strip():
            values[AUDIENCE] = DEFAULT_AUDIENCE
        assertion = identity_token(dataclasses.replace(self.context, values=values))
        host = urllib.parse.urlsplit(self.vault).hostname or ""
        scope = _SUFFIXES.get(_suffix(host) or "vault.azure.net", _SUFFIXES["vault.azure.net"])
        url = f"{authority}/{urllib.parse.quote(tenant, safe='')}/oauth2/v2.0/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": client,
            "scope": scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        try:
            answer = request_json("POST", url, headers={}, form=form, transport=self.transport)
        except UnreachableError as err:
            raise err.error(
                f"Microsoft Entra ID could not be reached ({err.why}); nothing was signed",
                input_name=TENANT,
                hint=f"check that this runner can reach {DEFAULT_AUTHORITY} (or "
                f"{AUTHORITY}); for a private CA set SSL_CERT_FILE to its PEM bundle",
            ) from None
        token = answer.document.get("access_token")
        if answer.status != 200 or not isinstance(token, str) or not token:
            raise _entra_refusal(answer)
        self.context.on_secret(token)
        self.token = token

    def _setting(self, name: str, variable: str, what: str) -> str:
        value = self.context.value(name) or self.context.ci_env.get(variable, "").strip()
        if not value:
            raise InputError(
                "is required with an azurekv: key service",
                input_name=name,
                hint=f"{what} of the app registration or managed identity that holds the "
                f"federated credential (or set {variable})",
            )
        if not _GUID_OR_DOMAIN.fullmatch(value):
            raise InputError(
                "is not an Entra ID identifier (a GUID, or the tenant's domain)",
                input_name=name,
                hint=f"copy {what} from the app's overview page",
            )
        return value

    # --- the key ---------------------------------------------------------------------------

    def key(self) -> RemoteRSAKey | RemoteECKey:
        path = f"keys/{self.name}" + (f"/{self.version}" if self.version else "")
        answer = self._call("GET", path)
        self._refused(answer, "get")
        key = answer.document.get("key")
        key = key if isinstance(key, dict) else {}
        attributes = answer.document.get("attributes")
        if isinstance(attributes, dict) and attributes.get("enabled") is False:
            raise RemoteKeyError(
                "is a disabled Key Vault key",
                input_name=KEY_SERVICE,
                hint="enable the key (or this version of it) in the vault",
            )
        operations = key.get("key_ops")
        if isinstance(operations, list) and "sign" not in operations:
            raise RemoteKeyError(
                "is a Key Vault key whose permitted operations do not include sign",
                input_name=KEY_SERVICE,
                hint="add sign to the key's permitted operations (az keyvault key set-attributes"
                " --ops sign verify)",
            )
        kid = str(key.get("kid") or "")
        version = kid.rstrip("/").rsplit("/", 1)[-1]
        if not _VERSION.fullmatch(version) or not kid.rstrip("/").endswith(
            f"/keys/{self.name}/{version}"
        ):
            raise RemoteKeyError(
                "did not come with its version from Key Vault", input_name=KEY_SERVICE
            )
        self.version = version
        try:
            return self._public(key)
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise RemoteKeyError(
                "did not come with a readable public key from Key Vault", input_name=KEY_SERVICE
            ) from None

    def _public(self, key: dict[str, Any]) -> RemoteRSAKey | RemoteECKey:
        kty = str(key.get("kty"))
        if kty in ("RSA", "RSA-HSM"):
            numbers = rsa.RSAPublicNumbers(_integer(key["e"]), _integer(key["n"]))
            return RemoteRSAKey(numbers.public_key(), self)
        if kty in ("EC", "EC-HSM") and key.get("crv") in _CURVES:
            curve, self.curve_hash = _CURVES[str(key["crv"])]
            point = ec.EllipticCurvePublicNumbers(_integer(key["x"]), _integer(key["y"]), curve)
            return RemoteECKey(point.public_key(), self)
        raise RemoteKeyError(
            "is a Key Vault key that cannot sign JWTs (not RSA, or EC on P-256/P-384/P-521)",
            input_name=KEY_SERVICE,
            hint="create it with --kty RSA (or RSA-HSM) --size 2048+, or --kty EC --curve P-256",
        )

    def sign_digest(self, digest: bytes, hash_name: str, scheme: str) -> bytes:
        bits = hash_name.removeprefix("sha")
        algorithm = f"{_JWS[scheme]}{bits}"
        if scheme == "ecdsa" and hash_name != self.curve_hash:
            fits = f"ES{self.curve_hash.removeprefix('sha')}"
            raise RemoteKeyError(
                f"is a Key Vault EC key whose curve signs {fits} only, not {algorithm}",
                input_name=KEY_SERVICE,
                hint=f"set {ref('algorithm')} to {fits}, or use a key on the curve of {algorithm}",
            )
        body = {"alg": algorithm, "value": _b64url(digest)}
        path = f"keys/{self.name}/{self.version}/sign"
        answer = self._call("POST", path, body, retry=True)  # signing again is harmless
        self._refused(answer, "sign")
        value = answer.document.get("value")
        if not isinstance(value, str) or not value:
            raise KeyServiceMalformedAnswerError(
                "Key Vault answered the signing request without a signature",
                input_name=KEY_SERVICE,
                hint=_NOT_KEY_VAULT,
            )
        try:
            return _unb64url(value)
        except (binascii.Error, ValueError):
            raise KeyServiceMalformedAnswerError(
                "Key Vault returned an unreadable signature",
                input_name=KEY_SERVICE,
                hint=_NOT_KEY_VAULT,
            ) from None

    # --- HTTP ------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        retry: bool | None = None,
    ) -> Answer:
        url = f"{self.vault}/{path}?api-version={API_VERSION}"
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            return request_json(
                method, url, headers=headers, body=body, transport=self.transport, retry=retry
            )
        except UnreachableError as err:
            raise err.error(
                f"Key Vault could not be reached ({err.why}); nothing was signed",
                input_name=KEY_SERVICE,
                hint="check the vault's URL and that this runner can reach it (a private "
                "endpoint or the vault's firewall may keep it out)",
            ) from None

    def _refused(self, answer: Answer, operation: str) -> None:
        if answer.status == 200:
            return
        codes = _azure_codes(answer.document)
        if answer.status in (401, 403):
            raise RemoteKeyError(
                f"Key Vault refused {operation} (HTTP {answer.status}{codes}): the identity in "
                f"{ref(CLIENT)} may not {operation} with this key",
                input_name=CLIENT,
                hint="grant it the Key Vault Crypto User role on the key or vault (Azure RBAC), "
                "or an access policy with keys get and sign; allow its network through the "
                "vault's firewall",
            )
        if answer.status in (400, 404):
            raise RemoteKeyError(
                f"Key Vault has no such key, or refused the request (HTTP {answer.status}{codes})",
                input_name=KEY_SERVICE,
                hint="check the vault's URL, the key's name and version; the key must be RSA or EC",
            )
        if answer.status == 429 or answer.status >= 500:
            raise KeyServiceUnreachableError(
                f"Key Vault failed (HTTP {answer.status}{codes}); nothing was signed",
                input_name=KEY_SERVICE,
                hint="the vault is throttling or failing: try again later",
            )
        raise RemoteKeyError(
            f"Key Vault failed (HTTP {answer.status}{codes})", input_name=KEY_SERVICE
        )


_AADSTS = {
    "70021": "issuer, subject and audience",
    "700211": "issuer",
    "700212": "audience",
    "700213": "subject",
}


def _entra_refusal(answer: Answer) -> RemoteKeyError | KeyServiceUnreachableError:
    """Entra ID's refusal as its error and AADSTS codes (never its description, which names
    the application, the tenant and the token's claims), and the input to change."""
    document = answer.document
    error = str(document.get("error") or "")
    codes = [str(c) for c in document.get("error_codes") or () if str(c).isdigit()]
    shown = ", ".join(
        [*([error] if re.fullmatch(r"[a-z_]{1,40}", error) else []), *(f"AADSTS{c}" for c in codes)]
    )
    said = f"HTTP {answer.status}" + (f", {shown}" if shown else "")
    if answer.status >= 500 or answer.status == 429:
        return KeyServiceUnreachableError(
            f"Microsoft Entra ID failed ({said}); nothing was signed",
            input_name=TENANT,
            hint="try again later",
        )
    federated = next((_AADSTS[c] for c in codes if c in _AADSTS), None)
    if federated:
        return RemoteKeyError(
            f"Microsoft Entra ID found no federated credential matching the CI's identity "
            f"token ({said})",
            input_name=ID_TOKEN,
            hint=f"the app's federated credential must name this CI's issuer, the subject of "
            f"this repository and branch (or environment), and the audience "
            f"{DEFAULT_AUDIENCE} (or {ref('id-token-audience')}); it did not match the "
            f"{federated}",
        )
    if any(c in ("700016", "7000215", "700027") for c in codes) or error == "unauthorized_client":
        return RemoteKeyError(
            f"Microsoft Entra ID does not know this application in the tenant ({said})",
            input_name=CLIENT,
            hint=f"check {ref(CLIENT)} against the app registration of {ref(TENANT)}",
        )
    if any(c in ("90002", "900023", "90013") for c in codes):
        return RemoteKeyError(
            f"Microsoft Entra ID does not know this tenant ({said})",
            input_name=TENANT,
            hint="give the directory (tenant) ID, a GUID",
        )
    return RemoteKeyError(
        f"Microsoft Entra ID refused the CI's identity token ({said})",
        input_name=ID_TOKEN,
        hint=f"check {ref(TENANT)}, {ref(CLIENT)} and the app's federated credential (issuer, "
        "subject, audience)",
    )


def _azure_codes(document: dict[str, Any]) -> str:
    """Key Vault's error code and inner code (letters only), never its message."""
    error = document.get("error")
    found: list[str] = []
    while isinstance(error, dict) and len(found) < 3:
        code = error.get("code")
        if isinstance(code, str) and re.fullmatch(r"[A-Za-z]{1,60}", code):
            found.append(code)
        error = error.get("innererror")
    return ", " + ", ".join(found) if found else ""


def _b64url(data: bytes) -> str:
    return b64url(data).decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _integer(text: object) -> int:
    if not isinstance(text, str) or not text:
        raise ValueError("not base64url")
    return int.from_bytes(_unb64url(text), "big")
