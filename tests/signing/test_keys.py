"""Key text in every form CI systems store it, and every way it can be unusable (rules 2-5)."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from qsjwt.base.errors import KeyMaterialError
from qsjwt.base.inputs import CERTIFICATE, PRIVATE_KEY, PRIVATE_KEY_PASSPHRASE
from qsjwt.signing.algorithms import SigningKey
from qsjwt.signing.keys import (
    certificate_of,
    generate_key,
    load_certificate,
    load_certificates,
    load_signing_key,
    load_verifying_key,
    one_line_pem,
    pem_from_text,
    pem_label,
    private_pem,
    self_signed_certificate,
)
from tests.conftest import ENCRYPTED_KEY, ENCRYPTED_KEY_PASSPHRASE, NOW, NOW_S, KeyPair
from tests.helpers import assert_error, signing_key

PKCS1 = serialization.PrivateFormat.TraditionalOpenSSL
PKCS8 = serialization.PrivateFormat.PKCS8
PUBLIC_INFO = serialization.PublicFormat.SubjectPublicKeyInfo


def _pem(
    key: PrivateKeyTypes, fmt: serialization.PrivateFormat = PKCS8, passphrase: bytes | None = None
) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return bytes(key.private_bytes(serialization.Encoding.PEM, fmt, encryption))


def _same_key(a: SigningKey, b: SigningKey) -> bool:
    der = serialization.Encoding.DER
    mine: bytes = a.public_key().public_bytes(der, PUBLIC_INFO)
    return mine == b.public_key().public_bytes(der, PUBLIC_INFO)


@pytest.fixture(scope="module")
def rsa1024_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (to refuse)


# --- accepted encodings ----------------------------------------------------------------------


def _encodings(pem: bytes) -> dict[str, str | bytes]:
    text = pem.decode()
    return {
        "pem-bytes": pem,
        "pem-str": text,
        "escaped-newlines": text.replace("\n", "\\n"),
        "escaped-crlf": text.replace("\n", "\\r\\n"),
        "crlf": text.replace("\n", "\r\n"),
        "cr-only": text.replace("\n", "\r"),
        "surrounding-space": "\n\n  " + text + "  \n",
        "no-final-newline": text.rstrip("\n"),
        "base64": base64.b64encode(pem).decode(),
        "base64-wrapped": "\n".join(textwrap.wrap(base64.b64encode(pem).decode(), 76)),
        "base64-of-escaped": base64.b64encode(text.replace("\n", "\\n").encode()).decode(),
    }


@pytest.mark.parametrize("fmt", [PKCS1, PKCS8], ids=["pkcs1", "pkcs8"])
@pytest.mark.parametrize("encoding", list(_encodings(b"")))
def test_rsa_key_encodings(rsa3072_pair: KeyPair, fmt: Any, encoding: Any) -> None:
    pem = _pem(rsa3072_pair.key, fmt)
    loaded = signing_key(_encodings(pem)[encoding])
    assert isinstance(loaded.key, rsa.RSAPrivateKey)
    assert _same_key(loaded.key, rsa3072_pair.key)
    assert loaded.warnings == ()


@pytest.mark.parametrize("encoding", ["pem-str", "escaped-newlines", "base64"])
def test_ec_key_loads_without_warning(ec_pair: KeyPair, encoding: str) -> None:
    loaded = signing_key(_encodings(ec_pair.private_pem)[encoding])
    assert isinstance(loaded.key, ec.EllipticCurvePrivateKey)
    assert _same_key(loaded.key, ec_pair.key)
    assert loaded.warnings == ()


def test_pem_label() -> None:
    assert pem_label(b"-----BEGIN RSA PRIVATE KEY-----\nabc") == "RSA PRIVATE KEY"
    assert pem_label(b"nothing") is None


# --- unusable text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty"),
        ("  \n\t ", "is empty"),
        (b"", "is empty"),
        ("not a key at all", "neither PEM text nor base64"),
        ("!!!!", "neither PEM text nor base64"),
        (base64.b64encode(b"just some bytes").decode(), "neither PEM text nor base64"),
        ("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", "not a readable PEM"),
        ("-----BEGIN PRIVATE KEY-----\nnotbase64!\n-----END PRIVATE KEY-----\n", "not a readable"),
    ],
)
def test_garbage(text: Any, fragment: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        signing_key(text)
    assert_error(info.value, PRIVATE_KEY, fragment)


@pytest.mark.parametrize("fmt", [PKCS1, PKCS8], ids=["pkcs1", "pkcs8"])
@pytest.mark.parametrize("keep", [0.3, 0.5, 0.9])
def test_truncated_pem(rsa_pair: KeyPair, fmt: Any, keep: float) -> None:
    pem = _pem(rsa_pair.key, fmt)
    with pytest.raises(KeyMaterialError) as info:
        signing_key(pem[: int(len(pem) * keep)])
    assert_error(info.value, PRIVATE_KEY, "not a readable PEM private key", "BEGIN and END")


def test_certificate_as_signing_key(rsa_pair: KeyPair) -> None:
    with pytest.raises(KeyMaterialError) as info:
        signing_key(rsa_pair.certificate_pem)
    assert_error(info.value, PRIVATE_KEY, "is a certificate, not a private key")


@pytest.mark.parametrize(
    "fmt",
    [serialization.PublicFormat.SubjectPublicKeyInfo, serialization.PublicFormat.PKCS1],
    ids=["spki", "pkcs1"],
)
def test_public_key_as_signing_key(rsa_pair: KeyPair, fmt: Any) -> None:
    pem = rsa_pair.key.public_key().public_bytes(serialization.Encoding.PEM, fmt)
    with pytest.raises(KeyMaterialError) as info:
        signing_key(base64.b64encode(pem))
    assert_error(info.value, PRIVATE_KEY, "is a public key, not a private key")


# --- passphrases (rule 4) --------------------------------------------------------------------


@pytest.mark.parametrize("passphrase", [None, ""])
def test_encrypted_key_without_passphrase(passphrase: str | None) -> None:
    with pytest.raises(KeyMaterialError) as info:
        signing_key(ENCRYPTED_KEY.read_bytes(), passphrase)
    assert_error(info.value, PRIVATE_KEY, "is encrypted and no passphrase", PRIVATE_KEY_PASSPHRASE)


@pytest.mark.parametrize("passphrase", ["wrong horse", ENCRYPTED_KEY_PASSPHRASE.upper(), "x"])
def test_encrypted_key_wrong_passphrase(passphrase: Any) -> None:
    with pytest.raises(KeyMaterialError) as info:
        signing_key(ENCRYPTED_KEY.read_bytes(), passphrase)
    assert_error(info.value, PRIVATE_KEY_PASSPHRASE, "does not decrypt the private key")


@pytest.mark.parametrize("as_bytes", [False, True])
def test_encrypted_key_right_passphrase(as_bytes: bool) -> None:
    passphrase = ENCRYPTED_KEY_PASSPHRASE.encode() if as_bytes else ENCRYPTED_KEY_PASSPHRASE
    loaded = signing_key(ENCRYPTED_KEY.read_text().replace("\n", "\\n"), passphrase)
    assert isinstance(loaded.key, rsa.RSAPrivateKey)
    assert loaded.key.key_size == 2048


@pytest.mark.parametrize("fmt", [PKCS1, PKCS8], ids=["pkcs1-proc-type", "pkcs8-encrypted"])
def test_generated_encrypted_keys(rsa3072_pair: KeyPair, fmt: Any) -> None:
    pem = _pem(rsa3072_pair.key, fmt, passphrase=b"s3cret")
    assert _same_key(signing_key(pem, "s3cret").key, rsa3072_pair.key)
    with pytest.raises(KeyMaterialError) as info:
        signing_key(pem)
    assert_error(info.value, PRIVATE_KEY, "is encrypted")
    with pytest.raises(KeyMaterialError) as info:
        signing_key(pem, "not it")
    assert_error(info.value, PRIVATE_KEY_PASSPHRASE, "does not decrypt")


@pytest.mark.parametrize("fmt", [PKCS1, PKCS8], ids=["pkcs1", "pkcs8"])
def test_passphrase_for_an_unencrypted_key(rsa3072_pair: KeyPair, fmt: Any) -> None:
    # Found by these tests: the passphrase was silently ignored (the error below was dead code).
    with pytest.raises(KeyMaterialError) as info:
        signing_key(_pem(rsa3072_pair.key, fmt), "a passphrase")
    assert_error(info.value, PRIVATE_KEY_PASSPHRASE, "is not encrypted, but a passphrase")


def test_empty_passphrase_for_an_unencrypted_key_is_no_passphrase(rsa3072_pair: KeyPair) -> None:
    # The GitHub runner sends an input that was not set as "".
    assert signing_key(rsa3072_pair.private_pem, "").warnings == ()


# --- key policy (rules 2, 3) -----------------------------------------------------------------


def test_rsa_1024_refused(rsa1024_key: Any) -> None:
    with pytest.raises(KeyMaterialError) as info:
        signing_key(_pem(rsa1024_key, PKCS1))
    assert_error(info.value, PRIVATE_KEY, "RSA key of 1024 bits, too weak", "at least 2048")


def test_rsa_2048_warns(rsa_pair: KeyPair) -> None:
    [finding] = signing_key(rsa_pair.private_pem).warnings
    assert finding.subject == PRIVATE_KEY
    assert "RSA key of 2048 bits; 3072 or more is recommended" in finding.message


def test_rsa_3072_does_not_warn(rsa3072_pair: KeyPair) -> None:
    assert signing_key(rsa3072_pair.private_pem).warnings == ()


def test_ed25519_refused() -> None:
    pem = _pem(ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(KeyMaterialError) as info:
        signing_key(pem)
    assert_error(info.value, PRIVATE_KEY, "Ed25519", "Qlik verifies RSA keys")


# --- certificates (rule 5) -------------------------------------------------------------------


@pytest.mark.parametrize("pair", ["rsa_pair", "ec_pair"])
def test_matching_certificate(request: pytest.FixtureRequest, pair: str) -> None:
    keys = request.getfixturevalue(pair)
    cert = load_certificate(keys.certificate_pem.decode().replace("\n", "\\n"), input_name="c")
    assert certificate_of(keys.key, [cert], input_name=CERTIFICATE, now=NOW_S) == (cert, [])


@pytest.mark.parametrize(
    ("signer", "owner"), [("rsa_pair", "other_rsa_pair"), ("rsa_pair", "ec_pair")]
)
def test_certificate_of_another_key(
    request: pytest.FixtureRequest, signer: str, owner: str
) -> None:
    key = request.getfixturevalue(signer).key
    cert = load_certificate(request.getfixturevalue(owner).certificate_pem, input_name="c")
    with pytest.raises(KeyMaterialError) as info:
        certificate_of(key, [cert], input_name=CERTIFICATE, now=NOW_S)
    assert_error(info.value, CERTIFICATE, "does not belong to the private key")


@pytest.mark.parametrize(
    ("what", "fragment"),
    [
        ("private_pem", "is a private key, not a certificate"),
        ("public_pem", "is not a PEM certificate (found 'PUBLIC KEY')"),
    ],
)
def test_load_certificate_refuses_other_pem(rsa_pair: KeyPair, what: str, fragment: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        load_certificate(getattr(rsa_pair, what), input_name=CERTIFICATE)
    assert_error(info.value, CERTIFICATE, fragment)


def test_load_certificate_refuses_garbage() -> None:
    with pytest.raises(KeyMaterialError) as info:
        load_certificate("hello", input_name=CERTIFICATE)
    assert_error(info.value, CERTIFICATE, "neither PEM text nor base64")


@pytest.mark.parametrize("what", ["certificate_pem", "public_pem"])
@pytest.mark.parametrize("pair", ["rsa_pair", "ec_pair"])
def test_load_verifying_key(request: pytest.FixtureRequest, pair: str, what: str) -> None:
    keys = request.getfixturevalue(pair)
    public = load_verifying_key(getattr(keys, what), input_name="certificate-file")
    der = serialization.Encoding.DER
    assert public.public_bytes(der, PUBLIC_INFO) == keys.key.public_key().public_bytes(
        der, PUBLIC_INFO
    )


def test_load_verifying_key_refuses_private_key(rsa_pair: KeyPair) -> None:
    with pytest.raises(KeyMaterialError) as info:
        load_verifying_key(rsa_pair.private_pem, input_name="public-key-file")
    assert_error(info.value, "public-key-file", "is a private key, not a certificate")
    assert "MII" not in info.value.render()


# --- key generation and certificates for Qlik ------------------------------------------------


def test_self_signed_certificate(ec_pair: KeyPair) -> None:
    cert = self_signed_certificate(ec_pair.key, common_name="qs-jwt ci", days=10, now=NOW)
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == hashes.SHA256.name
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == "CN=qs-jwt ci"
    assert cert.not_valid_after_utc == NOW + dt.timedelta(days=10)
    assert cert.not_valid_before_utc <= NOW
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    assert certificate_of(ec_pair.key, [cert], input_name=CERTIFICATE, now=NOW_S)[1] == []


def test_generate_ec_key() -> None:
    key = generate_key("ec", 0)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert signing_key(private_pem(key)).warnings == ()


def test_one_line_pem(rsa_pair: KeyPair) -> None:
    line = one_line_pem(rsa_pair.certificate_pem)
    assert "\n" not in line and "\r" not in line
    assert line.startswith("-----BEGIN CERTIFICATE-----MII")
    assert line.endswith("-----END CERTIFICATE-----")
    assert line == rsa_pair.certificate_pem.decode().replace("\n", "")


def test_pem_from_text_normalises(rsa_pair: KeyPair) -> None:
    escaped = rsa_pair.certificate_pem.decode().replace("\n", "\\r\\n")
    assert pem_from_text(escaped, input_name="c") == rsa_pair.certificate_pem


# --- no secret in any message ----------------------------------------------------------------


def test_no_message_carries_key_text_or_passphrase(rsa_pair: KeyPair, rsa1024_key: Any) -> None:
    """Every key error we can provoke: none repeats a line of the key or the passphrase."""
    encrypted = ENCRYPTED_KEY.read_bytes()
    weak = _pem(rsa1024_key, PKCS1)
    secret_pems = [rsa_pair.private_pem, encrypted, weak, _pem(rsa_pair.key, PKCS1)]
    attempts = [
        (encrypted, None),
        (encrypted, "wrong " + ENCRYPTED_KEY_PASSPHRASE),
        (encrypted[: len(encrypted) // 2], ENCRYPTED_KEY_PASSPHRASE),
        (rsa_pair.private_pem, ENCRYPTED_KEY_PASSPHRASE),
        (rsa_pair.private_pem[:-200], None),
        (rsa_pair.private_pem.replace(b"-----BEGIN", b"-----BEGIN X"), None),
        (_pem(rsa_pair.key, PKCS1)[:300], None),
        (base64.b64encode(rsa_pair.private_pem)[:-8], None),
        (weak, None),
        (weak.replace(b"\n", b"\\n"), None),
    ]
    rendered = []
    for text, passphrase in attempts:
        with pytest.raises(KeyMaterialError) as info:
            signing_key(text, passphrase)
        err = info.value
        rendered.append(" | ".join([str(err), repr(err), err.render(), repr(err.args)]))
    with pytest.raises(KeyMaterialError) as info:
        load_certificate(rsa_pair.private_pem, input_name=CERTIFICATE)
    rendered.append(str(info.value))
    assert len(rendered) == len(attempts) + 1
    lines = {line.strip() for pem in secret_pems for line in pem.decode().splitlines()}
    lines.discard("")
    for message in rendered:
        assert ENCRYPTED_KEY_PASSPHRASE.lower() not in message.lower()
        assert "wrong " not in message
        for line in lines:
            assert line not in message, message
        assert "MII" not in message  # the start of every DER body in base64


# --- keys and certificates as people have them ------------------------------------------------


def _bag(label: str) -> bytes:
    """The attribute lines ``openssl pkcs12 -nodes`` writes before each block."""
    return f"Bag Attributes\n    localKeyID: 01 02 03\n    friendlyName: {label}\n".encode()


def test_a_pkcs12_dump_with_the_certificate_first_is_accepted(rsa3072_pair: KeyPair) -> None:
    bundle = _bag("cert") + rsa3072_pair.certificate_pem + _bag("key") + rsa3072_pair.private_pem
    loaded = load_signing_key(bundle, input_name=PRIVATE_KEY, passphrase_name="p")
    assert loaded.key.private_numbers() == rsa3072_pair.key.private_numbers()


def test_two_private_keys_in_one_input_are_refused(
    rsa_pair: KeyPair, other_rsa_pair: KeyPair
) -> None:
    with pytest.raises(KeyMaterialError) as info:
        load_signing_key(
            rsa_pair.private_pem + other_rsa_pair.private_pem,
            input_name=PRIVATE_KEY,
            passphrase_name="p",
        )
    assert_error(info.value, PRIVATE_KEY, "holds 2 private keys")
    assert "MII" not in info.value.render()


def _openssl(*args: str, stdin: bytes) -> bytes:
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=True).stdout


LEGACY = ("-provider", "legacy", "-provider", "default")
"""What OpenSSL 3 needs to write (and read) DES, RC2, RC4 and the old PBEs."""


def _legacy_key(pem: bytes, *form: str) -> bytes:
    old = _openssl(*form, *LEGACY, "-passout", "pass:right-passphrase", stdin=pem)
    assert b"ENCRYPTED" in old
    return old


@pytest.mark.parametrize(
    "legacy",
    [
        ["pkcs8", "-topk8", "-v1", "PBE-SHA1-RC2-64"],
        ["pkcs8", "-topk8", "-v1", "PBE-MD5-RC2-64"],
        ["pkcs8", "-topk8", "-v1", "PBE-SHA1-RC4-40"],
        ["pkcs8", "-topk8", "-v2", "des"],
        ["pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithMD5"],
        ["rsa", "-des", "-traditional"],
        ["rsa", "-seed", "-traditional"],
    ],
    ids=["pkcs8-rc2", "pkcs8-md5-rc2", "pkcs8-rc4-40", "pkcs8-des", "pkcs8-md5-prf", "des", "seed"],
)
@pytest.mark.parametrize("passphrase", ["right-passphrase", "wrong-passphrase"])
def test_a_legacy_cipher_is_named_not_blamed_on_the_passphrase(
    rsa_pair: KeyPair, legacy: Any, passphrase: str
) -> None:
    """These cannot be decrypted here whatever the passphrase: say so, and how to convert."""
    old = _legacy_key(rsa_pair.private_pem, *legacy)
    with pytest.raises(KeyMaterialError) as info:
        load_signing_key(
            old, passphrase, input_name=PRIVATE_KEY, passphrase_name=PRIVATE_KEY_PASSPHRASE
        )
    assert_error(info.value, PRIVATE_KEY, "legacy cipher", "openssl pkcs8 -topk8 -v2 aes-256-cbc")
    assert passphrase not in info.value.render()


def test_the_conversion_the_message_gives_makes_a_key_that_signs(
    rsa_pair: KeyPair, tmp_path: Path
) -> None:
    """The hint's command, run as printed, turns a legacy key into one this tool reads."""
    for form in (["rsa", "-des", "-traditional"], ["pkcs8", "-topk8", "-v1", "PBE-SHA1-RC2-64"]):
        (tmp_path / "old.pem").write_bytes(_legacy_key(rsa_pair.private_pem, *form))
        with pytest.raises(KeyMaterialError) as info:
            load_signing_key(
                (tmp_path / "old.pem").read_bytes(),
                "right-passphrase",
                input_name=PRIVATE_KEY,
                passphrase_name=PRIVATE_KEY_PASSPHRASE,
            )
        command = (info.value.hint or "").removeprefix("convert it once: ").split()
        assert command[:2] == ["openssl", "pkcs8"]
        passphrases = ["-passin", "pass:right-passphrase", "-passout", "pass:new-passphrase"]
        subprocess.run(command + passphrases, cwd=tmp_path, capture_output=True, check=True)
        loaded = load_signing_key(
            (tmp_path / "new.pem").read_bytes(),
            "new-passphrase",
            input_name=PRIVATE_KEY,
            passphrase_name=PRIVATE_KEY_PASSPHRASE,
        )
        assert _same_key(loaded.key, rsa_pair.key)


