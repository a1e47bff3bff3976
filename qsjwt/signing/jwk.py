"""The public forms of a key for Qlik Cloud OAuth: the JWK a client registers, and friends.

Qlik Cloud's OAuth clients take the public key as a JWK (``publicKeys`` in the API, "Public
key" in the UI), never as PEM: ``kid``, ``kty``, ``alg``, ``use: "sig"``, and ``n``/``e`` (RSA)
or ``crv: "P-384"``/``x``/``y`` (EC). The default ``kid`` is the key's RFC 7638 thumbprint, so
the JWK printed today and the assertion signed tomorrow agree without anyone copying an id.
Sources: shared/reference/qlik-oauth-and-live.md §A2-A3.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from qsjwt.base.errors import InputError, KeyMaterialError
from qsjwt.signing.algorithms import SigningKey
from qsjwt.signing.jws import b64url
from qsjwt.signing.keys import (
    MIN_RSA_BITS,
    VerifyingKey,
    load_signing_key,
    load_verifying_key,
    one_line_pem,
    pem_from_text,
    pem_label,
)

OAUTH_ALGORITHMS = ("RS256", "RS512", "ES384")
"""What Qlik Cloud OAuth takes for Private Key JWT: not RS384, PS* or ES256/ES512 (§A2)."""
OAUTH_EC_CURVE = "P-384"
_CURVE_BYTES = 48
"""P-384 coordinates are 384 bits: RFC 7518 §6.2.1.2 writes them at full length."""
MAX_KID_LENGTH = 256
_KID_CHARACTERS = frozenset(chr(c) for c in range(0x21, 0x7F))
"""Printable ASCII without space: a ``kid`` travels in a JSON header and is compared exactly."""


@dataclass(frozen=True)
class PublicForms:
    """What a user registers with Qlik for one key; nothing here is secret."""

    jwk: dict[str, str]
    public_pem: bytes

    @property
    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The key set form (``{"keys": [...]}``), e.g. for a JWKS URL."""
        return jwks([self.jwk])

    @property
    def one_line_pem(self) -> str:
        return one_line_pem(self.public_pem)


def public_key_from_text(
    text: str | bytes,
    passphrase: str | bytes | None = None,
    *,
    input_name: str,
    passphrase_name: str,
) -> VerifyingKey:
    """The public key in a private key, a certificate or a public key (PEM or base64 of it).

    A private key is read with the signing rules (so an encrypted one needs its passphrase);
    the key itself is not kept. Raises KeyMaterialError naming the input; never shows it.
    """
    label = pem_label(pem_from_text(text, input_name=input_name)) or ""
    if "PRIVATE KEY" in label:
        loaded = load_signing_key(
            text, passphrase, input_name=input_name, passphrase_name=passphrase_name
        )
        return loaded.key.public_key()
    return load_verifying_key(text, input_name=input_name)


def default_algorithm(key: VerifyingKey | SigningKey) -> str:
    """RS256 for RSA, ES384 for EC: the algorithm the JWK says and the assertion uses."""
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return "ES384"
    return "RS256"


