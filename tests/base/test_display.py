"""What the shells print of outside text: escaped, on one line, never a runner command."""

from __future__ import annotations

import json
from pathlib import Path

from qsjwt.base.display import escape_controls, json_document, one_line, path_for_message


def test_one_line_escapes_what_could_end_the_line_or_steer_a_terminal() -> None:
    shown = one_line("a\nb\r\x1b[31m\u2028##[error]x")
    assert "\n" not in shown and "\r" not in shown and "\x1b" not in shown
    assert "\u2028" not in shown and "##[" not in shown


def test_one_line_cuts_a_long_value() -> None:
    assert one_line("x" * 500).endswith("...'")
    assert len(one_line("x" * 500)) < 220


def test_escape_controls_keeps_printable_text_and_defuses_legacy_commands() -> None:
    assert escape_controls("plain text") == "plain text"
    assert escape_controls("a\tb") == "a\\tb"
    assert escape_controls("x ##[warning] y") == "x \\x23#[warning] y"


def test_json_document_is_the_same_json_without_a_legacy_command() -> None:
    document = {"claim": "##[error]pwned", "n": 1}
    text = json_document(document)
    assert "##[" not in text
    assert json.loads(text) == document


def test_a_path_is_shown_only_when_something_is_there(tmp_path: Path) -> None:
    present = tmp_path / "token.jwt"
    present.write_text("x")
    assert str(present) in path_for_message(present)
    missing = tmp_path / "S3cret-typed-here"
    message = path_for_message(missing)
    assert "S3cret" not in message and "not shown" in message
