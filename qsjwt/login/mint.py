"""From validated settings and a key to a signed token: the whole pure core in one call."""

# No "from __future__ import annotations" here: typing.NamedTuple compiles every string
# annotation of its fields at import, on every start (docs/performance.md); only the names
# imported for type checking alone are quoted.

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from qsjwt.base.errors import InputError, QsjwtError
from qsjwt.base.findings import Finding, Severity, warning
from qsjwt.base.inputs import CERTIFICATE
from qsjwt.base.rules import OVERSIZE_HINT, TOKEN_WARN_BYTES, token_size_problem
from qsjwt.login.claims import build_claims, build_header
from qsjwt.login.lint import lint_token, lint_user_claims
from qsjwt.login.settings import LoginSettings, QseowSettings
from qsjwt.signing.algorithms import check_key_fits
from qsjwt.signing.jws import Claims, compact, encode_header, sign_token, signer, signing_input
from qsjwt.signing.keys import LoadedKey, certificate_of

if TYPE_CHECKING:  # only a caller with certificates imports cryptography.x509
    import datetime as dt

    from cryptography import x509


class Minted(NamedTuple):
    """A new token and what a shell reports about it; ``token`` is the credential."""

    token: str
    header: dict[str, Any]
    claims: Claims
    expires_in: int
    warnings: tuple[Finding, ...]

    @property
    def expires_at(self) -> "dt.datetime":
        """When the token expires (its ``exp``), as a timezone-aware UTC time: made when asked,
        so a mint that prints only the token never imports ``datetime``."""
        import datetime as dt  # noqa: PLC0415

        return dt.datetime.fromtimestamp(self.claims["exp"], tz=dt.UTC)

    def __repr__(self) -> str:
        """Never the token: a log line or traceback that shows a ``Minted`` shows its claims."""
        return f"Minted(claims={self.claims!r}, expires_at={self.expires_at!r}, token=<hidden>)"


def mint(
    settings: LoginSettings,
    key: LoadedKey,
    *,
    now: int,
    jti: str,
    certificates: "Sequence[x509.Certificate]" = (),
) -> Minted:
    """Sign a token for checked ``settings`` at ``now`` (seconds since the epoch) with ``jti``.

    ``certificates``: what Qlik was given (a chain may come with it); the key's own must be
    among them, and a warning says when it is not valid at ``now``.

    Raises KeyMaterialError when the key does not fit the algorithm or no certificate is the
    key's, and QsjwtError if the token breaks a Qlik rule after all (lint runs on every
    new token as a last guard: that would be a bug here, never a token out).
    """
    check_key_fits(key.key, settings.algorithm, input_name=key.input_name)
    certificate_findings: list[Finding] = []
    if certificates:
        _, certificate_findings = certificate_of(
            key.key, list(certificates), input_name=CERTIFICATE, now=now
        )
    header = build_header(settings)
    claims = build_claims(settings, now=now, jti=jti)
    _guard(settings, header, claims, now)
    token = sign_token(claims, key.key, header=header)
    size_findings = _size(settings, len(token))
    return Minted(
        token=token,
        header=header,
        claims=claims,
        expires_in=claims["exp"] - claims["iat"],
        warnings=settings.warnings + key.warnings + tuple(certificate_findings) + size_findings,
    )


def _size(settings: LoginSettings, size: int) -> tuple[Finding, ...]:
    """A token no front end would pass is an error naming what made it big; a large one warns.
    (It is measured once signed; an error means it is dropped, never output.)"""
    problem = token_size_problem(size)
    if problem is None:
        return ()
    error, message = problem
    culprit, lead = _bulk(settings)
    text = f"{lead} {message}"
    if error:
        raise InputError(text, input_name=culprit, hint=OVERSIZE_HINT)
    return (warning(text, culprit),)


def _bulk(settings: LoginSettings) -> tuple[str | None, str]:
    """The input that makes the token big (groups or attributes, whichever takes more of it),
    and the start of a sentence saying how much of the token it takes, as the token carries it
    (JSON, then base64url: 4 bytes for every 3)."""
    attributes = dict(settings.attributes) if isinstance(settings, QseowSettings) else {}
    parts = [
        (_encoded_size(list(settings.groups)), "groups", len(settings.groups)),
        (_encoded_size(attributes), "attributes", len(attributes)),
    ]
    encoded, name, count = max(parts, key=lambda part: part[0] if part[2] else -1)
    if not count:
        return None, "the token"
    return name, f"{count} {name} take {encoded / 1024:.1f} KB of the token, which"


def _encoded_size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode()) * 4 // 3


