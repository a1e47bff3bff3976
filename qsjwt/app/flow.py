"""The one use case every shell runs: open the key, issue the token, prove it at Qlik.

The command line, the GitHub Action and the Python API gather their values their own way, put
them in one ``Request`` and call ``issue``; ``prove`` runs ``check`` when it was asked for.
Neither knows which shell called: the shell delivers the ``Issued`` result its own way.

Order is part of the contract: ``on_secret`` sees every credential before anything else can
show it, the key service's credentials as they are fetched, each token as soon as it is signed
or received, each probe token before it is sent. The action masks with it; the other shells
pass nothing. Whatever the shell passes, every credential is also held
(``qsjwt.base.secret.hold``) first, so every line a shell prints is scrubbed of it, in any
encoding (``qsjwt.base.display.scrub``): a peer that echoes a fetched token is not repeated.

Imports below the login layer's mint are deferred to the branch that needs them, so a QSEoW
mint loads no OAuth, HTTP or key-service module (``tests/test_layers.py`` lists what it loads).
"""

# No "from __future__ import annotations" here: typing.NamedTuple compiles every string
# annotation of its fields at import, on every start (docs/performance.md); only the names
# imported for type checking alone are quoted.

import contextlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from qsjwt.base.errors import InputError, QsjwtError, ref
from qsjwt.base.findings import Finding
from qsjwt.base.inputs import (
    CERTIFICATE,
    KEY_SERVICE,
    KEY_SERVICE_INPUTS,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
    Target,
)
from qsjwt.base.secret import hold
from qsjwt.login.claims import new_jti
from qsjwt.login.mint import Minted, mint
from qsjwt.login.settings import CloudSettings, QseowSettings
from qsjwt.signing.keys import (
    LoadedKey,
    load_certificates,
    load_signing_key,
    pem_from_text,
    signing_key_from,
)

if TYPE_CHECKING:
    import datetime as dt

    from cryptography import x509

    from qsjwt.net.record import Recorder
    from qsjwt.oauth.assertion import Assertion, OAuthSettings
    from qsjwt.oauth.exchange import AccessToken

__all__ = [
    "AccessToken",
    "Assertion",
    "CloudSettings",
    "Credentials",
    "Issued",
    "KeySource",
    "LoadedKey",
    "Minted",
    "OAuthSettings",
    "QseowSettings",
    "Recorder",
    "Request",
    "certificates",
    "check_asked",
    "document",
    "issue",
    "open_key",
    "prove",
    "secret_fragments",
]


def _ignore(_value: str) -> None:
    """The default ``on_secret``: a shell that prints no log has nothing to mask."""


def _holding(on_secret: Callable[[str], None]) -> Callable[[str], None]:
    """``on_secret`` that holds each credential first, for every later line to be scrubbed
    of it, whichever shell asked."""

    def seen(value: str) -> None:
        hold(value)
        on_secret(value)

    return seen


_NONE: Mapping[str, str] = {}
"""An empty mapping for defaults (never written to)."""


class Credentials(NamedTuple):
    """The key services' secrets as a shell read them (never from a flag: ``ps`` shows those).

    Plain named tuples, not dataclasses, here and in the other records on the mint path: a
    dataclass costs about a millisecond to define at every start (``docs/performance.md``)."""

    vault_token: str | None = None
    pkcs11_pin: str | None = None
    id_token: str | None = None

    def __repr__(self) -> str:
        given = [name for name, value in zip(self._fields, self, strict=True) if value]
        return f"Credentials(given={given})"


class KeySource(NamedTuple):
    """Where the signing key is: its text (a file or variable a shell read), a key object (the
    API), or a key service named by the ``key-service`` inputs. Exactly one is used."""

    private_key: str | bytes | None = None
    passphrase: str | bytes | None = None
    certificate: str | bytes | None = None
    certificates: "Sequence[x509.Certificate]" = ()
    """the certificate already loaded (the API loads it once for many tokens)"""
    loaded: LoadedKey | None = None
    key_object: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None
    """a ``cryptography`` key object (the API), perhaps one whose ``sign()`` calls a service"""
    service: Mapping[str, str] = _NONE
    """``key-service`` and its back end's inputs, by input name"""
    credentials: Credentials = Credentials()

    def __repr__(self) -> str:
        """Never the key or its passphrase: only which parts were given."""
        given = [name for name, value in zip(self._fields, self, strict=True) if value]
        return f"KeySource(given={given})"


