"""Property tests: settings never fail any other way than InputError; sign -> verify keeps
every claim; a formatted duration parses back to the same seconds; a quote-free users file
split by line gives the rows csv.reader gives."""

from __future__ import annotations

import csv
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qsjwt.app.target import parse_settings
from qsjwt.base.durations import format_duration, parse_duration
from qsjwt.base.errors import InputError
from qsjwt.base.inputs import INPUTS, JWT_TARGETS, Target
from qsjwt.base.rules import (
    CLOUD_MAX_LIFETIME,
    MAX_VALUE_LENGTH,
    QSEOW_MAX_LIFETIME,
    REGISTERED_CLAIMS,
)
from qsjwt.login import bulk
from qsjwt.login.lint import lint_token
from qsjwt.login.mint import mint
from qsjwt.login.settings import CloudSettings, QseowSettings
from qsjwt.signing.keys import LoadedKey
from tests.conftest import NOW, NOW_S, KeyPair, verify_independently
from tests.helpers import FIXED_JTI, signing_key, values_for

FAST = settings(max_examples=50, deadline=None)

INPUT_NAMES = [spec.name for spec in INPUTS] + ["private-key", "unknown-input"]
NEAR_MISSES = [
    "1h", "0", "-1", "3601", "366d", "5m", "RS256", "none", "HS256", "ES256", "PS384", "yes",
    "maybe", "userId", "iss", "name", "email", "a=b", "iss=x", "=x", "a\\b", "a\nb", "a,b",
    "https://idp.example.com/", "x" * (MAX_VALUE_LENGTH + 1), " ", "",
]  # fmt: skip
"""Values near the edges of the rules, mixed with arbitrary text to reach every branch."""

any_value = st.one_of(
    st.text(),  # every code point but surrogates: control characters, unicode digits, RTL...
    st.sampled_from(NEAR_MISSES),
    st.lists(st.one_of(st.text(max_size=20), st.sampled_from(NEAR_MISSES)), max_size=4),
)


@FAST
@given(
    target=st.sampled_from(JWT_TARGETS),
    overrides=st.dictionaries(st.sampled_from(INPUT_NAMES), any_value, max_size=6),
    start_valid=st.booleans(),
)
def test_settings_parse_or_refuse_cleanly(target: Target, overrides: Any, start_valid: Any) -> None:
    values = {**(values_for(target) if start_valid else {}), **overrides}
    try:
        result = parse_settings(target, values)
    except InputError as err:
        assert err.input_name, "every refusal names an input"
        assert err.message
        return
    # whatever got through obeys the rules the settings promise
    assert result.target is target
    if isinstance(result, QseowSettings):
        for value in (result.user_id, result.user_directory):
            assert value and value == value.strip() and "\\" not in value
            assert len(value) <= MAX_VALUE_LENGTH
            assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
        claim_names = {result.user_id_claim, result.user_directory_claim, result.groups_claim}
        assert len(claim_names) == 3 and not claim_names & REGISTERED_CLAIMS
        assert not {key for key, _ in result.attributes} & (claim_names | REGISTERED_CLAIMS)
        assert 0 <= result.clock_skew < result.lifetime <= QSEOW_MAX_LIFETIME
        assert result.algorithm in ("RS256", "RS384", "RS512")
    else:
        assert isinstance(result, CloudSettings)
        assert all((result.issuer, result.key_id, result.subject, result.name, result.email))
        assert 0 <= result.clock_skew < result.lifetime <= CLOUD_MAX_LIFETIME
        assert isinstance(result.email_verified, bool)
        assert not (result.algorithm.startswith("HS") or result.algorithm == "NONE")
    assert all(group and group == group.strip() for group in result.groups)
    assert len(set(result.groups)) == len(result.groups)


# --- sign -> verify (jwcrypto) -> same claims ------------------------------------------------

printable = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\\"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() != "")


@pytest.fixture(scope="module")
def loaded_key(rsa3072_pair: KeyPair) -> LoadedKey:
    """Loaded once: parsing an RSA key checks it, which costs more than signing with it."""
    return signing_key(rsa3072_pair.private_pem)


def _clean(text: str) -> str:
    return text.strip()


@FAST
@given(
    user_id=printable,
    user_directory=printable,
    name=printable,
    groups=st.lists(printable, max_size=5),
    lifetime=st.integers(min_value=11, max_value=24 * 3600),  # above the 10 s default skew
)
def test_qseow_sign_verify_round_trip(
    rsa3072_pair: KeyPair,
    loaded_key: Any,
    *,
    user_id: Any,
    user_directory: Any,
    name: Any,
    groups: Any,
    lifetime: Any,
) -> None:
    config = values_for(
        Target.QSEOW,
        user_id=user_id,
        user_directory=user_directory,
        name=name,
        groups=groups,
        expires_in=str(lifetime),
    )
    parsed = parse_settings(Target.QSEOW, config)
    minted = mint(parsed, loaded_key, now=NOW_S, jti=FIXED_JTI)
    header, claims = verify_independently(
        minted.token, rsa3072_pair.certificate_pem, "RS256", check_time=False
    )
    assert header == {"alg": "RS256", "typ": "JWT"}
    assert claims == minted.claims
    assert claims["userId"] == _clean(user_id)
    assert claims["userDirectory"] == _clean(user_directory)
    assert claims["name"] == _clean(name)
    expected_groups = list(dict.fromkeys(_clean(g) for g in groups))
    assert claims.get("groups", []) == expected_groups
    assert claims["exp"] - claims["iat"] == lifetime
    assert not [
        f for f in lint_token(header, claims, Target.QSEOW, now=NOW_S) if f.severity == "error"
    ]


