"""Key material for the leak suite, generated once per process, and every form a secret takes.

Nothing here is committed except the encrypted test key in tests/keys/. A "secret form" is any
text that would show a secret if it appeared in a log: each private key's PEM body, its base64
encoding, its one-line ``\\n``-escaped form, its DER in hex, every passphrase used, and the key
services' credentials (a Vault token, a PKCS#11 PIN, a CI identity token).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from qsjwt.signing.keys import certificate_pem, private_pem, public_pem, self_signed_certificate
from tests.conftest import ENCRYPTED_KEY, ENCRYPTED_KEY_PASSPHRASE, NOW
from tests.leaks.cases import CREDENTIALS

WRONG_PASSPHRASE = "wrong horse battery staple"
LEGACY_PASSPHRASE = "legacy pkcs1 passphrase 7Qx"
PASSPHRASES = (ENCRYPTED_KEY_PASSPHRASE, WRONG_PASSPHRASE, LEGACY_PASSPHRASE)


WINDOW = 16
"""A run of this many characters of a secret form anywhere in a log counts as a leak."""

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")


@dataclass(frozen=True)
class Pair:
    """One key: the private PEM as given to the tool, and the public halves for checking."""

    private: bytes
    public: bytes
    certificate: bytes
    secret_texts: tuple[bytes, ...] = ()
    """further secret encodings of the same key (the decrypted PEM of an encrypted key...)"""


def _pair(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> Pair:
    cert = self_signed_certificate(key, common_name="qs-jwt leak suite", days=36500, now=NOW)
    return Pair(private_pem(key), public_pem(key), certificate_pem(cert))


def _public_only(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class Material:
    pairs: dict[str, Pair]
    secrets: frozenset[str] = field(repr=False)
    """every WINDOW-long run of every secret form"""
    passphrases: tuple[str, ...] = PASSPHRASES
    credentials: tuple[str, ...] = CREDENTIALS

    def private(self, name: str) -> bytes:
        return self.pairs[name].private

    def leaks(self, text: str, *, tokens: Iterable[str] = ()) -> list[str]:
        """What in ``text`` shows a key, a passphrase or a token (descriptions, not secrets)."""
        found: list[str] = []
        for start in range(max(0, len(text) - WINDOW + 1)):
            if text[start : start + WINDOW] in self.secrets:
                found.append(f"private key text at offset {start}")
                break
        found += [f"passphrase #{i}" for i, p in enumerate(self.passphrases) if p in text]
        for i, credential in enumerate(self.credentials):  # the whole, or any part of a JWT
            parts = [part for part in credential.split(".") if len(part) >= WINDOW]
            if credential in text or any(part in text for part in parts):
                found.append(f"key-service credential #{i}")
        for token in tokens:
            _, _, signature = token.rpartition(".")
            if token in text or (len(signature) >= WINDOW and signature[:WINDOW] in text):
                found.append("the minted token")
        if _JWT.search(text):
            found.append("a JWT-shaped string")
        return found


def secret_forms(pem: bytes) -> Iterator[str]:
    """The texts that show a PEM secret: body, base64 of the file, \\n-escaped line, DER hex."""
    text = pem.decode("ascii", errors="replace")
    body_lines = [line for line in text.splitlines() if line and "-----" not in line]
    yield "".join(line for line in body_lines if ":" not in line)  # skip Proc-Type headers
    yield base64.b64encode(pem).decode()
    yield base64.b64encode(pem.replace(b"\n", b"\r\n")).decode()
    yield text.replace("\n", "\\n")
    try:
        der = base64.b64decode("".join(line for line in body_lines if ":" not in line))
    except ValueError:  # pragma: no cover - every PEM here is well-formed
        return
    yield der.hex()
    yield der.hex().upper()


def _windows(forms: Iterable[str]) -> frozenset[str]:
    runs: set[str] = set()
    for form in forms:
        runs.update(form[i : i + WINDOW] for i in range(len(form) - WINDOW + 1))
    return frozenset(runs)


@functools.cache
def material() -> Material:
    """Every key the suite uses; RSA 3072 is the main key (2048 draws a size warning)."""
    rsa3072 = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    pairs = {
        "rsa3072": _pair(rsa3072),
        "rsa2048": _pair(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        # the weak key the tool must refuse
        "rsa1024": _pair(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # noqa: S505
        "ec256": _pair(ec.generate_private_key(ec.SECP256R1())),
        "ec384": _pair(ec.generate_private_key(ec.SECP384R1())),
    }
    main = pairs["rsa3072"]
    ed = ed25519.Ed25519PrivateKey.generate()
    pairs["ed25519"] = Pair(
        ed.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        _public_only(ed),
        b"",
    )
    # The same main key in the other formats people paste: PKCS#1, OpenSSH, legacy-encrypted.
    pairs["pkcs1"] = Pair(
        rsa3072.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        main.public,
        main.certificate,
    )
    pairs["openssh"] = Pair(
        rsa3072.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ),
        main.public,
        main.certificate,
    )
    pairs["pkcs1-encrypted"] = Pair(
        rsa3072.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(LEGACY_PASSPHRASE.encode()),
        ),
        main.public,
        main.certificate,
    )
    encrypted_text = ENCRYPTED_KEY.read_bytes()
    decrypted = serialization.load_pem_private_key(
        encrypted_text, password=ENCRYPTED_KEY_PASSPHRASE.encode()
    )
    assert isinstance(decrypted, rsa.RSAPrivateKey)
    plain = _pair(decrypted)
    pairs["encrypted"] = Pair(
        encrypted_text,
        plain.public,
        plain.certificate,
        secret_texts=(
            plain.private,
            decrypted.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ),
        ),
    )
    forms: list[str] = []
    for pair in pairs.values():
        for pem in (pair.private, *pair.secret_texts):
            forms += secret_forms(pem)
    # The main key's PKCS#1 and PKCS#8 DER share no long run with its certificate except the
    # public modulus; the suite never prints a certificate, so that overlap cannot mislead.
    return Material(pairs, _windows(forms))
