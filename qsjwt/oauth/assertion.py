"""Qlik Cloud OAuth with Private Key JWT: checked settings and the client assertion.

The pipeline signs a short assertion and trades it at ``https://<tenant>/oauth/token`` for an
access token, so no client secret sits in CI. Every rule Qlik documents for the assertion is
checked here before signing (shared/reference/qlik-oauth-and-live.md §A2): header ``alg``
RS256, RS512 or ES384 with the registered JWK's ``kid``; ``iss`` = ``sub`` = the client id;
``aud`` = the exact token URL of the host the request goes to; a UUID ``jti``; ``iat``; and
``exp`` at most 300 s after ``iat``. Pure: no environment, no clock (``now`` is passed in), no
output.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from qsjwt.base.durations import parse_bounded, parse_duration
from qsjwt.base.errors import InputError, MissingInputError, ref
from qsjwt.base.findings import Finding, warning
from qsjwt.base.formats import parse_boolean
from qsjwt.base.inputs import (
    CHECK,
    Target,
    default_lifetime,
)
from qsjwt.base.values import RawValue, ValueReader, has_control, not_utf8, read_for
from qsjwt.net.connection import (
    CA_BUNDLE,
    CONNECTION_INPUTS,
    DEFAULT_DEADLINE,
    INSECURE,
    TENANT,
    TIMEOUT,
    Connection,
    normalise_tenant,
    parse_connection,
)
from qsjwt.signing.jwk import (
    check_kid,
    check_oauth_algorithm,
    check_oauth_key,
    default_algorithm,
    thumbprint,
)
from qsjwt.signing.jws import sign_token
from qsjwt.signing.keys import LoadedKey

# The inputs this target reads, as the input table spells them.
CLIENT_ID = "client-id"
KEY_ID = "key-id"
SCOPE = "scope"
USER_LOOKUP = "user-lookup"
EXPIRES_IN = "expires-in"
ALGORITHM = "algorithm"
GRANT = "grant"
ASSERTION_ONLY = "assertion-only"
EXCHANGE_ONLY = CONNECTION_INPUTS
"""Inputs that only matter when the assertion is posted to Qlik."""
INPUT_NAMES = (
    CLIENT_ID,
    TENANT,
    KEY_ID,
    SCOPE,
    USER_LOOKUP,
    EXPIRES_IN,
    ALGORITHM,
    GRANT,
    ASSERTION_ONLY,
    *EXCHANGE_ONLY,
)

MAX_ASSERTION_LIFETIME = 300
"""Qlik: ``exp`` at most ``iat`` + 300 s (the /oauth/token example's 600 s contradicts the
reference page, which decides)."""
DEFAULT_ASSERTION_LIFETIME = parse_duration(default_lifetime(Target.OAUTH), input_name=EXPIRES_IN)
MAX_CLIENT_ID_LENGTH = 256
MAX_LOOKUP_VALUE_LENGTH = 1024
LOOKUP_FIELDS = ("subject", "userId")
"""Qlik's ``user_lookup.field`` values (§A1): the user must already exist."""

_CLIENT_ID = re.compile(r"[\x21-\x7e]+")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
"""RFC 6749 §3.3 scope-token: printable ASCII except space, ``"`` and ``\\``."""
MAX_SCOPE_LENGTH = 128
"""Qlik's scope names are short (``admin.apps:read``): a longer one is something else, perhaps a
secret pasted into the wrong input, and is not sent."""


class Grant(StrEnum):
    """How the access token is obtained; the values are the input's spellings."""

    CLIENT_CREDENTIALS = "client-credentials"
    """machine to machine: the token acts as the client's bot user"""
    USER_IMPERSONATION = "user-impersonation"
    """the token acts as an existing user, named by ``user-lookup``"""

    @property
    def wire_name(self) -> str:
        """The ``grant_type`` Qlik reads."""
        if self is Grant.CLIENT_CREDENTIALS:
            return "client_credentials"
        return "urn:qlik:oauth:user-impersonation"


_GRANT_SPELLINGS = {
    **{grant.value: grant for grant in Grant},
    **{grant.wire_name: grant for grant in Grant},
}


@dataclass(frozen=True)
class UserLookup:
    """Qlik's ``user_lookup``: which existing user an impersonation token acts as."""

    field: str
    value: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "value": self.value}


