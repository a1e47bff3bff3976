"""Turning key text into a signing key, and keys into the files Qlik is configured with.

Key text arrives the ways CI systems store it: PEM, PEM with literal ``\\n`` escapes (a
one-line secret), or base64 of a PEM (a masked GitLab variable). Messages describe what is
wrong with a key, never its content.
"""

# No "from __future__ import annotations" here: typing.NamedTuple compiles every string
# annotation of its fields at import, on every start (docs/performance.md); only the names
# imported for type checking alone are quoted.

import base64
import binascii
import re
from typing import TYPE_CHECKING, NamedTuple

from cryptography.exceptions import InternalError, InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from qsjwt.base.errors import KeyMaterialError, ref
from qsjwt.base.findings import Finding, warning
from qsjwt.base.formats import as_bytes
from qsjwt.signing.algorithms import SigningKey

if TYPE_CHECKING:  # cryptography.x509 costs more to import than a signature: only when used
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

MIN_RSA_BITS = 2048
RECOMMENDED_RSA_BITS = 3072
_PEM_LABEL = rb"-----BEGIN ([A-Z0-9 ]+)-----"
_PEM_BLOCK = rb"(?s)-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----\n?"
"""Compiled on first use (``re`` caches them): a key service's run reads no PEM."""
_UNSUPPORTED_CIPHER = ("unknown key encryption algorithm", "encrypted with unknown cipher")
"""How cryptography says it cannot decrypt a key's cipher at all, whatever the passphrase (PKCS#8
with DES, RC2-64, RC4-40, 2-key 3DES or an MD5 PRF; PKCS#1 with DES-CBC, SEED, Camellia...).
Its catch-all "may be encrypted with an unsupported algorithm" is not one of them: an RC4 key
it can read says that for a wrong passphrase."""
CONVERT_KEY = (
    "convert it once: openssl pkcs8 -topk8 -v2 aes-256-cbc -provider legacy -provider default "
    "-in old.pem -out new.pem"
)

VerifyingKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class LoadedKey(NamedTuple):
    """A key fit to sign Qlik tokens, and what is allowed but unwise about it."""

    key: SigningKey
    warnings: tuple[Finding, ...] = ()
    input_name: str = "private-key"
    """where the key came from, for messages about it: ``private-key`` or ``key-service``"""


def pem_from_text(text: str | bytes, *, input_name: str) -> bytes:
    """PEM bytes from any accepted encoding of key or certificate text."""
    raw = as_bytes(text).strip()
    if not raw:
        raise KeyMaterialError("is empty", input_name=input_name)
    if b"-----BEGIN" not in raw:
        try:
            raw = base64.b64decode(b"".join(raw.split()), validate=True).strip()
        except (binascii.Error, ValueError):
            raw = b""
        if b"-----BEGIN" not in raw:
            raise KeyMaterialError(
                "is neither PEM text nor base64 of a PEM file",
                input_name=input_name,
                hint="paste the whole file including the -----BEGIN ...----- line",
            )
    raw = raw.replace(b"\\r\\n", b"\n").replace(b"\\n", b"\n").replace(b"\r\n", b"\n")
    return raw.replace(b"\r", b"\n").strip() + b"\n"


def pem_label(pem: bytes) -> str | None:
    """What the first PEM block says it is, e.g. 'RSA PRIVATE KEY' or 'CERTIFICATE'."""
    match = re.search(_PEM_LABEL, pem)
    return match.group(1).decode() if match else None


def _private_block(pem: bytes, *, input_name: str) -> bytes:
    """The one private key in a PEM text, wherever it stands: ``openssl pkcs12 -nodes``
    writes the certificate first and the key after, with attribute lines around them."""
    blocks = (
        m.group(0) for m in re.finditer(_PEM_BLOCK, pem) if m.group(1).endswith(b"PRIVATE KEY")
    )
    keys = list(dict.fromkeys(blocks))  # the same key pasted twice is one key
    if len(keys) > 1:
        raise KeyMaterialError(
            f"holds {len(keys)} private keys",
            input_name=input_name,
            hint="give only the key that signs the tokens",
        )
    return keys[0] if keys else pem