def _guard(settings: LoginSettings, header: dict[str, Any], claims: Claims, now: int) -> None:
    """Settings validation should make this unreachable; a failure here is our bug, not input."""
    qseow = settings if isinstance(settings, QseowSettings) else None
    found = lint_token(
        header,
        claims,
        settings.target,
        now=now,
        user_id_claim=qseow.user_id_claim if qseow else None,
        user_directory_claim=qseow.user_directory_claim if qseow else None,
    )
    _refuse(found)


def _refuse(found: list[Finding]) -> None:
    broken = [f.render() for f in found if f.severity is Severity.ERROR]
    if broken:
        raise QsjwtError("internal check failed, no token made: " + "; ".join(broken))


_SHARED_CLAIMS = ("iss", "aud", "subType", "iat", "nbf", "exp")
"""The claims ``lint_token`` reads apart from ``lint_user_claims``' (with the header, the
target and the QSEoW claim names): in one run they come from the shared settings and ``now``."""


class RunGuard:
    """``_guard`` for the many tokens of one run (``qs-jwt bulk``), as safe and cheaper.

    The first token is linted in full. Every later token whose header, target, QSEoW claim
    names and shared claims (``_SHARED_CLAIMS``) are those of a token already linted in full
    gets only the rules about its own user (``lint_user_claims``): the other rules read only
    what it shares with that token, so they would find exactly what they found then. Any
    difference in the shared part (a bug that changes the algorithm, the times or the audience
    between tokens) puts the token through the full lint again, so it is refused as before.
    """

    def __init__(self, now: int) -> None:
        self._now = now
        self._passed: tuple[Any, ...] | None = None

    def check(self, settings: LoginSettings, header: dict[str, Any], claims: Claims) -> None:
        """Raises QsjwtError, as ``_guard`` does, for a token that breaks a rule."""
        qseow = settings if isinstance(settings, QseowSettings) else None
        uid, udir = (qseow.user_id_claim, qseow.user_directory_claim) if qseow else (None, None)
        get = claims.get  # _SHARED_CLAIMS, one by one (a fifth cheaper than a map)
        shared = (
            settings.target, header, uid, udir,
            get("iss"), get("aud"), get("subType"), get("iat"), get("nbf"), get("exp"),
        )  # fmt: skip
        if shared != self._passed:
            _guard(settings, header, claims, self._now)
            self._passed = shared  # only once the full lint has passed
            return
        found = lint_user_claims(
            claims, settings.target, user_id_claim=uid, user_directory_claim=udir
        )
        if found:
            _refuse(found)


class Unsigned(NamedTuple):
    """A token of a run up to its signature."""

    settings: LoginSettings
    data: bytes
    """the signing input: the encoded header and claims"""
    exp: int


class RunMinter:
    """``mint`` for the many tokens of one run: one key, one ``now``, settings that differ only
    in their per-user values (``settings.RowSettings``). Each token is byte for byte what
    ``mint`` makes for the same settings and ``jti``; what every token shares is made once: the
    key's fit to the algorithm and the encoded header (again whenever the header changes), the
    lint guard's shared rules (``RunGuard``).

    A batch is made in three passes: each token's checks and signing input (``prepare``), the
    signatures one after the other (``sign``), then the tokens (``finish``). With no Python
    between two signatures, the key and OpenSSL's code stay in the processor's caches: each
    signature takes a few per cent less than when it alternates with the Python of a token.
    """

    def __init__(self, key: LoadedKey, now: int) -> None:
        self._key, self._now = key, now
        self._guard = RunGuard(now)
        self._header: dict[str, str] | None = None
        self._encoded = b""

    def prepare(self, settings: LoginSettings, jti: str) -> Unsigned:
        """Everything ``mint`` does before the signature; raises as it does."""
        header = build_header(settings)
        if header != self._header:
            check_key_fits(self._key.key, settings.algorithm, input_name=self._key.input_name)
            self._encoded = encode_header(header)
            self._header = header
        claims = build_claims(settings, now=self._now, jti=jti)
        self._guard.check(settings, header, claims)
        data = signing_input(claims, settings.algorithm, self._encoded)
        return Unsigned(settings, data, claims["exp"])

    def sign(self, batch: Sequence[Unsigned]) -> list[bytes]:
        """The signature of each; raises KeyMaterialError for a key that cannot sign."""
        algorithms = {unsigned.settings.algorithm for unsigned in batch}
        signers = {algorithm: signer(self._key.key, algorithm) for algorithm in algorithms}
        return [signers[unsigned.settings.algorithm](unsigned.data) for unsigned in batch]

    def finish(self, unsigned: Unsigned, signed: bytes) -> tuple[str, tuple[Finding, ...]]:
        """The token and its warnings (``Minted``'s); raises InputError, as ``mint`` does, for
        a token too large for any front end."""
        settings = unsigned.settings
        token = compact(unsigned.data, signed)
        size = _size(settings, len(token)) if len(token) > TOKEN_WARN_BYTES else ()
        return token, settings.warnings + self._key.warnings + size
