"""The value rules without patterns on the mint path: ``has_control`` is the character class
it replaced, and the credential rule searches its pattern only where a match can start."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsjwt.base.errors import InputError
from qsjwt.base.rules import _EMAIL, looks_like_email
from qsjwt.base.values import (
    _CREDENTIAL,
    checked_text,
    has_control,
    not_utf8,
    split_lines,
)

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
    try:
        checked_text(text, input_name="user-id")
        refused = False
    except InputError as err:
        refused = "holds a credential" in err.message
    assert refused == bool(re.search(_CREDENTIAL, text))


def test_not_utf8_finds_surrogate_escapes() -> None:
    assert not_utf8(b"caf\xe9".decode("utf-8", "surrogateescape"))
    assert not not_utf8("café \U0001f600")


_ADDRESS_PIECES = st.sampled_from(["@", ".", "a", "é", " ", "\t", "\x1c", "\u3000", "\n", "ab."])


@settings(max_examples=1000)
@given(st.lists(_ADDRESS_PIECES | st.text(max_size=2), max_size=8).map("".join))
def test_the_email_rule_is_its_pattern(text: str) -> None:
    assert looks_like_email(text) == bool(re.fullmatch(_EMAIL, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("u1@example.com", True),
        ("a@b.c", True),
        ("a@.bc", False),  # the dot must be inside the part after @
        ("a@bc.", False),
        ("@b.c", False),
        ("a@b@c.d", False),
        ("a b@c.d", False),
        ("a@b.c\u3000", False),  # any Unicode space, as the pattern's \s
        ("", False),
    ],
)
def test_email_examples(text: str, expected: bool) -> None:
    assert looks_like_email(text) is expected


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from(["a", " ", "\r", "\n", "\t", "\u2028", ","]), max_size=12))
def test_split_lines_one_line_is_the_general_rule(text: str) -> None:
    """A text without a line feed takes the short way; it gives what the general rule gives."""
    general = [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    assert split_lines(text) == general


@pytest.mark.parametrize("value", ["u000123", "User 123", "", "~!#$%^&*()_+{}|:<>?"])
def test_printable_ascii_passes_the_text_rules(value: str) -> None:
    assert checked_text(value, input_name="name") == value


@pytest.mark.parametrize("value", ["a\x00b", "a\x7fb", "a\x1bb", "a\tb"])
def test_an_ascii_control_is_refused(value: str) -> None:
    with pytest.raises(InputError, match="control character"):
        checked_text(value, input_name="name")