@dataclass(frozen=True)
class OAuthSettings:
    """Checked settings for a Private Key JWT assertion and its exchange."""

    tenant: str
    """host, or host:port, lower case; never a path"""
    client_id: str
    lifetime: int
    grant: Grant = Grant.CLIENT_CREDENTIALS
    key_id: str | None = None
    """None: the key's RFC 7638 thumbprint, the default ``kid`` of ``qs-jwt jwk`` too"""
    algorithm: str | None = None
    """None: RS256 for an RSA key, ES384 for an EC P-384 key"""
    scope: str | None = None
    """space-separated; None: the token gets the client's scopes"""
    user_lookup: UserLookup | None = None
    assertion_only: bool = False
    """output the assertion; do not post it"""
    timeout: int = DEFAULT_DEADLINE
    """seconds to keep trying Qlik, retries included"""
    ca_bundle: str | None = None
    """a PEM file of the CAs to trust instead of the system's"""
    insecure: bool = False
    """TLS certificates not verified (warned about on every run)"""
    warnings: tuple[Finding, ...] = ()
    target: Target = Target.OAUTH
    check: bool = False
    """after the exchange, prove the access token works (``users/me``)"""

    @property
    def connection(self) -> Connection:
        return Connection(self.timeout, self.ca_bundle, self.insecure)

    @property
    def token_url(self) -> str:
        """Where the assertion goes, and exactly its ``aud``: no trailing slash."""
        return f"https://{self.tenant}/oauth/token"


@dataclass(frozen=True)
class Assertion:
    """A signed client assertion; ``token`` is a credential for ``expires_in`` seconds (never
    in ``repr`` or ``str``)."""

    token: str = field(repr=False)
    header: dict[str, str]
    claims: dict[str, Any]
    expires_at: dt.datetime
    expires_in: int


def parse_oauth(values: Mapping[str, RawValue]) -> OAuthSettings:
    """Validate ``values`` (input name -> text; empty means not given) for an assertion and
    its exchange.

    Raises InputError (MissingInputError for a missing one) naming the first bad input; never
    repeats a value, which may be a secret given in the wrong place.
    """
    warnings = read_for(Target.OAUTH, values)
    reader = ValueReader(values, defaults=False)
    missing = [name for name in (CLIENT_ID, TENANT) if not reader.text(name)]
    if missing:
        raise MissingInputError(
            "is required and was empty or not given",
            input_name=missing[0],
            also_missing=tuple(missing[1:]),
        )
    grant = _grant(reader.text(GRANT))
    lookup_text = reader.text(USER_LOOKUP)
    if grant is Grant.USER_IMPERSONATION and not lookup_text:
        raise MissingInputError(
            f"is required with {ref(GRANT)} user-impersonation",
            input_name=USER_LOOKUP,
            hint="name an existing user: subject=<subject> or userId=<id>",
        )
    if grant is Grant.CLIENT_CREDENTIALS and lookup_text:
        raise InputError(
            f"is only read with {ref(GRANT)} user-impersonation; a client-credentials token "
            "would act as the client's bot user, not as this user",
            input_name=USER_LOOKUP,
            hint=f"set {ref(GRANT)} to user-impersonation, or leave {ref(USER_LOOKUP)} empty",
        )
    key_id = reader.text(KEY_ID)
    algorithm = reader.text(ALGORITHM)
    found = list(warnings)
    assertion_only = parse_boolean(
        reader.text(ASSERTION_ONLY) or "false", input_name=ASSERTION_ONLY
    )
    connection, connection_findings = parse_connection(
        reader.text(TIMEOUT), reader.text(CA_BUNDLE), reader.text(INSECURE)
    )
    check = parse_boolean(reader.text(CHECK) or "false", input_name=CHECK)
    if assertion_only and check:
        raise InputError(
            f"needs the access token, which {ref(ASSERTION_ONLY)} does not get",
            input_name=CHECK,
            hint=f"drop one of {ref(CHECK)} and {ref(ASSERTION_ONLY)}",
        )
    if assertion_only:
        found += [
            warning(f"is ignored with {ref(ASSERTION_ONLY)}: nothing is sent to Qlik", name)
            for name in EXCHANGE_ONLY
            if reader.text(name) and (name != INSECURE or connection.insecure)
        ]
    else:
        found += connection_findings
    return OAuthSettings(
        tenant=normalise_tenant(reader.text(TENANT)),
        client_id=_client_id(reader.text(CLIENT_ID)),
        lifetime=_lifetime(reader.text(EXPIRES_IN)),
        grant=grant,
        key_id=check_kid(key_id, input_name=KEY_ID) if key_id else None,
        algorithm=check_oauth_algorithm(algorithm, input_name=ALGORITHM) if algorithm else None,
        scope=_scope(" ".join(reader.items(SCOPE))),
        user_lookup=_user_lookup(lookup_text) if lookup_text else None,
        assertion_only=assertion_only,
        timeout=connection.timeout,
        ca_bundle=connection.ca_bundle,
        insecure=connection.insecure and not assertion_only,
        check=check,
        warnings=tuple(found),
    )


def new_assertion_jti() -> str:
    """A fresh UUID for ``jti``: Qlik asks for a new one per request."""
    return str(uuid.uuid4())