@pytest.mark.parametrize(
    "form",
    [
        ["pkcs8", "-topk8", "-v1", "PBE-MD5-DES"],
        ["pkcs8", "-topk8", "-v1", "PBE-SHA1-RC2-40"],
        ["pkcs8", "-topk8", "-v1", "PBE-SHA1-RC4-128"],
        ["pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES"],
        ["rsa", "-des3", "-traditional"],
    ],
    ids=["pkcs8-md5-des", "pkcs8-rc2-40", "pkcs8-rc4-128", "pkcs8-3des", "des3"],
)
def test_an_old_cipher_this_tool_reads_signs_and_a_wrong_passphrase_is_one(
    rsa_pair: KeyPair, form: Any
) -> None:
    """Not every old cipher is unreadable: these sign with the right passphrase, and a wrong one
    is blamed on the passphrase (RC4 then says "may be encrypted with an unsupported algorithm",
    which must not be read as a legacy cipher)."""
    old = _legacy_key(rsa_pair.private_pem, *form)
    names = {"input_name": PRIVATE_KEY, "passphrase_name": PRIVATE_KEY_PASSPHRASE}
    assert _same_key(load_signing_key(old, "right-passphrase", **names).key, rsa_pair.key)
    with pytest.raises(KeyMaterialError) as info:
        load_signing_key(old, "wrong-passphrase", **names)
    assert_error(info.value, PRIVATE_KEY_PASSPHRASE, "does not decrypt")


