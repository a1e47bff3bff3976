"""Outside text made safe to print: it can neither start a log line nor steer a terminal.

Every path, value or token text a shell prints goes through here. A value that could be a
secret typed in the wrong place is shown only when it is a path that exists (then it is a
path, not a secret); otherwise it is described, never echoed.
"""

from __future__ import annotations

import json
import os
from typing import Any

_LIMIT = 200
_LEGACY_COMMAND = "##["
"""The GitHub runner reads ``##[command]`` anywhere in a line, not only at its start."""
_LEGACY_ESCAPED = "\\x23#["


def _defused(text: str) -> str:
    return text.replace(_LEGACY_COMMAND, _LEGACY_ESCAPED)


def json_document(document: Any) -> str:  # noqa: ANN401 (any JSON value)
    """Indented JSON whose strings cannot forge a runner command: ``#`` appears only inside
    strings, where ``\\u0023`` is the same character to every JSON reader."""
    return json.dumps(document, indent=2).replace(_LEGACY_COMMAND, "\\u0023#[")


def one_line(text: str, limit: int = _LIMIT) -> str:
    """``text`` quoted, with every control, format or line-breaking character escaped.

    ``repr`` escapes what Python does not consider printable (C0 and C1 controls, ESC, DEL,
    U+2028/2029, bidi overrides), so the result cannot break the line it is printed on: a
    ``::error::`` inside stays mid-line, where no runner reads it as a command, and ``##[``
    (read anywhere) is written ``\\x23#[``.
    """
    cut = text[:limit] + ("..." if len(text) > limit else "")
    return _defused(repr(cut))


def path_exists(path: str | os.PathLike[str]) -> bool:
    """Whether anything (a symlink included) is at ``path``; False for an unusable path."""
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):  # ValueError: an embedded NUL byte
        return False


def path_for_message(path: str | os.PathLike[str]) -> str:
    """A path for a message: quoted when it exists, described when it does not.

    A path that does not exist may be a key, passphrase or token given where a path belongs.
    """
    text = os.fspath(path)
    if path_exists(text):
        return one_line(text)
    return f"the path given ({len(text)} characters, not shown: nothing exists there)"


def escape_controls(text: str) -> str:
    """``text`` with every character that is not printable written as its escape.

    For whole lines a shell composes (a finding, a lint result): each one starts with the
    shell's own prefix, and no part of it can end the line or start an escape sequence.
    """
    if not text.isprintable():
        text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    return _defused(text)