def assertion_header(settings: OAuthSettings, key: LoadedKey) -> dict[str, str]:
    """``alg`` and ``kid`` for this key, after checking that Qlik would take the key for the
    algorithm (RSA >= 2048 bits for RS256/RS512, EC P-384 for ES384). Raises
    KeyMaterialError naming the private key."""
    algorithm = settings.algorithm or default_algorithm(key.key)
    check_oauth_key(key.key, algorithm, input_name=key.input_name)
    return {"alg": algorithm, "typ": "JWT", "kid": settings.key_id or thumbprint(key.key)}


def build_assertion(
    settings: OAuthSettings, key: LoadedKey, *, now: dt.datetime, jti: str
) -> Assertion:
    """Sign the client assertion at ``now`` (timezone-aware) with ``jti`` (a UUID).

    Raises ValueError for a naive ``now`` or a ``jti`` that is not a UUID (the caller's
    mistake, not the user's), and what ``assertion_header`` raises.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    uuid.UUID(jti)  # ValueError if not a UUID
    header = assertion_header(settings, key)
    iat = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": settings.client_id,
        "sub": settings.client_id,
        "aud": settings.token_url,
        "jti": jti,
        "iat": iat,
        "exp": iat + settings.lifetime,
    }
    token = sign_token(claims, key.key, header=header)
    expires_at = dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
    return Assertion(token, header, claims, expires_at, settings.lifetime)


def _grant(text: str) -> Grant:
    if not text:
        return Grant.CLIENT_CREDENTIALS
    grant = _GRANT_SPELLINGS.get(text.lower())
    if grant is None:
        raise InputError(
            "is not a grant this tool knows",
            input_name=GRANT,
            hint="use client-credentials (default) or user-impersonation",
        )
    return grant


def _client_id(text: str) -> str:
    if len(text) > MAX_CLIENT_ID_LENGTH or not _CLIENT_ID.fullmatch(text):
        raise InputError(
            f"must be 1 to {MAX_CLIENT_ID_LENGTH} printable ASCII characters without spaces",
            input_name=CLIENT_ID,
            hint="copy the client ID shown when the OAuth client was created (never its secret)",
        )
    return text


def _lifetime(text: str) -> int:
    return parse_bounded(
        text,
        input_name=EXPIRES_IN,
        default=DEFAULT_ASSERTION_LIFETIME,
        maximum=MAX_ASSERTION_LIFETIME,
        limit=f"the {MAX_ASSERTION_LIFETIME} s Qlik Cloud allows between an assertion's iat "
        "and exp",
    )


def _scope(text: str) -> str | None:
    """Space- or line-separated scope names, each once, joined by one space."""
    tokens = list(dict.fromkeys(text.split()))
    for number, token in enumerate(tokens, start=1):
        if len(token) > MAX_SCOPE_LENGTH:
            raise InputError(
                f"scope {number} is longer than {MAX_SCOPE_LENGTH} characters, more than any "
                "Qlik scope name; it is not sent",
                input_name=SCOPE,
                hint="separate scopes with spaces or lines, e.g. user_default or admin.apps:read",
            )
        if not _SCOPE_TOKEN.fullmatch(token):
            raise InputError(
                f"scope {number} holds a character a scope name cannot have",
                input_name=SCOPE,
                hint="separate scopes with spaces or lines, e.g. user_default or admin.apps:read",
            )
    return " ".join(tokens) or None


def _user_lookup(text: str) -> UserLookup:
    """``subject=VALUE``, ``userId=VALUE``, or Qlik's own JSON ``{"field": ..., "value": ...}``."""
    hint = 'use subject=<subject> or userId=<id> (or {"field": "subject", "value": "..."})'
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if (
            not isinstance(document, dict)
            or set(document) != {"field", "value"}
            or not all(isinstance(v, str) for v in document.values())
        ):
            raise InputError(
                "is not a JSON object with a field and a value (both strings)",
                input_name=USER_LOOKUP,
                hint=hint,
            )
        field, value = document["field"], document["value"].strip()
    else:
        field, separator, value = text.partition("=")
        if not separator:
            raise InputError(
                "does not say which field to look up", input_name=USER_LOOKUP, hint=hint
            )
        field, value = field.strip(), value.strip()
    if field not in LOOKUP_FIELDS:
        raise InputError(
            "names a field Qlik cannot look users up by",
            input_name=USER_LOOKUP,
            hint=hint,
        )
    if not value or len(value) > MAX_LOOKUP_VALUE_LENGTH or has_control(value) or not_utf8(value):
        raise InputError(
            f"needs a value of 1 to {MAX_LOOKUP_VALUE_LENGTH} characters on one line",
            input_name=USER_LOOKUP,
            hint=hint,
        )
    return UserLookup(field, value)
