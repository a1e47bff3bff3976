"""The one reader of input values: every shell's text passes the same rules before any layer
uses it, whatever the target.

A value is one line of UTF-8 text (a list is one value per line), at most ``MAX_VALUE_LENGTH``
characters, and never shaped like a credential: a JWT, a Vault or GitHub token or PEM armour
given where a setting belongs would be signed into a token, sent to a tenant or shown in a
summary. Refusals name the input and never repeat its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from qsjwt.base.errors import InputError, MissingInputError
from qsjwt.base.findings import Finding, warning
from qsjwt.base.formats import parse_boolean
from qsjwt.base.inputs import BY_NAME, KEY_SERVICE_INPUTS, Target, required_for
from qsjwt.base.rules import MAX_VALUE_LENGTH

RawValue = str | Sequence[str]
"""An input as a shell gathered it: text, or the values of a repeated CLI flag."""

_CONTROLS = frozenset(map(chr, [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]))
"""C0 and C1 controls and Unicode line separators: a value is one line of text. (A set, not a
pattern: compiling that character class took half a millisecond of every start.)"""
_CREDENTIAL = (
    r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\."  # a JWT: an identity token, a minted token
    r"|\bhv[sbr]\.[A-Za-z0-9_-]{20,}"  # a Vault token (service, batch, recovery)
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}"  # a GitHub token
    r"|-----(?:BEGIN|END) "  # PEM armour: a key or certificate
)


def not_utf8(value: str) -> bool:
    """Whether ``value`` holds bytes that were not UTF-8 (an environment value keeps them as
    surrogate escapes, which no UTF-8 encoder takes)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return True
    return False


def has_control(value: str) -> bool:
    """Whether ``value`` holds a C0 or C1 control or a Unicode line separator (printable text,
    nearly every value, is answered by ``isprintable`` alone)."""
    return not value.isprintable() and not _CONTROLS.isdisjoint(value)


def split_lines(text: str) -> list[str]:
    """The one rule for a list in a variable or an action input: one value per line, blank lines
    and surrounding spaces ignored. A comma never splits: LDAP group names such as
    ``CN=Admins,OU=Groups,DC=corp`` hold commas, and a line break is the one character no
    claim value may hold, so every group name can be written."""
    if "\n" not in text:  # one line (a bulk run's usual cell): strip() also takes a lone \r
        line = text.strip()
        return [line] if line else []
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def checked_text(value: str, *, input_name: str, limit: int = MAX_VALUE_LENGTH) -> str:
    """``value`` if it is one line of UTF-8 text within ``limit`` and not a credential.

    The credential rule comes first (a PEM key has line breaks too, and the credential is what
    the user must hear of): a JWT, a Vault or GitHub token or PEM armour given where a setting
    belongs would be signed, sent or shown, so it is refused, naming the input, never the value.
    """
    # Every match of _CREDENTIAL holds one of these four: a value without any is not searched,
    # and the pattern (a third of a millisecond to compile) is compiled on first use. Written
    # out, here: a loop or a call costs more than the searches, for every value of a bulk run.
    if ("eyJ" in value or "hv" in value or "gh" in value or "-----" in value) and re.search(
        _CREDENTIAL, value
    ):
        raise InputError(
            "holds a credential (a JWT, a Vault or GitHub token, or PEM armour) given in the "
            "wrong place; it is neither used, sent nor shown",
            input_name=input_name,
            hint="give this setting its own value; keys and tokens go in their own secret inputs",
        )
    if not (value.isascii() and value.isprintable()):  # printable ASCII: neither can fail
        if not_utf8(value):
            raise InputError(
                "is not valid UTF-8 text",
                input_name=input_name,
                hint="the value holds bytes that are not UTF-8; save it as UTF-8",
            )
        if has_control(value):
            raise InputError(
                "contains a line break or another control character",
                input_name=input_name,
                hint="give a single line of text",
            )
    if len(value) > limit:
        raise InputError(
            f"is {len(value)} characters long, over the {limit} allowed",
            input_name=input_name,
            hint="a token travels in an HTTP header, which proxies limit to a few KB",
        )
    return value


