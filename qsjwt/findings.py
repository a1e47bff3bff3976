"""Warnings and lint results: things a user should read, which the shells print their own way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """Something a check found: an error stops a token, a warning is reported beside it."""

    severity: Severity
    message: str
    subject: str | None = None
    """the input (for settings) or claim (for lint) the finding is about"""

    def render(self, name_of: Mapping[str, str] | None = None) -> str:
        if not self.subject:
            return self.message
        return f"{(name_of or {}).get(self.subject, self.subject)}: {self.message}"


def warning(message: str, subject: str | None = None) -> Finding:
    return Finding(Severity.WARNING, message, subject)
