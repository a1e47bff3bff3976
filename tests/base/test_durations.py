"""Lifetimes: units s m h d w, a bare number is seconds, zero and junk are errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsjwt.base.durations import format_duration, parse_duration
from qsjwt.base.errors import InputError
from tests.helpers import assert_error


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("7d", 7 * 86400),
        ("2w", 14 * 86400),
        ("90", 90),  # a bare number is seconds, never milliseconds
        ("3600", 3600),
        ("1", 1),
        (" 5m\n", 300),  # surrounding whitespace, as read from a file or a variable
        ("1H", 3600),
        ("007s", 7),
        ("999999999999", 999_999_999_999),  # 12 digits: the most accepted
    ],
)
def test_parses(text: str, seconds: Any) -> None:
    assert parse_duration(text, input_name="expires-in") == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "-5",
        "-5m",
        "+5m",
        "1 hour",
        "5 m",
        "5x",
        "5mm",
        "m",
        "1.5h",
        "1h30m",
        "1e3",
        "0x10",
        "5ms",
        "9999999999999",  # 13 digits: refused before any arithmetic
    ],
)
def test_unparseable_is_an_error_naming_the_input(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_duration(text, input_name="clock-skew")
    assert_error(info.value, "clock-skew", "is not a duration", "30s, 5m, 1h")
    # what was read may be a secret typed in the wrong place: never repeated
    assert len(text.strip()) < 3 or text.strip() not in info.value.render()


@pytest.mark.parametrize("text", ["0", "0s", "0m", "0h", "0d", "0w", "000"])
def test_zero_is_an_error(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_duration(text, input_name="expires-in")
    assert_error(info.value, "expires-in", "longer than zero")


@pytest.mark.parametrize("text", ["0", "0s", "0w"])
def test_zero_allowed_where_asked(text: str) -> None:
    assert parse_duration(text, input_name="clock-skew", allow_zero=True) == 0


def test_huge_text_is_cut_short_in_the_message() -> None:
    text = "9" * 5000 + "x"
    with pytest.raises(InputError) as info:
        parse_duration(text, input_name="expires-in")
    assert len(info.value.render()) < 200


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1, "1s"),
        (59, "59s"),
        (60, "1m"),
        (90, "90s"),
        (300, "5m"),
        (3600, "1h"),
        (3660, "61m"),
        (7200, "2h"),
        (86400, "1d"),
        (90000, "25h"),
        (604800, "1w"),
        (365 * 86400, "365d"),
        (1209600, "2w"),
    ],
)
def test_format_is_shortest_exact(seconds: Any, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text, input_name="x", allow_zero=True) == seconds


_GRAMMAR = re.compile(r"([0-9]{1,12})([smhdw]?)")
"""The grammar of a duration, as a pattern: the parser does without one (it is on the mint path)."""


@settings(max_examples=500)
@given(
    st.text(alphabet="0123456789smhdwSMHDW x\u0661\u0662-+.", max_size=15)
    | st.from_regex(r"\s*[0-9]{1,13}[smhdwx]?\s*", fullmatch=True)
)
def test_parse_duration_takes_exactly_the_grammar(text: str) -> None:
    match = _GRAMMAR.fullmatch(text.strip().lower())
    if match is None:
        with pytest.raises(InputError):
            parse_duration(text, input_name="expires-in", allow_zero=True)
    else:
        expected = (
            int(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match[2]]
        )
        assert parse_duration(text, input_name="expires-in", allow_zero=True) == expected