@FAST
@given(
    subject=printable,
    name=printable,
    issuer=printable,
    key_id=printable,
    groups=st.lists(printable, max_size=5),
    verified=st.booleans(),
    lifetime=st.integers(min_value=1, max_value=3600),
    skew=st.integers(min_value=0, max_value=3599),
)
def test_cloud_sign_verify_round_trip(
    rsa3072_pair: KeyPair,
    loaded_key: Any,
    *,
    subject: Any,
    name: Any,
    issuer: Any,
    key_id: Any,
    groups: Any,
    verified: Any,
    lifetime: Any,
    skew: Any,
) -> None:
    assume(skew < lifetime)  # a skew as long as the lifetime is refused (test_settings)
    config = values_for(
        Target.CLOUD,
        subject=subject,
        name=name,
        issuer=issuer,
        key_id=key_id,
        groups=groups,
        email_verified=str(verified).lower(),
        expires_in=f"{lifetime}s",
        clock_skew=str(skew),
    )
    parsed = parse_settings(Target.CLOUD, config)
    minted = mint(parsed, loaded_key, now=NOW_S, jti=FIXED_JTI)
    header, claims = verify_independently(
        minted.token, rsa3072_pair.certificate_pem, "RS256", check_time=False
    )
    assert header == {"alg": "RS256", "typ": "JWT", "kid": _clean(key_id)}
    assert claims == minted.claims
    assert (claims["sub"], claims["name"], claims["iss"]) == tuple(
        map(_clean, (subject, name, issuer))
    )
    assert claims["email_verified"] is verified
    assert claims.get("groups", []) == list(dict.fromkeys(_clean(g) for g in groups))
    # the whole window moves back by the skew: iat = nbf = now - skew, exp = nbf + lifetime
    assert claims["exp"] - claims["nbf"] == lifetime <= 3600
    assert claims["iat"] == claims["nbf"] == int(NOW.timestamp()) - skew


# --- durations -------------------------------------------------------------------------------

duration_text = st.builds(
    lambda number, unit: f"{number}{unit}",
    st.integers(min_value=0, max_value=10**12 - 1),
    st.sampled_from(["", "s", "m", "h", "d", "w", "S", "M", "H", "D", "W"]),
)


@FAST
@given(text=duration_text)
def test_duration_round_trip(text: Any) -> None:
    seconds = parse_duration(text, input_name="expires-in", allow_zero=True)
    spelled = format_duration(seconds)
    assert parse_duration(spelled, input_name="expires-in", allow_zero=True) == seconds
    assert len(spelled) <= len(text.lstrip("0")) + 1 or spelled == "0s"


@FAST
@given(text=st.text())
def test_duration_parses_or_refuses_cleanly(text: Any) -> None:
    try:
        seconds = parse_duration(text, input_name="expires-in")
    except InputError as err:
        assert err.input_name == "expires-in"
    else:
        assert isinstance(seconds, int) and seconds > 0


# --- bulk: a CSV text without quotes is split line by line, as csv.reader would --------------

CELL = st.lists(
    st.sampled_from(["a", "é", "u1", " ", "\t", "\x0c", "\x1c", "\x85", "\u2028", "\x00", "\r"]),
    max_size=4,
).map("".join)
"""A cell of a quote-free users file: text, spaces, controls and line boundaries that
``str.splitlines`` knows but csv.reader does not."""
LINE = st.tuples(
    st.lists(CELL, min_size=1, max_size=4).map(",".join),
    st.sampled_from(["\n", "\r\n", "\r", "\x0c", "\u2028", ""]),
).map("".join)
"""A line: mostly the header's three cells, sometimes more or fewer, and any line end."""


def _csv_reader_rows(text: str) -> list[tuple[int, dict[str, Any], str | None]]:
    """The rows as ``csv.reader`` reads every line (the path of a text with quotes)."""
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    layout = bulk.Layout(Target.QSEOW, bulk._header(reader, Target.QSEOW))
    width = len(layout.columns or ())
    return [(row[0], *layout.values(row)) for row in bulk._csv_rows(reader, width)]


def _plain_rows(text: str) -> list[tuple[int, dict[str, Any], str | None]]:
    layout, rows = bulk.read_rows(text, Target.QSEOW, "csv")
    return [(row[0], *layout.values(row)) for row in rows]


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=8).map("".join))
def test_a_csv_text_without_quotes_gives_the_rows_csv_reader_gives(body: str) -> None:
    text = "groups,user-id,name\n" + body  # the last cell is kept as it is (not a list)
    assert _plain_rows(text) == _csv_reader_rows(text)


def test_a_field_over_csvs_limit_is_refused_as_too_long_with_or_without_quotes() -> None:
    limit = csv.field_size_limit()
    text = f"user-id,name\nu1,{'x' * limit}\nu2,{'x' * (limit + 1)}\n"
    assert _plain_rows(text) == _csv_reader_rows(text)
    too_long = f"has a field over {limit} characters, more than a CSV cell may hold here"
    assert [row[2] for row in _plain_rows(text)] == [None, too_long]
    quoted = f'user-id,name\nu1,"{"x" * (limit + 1)}"\nu2,"unclosed\n'
    assert [row[2] for row in _plain_rows(quoted)] == [
        too_long,
        "is not valid CSV (an unclosed quote?)",
    ]
