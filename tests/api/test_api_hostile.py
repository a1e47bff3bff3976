"""The API under hostile or careless callers (issue 19): arguments of the wrong type are a
TypeError naming the argument, a key object whose ``sign()`` lies makes no token, and neither
``repr`` nor a traceback printed with its locals shows a key, passphrase, assertion or token."""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import qsjwt
from qsjwt.app.flow import Credentials, KeySource
from qsjwt.base.errors import KeyServiceMalformedAnswerError
from qsjwt.signing.remote import Context, RemoteRSAKey, Secrets
from tests.conftest import ENCRYPTED_KEY, ENCRYPTED_KEY_PASSPHRASE, NOW, KeyPair

QSEOW: dict[str, Any] = {"user_id": "svc", "user_directory": "CORP", "now": NOW}


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"user_id": 123}, "user_id"),  # was minted as "123s"
        ({"user_directory": b"CORP"}, "user_directory"),
        ({"groups": b"abc"}, "groups"),  # was minted as ["97", "98", "99"]
        ({"groups": "Sales"}, "groups"),  # a str is not a list of one
        ({"groups": [1, 2]}, "groups"),
        ({"attributes": {"dept": 7}}, "attributes"),
        ({"attributes": ["dept=7"]}, "attributes"),
        ({"expires_in": 1.5}, "expires_in"),
        ({"expires_in": True}, "expires_in"),
        ({"audience": ["qlik"]}, "audience"),
        ({"now": "2030-01-01T00:00:00Z"}, "now"),
        ({"now": 1_900_000_000}, "now"),
        ({"jti": 5}, "jti"),
    ],
)
def test_qseow_arguments_of_another_type(
    rsa_pair: KeyPair, arguments: dict[str, Any], named: str
) -> None:
    minter = qsjwt.Minter(rsa_pair.private_pem)
    with pytest.raises(TypeError, match=f"^{named}: expected "):
        minter.qseow(**{**QSEOW, **arguments})


def test_the_right_types_still_mint(rsa_pair: KeyPair) -> None:
    minted = qsjwt.Minter(rsa_pair.private_pem).qseow(
        **QSEOW,
        groups=("Sales", "Ops"),
        attributes={"dept": "7"},
        expires_in=dt.timedelta(minutes=5),
    )
    claims = qsjwt.decode_token(minted.token)[1]
    assert claims["userId"] == "svc" and claims["groups"] == ["Sales", "Ops"]
    assert claims["dept"] == "7" and claims["exp"] - claims["iat"] == 300


@pytest.mark.parametrize(
    "call",
    [
        lambda pair: qsjwt.decode_token(None),  # type: ignore[arg-type]
        lambda pair: qsjwt.decode_token(b"a.b.c"),  # type: ignore[arg-type]
        lambda pair: qsjwt.verify_token(123, pair.public_pem),  # type: ignore[arg-type]
        lambda pair: qsjwt.verify_token("a.b.c", 123),  # type: ignore[arg-type]
        lambda pair: qsjwt.verify_token("a.b.c", pair.public_pem, leeway="5"),  # type: ignore[arg-type]
        lambda pair: qsjwt.lint_token(None, "cloud"),  # type: ignore[arg-type]
        lambda pair: qsjwt.lint_token("a.b.c", "cloud", now="2030-01-01"),  # type: ignore[arg-type]
        lambda pair: qsjwt.Minter(None),  # type: ignore[arg-type]
        lambda pair: qsjwt.Minter(pair.private_pem, passphrase=1),  # type: ignore[arg-type]
        lambda pair: qsjwt.Minter(pair.private_pem).cloud(
            issuer="i",
            key_id="k",
            subject="s",
            name="n",
            email="e@x.org",
            email_verified=1,  # type: ignore[arg-type]
        ),
    ],
)
def test_reading_functions_raise_type_error(
    rsa_pair: KeyPair, call: Callable[[KeyPair], object]
) -> None:
    with pytest.raises(TypeError, match=r"^[a-z_]+: expected "):
        call(rsa_pair)


