"""SECURITY.md states what the leak suite checks: keep its numbers and promises in step."""

from __future__ import annotations

import re
from pathlib import Path

from qsjwt.base.rules import CLOUD_MAX_LIFETIME, QSEOW_MAX_LIFETIME
from tests.leaks.cases import CASES, counts
from tests.leaks.material import WINDOW

SECURITY = Path(__file__).resolve().parents[2] / "SECURITY.md"


def _text() -> str:
    return " ".join(SECURITY.read_text(encoding="utf-8").split())


def test_the_case_counts_are_the_table_s() -> None:
    text = _text()
    numbers = counts()
    assert f"of {numbers['cases']} cases, {numbers['bad']} bad and {numbers['good']} good" in text
    assert f"leak suite: {len(CASES)} cases x" in text


def test_the_leak_window_and_limits_are_the_code_s() -> None:
    text = _text()
    assert f"no run of {WINDOW} characters of any key" in text
    assert CLOUD_MAX_LIFETIME == 3600 and "accepts at most 1 hour" in text
    assert QSEOW_MAX_LIFETIME == 365 * 86400 and "refuses over 365 days" in text


def test_reporting_goes_through_a_private_advisory_not_an_address() -> None:
    text = _text()
    assert "private security advisory" in text
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), "no e-mail address is invented"
