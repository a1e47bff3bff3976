"""A credential held in memory: its ``repr`` and ``str`` never show it.

A traceback with locals, a debugger, a log line that formats an object: each calls ``repr`` or
``str``, and a secret must not come out of either. ``reveal()`` is the one way to the value,
so every use of it is a line a reviewer can find.
"""

from __future__ import annotations


class Secret:
    """A secret string; compare and hash without revealing it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one place that sends or signs with it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret(<{len(self._value)} characters, hidden>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
