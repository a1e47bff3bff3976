"""A credential held in memory: its ``repr`` and ``str`` never show it.

A traceback with locals, a debugger, a log line that formats an object: each calls ``repr`` or
``str``, and a secret must not come out of either. ``reveal()`` is the one way to the value,
so every use of it is a line a reviewer can find.

Every credential the process sends or fetched (a Vault token, the CI's identity token, a PIN,
a minted or an access token) is also remembered here (``hold``), so that
``qsjwt.base.display.scrub`` can cut any echo of it out of every line a shell prints: a peer
that quotes a token back in an error is never repeated.
"""

from __future__ import annotations

MIN_HELD = 6
"""Characters a credential (or one of its lines) needs to be held: shorter ones (a PIN's
digits) would garble unrelated text, and the action masks them anyway."""

MAX_HELD = 256
"""The most credentials held at once: a long-lived process (a load test minting through the
API) holds the latest ones, which are what a following message could echo, in bounded memory."""

_HELD: dict[str, None] = {}
"""An ordered set of what ``hold`` was given, each line apart, the latest last."""


def hold(value: str) -> None:
    """Remember a credential, whole and each of its lines, for ``held``: once given, it is
    scrubbed from whatever a shell prints (until ``MAX_HELD`` later ones push it out)."""
    for part in (value, *value.splitlines()):
        if len(part.strip()) >= MIN_HELD:
            _HELD.pop(part.strip(), None)
            _HELD[part.strip()] = None
    while len(_HELD) > MAX_HELD:
        del _HELD[next(iter(_HELD))]


def held() -> tuple[str, ...]:
    """Every credential ``hold`` was given, in order."""
    return tuple(_HELD)


class Secret:
    """A secret string; compare and hash without revealing it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        hold(value)

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