def check_oauth_key(key: VerifyingKey | SigningKey, algorithm: str, *, input_name: str) -> None:
    """Refuse a key Qlik Cloud OAuth would not take for ``algorithm`` (already allow-listed):
    RSA of at least 2048 bits for RS256/RS512, EC on P-384 for ES384."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if algorithm == "ES384":
            raise KeyMaterialError(
                "is an RSA key, which cannot sign ES384",
                input_name=input_name,
                hint="use RS256 or RS512 with an RSA key, or an EC P-384 key for ES384",
            )
        if key.key_size < MIN_RSA_BITS:
            raise KeyMaterialError(
                f"is an RSA key of {key.key_size} bits; Qlik Cloud OAuth needs at least "
                f"{MIN_RSA_BITS}",
                input_name=input_name,
                hint="generate a new key: qs-jwt keygen --bits 4096",
            )
        return
    if not isinstance(key.curve, ec.SECP384R1):
        raise KeyMaterialError(
            f"is an EC key on {key.curve.name}; Qlik Cloud OAuth takes EC keys only on P-384 "
            "(secp384r1, for ES384)",
            input_name=input_name,
            hint="generate a P-384 key, or use an RSA key with RS256",
        )
    if algorithm != "ES384":
        raise KeyMaterialError(
            f"is an EC key, which cannot sign {algorithm}",
            input_name=input_name,
            hint="use ES384 with an EC P-384 key, or an RSA key for RS256/RS512",
        )


def check_oauth_algorithm(text: str, *, input_name: str) -> str:
    """The canonical name of an algorithm Qlik Cloud OAuth takes, or an InputError that never
    repeats a value outside the short list (it may be a secret given in the wrong place)."""
    name = text.strip().upper()
    if name not in OAUTH_ALGORITHMS:
        raise InputError(
            "is not an algorithm Qlik Cloud OAuth accepts for Private Key JWT",
            input_name=input_name,
            hint=f"use one of {', '.join(OAUTH_ALGORITHMS)} (ES384 needs an EC P-384 key)",
        )
    return name


def check_kid(text: str, *, input_name: str) -> str:
    """A ``kid`` Qlik can compare exactly: 1 to 256 printable ASCII characters, no space."""
    kid = text.strip()
    if not kid or len(kid) > MAX_KID_LENGTH or not set(kid) <= _KID_CHARACTERS:
        raise InputError(
            f"must be 1 to {MAX_KID_LENGTH} printable ASCII characters without spaces",
            input_name=input_name,
            hint="give the kid of the JWK registered in the OAuth client, or leave it empty "
            "for the key's RFC 7638 thumbprint",
        )
    return kid


def thumbprint(key: VerifyingKey | SigningKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): a stable ``kid`` derived from the key."""
    members = _key_members(_public(key))
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def public_jwk(
    key: VerifyingKey | SigningKey,
    *,
    kid: str | None = None,
    algorithm: str | None = None,
    input_name: str,
) -> dict[str, str]:
    """The JWK to register in the OAuth client: ``kid`` (the thumbprint unless given), ``kty``,
    ``alg`` (RS256 or ES384 unless given), ``use: "sig"`` and the public numbers only.

    Raises KeyMaterialError (naming ``input_name``) for a key Qlik would not take.
    """
    alg = default_algorithm(key) if algorithm is None else algorithm
    check_oauth_key(key, alg, input_name=input_name)
    members = _key_members(_public(key))
    return {
        "kid": thumbprint(key) if kid is None else kid,
        "kty": members["kty"],
        "alg": alg,
        "use": "sig",
        **{name: value for name, value in members.items() if name != "kty"},
    }


def public_forms(
    key: VerifyingKey | SigningKey,
    *,
    kid: str | None = None,
    algorithm: str | None = None,
    input_name: str,
) -> PublicForms:
    """The JWK and the PEM public key (SubjectPublicKeyInfo) of one key."""
    pem = _public(key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PublicForms(public_jwk(key, kid=kid, algorithm=algorithm, input_name=input_name), pem)


def jwks(keys: Sequence[Mapping[str, str]]) -> dict[str, list[dict[str, str]]]:
    """A JWK Set. Rotating keys means two entries for a while (``publicKeys`` is an array):
    each needs its own ``kid``, or Qlik cannot tell which one signed an assertion."""
    kids = [key.get("kid") for key in keys]
    if len(set(kids)) != len(kids):
        raise ValueError("every key in a JWK Set needs its own kid")
    return {"keys": [dict(key) for key in keys]}


def _public(key: VerifyingKey | SigningKey) -> VerifyingKey:
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return key.public_key()
    return key


def _key_members(key: VerifyingKey) -> dict[str, str]:
    """The RFC 7638 required members: RSA ``e``, ``kty``, ``n``; EC ``crv``, ``kty``, ``x``,
    ``y`` (only P-384 is ever described: it is the one curve Qlik takes)."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {"kty": "RSA", "n": _b64uint(numbers.n), "e": _b64uint(numbers.e)}
    if not isinstance(key.curve, ec.SECP384R1):
        raise KeyMaterialError(f"an EC key on {key.curve.name} has no Qlik OAuth JWK")
    point = key.public_numbers()
    return {
        "kty": "EC",
        "crv": OAUTH_EC_CURVE,
        "x": _b64url(point.x.to_bytes(_CURVE_BYTES, "big")),
        "y": _b64url(point.y.to_bytes(_CURVE_BYTES, "big")),
    }


def _b64uint(value: int) -> str:
    """RFC 7518 §2 Base64urlUInt: big-endian, as few octets as possible."""
    return _b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def _b64url(data: bytes) -> str:
    return b64url(data).decode("ascii")
