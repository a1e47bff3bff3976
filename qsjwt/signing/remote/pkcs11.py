"""PKCS#11: the key lives in an HSM or a token (SoftHSM2, YubiHSM, a cloud HSM's module).

Needs the vendor's module on the machine and ``pip install qs-jwt[pkcs11]`` (python-pkcs11):
for the CLI and the composite action on a self-hosted runner, not the default image. The PIN
is a secret (``pkcs11-pin``), never part of ``key-service``. Digests are made here: RS* signs
a DigestInfo with ``CKM_RSA_PKCS``, PS* uses ``CKM_RSA_PKCS_PSS`` with a salt as long as the
hash, ES* uses ``CKM_ECDSA`` (r || s), so a token without the combined mechanisms (SoftHSM 2.6
has no ``CKM_ECDSA_SHA256``) signs every algorithm.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from qsjwt.base.errors import InputError
from qsjwt.base.inputs import KEY_SERVICE, PKCS11_PIN
from qsjwt.signing.remote import Context, KeyService, RemoteECKey, RemoteKeyError, RemoteRSAKey

MODULE = "pkcs11-module"
_DIGEST_INFO = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
"""RFC 8017 section 9.2, note 1: the DER DigestInfo before each digest (EMSA-PKCS1-v1_5)."""


def open_pkcs11_key(service: KeyService, context: Context) -> RemoteRSAKey | RemoteECKey:
    """The PKCS#11 token's private key named by the reference, as a remote signing key."""
    module = context.value(MODULE) or service.module or ""
    if not module:
        raise InputError(
            "is required with a pkcs11: key service",
            input_name=MODULE,
            hint="the path of the vendor's module, e.g. /usr/lib/softhsm/libsofthsm2.so",
        )
    pin = (context.secrets.pkcs11_pin or "").strip()
    if not pin:
        raise InputError(
            "is required to log in to the token",
            input_name=PKCS11_PIN,
            hint="pass the user PIN from a secret",
        )
    context.on_secret(pin)
    try:
        pin.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8, as surrogate escapes
        raise InputError(
            "is not valid UTF-8 text", input_name=PKCS11_PIN, hint="save the PIN as UTF-8"
        ) from None
    try:
        import pkcs11  # noqa: PLC0415 (the optional extra)
    except ImportError:
        raise InputError(
            "names a PKCS#11 key, and python-pkcs11 is not installed",
            input_name=KEY_SERVICE,
            hint="pip install 'qs-jwt[pkcs11]'",
        ) from None
    with _LOGIN:  # python-pkcs11 and the module are not safe to open from two threads at once
        session = _open_session(pkcs11, module, service.path[0], pin)
        public, private = _keys(pkcs11, session, service.path[1])
    signer = _Signer(pkcs11, session, private)
    if isinstance(public, rsa.RSAPublicKey):
        return RemoteRSAKey(public, signer)
    if isinstance(public, ec.EllipticCurvePublicKey):
        return RemoteECKey(public, signer)
    session.close()
    raise RemoteKeyError("is neither an RSA nor an EC key", input_name=KEY_SERVICE)


def _keys(pkcs11: Any, session: Any, label: str) -> tuple[object, Any]:  # noqa: ANN401
    """The public key (as ``cryptography``'s) and the private key object labelled ``label``."""
    try:
        private = session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=label)
        public_object = session.get_key(object_class=pkcs11.ObjectClass.PUBLIC_KEY, label=label)
    except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned):
        session.close()
        raise RemoteKeyError(
            "names no single private key with a public key of the same label on the token",
            input_name=KEY_SERVICE,
            hint="check object= against the key's label (pkcs11-tool --list-objects)",
        ) from None
    except pkcs11.PKCS11Error as err:
        session.close()
        raise _failed("could not read the key from the token", err) from None
    return _public_key(public_object), private


def _open_session(pkcs11: Any, module: str, token_label: str, pin: str) -> Any:  # noqa: ANN401
    """The module loaded, its token found and a session logged in with ``pin``."""
    try:
        lib = pkcs11.lib(module)
    except (RuntimeError, OSError, pkcs11.PKCS11Error):
        raise InputError(
            "cannot be loaded as a PKCS#11 module", input_name=MODULE, hint="check the path"
        ) from None
    try:
        token = lib.get_token(token_label=token_label)
    except (pkcs11.NoSuchToken, pkcs11.MultipleTokensReturned):
        raise RemoteKeyError(
            "names a token the module does not offer (or more than one)",
            input_name=KEY_SERVICE,
            hint="check token= against the token's label (softhsm2-util --show-slots)",
        ) from None
    except pkcs11.PKCS11Error as err:
        raise _failed("could not list the module's tokens", err) from None
    return _log_in(pkcs11, token, (module, token.serial), pin)


