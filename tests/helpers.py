"""Plain builders shared by the core's unit tests (the fixtures live in conftest.py)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import pytest

from qsjwt.app.flow import KeySource, Request, issue
from qsjwt.app.target import parse_settings
from qsjwt.base.errors import InputError, QsjwtError, spell
from qsjwt.base.findings import Finding, Severity
from qsjwt.base.inputs import JWT_TARGETS, PRIVATE_KEY, PRIVATE_KEY_PASSPHRASE, Target
from qsjwt.login.mint import Minted
from qsjwt.login.settings import CloudSettings, LoginSettings, QseowSettings
from qsjwt.oauth.assertion import OAuthSettings
from qsjwt.signing.keys import LoadedKey, load_signing_key

BOTH_TARGETS = pytest.mark.parametrize(
    "target", list(JWT_TARGETS), ids=[t.value for t in JWT_TARGETS]
)

FIXED_JTI = "fixed-jti-for-golden-tests-0123456789"
"""37 characters: over the 22 (128 bits) lint asks for, and stable for exact comparisons."""

QSEOW_REQUIRED = {"user-id": "alice", "user-directory": "CORP"}
CLOUD_REQUIRED = {
    "issuer": "idp.example.com",
    "key-id": "kid-1",
    "subject": "svc_ci",
    "name": "CI Service",
    "email": "ci@example.com",
}
REQUIRED = {Target.QSEOW: QSEOW_REQUIRED, Target.CLOUD: CLOUD_REQUIRED}


def values_for(target: Target, **overrides: Any) -> dict[str, Any]:
    """A valid input mapping for ``target``; ``user_id="x"`` sets ``user-id``, None removes it."""
    values: dict[str, Any] = dict(REQUIRED[target])
    values.update({name.replace("_", "-"): value for name, value in overrides.items()})
    return {name: value for name, value in values.items() if value is not None}


def qseow_values(**overrides: Any) -> dict[str, Any]:
    return values_for(Target.QSEOW, **overrides)


def cloud_values(**overrides: Any) -> dict[str, Any]:
    return values_for(Target.CLOUD, **overrides)


def parse(target: Target, **overrides: Any) -> LoginSettings:
    return jwt_settings(parse_settings(target, values_for(target, **overrides)))


def jwt_settings(settings: LoginSettings | OAuthSettings) -> LoginSettings:
    """LoginSettings of a JWT target (qseow, cloud), for what only those take."""
    assert not isinstance(settings, OAuthSettings)
    return settings


def parse_qseow(**overrides: Any) -> QseowSettings:
    settings = parse(Target.QSEOW, **overrides)
    assert isinstance(settings, QseowSettings)
    return settings


def parse_cloud(**overrides: Any) -> CloudSettings:
    settings = parse(Target.CLOUD, **overrides)
    assert isinstance(settings, CloudSettings)
    return settings


def refused(target: Target, input_name: str, *fragments: str, **overrides: Any) -> InputError:
    """Parse and expect an InputError about ``input_name`` whose message holds ``fragments``."""
    with pytest.raises(InputError) as info:
        parse(target, **overrides)
    assert_error(info.value, input_name, *fragments)
    return info.value


def assert_error(err: QsjwtError, input_name: str | None, *fragments: str) -> None:
    assert err.input_name == input_name, err.render()
    text = spell(err.message + " " + (err.hint or ""), {})
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {err.render()!r}"


def warnings_about(findings: Iterable[Finding], subject: str) -> list[str]:
    found = [f for f in findings if f.subject == subject]
    assert all(f.severity is Severity.WARNING for f in found)
    return [f.message for f in found]


def signing_key(pem: str | bytes, passphrase: str | bytes | None = None) -> LoadedKey:
    return load_signing_key(
        pem, passphrase, input_name=PRIVATE_KEY, passphrase_name=PRIVATE_KEY_PASSPHRASE
    )


def b64url(data: bytes | dict[str, Any]) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def craft_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A compact JWS made by hand, so no library gets to refuse what we want to test."""
    return f"{b64url(header)}.{b64url(claims)}.{b64url(signature) if signature else ''}"


def issue_jwt(
    settings: LoginSettings,
    *,
    private_key: str | bytes,
    passphrase: str | bytes | None,
    certificate: str | bytes | None,
    now: dt.datetime,
    jti: str,
) -> Minted:
    """What every shell runs for a QSEoW or Qlik Cloud token: the shared use case
    (``qsjwt.app.flow.issue``) with the key as text."""
    source = KeySource(private_key=private_key, passphrase=passphrase, certificate=certificate)
    issued = issue(Request(settings, source, now=now, jti=jti))
    assert issued.minted is not None
    return issued.minted