class Request(NamedTuple):
    """Everything one run needs: checked settings, the key, and how to see secrets first."""

    settings: "QseowSettings | CloudSettings | OAuthSettings"
    key: KeySource
    ci_env: Mapping[str, str] = _NONE
    """the CI's variables, for a key service that logs in with the job's identity"""
    on_secret: Callable[[str], None] = _ignore
    now: "dt.datetime | None" = None
    """the API's fixed time; the shells use the clock"""
    jti: str | None = None
    record: "Recorder | None" = None
    """the transcript of every exchange with Qlik (``--record``), or None"""

    def __repr__(self) -> str:
        return f"Request(target={self.settings.target.value}, key={self.key!r})"


class Issued(NamedTuple):
    """What a run made. ``token`` is the credential the shell delivers: the minted JWT, the
    OAuth assertion, or the access token Qlik issued. Its ``repr`` never shows a token."""

    target: Target
    token: str
    warnings: tuple[Finding, ...]
    minted: Minted | None = None
    assertion: "Assertion | None" = None
    access: "AccessToken | None" = None
    key_id: str | None = None
    """the ``kid`` an OAuth assertion carries"""
    algorithm: str | None = None
    probe: Callable[[], str] | None = None
    """another token like ``token``, for a check that spends one (Qlik Cloud's login)"""

    def __repr__(self) -> str:
        return f"Issued(target={self.target.value}, algorithm={self.algorithm}, token=<hidden>)"

    @property
    def signed(self) -> "Minted | Assertion | None":
        """The signed JWT (a token or an assertion) with its header and claims, if any."""
        return self.minted or self.assertion


def open_key(
    target: Target,
    source: KeySource,
    *,
    ci_env: Mapping[str, str] = {},
    on_secret: Callable[[str], None] = _ignore,
) -> LoadedKey:
    """The signing key, from the key service when ``key-service`` is given, else from the key
    object or text. Raises InputError (KeyMaterialError) naming the input at fault."""
    for given in source.credentials:  # sent to a service, which may echo them
        if given:
            hold(given)
    on_secret = _holding(on_secret)
    reference = source.service.get(KEY_SERVICE, "").strip()
    if reference:
        if source.private_key or source.loaded is not None:
            raise InputError(
                f"and {ref(PRIVATE_KEY)} are both given",
                input_name=KEY_SERVICE,
                hint=f"sign with one: drop {ref(PRIVATE_KEY)}, or {ref(KEY_SERVICE)}",
            )
        from qsjwt.signing.remote import Secrets  # noqa: PLC0415 (only for a remote key)
        from qsjwt.signing.remote.registry import remote_key_from  # noqa: PLC0415

        secrets = Secrets(
            vault_token=source.credentials.vault_token,
            pkcs11_pin=source.credentials.pkcs11_pin,
            id_token=source.credentials.id_token,
        )
        values = {n: v for n, v in source.service.items() if n in KEY_SERVICE_INPUTS}
        remote = remote_key_from(values, secrets, ci_env=ci_env, on_secret=on_secret)
        if remote is None:  # unreachable: the reference was given
            raise QsjwtError("no key to sign with")
        return remote
    if source.loaded is not None:
        return source.loaded
    if source.key_object is not None:
        return signing_key_from(source.key_object, input_name=PRIVATE_KEY)
    if not source.private_key:
        raise InputError(f"no private key: give {ref(PRIVATE_KEY)}", input_name=PRIVATE_KEY)
    return load_signing_key(
        source.private_key,
        source.passphrase,
        input_name=PRIVATE_KEY,
        passphrase_name=PRIVATE_KEY_PASSPHRASE,
    )


def issue(request: Request) -> Issued:
    """Open the key and make the token (for OAuth: the assertion, or by default the access
    token Qlik trades it for); ``on_secret`` sees the token before this returns."""
    settings = request.settings
    request = request._replace(on_secret=_holding(request.on_secret))
    key = open_key(settings.target, request.key, ci_env=request.ci_env, on_secret=request.on_secret)
    if isinstance(settings, QseowSettings | CloudSettings):
        return _mint(settings, key, request)
    return _oauth(settings, key, request)


def _mint(settings: QseowSettings | CloudSettings, key: LoadedKey, request: Request) -> Issued:
    certificate = request.key.certificate
    chain: Sequence[x509.Certificate] = request.key.certificates or (
        load_certificates(certificate, input_name=CERTIFICATE) if certificate else []
    )

    def mint_one(now: "dt.datetime | None" = None, jti: str | None = None) -> Minted:
        return mint(
            settings,
            key,
            now=int(time.time()) if now is None else int(now.timestamp()),
            jti=jti or new_jti(),
            certificates=chain,
        )

    minted = mint_one(request.now, request.jti)
    request.on_secret(minted.token)

    def probe() -> str:
        token = mint_one().token
        request.on_secret(token)
        return token

    return Issued(
        target=settings.target,
        token=minted.token,
        warnings=minted.warnings,
        minted=minted,
        algorithm=minted.header["alg"],
        probe=probe,
    )


