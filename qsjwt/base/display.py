"""Outside text made safe to print: it can neither start a log line nor steer a terminal,
nor repeat a credential.

Every path, value or token text a shell prints goes through here. A value that could be a
secret typed in the wrong place is shown only when it is a path that exists (then it is a
path, not a secret); otherwise it is described, never echoed. Every line is scrubbed
(``scrub``) of the credentials the process holds or fetched, in whatever encoding a peer
might echo them.
"""

from __future__ import annotations

import base64
import functools
import json
import os
from collections.abc import Iterable
from typing import Any

from qsjwt.base.secret import MIN_HELD, held

HIDDEN = "(hidden)"
"""What stands where a credential was."""
RUN = 16
"""Characters of a credential that are hidden wherever they appear in a row: a peer that
quotes part of a token, or a token inside a longer encoded blob, is caught too."""

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


def scrub(text: str, also: Iterable[str] = ()) -> str:
    """``text`` with every credential ``held`` (and ``also``) replaced by ``HIDDEN``: raw,
    base64 or base64url (at any alignment, so inside a longer encoded blob too), URL-encoded
    or JSON-escaped, whole or any ``RUN`` characters of it in a row."""
    secrets = (*held(), *(a.strip() for a in also if len(a.strip()) >= MIN_HELD))
    if not secrets or not text:
        return text
    longs, shorts = _patterns(secrets)
    hidden = [False] * len(text)
    for start in range(len(text) - RUN + 1):
        if text[start : start + RUN] in longs:  # one search in C over every long form
            hidden[start : start + RUN] = [True] * RUN
    for short in shorts:
        start = text.find(short)
        while start >= 0:
            hidden[start : start + len(short)] = [True] * len(short)
            start = text.find(short, start + 1)
    if not any(hidden):
        return text
    out: list[str] = []
    for index, char in enumerate(text):
        if not hidden[index]:
            out.append(char)
        elif index == 0 or not hidden[index - 1]:
            out.append(HIDDEN)
    return "".join(out)


_CACHE: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}
_SEPARATOR = "\0"
"""Between the forms joined for one search: no printed line holds a NUL (display escapes it)."""


def _patterns(secrets: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """Every form of ``secrets`` at least ``RUN`` long, joined for one substring search (a
    ``RUN``-character run of a line is hidden where it stands in any of them), and the forms
    shorter than that; made once per set of secrets. Searching the joined forms costs a line
    a few microseconds; listing every run of every form cost a millisecond or more a token."""
    if secrets not in _CACHE:
        forms = {form for secret in secrets for form in _forms(secret) if len(form) >= MIN_HELD}
        longs = _SEPARATOR.join(f for f in forms if len(f) >= RUN)
        _CACHE.clear()  # only the latest set is asked for again
        _CACHE[secrets] = longs, tuple(f for f in forms if len(f) < RUN)
    return _CACHE[secrets]


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


@functools.cache
def _percent() -> dict[int, str]:
    """Each byte as ``urllib.parse.quote(..., safe="")`` writes it, made on first use (without
    importing ``urllib.parse`` on every run that prints a line)."""
    return {byte: chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in range(256)}


def _quote(raw: bytes) -> str:
    """``urllib.parse.quote(raw, safe="")``; ``quote_plus`` is this with ``%20`` as ``+`` (a
    ``%`` of the input is written ``%25``, so every ``%20`` here stands for a space)."""
    return raw.decode("latin-1").translate(_percent())


def _forms(secret: str) -> set[str]:
    raw = secret.encode("utf-8", "surrogateescape")
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    quoted = _quote(raw)
    forms |= {quoted, quoted.replace("%20", "+")}
    for shift, skip in ((0, 0), (1, 2), (2, 3)):  # the chars that hold a byte before it
        encoded = base64.b64encode(b"\0" * shift + raw).decode()[skip:].rstrip("=")
        encoded = encoded[: len(encoded) - 3] if shift or len(raw) % 3 else encoded
        forms |= {encoded, encoded.replace("+", "-").replace("/", "_")}
    return forms


def one_line(text: str, limit: int = _LIMIT) -> str:
    """``text`` quoted, with every control, format or line-breaking character escaped.

    ``repr`` escapes what Python does not consider printable (C0 and C1 controls, ESC, DEL,
    U+2028/2029, bidi overrides), so the result cannot break the line it is printed on: a
    ``::error::`` inside stays mid-line, where no runner reads it as a command, and ``##[``
    (read anywhere) is written ``\\x23#[``.
    """
    text = scrub(text)
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
    shell's own prefix, and no part of it can end the line or start an escape sequence, nor
    repeat a credential (``scrub``).
    """
    text = scrub(text)
    if not text.isprintable():
        text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    return _defused(text)
