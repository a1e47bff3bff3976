"""A token endpoint that answers, but not as Qlik does (issue 19): nothing of the answer is
printed or output, the run exits 4 with its own code, and no internal error.

Through the command line against the local Qlik, so what is checked is what a log would keep.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qsjwt.base.errors import QlikMalformedAnswerError, QlikUnreachableError
from tests.cli import test_cli_oauth
from tests.cli.test_cli_oauth import oauth
from tests.qlik_local import LocalQlik

qlik = test_cli_oauth.qlik
key_file = test_cli_oauth.key_file

HOSTILE = "::error::pwned"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("access_token", HOSTILE),  # a workflow command on stdout
        ("access_token", "abc def"),  # outside RFC 6750's b64token
        ("access_token", "abc=def"),  # padding only at the end
        ("token_type", "DPoP"),  # not a bearer token: Qlik's answer is at fault, not a setting
        ("token_type", None),
        ("expires_in", 1_000_000_000),  # 31 years
        ("expires_in", 9e9),
        ("expires_at", "9999-12-31T23:59:59-14:00"),  # year 10000 in UTC
        ("expires_at", "2999-01-01T00:00:00+00:00"),
        ("scope", "user_default\n::error::pwned"),  # a line break: outside the scope grammar
        ("scope", 'say "hi"'),
        ("scope", ["user_default"]),
    ],
)
def test_a_hostile_answer_is_refused_and_never_shown(
    qlik: LocalQlik, key_file: Path, field: str, value: Any
) -> None:
    qlik.token_response = lambda document: {**document, field: value}
    for form in ([], ["--format", "json"]):
        run = oauth(qlik, key_file, *form)
        assert run.code == QlikMalformedAnswerError.exit_code == 4, run.err
        assert run.out == ""
        assert "not as Qlik does" in run.err and "Traceback" not in run.err
        assert "pwned" not in run.err
        assert QlikMalformedAnswerError.code == "qlik-malformed-answer"
        assert issubclass(QlikMalformedAnswerError, QlikUnreachableError)  # API callers catch it


@pytest.mark.parametrize("token", ["a+b/c-d.e_f~g==", "Zm9vYmFy"])
def test_the_whole_token_grammar_passes(qlik: LocalQlik, key_file: Path, token: str) -> None:
    qlik.token_response = lambda document: {**document, "access_token": token, "scope": "a:b c"}
    run = oauth(qlik, key_file, "--format", "json")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    assert document["access_token"] == token and document["scope"] == "a:b c"


def test_a_long_but_bounded_lifetime_is_taken(qlik: LocalQlik, key_file: Path) -> None:
    qlik.token_response = lambda document: {**document, "expires_in": 30 * 86400}
    run = oauth(qlik, key_file, "--format", "json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["expires_in"] == 30 * 86400


@pytest.mark.parametrize("seconds", [300_000_000_000, 3e11, 10**400])
def test_a_lifetime_past_year_9999_is_no_internal_error(
    qlik: LocalQlik, key_file: Path, seconds: float
) -> None:
    """Was an OverflowError; a number this large is refused with the whole answer (exit 4)."""
    qlik.token_response = lambda document: {**document, "expires_in": seconds}
    run = oauth(qlik, key_file)
    assert run.code == 4 and run.out == ""
    assert "internal error" not in run.err and "Traceback" not in run.err