def _oauth(settings: "OAuthSettings", key: LoadedKey, request: Request) -> Issued:
    from qsjwt.oauth.assertion import (  # noqa: PLC0415
        assertion_header,
        build_assertion,
        new_assertion_jti,
    )

    header = assertion_header(settings, key)  # Qlik's OAuth rules, before anything is signed
    warnings = settings.warnings + key.warnings
    if settings.assertion_only:
        import datetime as dt  # noqa: PLC0415 (a login token's mint needs no datetime)

        now = request.now or dt.datetime.now(dt.UTC)
        assertion = build_assertion(settings, key, now=now, jti=request.jti or new_assertion_jti())
        request.on_secret(assertion.token)
        return Issued(
            target=Target.OAUTH,
            token=assertion.token,
            warnings=warnings,
            assertion=assertion,
            key_id=header["kid"],
            algorithm=header["alg"],
        )
    from qsjwt.oauth.exchange import obtain_access_token  # noqa: PLC0415 (HTTP only here)

    access = obtain_access_token(settings, key, record=request.record)
    request.on_secret(access.access_token)
    token = access.access_token
    return Issued(
        target=Target.OAUTH,
        token=token,
        warnings=warnings,
        access=access,
        key_id=header["kid"],
        algorithm=header["alg"],
        probe=lambda: token,
    )


def check_asked(settings: "QseowSettings | CloudSettings | OAuthSettings") -> bool:
    """Whether the run proves its token at Qlik before delivering it."""
    if isinstance(settings, QseowSettings | CloudSettings):
        return settings.check is not None
    return settings.check


def prove(request: Request, issued: Issued) -> str:
    """``check``: prove the token at Qlik (a Qlik Cloud login spends a probe token, never the
    one delivered); returns the line to log. Raises QlikRefusedError or QlikUnreachableError."""
    from qsjwt.app.check import describe  # noqa: PLC0415 (HTTP only for check)
    from qsjwt.app.check import prove as prove_at_qlik  # noqa: PLC0415

    probe = issued.probe or (lambda: issued.token)
    return describe(prove_at_qlik(request.settings, issued.token, probe, record=request.record))


def document(issued: Issued, *, expires_at: "Callable[[dt.datetime], str]") -> dict[str, Any]:
    """The JSON a shell shows for ``--format json``: the token with its header and claims, or
    the access token with what Qlik said of it."""
    if issued.access is not None:
        access = issued.access
        return {
            "access_token": access.access_token,
            "token_type": access.token_type,
            "expires_at": expires_at(access.expires_at) if access.expires_at else None,
            "expires_in": access.expires_in,
            "scope": access.scope,
        }
    signed = issued.signed
    if signed is None:  # unreachable: every Issued holds one of the three
        raise QsjwtError("nothing was issued")
    return {
        "token": signed.token,
        "header": signed.header,
        "claims": signed.claims,
        "expires_at": expires_at(signed.expires_at),
    }


_PEM_ARMOR = r"-----(BEGIN|END) [A-Z0-9 ]+-----"


def secret_fragments(raw_key: str, passphrase: str) -> list[str]:
    """What to mask: each line of the key as given and as decoded, and the passphrase.

    The ``-----BEGIN/END ...-----`` lines are not secret; masking them would only garble
    unrelated log lines (for example a certificate printed by a later step).
    """
    lines = raw_key.splitlines()
    if raw_key.strip():
        with contextlib.suppress(QsjwtError):  # not a key at all: its raw lines are masked
            lines += (
                pem_from_text(raw_key, input_name=PRIVATE_KEY)
                .decode("utf-8", "replace")
                .splitlines()
            )
    fragments = [line.strip() for line in lines]
    fragments = [f for f in fragments if f and not re.fullmatch(_PEM_ARMOR, f)]
    fragments += [line.strip() for line in passphrase.splitlines()]
    return [f for f in dict.fromkeys(fragments) if f]


def certificates(text: str | bytes | None) -> "list[x509.Certificate]":
    """The certificate (and any chain) as Qlik was given it, loaded once for many tokens."""
    return load_certificates(text, input_name=CERTIFICATE) if text else []
