"""What ``keygen`` makes: a signing key and the self-signed certificate Qlik is given for it.

The checks live here, not in a shell, so the command line and any later shell refuse the same
values with the same messages.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from qsjwt.base.errors import InputError
from qsjwt.signing.algorithms import SigningKey
from qsjwt.signing.keys import (
    certificate_hash,
    certificate_pem,
    generate_key,
    private_pem,
    public_pem,
    self_signed_certificate,
)

KEY_TYPES = ("rsa", "ec")
RSA_BITS = ("2048", "3072", "4096")
CURVES = ("P-256", "P-384")
DEFAULTS = {
    "key-type": "rsa",
    "bits": "3072",
    "curve": "P-256",
    "days": "365",
    "common-name": "qs-jwt",
}
"""3072-bit RSA: QSEoW takes only RSA, and NIST's guidance puts 3072 bits past 2030."""
MAX_COMMON_NAME = 64
"""RFC 5280's upper bound for a common name; cryptography refuses a longer one."""


@dataclass(frozen=True)
class KeygenSettings:
    """Checked ``keygen`` settings."""

    key_type: str
    bits: int
    days: int
    common_name: str
    curve: str = "P-256"


@dataclass(frozen=True)
class KeyPairFiles:
    """The PEM texts ``keygen`` writes: only ``private`` is secret."""

    private: bytes
    certificate: bytes
    public: bytes
    jwk: bytes | None = None
    """the public JWK for a Qlik Cloud OAuth client (``kid`` its thumbprint), when the key
    suits one: RSA, or EC on P-384"""
    request: bytes | None = None
    """a certificate signing request (PEM), made for a key held by a key service"""


def parse_keygen(values: Mapping[str, str | None], *, now: dt.datetime) -> KeygenSettings:
    """Checked settings from text values named as the inputs are (``key-type``, ``bits``...);
    a missing value (or None) takes its default, and a curve alone means an EC key. Raises
    InputError naming the input; never repeats it."""
    given = {**DEFAULTS, **{name: value for name, value in values.items() if value is not None}}
    if values.get("curve") and not values.get("key-type"):
        given["key-type"] = "ec"
    key_type = _choice(given["key-type"], KEY_TYPES, "key-type")
    if values.get("curve") and key_type != "ec":
        raise InputError(
            "applies to EC keys only", input_name="curve", hint="add --key-type ec, or drop it"
        )
    return KeygenSettings(
        key_type=key_type,
        bits=int(_choice(given["bits"], RSA_BITS, "bits")),
        days=_days(given["days"], now),
        common_name=_common_name(given["common-name"]),
        curve=_choice(given["curve"].upper(), CURVES, "curve"),
    )


def make_key_pair(settings: KeygenSettings, *, now: dt.datetime) -> KeyPairFiles:
    """A new key and a certificate valid from ``now`` for ``settings.days`` days."""
    key = generate_key(settings.key_type, settings.bits, settings.curve)
    certificate = self_signed_certificate(
        key, common_name=settings.common_name, days=settings.days, now=now
    )
    jwk = None
    if settings.key_type == "rsa" or settings.curve == "P-384":
        from qsjwt.signing.jwk import public_jwk  # noqa: PLC0415 (only keygen needs it)

        jwk = (json.dumps(public_jwk(key, input_name="key-type"), indent=2) + "\n").encode()
    return KeyPairFiles(private_pem(key), certificate_pem(certificate), public_pem(key), jwk)


def remote_key_files(
    key: SigningKey, settings: KeygenSettings, *, now: dt.datetime
) -> KeyPairFiles:
    """What Qlik is given for a key held by a key service, made by asking it to sign: the
    self-signed certificate, the public key, the JWK (RSA, or EC P-384) and a certificate
    signing request for a company CA (``request``). No private key: there is none here."""
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    certificate = self_signed_certificate(
        key, common_name=settings.common_name, days=settings.days, now=now
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, settings.common_name)])
    request = (
        x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, certificate_hash(key))
    )
    jwk = None
    if isinstance(key, rsa.RSAPrivateKey) or key.curve.name == "secp384r1":
        from qsjwt.signing.jwk import public_jwk  # noqa: PLC0415

        jwk = (json.dumps(public_jwk(key, input_name="key-service"), indent=2) + "\n").encode()
    return KeyPairFiles(
        b"",
        certificate_pem(certificate),
        public_pem(key),
        jwk,
        request.public_bytes(serialization.Encoding.PEM),
    )


def _choice(value: str, allowed: tuple[str, ...], input_name: str) -> str:
    if value in allowed:
        return value
    raise InputError(f"must be one of {', '.join(allowed)}", input_name=input_name)


def _days(text: str, now: dt.datetime) -> int:
    """A whole number of days that keeps the certificate's end before the year 10000."""
    if not text.isdigit() or int(text) < 1:
        raise InputError("must be a whole number of at least 1", input_name="days", hint="e.g. 365")
    try:
        now + dt.timedelta(days=int(text))
    except OverflowError:
        raise InputError(
            "puts the certificate's end after the year 9999", input_name="days", hint="e.g. 365"
        ) from None
    return int(text)


def _common_name(text: str) -> str:
    """What cryptography would refuse with a bare exception, as an error naming the input."""
    if not 1 <= len(text) <= MAX_COMMON_NAME or not text.isprintable():
        raise InputError(
            f"must be 1 to {MAX_COMMON_NAME} printable characters (UTF-8)",
            input_name="common-name",
            hint="e.g. the host or identity provider name",
        )
    return text