def load_signing_key(
    text: str | bytes,
    passphrase: str | bytes | None = None,
    *,
    input_name: str,
    passphrase_name: str,
) -> LoadedKey:
    """A private key fit for signing Qlik tokens: RSA of 2048 bits or more, or EC.

    The text may be a bundle (certificates and one private key, in any order). Raises
    KeyMaterialError naming the input or the passphrase; never shows either.
    """
    pem = _private_block(pem_from_text(text, input_name=input_name), input_name=input_name)
    label = pem_label(pem) or ""
    if label == "CERTIFICATE" or label.endswith("PUBLIC KEY"):
        what = "a certificate" if label == "CERTIFICATE" else "a public key"
        raise KeyMaterialError(
            f"is {what}, not a private key",
            input_name=input_name,
            hint="sign with the private key; the certificate goes into Qlik's configuration",
        )
    secret = None if passphrase is None else as_bytes(passphrase)
    encrypted = "ENCRYPTED" in label or b"Proc-Type: 4,ENCRYPTED" in pem
    if encrypted and not secret:
        raise KeyMaterialError(
            "is encrypted and no passphrase was given",
            input_name=input_name,
            hint=f"give {ref(passphrase_name)}",
        )
    try:
        # OpenSSL's RSA key check costs about 60 signatures at 2048 bits (30 ms on a 2-core
        # runner, a quarter of a cold run), nearly all of it proving p and q prime. It is
        # skipped, and _check_rsa stands in for it before the key is used: the same arithmetic
        # (n = pq, the exponents and the CRT values agree), then one signature verified with
        # the public key. cryptography warns that OpenSSL may misbehave with an inconsistent
        # key loaded this way: such a key is refused by that arithmetic before OpenSSL uses it.
        # What is left unchecked is whether p and q are prime: a key made with composite
        # factors is weak but signs tokens that verify (or the verification refuses it), and
        # OpenSSL checks every CRT result itself before it returns a signature.
        key = serialization.load_pem_private_key(
            pem, password=secret or None, unsafe_skip_rsa_key_validation=True
        )
    except TypeError:
        raise KeyMaterialError(
            "is not encrypted, but a passphrase was given",
            input_name=passphrase_name,
            hint="remove the passphrase, or use the encrypted key it belongs to",
        ) from None
    except (ValueError, InternalError) as err:  # InternalError: OpenSSL refused a bad key
        if encrypted and any(words in str(err).lower() for words in _UNSUPPORTED_CIPHER):
            raise KeyMaterialError(
                "is encrypted with a legacy cipher that OpenSSL 3 no longer reads (whatever the "
                "passphrase)",
                input_name=input_name,
                hint=CONVERT_KEY,
            ) from None
        if encrypted:
            raise KeyMaterialError(
                "does not decrypt the private key",
                input_name=passphrase_name,
                hint="check that the passphrase belongs to this key",
            ) from None
        raise KeyMaterialError(
            "is not a readable PEM private key (PKCS#1 or PKCS#8)",
            input_name=input_name,
            hint="check that the whole file was copied, including the BEGIN and END lines",
        ) from None
    except UnsupportedAlgorithm:
        raise KeyMaterialError(
            "uses an algorithm this tool does not support",
            input_name=input_name,
            hint="use an RSA or EC key",
        ) from None
    fit, findings = _key_policy(key, input_name)
    _check_rsa(fit, input_name)
    return LoadedKey(fit, tuple(findings))


_PROOF = b"qs-jwt: does this private key match its public key?"


