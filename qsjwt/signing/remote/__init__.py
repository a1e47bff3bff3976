"""Keys that live in a key service: the seam between qs-jwt and Vault/OpenBao, PKCS#11...

A remote key is a subclass of ``cryptography``'s ``RSAPrivateKey`` or
``EllipticCurvePrivateKey`` whose ``sign()`` hashes the data here and asks the service to sign
the digest, so the claims stay on the runner and the private key never does. Everything that
signs with a key object (``qsjwt.signing.jws``, the certificate and CSR builders, the JWK's public
forms) takes it unchanged.

``key-service`` says where the key lives, in the project's words: ``vault:MOUNT/NAME`` (a
Vault or OpenBao transit key), ``pkcs11:token=LABEL;object=LABEL`` (RFC 7512) or
``kms:ARN`` / ``kms:alias/NAME`` (AWS KMS), ``azurekv:https://VAULT.vault.azure.net/keys/KEY``
(Azure Key Vault) or ``gcpkms:projects/.../cryptoKeyVersions/V`` (Google Cloud KMS). Each back
end is imported only when its key is used, so minting with a local key loads none of this.
This module reads no environment: the shells pass the values, the secrets and the CI's
variables in, and ``on_secret`` is called with every credential obtained on the way (the CI's
identity token, a service token) before it is used, so the action can mask it first.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric import padding as _padding

from qsjwt.base.errors import InputError, KeyMaterialError
from qsjwt.base.inputs import KEY_SERVICE

if TYPE_CHECKING:
    from qsjwt.signing.keys import LoadedKey

SCHEMES = ("vault", "pkcs11", "kms", "azurekv", "gcpkms")
_NAME = re.compile(r"[A-Za-z0-9._-]+")
HASH_NAMES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class RemoteKeyError(KeyMaterialError):
    """The key service refused or failed: the message says what to change there."""


@dataclass(frozen=True)
class KeyService:
    """Where a key lives: a back end and its own reference to the key."""

    scheme: str
    path: tuple[str, ...]
    """vault: (mount, name); pkcs11: (token label, object label); kms: (key id, region or '');
    azurekv: (vault URL, key name, version or ''); gcpkms: (key version's resource name,)"""
    module: str | None = None
    """pkcs11: the module path when the URI's ``module-path`` names it"""


@dataclass(frozen=True)
class Secrets:
    """Credentials a back end may need; never shown, each masked by the action first."""

    vault_token: str | None = None
    pkcs11_pin: str | None = None
    id_token: str | None = None
    """the CI's OIDC token when the CI hands it over as a variable (GitLab ``id_tokens``)"""


@dataclass(frozen=True)
class Context:
    """What opening a remote key may use: the back end's inputs (by input name), the secrets,
    the CI's variables (GitHub's ``ACTIONS_ID_TOKEN_REQUEST_*``), and the masking hook."""

    values: Mapping[str, str]
    secrets: Secrets = Secrets()
    ci_env: Mapping[str, str] = field(default_factory=dict)
    on_secret: Callable[[str], None] = lambda _value: None

    def value(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def given(self) -> tuple[str, ...]:
        """Every value given, secret or not: kept out of messages (see ``scrub``)."""
        secrets = (self.secrets.vault_token, self.secrets.pkcs11_pin, self.secrets.id_token)
        texts = [*self.values.values(), *(s for s in secrets if s)]
        return tuple(t.strip() for t in texts if t and len(t.strip()) >= 3)


def scrub(text: str, given: tuple[str, ...], limit: int = 300) -> str:
    """A service's own words, bounded, one line, with every value the user gave cut out: it
    may echo the role, the key name or worse a token."""
    for value in sorted(given, key=len, reverse=True):
        text = text.replace(value, "(a value given)")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_key_service(text: str) -> KeyService:
    """The checked reference; InputError naming ``key-service`` (never repeating it)."""
    raw = text.strip()
    scheme, _, rest = raw.partition(":")
    if scheme not in SCHEMES or not rest:
        _refuse("names no key service this tool knows")
    if scheme == "kms":
        from qsjwt.signing.remote.aws import parse_kms_reference  # noqa: PLC0415

        return KeyService("kms", parse_kms_reference(rest))
    if scheme == "azurekv":
        from qsjwt.signing.remote.azure import parse_azure_reference  # noqa: PLC0415

        return KeyService("azurekv", parse_azure_reference(rest))
    if scheme == "gcpkms":
        from qsjwt.signing.remote.gcp import parse_gcp_reference  # noqa: PLC0415

        return KeyService("gcpkms", parse_gcp_reference(rest))
    if scheme == "vault":
        parts = rest.strip("/").split("/")
        if len(parts) == 1:
            parts = ["transit", *parts]
        if not all(_NAME.fullmatch(p) for p in parts):
            _refuse("is not a transit key path (letters, digits, . _ - and / only)")
        return KeyService("vault", ("/".join(parts[:-1]), parts[-1]))
    path, _, query = rest.partition("?")
    attributes = _pairs(path, ";")
    options = _pairs(query, "&") if query else {}
    if "pin-value" in options or "pin-source" in options:
        raise InputError(
            "carries a PIN, which would show wherever the setting is shown",
            input_name=KEY_SERVICE,
            hint="remove pin-value/pin-source and give the PIN as a secret (pkcs11-pin)",
        )
    unknown = set(attributes) - {"token", "object", "type"} | set(options) - {"module-path"}
    if unknown:
        _refuse(f"has attributes this tool does not read: {', '.join(sorted(unknown))}")
    if not attributes.get("object") or not attributes.get("token"):
        _refuse("must name the token and the key: pkcs11:token=LABEL;object=LABEL")
    if attributes.get("type", "private") != "private":
        _refuse("must name the private key (type=private, or no type)")
    return KeyService(
        "pkcs11", (attributes["token"], attributes["object"]), options.get("module-path")
    )


def _pairs(text: str, separator: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in filter(None, text.split(separator)):
        name, equals, value = item.partition("=")
        if not equals or name in pairs:
            _refuse("is not an RFC 7512 PKCS#11 URI (name=value pairs, each name once)")
        pairs[name] = urllib.parse.unquote(value)
    return pairs


def _refuse(problem: str) -> NoReturn:
    raise InputError(
        problem,
        input_name=KEY_SERVICE,
        hint="e.g. vault:transit/qlik-jwt, pkcs11:token=qlik;object=qlik-jwt, kms:alias/qlik-jwt, "
        "azurekv:https://VAULT.vault.azure.net/keys/KEY or gcpkms:projects/.../cryptoKeyVersions/1",
    )


def open_remote_key(service: KeyService, context: Context) -> LoadedKey:
    """The key as a signing-key object, held to the rules of a local key (RSA of at least 2048
    bits, or EC), with its public key read from the service once."""
    from qsjwt.signing.keys import signing_key_from  # noqa: PLC0415

    key: RemoteRSAKey | RemoteECKey
    if service.scheme == "vault":
        from qsjwt.signing.remote.vault import open_vault_key  # noqa: PLC0415

        key = open_vault_key(service, context)
    elif service.scheme == "kms":
        from qsjwt.signing.remote.aws import open_kms_key  # noqa: PLC0415

        key = open_kms_key(service, context)
    elif service.scheme == "azurekv":
        from qsjwt.signing.remote.azure import open_azure_key  # noqa: PLC0415

        key = open_azure_key(service, context)
    elif service.scheme == "gcpkms":
        from qsjwt.signing.remote.gcp import open_gcp_key  # noqa: PLC0415

        key = open_gcp_key(service, context)
    else:
        from qsjwt.signing.remote.pkcs11 import open_pkcs11_key  # noqa: PLC0415

        key = open_pkcs11_key(service, context)
    return signing_key_from(key, input_name=KEY_SERVICE)


# --- the seam --------------------------------------------------------------------------------


class DigestSigner(Protocol):
    """A back end's one operation: sign a digest made here."""

    def sign_digest(self, digest: bytes, hash_name: str, scheme: str) -> bytes:
        """``scheme``: pkcs1v15, pss (salt as long as the hash) or ecdsa (returns r || s)."""
        ...


def _digest(data: bytes, algorithm: object) -> tuple[bytes, str]:
    """Hash ``data`` here (or take it as hashed, for ``Prehashed``); the digest and its name."""
    if isinstance(algorithm, utils.Prehashed):
        return data, algorithm._algorithm.name
    if not isinstance(algorithm, hashes.SHA256 | hashes.SHA384 | hashes.SHA512):
        raise RemoteKeyError("signs with SHA-256, SHA-384 or SHA-512 only", input_name=KEY_SERVICE)
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize(), algorithm.name


def _no_private(*_args: object) -> NoReturn:
    raise RemoteKeyError(
        "holds the private key in the key service: it cannot be exported or used to decrypt",
        input_name=KEY_SERVICE,
    )


class RemoteRSAKey(rsa.RSAPrivateKey):
    """An RSA key whose ``sign()`` calls the service with a digest made here."""

    def __init__(self, public: rsa.RSAPublicKey, signer: DigestSigner) -> None:
        self._public = public
        self._signer = signer

    def sign(
        self,
        data: bytes | bytearray | memoryview,
        padding: padding.AsymmetricPadding,
        algorithm: object,
    ) -> bytes:
        digest, name = _digest(bytes(data), algorithm)
        if isinstance(padding, _padding.PKCS1v15):
            return self._signer.sign_digest(digest, name, "pkcs1v15")
        if isinstance(padding, _padding.PSS) and _pss_salt_is_hash(padding, len(digest)):
            return self._signer.sign_digest(digest, name, "pss")
        raise RemoteKeyError(
            "signs with PKCS#1 v1.5, or PSS with a salt as long as the hash (JWS), only",
            input_name=KEY_SERVICE,
        )

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def decrypt(self, ciphertext: bytes, padding: padding.AsymmetricPadding) -> bytes:
        _no_private()

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        _no_private()

    def private_bytes(self, *_args: object, **_kwargs: object) -> bytes:
        _no_private()

    def __copy__(self) -> RemoteRSAKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> RemoteRSAKey:
        return self


class RemoteECKey(ec.EllipticCurvePrivateKey):
    """An EC key whose ``sign()`` calls the service and returns DER, as cryptography's do."""

    def __init__(self, public: ec.EllipticCurvePublicKey, signer: DigestSigner) -> None:
        self._public = public
        self._signer = signer

    def sign(
        self,
        data: bytes | bytearray | memoryview,
        signature_algorithm: ec.EllipticCurveSignatureAlgorithm,
    ) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise RemoteKeyError("signs with ECDSA only", input_name=KEY_SERVICE)
        digest, name = _digest(bytes(data), signature_algorithm.algorithm)
        raw = self._signer.sign_digest(digest, name, "ecdsa")
        width = (self.curve.key_size + 7) // 8
        if len(raw) != 2 * width:
            raise RemoteKeyError(
                f"returned an ECDSA signature of {len(raw)} bytes, not {2 * width}",
                input_name=KEY_SERVICE,
            )
        r, s = int.from_bytes(raw[:width], "big"), int.from_bytes(raw[width:], "big")
        return utils.encode_dss_signature(r, s)

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.curve.key_size

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        _no_private()

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        _no_private()

    def private_bytes(self, *_args: object, **_kwargs: object) -> bytes:
        _no_private()

    def __copy__(self) -> RemoteECKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> RemoteECKey:
        return self


def _pss_salt_is_hash(pss: padding.PSS, digest_size: int) -> bool:
    salt = pss._salt_length
    return salt is padding.PSS.DIGEST_LENGTH or salt == digest_size


def remote_key_from(
    values: Mapping[str, object],
    secrets: Secrets,
    *,
    ci_env: Mapping[str, str],
    on_secret: Callable[[str], None] = lambda _value: None,
) -> LoadedKey | None:
    """The remote key that ``values`` (inputs by name) point to, or None without a
    ``key-service``: what every shell calls before it would read a private key."""
    from qsjwt.base.inputs import KEY_SERVICE_INPUTS  # noqa: PLC0415

    texts = {n: v for n, v in values.items() if n in KEY_SERVICE_INPUTS and isinstance(v, str)}
    reference = texts.get(KEY_SERVICE, "").strip()
    if not reference:
        return None
    context = Context(texts, secrets, ci_env, on_secret)
    return open_remote_key(parse_key_service(reference), context)