def _log_in(pkcs11: Any, token: Any, place: tuple[str, object], pin: str) -> Any:  # noqa: ANN401
    """A session logged in with ``pin``; RemoteKeyError for every refusal the token gives."""
    try:
        session = token.open(user_pin=pin)
    except pkcs11.UserAlreadyLoggedIn:
        # Another session of this process logged in already, and the token no longer checks
        # a PIN: accept only the very PIN that logged in (compared by keyed digest).
        if not _same_pin(place, pin):
            raise RemoteKeyError(
                "was not the PIN that logged this process in to the token",
                input_name=PKCS11_PIN,
                hint="give the user PIN",
            ) from None
        try:
            return token.open()
        except pkcs11.PKCS11Error as err:
            raise _failed("could not open a session on the token", err) from None
    except (pkcs11.PinIncorrect, pkcs11.PinLenRange, pkcs11.PinInvalid):
        raise RemoteKeyError(
            "was refused by the token", input_name=PKCS11_PIN, hint="give the user PIN"
        ) from None
    except pkcs11.PinLocked:
        raise RemoteKeyError(
            "is locked on this token", input_name=PKCS11_PIN, hint="unlock it with the SO PIN"
        ) from None
    except pkcs11.PKCS11Error as err:  # another user logged in, too many sessions, a device gone
        raise _failed("could not log in to the token", err) from None
    _LOGGED_IN[place] = _digest_of(pin)
    return session


def _failed(what: str, err: Exception) -> RemoteKeyError:
    """A token's refusal, named by its PKCS#11 class only (its words may carry anything)."""
    return RemoteKeyError(
        f"{what} ({type(err).__name__})",
        input_name=KEY_SERVICE,
        hint="check the token and that no other program holds it (a session limit, another "
        "user logged in, a device removed)",
    )


_LOGIN = threading.Lock()
_SALT = secrets.token_bytes(32)
_LOGGED_IN: dict[tuple[str, object], bytes] = {}
"""(module, token serial) -> a keyed digest of the PIN that logged this process in: PKCS#11
keeps one login per process and token, so a later C_Login answers "already logged in" without
looking at the PIN. Only the digest is kept, keyed by a secret of this process."""


def _digest_of(pin: str) -> bytes:
    return hmac.new(_SALT, pin.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()


def _same_pin(place: tuple[str, object], pin: str) -> bool:
    known = _LOGGED_IN.get(place)
    return known is not None and hmac.compare_digest(known, _digest_of(pin))


def _public_key(public: Any) -> object:  # noqa: ANN401 (python-pkcs11 is untyped)
    from pkcs11 import Attribute, KeyType  # noqa: PLC0415
    from pkcs11.util.ec import encode_ec_public_key  # noqa: PLC0415

    if public.key_type == KeyType.RSA:
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
            int.from_bytes(public[Attribute.MODULUS], "big"),
        )
        return numbers.public_key()
    return serialization.load_der_public_key(encode_ec_public_key(public))


class _Signer:
    def __init__(self, pkcs11: Any, session: Any, private: Any) -> None:  # noqa: ANN401
        self.pkcs11 = pkcs11
        self.session = session
        self.private = private

    def sign_digest(self, digest: bytes, hash_name: str, scheme: str) -> bytes:
        mechanism = self.pkcs11.Mechanism
        try:
            if scheme == "pkcs1v15":
                signed = self.private.sign(
                    _DIGEST_INFO[hash_name] + digest, mechanism=mechanism.RSA_PKCS
                )
            elif scheme == "pss":
                hashed = {
                    "sha256": mechanism.SHA256,
                    "sha384": mechanism.SHA384,
                    "sha512": mechanism.SHA512,
                }[hash_name]
                mgf = {
                    "sha256": self.pkcs11.MGF.SHA256,
                    "sha384": self.pkcs11.MGF.SHA384,
                    "sha512": self.pkcs11.MGF.SHA512,
                }[hash_name]
                signed = self.private.sign(
                    digest,
                    mechanism=mechanism.RSA_PKCS_PSS,
                    mechanism_param=(hashed, mgf, len(digest)),
                )
            else:
                signed = self.private.sign(digest, mechanism=mechanism.ECDSA)
        except self.pkcs11.PKCS11Error as err:
            raise RemoteKeyError(
                f"could not sign on the token ({type(err).__name__})",
                input_name=KEY_SERVICE,
                hint="the key must allow signing (CKA_SIGN) with this mechanism",
            ) from None
        return bytes(signed)