def _check_rsa(key: SigningKey, input_name: str) -> None:
    """For an RSA key read without OpenSSL's key check: its numbers agree with each other, and
    a signature made with it verifies with its public key; else KeyMaterialError."""
    if not isinstance(key, rsa.RSAPrivateKey):
        return  # EC keys are always checked on load (the point must be on the curve)
    damaged = KeyMaterialError(
        "is a damaged RSA key: its parts do not agree with each other",
        input_name=input_name,
        hint="export the key again, or make a new one: qs-jwt keygen",
    )
    numbers = key.private_numbers()
    p, q, d = numbers.p, numbers.q, numbers.d
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    consistent = (
        p > 2
        and q > 2
        and p % 2 == 1
        and q % 2 == 1
        and p != q
        and p * q == n
        and 1 < e < n
        and 1 < d < n
        and (d * e) % (p - 1) == 1
        and (d * e) % (q - 1) == 1
        and numbers.dmp1 == d % (p - 1)
        and numbers.dmq1 == d % (q - 1)
        and (numbers.iqmp * q) % p == 1
    )
    if not consistent:
        raise damaged
    try:
        signed = key.sign(_PROOF, padding.PKCS1v15(), hashes.SHA256())
        key.public_key().verify(signed, _PROOF, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, InternalError):
        raise damaged from None


def signing_key_from(key: object, *, input_name: str) -> LoadedKey:
    """A key object (from ``cryptography``, or one whose ``sign()`` calls a key service) held
    to the same rules as a key read from PEM."""
    fit, findings = _key_policy(key, input_name)
    return LoadedKey(fit, tuple(findings), input_name)


def _key_policy(key: object, input_name: str) -> tuple[SigningKey, list[Finding]]:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyMaterialError(
                f"is an RSA key of {key.key_size} bits, too weak to sign tokens",
                input_name=input_name,
                hint=f"generate one of at least {MIN_RSA_BITS} bits: qs-jwt keygen",
            )
        if key.key_size < RECOMMENDED_RSA_BITS:
            return key, [
                warning(
                    f"RSA key of {key.key_size} bits; {RECOMMENDED_RSA_BITS} or more is "
                    "recommended (Qlik's tutorial uses 4096)",
                    input_name,
                )
            ]
        return key, []
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key, []
    raise KeyMaterialError(
        f"is an {type(key).__name__.removesuffix('PrivateKey').lstrip('_')} key; Qlik verifies "
        "RSA keys (and Qlik Cloud also EC keys)",
        input_name=input_name,
        hint="use an RSA key: qs-jwt keygen",
    )


def load_certificate(text: str | bytes, *, input_name: str) -> "x509.Certificate":
    """An X.509 certificate from PEM text (or base64 of it): the first of a chain."""
    return load_certificates(text, input_name=input_name)[0]


def load_certificates(text: str | bytes, *, input_name: str) -> "list[x509.Certificate]":
    """Every certificate in PEM text (a leaf and its chain); raises KeyMaterialError."""
    from cryptography import x509  # noqa: PLC0415 (see TYPE_CHECKING above)

    pem = pem_from_text(text, input_name=input_name)
    try:
        certificates = x509.load_pem_x509_certificates(pem)
        for certificate in certificates:
            certificate.public_key()  # parsed on first use: a damaged key fails here, not later
    except (ValueError, x509.InvalidVersion, UnsupportedAlgorithm):
        label = pem_label(pem) or "unknown"
        if label == "CERTIFICATE":
            problem = "is not a readable PEM certificate (damaged, or a key type not supported)"
        elif "PRIVATE" in label:
            problem = "is a private key, not a certificate"
        else:
            problem = f"is not a PEM certificate (found {label!r})"
        raise KeyMaterialError(
            problem,
            input_name=input_name,
            hint="give the -----BEGIN CERTIFICATE----- file configured in Qlik",
        ) from None
    return certificates


