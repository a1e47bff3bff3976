"""One error root, so every shell can turn any failure of ours into a clean message.

Messages name the input they are about (as the user spelled it: a flag, an env var or an
action input) and say how to fix it. They never contain a secret value: callers pass the
input's *name*, never its content, and key errors describe the problem, not the key.
"""

from __future__ import annotations

from collections.abc import Mapping


class QsjwtError(Exception):
    """Root of every error qs-jwt raises on purpose."""

    exit_code = 1
    code = "failed"
    """the failure's class, for machines (the action's ``error-code`` output): never a value"""

    def __init__(
        self,
        message: str,
        *,
        input_name: str | None = None,
        hint: str | None = None,
        also_missing: tuple[str, ...] = (),
    ) -> None:
        self.message = message
        self.input_name = input_name
        self.hint = hint
        self.also_missing = also_missing
        """other required inputs that were not given, named in the same message"""
        super().__init__(self.render())

    def render(self, name_of: Mapping[str, str] | None = None) -> str:
        """The one-line text for a user; ``name_of`` maps input names to how a shell spells them."""
        names = name_of or {}
        subject = ""
        if self.input_name:
            subject = names.get(self.input_name, self.input_name) + ": "
        text = subject + self.message
        hint = self.hint
        if self.also_missing:
            hint = "also missing: " + ", ".join(names.get(n, n) for n in self.also_missing)
        if hint:
            text += f" ({hint})"
        return text


class InputError(QsjwtError):
    """A setting is missing, malformed or breaks one of Qlik's rules: the token is not made."""

    exit_code = 2
    code = "invalid-input"


class MissingInputError(InputError):
    """A required setting was not given (or was empty)."""

    code = "missing-input"


class KeyMaterialError(InputError):
    """The signing key, its passphrase or the certificate cannot be used."""

    code = "invalid-key"


class TokenError(QsjwtError):
    """A token given to decode, verify or lint is malformed or invalid."""

    code = "invalid-token"


class OutputError(QsjwtError):
    """A result could not be written where it was asked for (a file, the runner's files)."""

    code = "output-failed"
