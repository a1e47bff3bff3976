"""The one scrub (issue 19): every credential the process holds or fetched is cut out of every
line a shell prints, whatever the encoding a peer echoes it in, whole or in part; and a
``Secret`` never shows in ``repr`` or ``str``."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsjwt.base.display import HIDDEN, RUN, _forms, escape_controls, one_line, scrub
from qsjwt.base.secret import MAX_HELD, MIN_HELD, Secret, held, hold

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzY3J1Yi10ZXN0In0.U2NydWJUZXN0U2lnbmF0dXJlQnl0ZXM"


@pytest.fixture(autouse=True)
def _held() -> None:
    hold(TOKEN)


@pytest.mark.parametrize(
    "echo",
    [
        TOKEN,
        base64.b64encode(TOKEN.encode()).decode(),
        base64.urlsafe_b64encode(b"x" + TOKEN.encode()).decode(),  # inside a longer blob
        base64.b64encode(b'{"t":"' + TOKEN.encode() + b'"}').decode(),
        urllib.parse.quote(TOKEN, safe=""),
        json.dumps({"token": TOKEN}),
        TOKEN[7 : 7 + RUN],  # any RUN characters of it
        TOKEN[-RUN:],
    ],
)
def test_every_form_of_a_held_credential_is_hidden(echo: str) -> None:
    text = f"Vault said: {echo} (end)"
    shown = scrub(text)
    assert HIDDEN in shown and shown.startswith("Vault said: ") and shown.endswith(" (end)")
    assert TOKEN[7 : 7 + RUN] not in shown and TOKEN[-RUN:] not in shown
    assert escape_controls(text) == shown and HIDDEN in one_line(text)


def test_other_text_is_left_alone() -> None:
    text = "qs-jwt: error: --tenant: the host name does not resolve (check the tenant host)"
    assert scrub(text) == text
    assert scrub(TOKEN[: RUN - 1]) == TOKEN[: RUN - 1]  # shorter than a run: too common to cut


def test_also_scrubs_values_not_held_and_each_line_is_held() -> None:
    assert scrub("given hvs.NotHeldButGiven here", ("hvs.NotHeldButGiven",)) == (
        f"given {HIDDEN} here"
    )
    hold("first-line-of-a-secret\nsecond-line-of-a-secret")
    assert "second-line-of-a-secret" in held() and "first-line-of-a-secret" in held()
    assert scrub("x second-line-of-a-secret y") == f"x {HIDDEN} y"
    hold("12345")  # too short: it would cut digits out of every message
    assert "12345" not in held() and len("12345") < MIN_HELD


def test_a_secret_never_shows_and_is_held() -> None:
    secret = Secret("a-passphrase-in-a-secret")
    assert "a-passphrase" not in repr(secret) and "a-passphrase" not in str(secret)
    assert f"{secret}" == repr(secret) and secret.reveal() == "a-passphrase-in-a-secret"
    assert scrub("echo a-passphrase-in-a-secret") == f"echo {HIDDEN}"


def test_a_long_lived_process_holds_a_bounded_number() -> None:
    for n in range(MAX_HELD + 50):
        hold(f"minted-token-number-{n:06}")
    assert len(held()) == MAX_HELD
    assert held()[-1] == f"minted-token-number-{MAX_HELD + 49:06}"
    assert "minted-token-number-000000" not in held()


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_the_url_forms_are_urllib_s(raw: bytes) -> None:
    """display quotes without importing urllib.parse; these are the forms urllib writes."""
    text = raw.decode("utf-8", "surrogateescape")
    forms = _forms(text)
    assert urllib.parse.quote(raw, safe="") in forms
    assert urllib.parse.quote_plus(raw, safe="") in forms
