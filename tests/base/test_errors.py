"""The error root: one line for a user, the input named as the shell spells it, a code."""

from __future__ import annotations

import pytest

from qsjwt.base.errors import (
    InputError,
    KeyMaterialError,
    MissingInputError,
    OutputError,
    QsjwtError,
    TokenError,
)


def test_render_names_the_input_as_spelled_and_adds_the_hint() -> None:
    err = InputError("is not a duration", input_name="expires-in", hint="e.g. 5m")
    assert err.render() == "expires-in: is not a duration (e.g. 5m)"
    assert err.render({"expires-in": "--expires-in"}) == "--expires-in: is not a duration (e.g. 5m)"
    assert str(err) == err.render()


def test_every_missing_input_is_named_in_one_line() -> None:
    err = MissingInputError(
        "is required", input_name="issuer", also_missing=("key-id", "subject"), hint="ignored"
    )
    spelled = {"issuer": "QSJWT_ISSUER", "key-id": "--key-id"}
    assert err.render(spelled) == "QSJWT_ISSUER: is required (also missing: --key-id, subject)"


def test_without_an_input_the_message_stands_alone() -> None:
    assert QsjwtError("no token was made").render() == "no token was made"


@pytest.mark.parametrize(
    ("error", "code", "exit_code"),
    [
        (QsjwtError("x"), "failed", 1),
        (InputError("x"), "invalid-input", 2),
        (MissingInputError("x"), "missing-input", 2),
        (KeyMaterialError("x"), "invalid-key", 2),
        (TokenError("x"), "invalid-token", 1),
        (OutputError("x"), "output-failed", 1),
    ],
)
def test_each_class_has_its_code_and_exit_code(
    error: QsjwtError, code: str, exit_code: int
) -> None:
    """The code is what the action's error-code output says: a class, never a value."""
    assert (error.code, error.exit_code) == (code, exit_code)