class LyingKey(rsa.RSAPrivateKey):
    """A key object (not OpenSSL's) whose ``sign()`` returns bytes no public key verifies."""

    def __init__(self, real: rsa.RSAPrivateKey) -> None:
        self._real = real

    def sign(self, data: Any, padding: Any, algorithm: Any) -> bytes:
        return b"\x01" * (self._real.key_size // 8)

    @property
    def key_size(self) -> int:
        return self._real.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._real.public_key()

    def decrypt(self, ciphertext: bytes, padding: padding.AsymmetricPadding) -> bytes:
        raise NotImplementedError

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise NotImplementedError

    def private_bytes(self, *_args: Any, **_kwargs: Any) -> bytes:
        raise NotImplementedError

    def __copy__(self) -> LyingKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> LyingKey:
        return self


def test_a_key_object_whose_sign_lies_makes_no_token(rsa_pair: KeyPair) -> None:
    with pytest.raises(qsjwt.KeyMaterialError, match="does not verify with its own public key"):
        qsjwt.Minter(LyingKey(rsa_pair.key)).qseow(**QSEOW)


class Garbage:
    """A key service that answers every digest with random bytes, or signs with another key."""

    def __init__(self, other: rsa.RSAPrivateKey | None) -> None:
        self.other = other

    def sign_digest(self, digest: bytes, hash_name: str, scheme: str) -> bytes:
        if self.other is None:
            return b"\x5a" * 256
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import utils

        return self.other.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))


@pytest.mark.parametrize("signs_with_another_key", [False, True])
def test_a_remote_key_whose_service_lies_makes_no_token(
    rsa_pair: KeyPair, signs_with_another_key: bool
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    remote = RemoteRSAKey(
        rsa_pair.key.public_key(), Garbage(other if signs_with_another_key else None)
    )
    with pytest.raises(KeyServiceMalformedAnswerError, match="does not verify") as info:
        qsjwt.Minter(remote).qseow(**QSEOW)
    assert info.value.exit_code == 4 and info.value.code == "key-service-malformed-answer"
    assert info.value.input_name == "key-service"


def test_reprs_hide_every_token(rsa_pair: KeyPair) -> None:
    minter = qsjwt.Minter(rsa_pair.private_pem)
    minted = minter.qseow(**QSEOW)
    assertion = minter.oauth_assertion(tenant="t.eu.qlikcloud.com", client_id="abc", now=NOW)
    for result, token in ((minted, minted.token), (assertion, assertion.token)):
        assert token not in repr(result) and token not in str(result)
        assert token[40:60] not in repr(result)


def _locals_shown(error: BaseException) -> str:
    """The frames of qsjwt in a traceback with locals (the test's own frames hold the key)."""
    shown = traceback.TracebackException.from_exception(error, capture_locals=True)
    frames = [frame for frame in shown.stack if "/qsjwt/" in frame.filename]
    assert frames  # the API's own frame is kept: what its locals hold is checked
    return "".join(f"{frame.name}: {frame.locals}\n" for frame in frames) + str(error)


def test_a_traceback_with_locals_shows_no_key_or_passphrase(rsa_pair: KeyPair) -> None:
    encrypted = ENCRYPTED_KEY.read_text()
    body_line = encrypted.splitlines()[5]
    for call in (
        lambda: qsjwt.Minter(encrypted, passphrase="wrong passphrase here"),
        lambda: qsjwt.mint_qseow(
            encrypted, passphrase=ENCRYPTED_KEY_PASSPHRASE, user_id="", user_directory="D"
        ),
        lambda: qsjwt.mint_cloud(  # too big once signed: the token is made, then refused
            rsa_pair.private_pem.decode(),
            issuer="i",
            key_id="k",
            subject="s",
            name="n",
            email="e@example.org",
            groups=[f"group {n:05} {'x' * 80}" for n in range(400)],
            now=NOW,
        ),
    ):
        with pytest.raises(qsjwt.QsjwtError) as info:
            call()
        shown = _locals_shown(info.value)
        assert "-----BEGIN" not in shown and body_line not in shown
        assert "wrong passphrase here" not in shown and ENCRYPTED_KEY_PASSPHRASE not in shown
        assert rsa_pair.private_pem.decode().splitlines()[3] not in shown
        assert "eyJ" not in shown  # no token signed on the way


def test_a_traceback_with_locals_shows_no_assertion(rsa_pair: KeyPair) -> None:
    """An error after the assertion is signed (here: nothing listens at the tenant) leaves no
    frame whose locals hold it."""
    minter = qsjwt.Minter(rsa_pair.private_pem)
    with pytest.raises(qsjwt.QsjwtError) as info:
        minter.access_token(tenant="127.0.0.1:9", client_id="abc", timeout="2s")
    shown = _locals_shown(info.value)
    assert "eyJ" not in shown
    pem = rsa_pair.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert pem.decode().splitlines()[2] not in shown


def test_the_key_services_secrets_never_show_in_a_repr() -> None:
    given = ("hvs.vault-token-value", "pin-123456", "eyJid-token-value")
    secrets = Secrets(*given)
    shown = repr(Context({}, secrets)) + repr(secrets)
    shown += repr(KeySource("PEM-TEXT-HERE", "passphrase-here", credentials=Credentials(*given)))
    for value in (*given, "PEM-TEXT-HERE", "passphrase-here"):
        assert value not in shown
