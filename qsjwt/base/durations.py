"""Lifetimes as people write them; a bare number means seconds (never milliseconds)."""

from __future__ import annotations

from qsjwt.base.errors import InputError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, *, input_name: str, allow_zero: bool = False) -> int:
    """Seconds in ``text`` (``30s``, ``5m``, ``1h``, ``7d``, ``2w`` or ``90``)."""
    spelled = text.strip().lower()
    number = spelled[:-1] if spelled[-1:] in _UNITS else spelled
    if not (0 < len(number) <= 12 and number.isascii() and number.isdigit()):
        raise InputError(
            "is not a duration",
            input_name=input_name,
            hint="use a whole number with an optional unit s, m, h, d or w, e.g. 30s, 5m, 1h",
        )
    seconds = int(number) * _UNITS[spelled[len(number) :] or "s"]
    if seconds == 0 and not allow_zero:
        raise InputError("must be longer than zero", input_name=input_name, hint="e.g. 5m")
    return seconds


def parse_bounded(text: str, *, input_name: str, default: int, maximum: int, limit: str) -> int:
    """Seconds in ``text`` (``default`` when empty), refused over ``maximum`` with a message
    that ends "is longer than ``limit``"."""
    if not text:
        return default
    seconds = parse_duration(text, input_name=input_name)
    if seconds > maximum:
        raise InputError(
            f"{format_duration(seconds)} is longer than {limit}",
            input_name=input_name,
            hint=f"use at most {format_duration(maximum)}; {format_duration(default)} is the "
            "default",
        )
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest exact spelling, for messages."""
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"
