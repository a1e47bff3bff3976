"""``keygen`` and ``jwk``: a key pair and its certificate, or the public forms Qlik registers.

With ``key-service`` the private key stays in the service: ``keygen`` writes only its public
forms (certificate, CSR, public key, JWK) and ``jwk`` reads the public key from it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from qsjwt.app.flow import KeySource, open_key
from qsjwt.base.inputs import CERTIFICATE, KEY_SERVICE, PRIVATE_KEY, PRIVATE_KEY_PASSPHRASE, Target
from qsjwt.signing.jwk import (
    PublicForms,
    check_kid,
    check_oauth_algorithm,
    public_forms,
    public_key_from_text,
)
from qsjwt.signing.keygen import (
    DEFAULTS,
    KeygenSettings,
    KeyPairFiles,
    make_key_pair,
    parse_keygen,
    remote_key_files,
)
from qsjwt.signing.keys import one_line_pem

__all__ = [
    "DEFAULTS",
    "KeyPairFiles",
    "KeygenSettings",
    "PublicForms",
    "jwk",
    "keygen",
    "one_line_pem",
]


def _ignore(_value: str) -> None:
    """No log to mask: the command line prints no credential."""


def keygen(
    values: Mapping[str, str | None],
    key: KeySource,
    *,
    now: dt.datetime,
    ci_env: Mapping[str, str] = {},
    on_secret: Callable[[str], None] = _ignore,
) -> tuple[KeygenSettings, KeyPairFiles]:
    """A new key pair with a self-signed certificate, or (with ``key-service``) the public
    files of the service's key. Raises InputError naming the input at fault."""
    settings = parse_keygen(values, now=now)
    if key.service.get(KEY_SERVICE, "").strip():
        remote = open_key(Target.QSEOW, key, ci_env=ci_env, on_secret=on_secret)
        return settings, remote_key_files(remote.key, settings, now=now)
    return settings, make_key_pair(settings, now=now)


def jwk(
    *,
    key_id: str | None,
    algorithm: str | None,
    public_text: str | bytes | None,
    key: KeySource,
    ci_env: Mapping[str, str] = {},
) -> tuple[PublicForms, bool]:
    """The public JWK (kid = the RFC 7638 thumbprint unless ``key_id``) of a certificate or
    public key, of a key service's key, or of a private key; and whether ``key_id`` was given."""
    kid = check_kid(key_id, input_name="key-id") if key_id else None
    alg = check_oauth_algorithm(algorithm, input_name="algorithm") if algorithm else None
    if public_text is not None:
        public = public_key_from_text(
            public_text, input_name=CERTIFICATE, passphrase_name=PRIVATE_KEY_PASSPHRASE
        )
        source = CERTIFICATE
    elif key.service.get(KEY_SERVICE, "").strip():
        public = open_key(Target.OAUTH, key, ci_env=ci_env).key.public_key()
        source = KEY_SERVICE
    else:
        public = public_key_from_text(
            key.private_key or "",
            key.passphrase,
            input_name=PRIVATE_KEY,
            passphrase_name=PRIVATE_KEY_PASSPHRASE,
        )
        source = PRIVATE_KEY
    return public_forms(public, kid=kid, algorithm=alg, input_name=source), kid is not None
