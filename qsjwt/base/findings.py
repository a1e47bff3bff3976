"""Warnings and lint results: things a user should read, which the shells print their own way."""

# No "from __future__ import annotations" here: typing.NamedTuple compiles every string
# annotation of its fields at import, on every start (docs/performance.md); only the names
# imported for type checking alone are quoted.

import functools
from collections.abc import Mapping
from enum import StrEnum
from typing import NamedTuple

from qsjwt.base.errors import spell


class Severity(StrEnum):
    """An error stops the token (Qlik would refuse it); a warning is allowed but unwise."""

    ERROR = "error"
    WARNING = "warning"


class Finding(NamedTuple):
    """Something a check found: an error stops a token, a warning is reported beside it."""

    severity: Severity
    message: str
    subject: str | None = None
    """the input (for settings) or claim (for lint) the finding is about"""

    def render(self, name_of: Mapping[str, str] | None = None) -> str:
        names = name_of or {}
        message = spell(self.message, names)
        if not self.subject:
            return message
        return f"{names.get(self.subject, self.subject)}: {message}"


@functools.lru_cache(maxsize=1024)
def warning(message: str, subject: str | None = None) -> Finding:
    """A warning about ``subject`` (an input name), which each shell spells its own way. Made
    once (a Finding is immutable): ``qs-jwt bulk`` gives the same warning for each row."""
    return Finding(Severity.WARNING, message, subject)