def test_a_wrong_passphrase_is_still_a_wrong_passphrase() -> None:
    with pytest.raises(KeyMaterialError) as info:
        load_signing_key(
            ENCRYPTED_KEY.read_bytes(),
            "not it",
            input_name=PRIVATE_KEY,
            passphrase_name=PRIVATE_KEY_PASSPHRASE,
        )
    assert_error(info.value, PRIVATE_KEY_PASSPHRASE, "does not decrypt")


@pytest.mark.parametrize(
    "bundle",
    ["pkcs12-dump", "key-then-certificate", "chain"],
)
def test_verifying_with_a_bundle_uses_its_first_certificate(
    rsa_pair: KeyPair, other_rsa_pair: KeyPair, bundle: str
) -> None:
    """The certificate input of verify and lint takes what mint's takes: a bundle or a chain;
    a private key in it is skipped, never read."""
    text = {
        "pkcs12-dump": _bag("cert")
        + rsa_pair.certificate_pem
        + _bag("key")
        + other_rsa_pair.private_pem,
        "key-then-certificate": other_rsa_pair.private_pem + rsa_pair.certificate_pem,
        "chain": rsa_pair.certificate_pem + other_rsa_pair.certificate_pem,
    }[bundle]
    public = load_verifying_key(text, input_name=CERTIFICATE)
    assert _public_der(public) == _public_der(rsa_pair.key.public_key())


