"""The value rules without patterns on the mint path: ``has_control`` is the character class
it replaced, and the credential rule searches its pattern only where a match can start."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsjwt.base.errors import InputError
from qsjwt.base.values import _CREDENTIAL, has_control, not_utf8, refuse_credential

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""The rule as a pattern: C0 and C1 controls and the Unicode line separators."""
_PIECES = st.sampled_from(
    [
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.",
        "hvs.CAESIJustALongVaultToken0123",
        "ghp_" + "a" * 36,
        "-----BEGIN ",
        "-----END ",
        "eyJ",
        "hv",
        "gh",
        "-----",
        "x",
        " ",
        "_",
    ]
)


@settings(max_examples=500)
@given(st.text())
def test_has_control_is_the_character_class(text: str) -> None:
    assert has_control(text) == bool(_CONTROL.search(text))


@pytest.mark.parametrize("char", ["\x00", "\n", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029"])
def test_each_control_is_found_among_printable_and_unprintable_text(char: str) -> None:
    assert has_control(f"ab\u00a0{char}cd")
    assert not has_control("ab\u00a0\u200bcd")  # unprintable, but no control or line separator


@settings(max_examples=500)
@given(st.lists(_PIECES | st.text(max_size=3), max_size=8).map("".join))
def test_the_credential_rule_is_its_pattern(text: str) -> None:
    found = bool(re.search(_CREDENTIAL, text))
    if found:
        with pytest.raises(InputError):
            refuse_credential(text, input_name="user-id")
    else:
        refuse_credential(text, input_name="user-id")


def test_not_utf8_finds_surrogate_escapes() -> None:
    assert not_utf8(b"caf\xe9".decode("utf-8", "surrogateescape"))
    assert not not_utf8("café \U0001f600")