class ValueReader:
    """Reads one input at a time from a plain mapping, so every error names the input it is
    about; an empty value is "not given", as the GitHub runner sends it."""

    def __init__(
        self,
        values: Mapping[str, RawValue],
        findings: Sequence[Finding] = (),
        *,
        defaults: bool = True,
    ) -> None:
        self._values = values
        self.findings: list[Finding] = list(findings)
        self._defaults = defaults
        """an empty value takes the input table's default (OAuth derives its own instead)"""

    def warn(self, name: str, message: str) -> None:
        self.findings.append(warning(message, name))

    def given(self, name: str) -> bool:
        return given_of(self._values.get(name))

    def text(self, name: str) -> str:
        """The stripped value, the input's default, or ''."""
        return text_of(name, self._values.get(name), defaults=self._defaults)

    def optional(self, name: str) -> str | None:
        return self.text(name) or None

    def required(self, name: str) -> str:
        return required_of(name, self._values.get(name), defaults=self._defaults)

    def boolean(self, name: str) -> bool:
        return boolean_of(name, self._values.get(name), defaults=self._defaults)

    def items(self, name: str) -> list[str]:
        """A list input: repeated flags as given, or a text split by ``split_lines``."""
        return items_of(name, self._values.get(name))


def given_of(raw: RawValue | None) -> bool:
    """Whether a value holds more than spaces."""
    if raw is None:
        return False
    return bool(raw.strip()) if isinstance(raw, str) else any(v.strip() for v in raw)


def text_of(name: str, raw: RawValue | None, *, defaults: bool = True) -> str:
    """``ValueReader.text`` of one value (``raw``, None when not given): the stripped value, the
    input's default (unless not ``defaults``), or ''. (``qs-jwt bulk`` reads each user's own
    values through this and the ``*_of`` functions below, with no reader a row.)"""
    if isinstance(raw, str):
        value = raw.strip()
    elif raw:
        raise InputError("takes one value, not a list", input_name=name)
    else:
        value = ""
    if not value and defaults:
        spec = BY_NAME.get(name)
        value = (spec.default if spec else None) or ""
    return checked_text(value, input_name=name)


def required_of(name: str, raw: RawValue | None, *, defaults: bool = True) -> str:
    """``text_of``, refused when it is empty."""
    value = text_of(name, raw, defaults=defaults)
    if not value:
        raise MissingInputError("is required and was empty or not given", input_name=name)
    return value


def boolean_of(name: str, raw: RawValue | None, *, defaults: bool = True) -> bool:
    """``text_of`` as true or false; false when empty."""
    return parse_boolean(text_of(name, raw, defaults=defaults) or "false", input_name=name)


def items_of(name: str, raw: RawValue | None) -> list[str]:
    """``ValueReader.items`` of one value: repeated flags as given, or a text split by
    ``split_lines``."""
    if raw is None:
        return []
    parts = split_lines(raw) if isinstance(raw, str) else map(str.strip, raw)
    return [checked_text(part, input_name=name) for part in parts if part]


def read_for(target: Target, values: Mapping[str, RawValue]) -> list[Finding]:
    """What every target checks first: inputs it ignores (a warning), the key service's inputs
    held to the same text rules, and every missing required input named at once. Returns the
    warnings for the target's own parser to keep."""
    reader = ValueReader(values)
    for name in sorted(values):
        spec = BY_NAME.get(name)
        if spec is not None and target not in spec.targets and reader.given(name):
            reader.warn(name, f"is ignored for target {target.value}")
    for name in KEY_SERVICE_INPUTS:  # read by qsjwt.signing.remote
        reader.text(name)
    missing = [name for name in required_for(target) if not reader.given(name)]
    if len(missing) > 1:  # one run should tell a new user everything that is missing
        raise MissingInputError(
            "is required and was empty or not given",
            input_name=missing[0],
            also_missing=tuple(missing[1:]),
        )
    return reader.findings