def _public_der(public: Any) -> bytes:
    return bytes(public.public_bytes(serialization.Encoding.DER, PUBLIC_INFO))


def test_the_key_s_certificate_is_found_in_a_chain(
    rsa_pair: KeyPair, other_rsa_pair: KeyPair, ec_pair: KeyPair
) -> None:
    chain = load_certificates(
        other_rsa_pair.certificate_pem + rsa_pair.certificate_pem + ec_pair.certificate_pem,
        input_name=CERTIFICATE,
    )
    own, findings = certificate_of(rsa_pair.key, chain, input_name=CERTIFICATE, now=NOW_S)
    assert own == chain[1] and findings == []


@pytest.mark.parametrize(
    ("offset", "fragment"),
    [(-dt.timedelta(days=1), "is not valid before"), (dt.timedelta(days=400), "expired on")],
)
def test_a_certificate_outside_its_validity_warns(
    rsa_pair: KeyPair, offset: Any, fragment: str
) -> None:
    cert = self_signed_certificate(rsa_pair.key, common_name="t", days=30, now=NOW)
    moment = int((NOW + offset).timestamp())
    _, findings = certificate_of(rsa_pair.key, [cert], input_name=CERTIFICATE, now=moment)
    assert [(f.subject, fragment in f.message) for f in findings] == [(CERTIFICATE, True)]
