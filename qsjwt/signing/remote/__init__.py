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

This module is the back ends' base and imports none of them; ``registry`` reads a reference and
opens the back end it names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NoReturn, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric import padding as _padding

from qsjwt.base.display import HIDDEN
from qsjwt.base.display import scrub as display_scrub
from qsjwt.base.errors import KeyMaterialError, KeyServiceMalformedAnswerError
from qsjwt.base.inputs import KEY_SERVICE


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
    """Credentials a back end may need; never shown (not in ``repr`` either), each masked by
    the action first."""

    vault_token: str | None = field(default=None, repr=False)
    pkcs11_pin: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    """the CI's OIDC token when the CI hands it over as a variable (GitLab ``id_tokens``)"""


@dataclass(frozen=True)
class Context:
    """What opening a remote key may use: the back end's inputs (by input name), the secrets,
    the CI's variables (GitHub's ``ACTIONS_ID_TOKEN_REQUEST_*``), and the masking hook."""

    values: Mapping[str, str]
    secrets: Secrets = Secrets()
    ci_env: Mapping[str, str] = field(default_factory=dict)
    on_secret: Callable[[str], None] = lambda _value: None
    ca_bundle: str | None = None
    """a PEM file of the CAs to trust for the key service instead of the system's"""

    def value(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def given(self) -> tuple[str, ...]:
        """Every value given, secret or not: kept out of messages (see ``scrub``)."""
        secrets = (self.secrets.vault_token, self.secrets.pkcs11_pin, self.secrets.id_token)
        texts = [*self.values.values(), *(s for s in secrets if s)]
        return tuple(t.strip() for t in texts if t and len(t.strip()) >= 3)


def scrub(text: str, given: tuple[str, ...], limit: int = 300) -> str:
    """A service's own words, bounded, one line, with every value the user gave and every
    credential the run holds or fetched cut out (``qsjwt.base.display.scrub``: in any
    encoding, or in part): it may echo the role, the key name or worse a token."""
    for value in sorted(given, key=len, reverse=True):
        text = text.replace(value, HIDDEN)
    text = " ".join(display_scrub(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
            scheme = "pkcs1v15"
        elif isinstance(padding, _padding.PSS) and _pss_salt_is_hash(padding, len(digest)):
            scheme = "pss"
        else:
            raise RemoteKeyError(
                "signs with PKCS#1 v1.5, or PSS with a salt as long as the hash (JWS), only",
                input_name=KEY_SERVICE,
            )
        signed = self._signer.sign_digest(digest, name, scheme)
        with _checked():
            self._public.verify(signed, bytes(data), padding, algorithm)  # type: ignore[arg-type]
        return signed

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
        signed = utils.encode_dss_signature(r, s)
        with _checked():
            self._public.verify(signed, bytes(data), signature_algorithm)
        return signed

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


@contextlib.contextmanager
def _checked() -> Iterator[None]:
    """A signature from the service, verified with the key's public key before any token
    carries it: a service that signs with another key, or answers with random bytes, must not
    make a token that Qlik refuses later, or one that verifies with no key anyone holds."""
    try:
        yield
    except (InvalidSignature, ValueError, TypeError):
        raise KeyServiceMalformedAnswerError(
            "returned a signature that does not verify with the key's public key; no token "
            "was made",
            input_name=KEY_SERVICE,
            hint="check that the service signs with the key it names, and that nothing answers "
            "in its place",
        ) from None


def _pss_salt_is_hash(pss: padding.PSS, digest_size: int) -> bool:
    salt = pss._salt_length
    return salt is padding.PSS.DIGEST_LENGTH or salt == digest_size
