"""Which signing algorithms each Qlik target accepts, and which key each one needs.

An explicit allow-list: ``none`` and the HMAC family are never accepted, whatever the input.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from qsjwt.base.errors import InputError, KeyMaterialError
from qsjwt.base.findings import Finding, warning
from qsjwt.base.inputs import Target
from qsjwt.base.rules import cloud_algorithm_note

RSA_PKCS1 = ("RS256", "RS384", "RS512")
RSA_PSS = ("PS256", "PS384", "PS512")
ECDSA = ("ES256", "ES384", "ES512")
ALLOWED: dict[Target, tuple[str, ...]] = {
    Target.QSEOW: RSA_PKCS1,
    Target.CLOUD: RSA_PKCS1 + RSA_PSS + ECDSA,
}
DEFAULT = "RS256"
EC_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}
JWS_NAMES = frozenset(
    (*RSA_PKCS1, *RSA_PSS, *ECDSA, "HS256", "HS384", "HS512", "NONE", "EDDSA", "ES256K")
)
"""Registered JWS algorithm names (RFC 7518, RFC 8037, RFC 8812): safe to repeat in a
message. Anything else may be a secret typed in the wrong place, and is not shown."""

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def check_algorithm(text: str, target: Target, *, input_name: str) -> tuple[str, list[Finding]]:
    """The canonical name for ``text``, or an error saying what the target accepts."""
    name = text.strip().upper()
    accepted = ", ".join(ALLOWED[target])
    label = repr(text.strip()) if name in JWS_NAMES else "the value given"
    if name == "NONE" or name.startswith("HS"):
        raise InputError(
            f"{label} is refused: unsigned and HMAC (shared-secret) tokens are unsafe",
            input_name=input_name,
            hint=f"use one of {accepted}",
        )
    if name not in ALLOWED[target]:
        where = "a QSEoW virtual proxy" if target is Target.QSEOW else "Qlik Cloud"
        raise InputError(
            f"{label} is not accepted by {where}",
            input_name=input_name,
            hint=f"use one of {accepted}",
        )
    if target is Target.CLOUD and name != DEFAULT:
        return name, [warning(cloud_algorithm_note(name), input_name)]
    return name, []


def check_key_fits(key: SigningKey, algorithm: str, *, input_name: str) -> None:
    """Refuse a key the algorithm cannot sign with, before the signer fails obscurely."""
    if isinstance(key, rsa.RSAPrivateKey):
        if algorithm in ECDSA:
            raise KeyMaterialError(
                f"an RSA key cannot sign {algorithm}",
                input_name=input_name,
                hint="use an RS or PS algorithm, or an EC key",
            )
        return
    if algorithm not in ECDSA:
        raise KeyMaterialError(
            f"an EC key cannot sign {algorithm}",
            input_name=input_name,
            hint="use an RSA key (QSEoW takes only RS256-512), or ES256-512 for Qlik Cloud",
        )
    curve = EC_CURVES[algorithm]
    if not isinstance(key.curve, curve):
        raise KeyMaterialError(
            f"{algorithm} needs an EC key on curve {curve.name}, not {key.curve.name}",
            input_name=input_name,
            hint="choose the ES algorithm that matches the key's curve",
        )