def certificate_of(
    key: SigningKey, certificates: "list[x509.Certificate]", *, input_name: str, now: int
) -> "tuple[x509.Certificate, list[Finding]]":
    """The key's own certificate among ``certificates`` (a chain may come with it), and a
    warning when it is not valid at ``now`` (seconds since the epoch). A certificate for
    another key makes Qlik refuse every token: that is an error, before signing."""
    own = _public_der(key.public_key())
    mine = [c for c in certificates if _public_der(c.public_key()) == own]
    if not mine:
        raise KeyMaterialError(
            "does not belong to the private key: Qlik would reject the token",
            input_name=input_name,
            hint="configure Qlik with the certificate of this key, or sign with its own key",
        )
    certificate = mine[0]
    findings = []
    if now < certificate.not_valid_before_utc.timestamp():
        findings.append(
            warning(
                f"is not valid before {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC; "
                "Qlik may refuse tokens until then",
                input_name,
            )
        )
    elif now > certificate.not_valid_after_utc.timestamp():
        findings.append(
            warning(
                f"expired on {certificate.not_valid_after_utc:%Y-%m-%d}; Qlik may refuse tokens "
                "signed for it: make a new key and certificate (qs-jwt keygen)",
                input_name,
            )
        )
    return certificate, findings


def load_verifying_key(text: str | bytes, *, input_name: str) -> VerifyingKey:
    """The public key in a certificate or public-key PEM, for checking a token.

    A bundle or a chain gives its first certificate (the leaf, in the order PEM files list
    them), wherever it stands among the blocks; a private key alone is refused, never read.
    """
    pem = pem_from_text(text, input_name=input_name)
    public: object
    if b"-----BEGIN CERTIFICATE-----" in pem:
        public = load_certificate(pem, input_name=input_name).public_key()
    elif (pem_label(pem) or "").endswith("PRIVATE KEY"):
        raise KeyMaterialError(
            "is a private key, not a certificate or public key",
            input_name=input_name,
            hint="give the certificate configured in Qlik",
        )
    else:
        try:
            public = serialization.load_pem_public_key(pem)
        except (ValueError, UnsupportedAlgorithm):
            raise KeyMaterialError(
                "is not a PEM certificate or public key", input_name=input_name
            ) from None
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise KeyMaterialError("holds neither an RSA nor an EC key", input_name=input_name)
    return public


def _public_der(public: "CertificatePublicKeyTypes") -> bytes:
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_key(key_type: str, bits: int, curve: str = "P-256") -> SigningKey:
    """A new key: RSA of ``bits``, or EC on ``curve``: P-256 (ES256) or P-384 (ES384, the one
    curve Qlik Cloud OAuth takes)."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP384R1() if curve == "P-384" else ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def self_signed_certificate(
    key: SigningKey, *, common_name: str, days: int, now: "dt.datetime"
) -> "x509.Certificate":
    """The certificate to paste into the QSEoW virtual proxy or the Qlik Cloud IdP."""
    import datetime as dt  # noqa: PLC0415 (keygen only: a mint needs no datetime)

    from cryptography import x509  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, certificate_hash(key))
    )


def certificate_hash(key: SigningKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
    """The hash to sign a certificate or CSR with: the curve's own for EC (a key service may
    allow no other: an AWS KMS P-384 key signs ECDSA_SHA_384 only), SHA-256 for RSA."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = key.curve.key_size
        return hashes.SHA512() if size > 384 else hashes.SHA384() if size > 256 else hashes.SHA256()
    return hashes.SHA256()


def private_pem(key: SigningKey) -> bytes:
    """The key as unencrypted PKCS#8 PEM (``keygen`` writes it with mode 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: SigningKey) -> bytes:
    """The public key as SubjectPublicKeyInfo PEM."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def certificate_pem(certificate: "x509.Certificate") -> bytes:
    """The certificate as PEM, as Qlik's virtual proxy and identity provider take it."""
    return certificate.public_bytes(serialization.Encoding.PEM)


def one_line_pem(pem: bytes) -> str:
    """The form Qlik Cloud's identity-provider API wants: no line breaks at all."""
    return "".join(pem.decode().split("\n"))
