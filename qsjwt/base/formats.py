"""Small text formats that more than one shell writes, so the CLI and the action agree."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from qsjwt.base.errors import InputError

if TYPE_CHECKING:
    import datetime as dt

ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
"""A name every shell accepts for an environment variable (dotenv files, GITHUB_ENV)."""


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def parse_boolean(text: str, *, input_name: str) -> bool:
    """true/false as YAML, shells and people write them; raises InputError naming the input."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InputError("is not true or false", input_name=input_name)


def iso_utc(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: what ``date -d``, JavaScript and Python all parse."""
    import datetime as dt  # noqa: PLC0415 (loaded already: moment is a datetime)

    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


_RESERVED_ENV = (
    r"(GITHUB|RUNNER|ACTIONS|CI|GITLAB|LD|DYLD|NODE|NPM_CONFIG|PYTHON|PIP|GIT|SSH|DOCKER)_.*"
    r"|PATH|HOME|SHELL|ENV|BASH_ENV|IFS|PS4|PROMPT_COMMAND|CDPATH|TMPDIR|LANG|LC_.*|TZ"
    r"|PERL5OPT|PERL5LIB|RUBYOPT|RUBYLIB|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS"
    r"|CLASSPATH|GCONV_PATH|HOSTALIASES|CI|GITHUB|NODE_OPTIONS|PYTHON.*|BASH_FUNC_.*"
)


@functools.cache
def _reserved_env() -> re.Pattern[str]:
    """Compiled on first use: compiling it costs a millisecond that most runs never need."""
    return re.compile(_RESERVED_ENV, re.IGNORECASE)


def is_reserved_env_name(name: str) -> bool:
    """A variable that changes how later steps or jobs run (the runner's own, the loader's,
    an interpreter's start-up options, the shell's): a token must never be exported to it."""
    return bool(_reserved_env().fullmatch(name))


def check_variable_name(name: str, *, input_name: str, example: str) -> None:
    """A variable a token may be exported to: a plain name that no runner, loader, shell or
    interpreter reads for itself. Raises InputError naming ``input_name``."""
    if not re.fullmatch(ENV_NAME, name):
        raise InputError(
            "is not an environment variable name",
            input_name=input_name,
            hint=f"use letters, digits and _, not starting with a digit, e.g. {example}",
        )
    if is_reserved_env_name(name):
        raise InputError(
            f"{name!r} changes how later steps or jobs run (the runner's, the loader's, a "
            "shell's or an interpreter's own variable)",
            input_name=input_name,
            hint="PATH, BASH_ENV, LD_*, CI_*, GITHUB_*, RUNNER_*, ACTIONS_*, NODE_OPTIONS and "
            f"the like cannot be set; use a name of your own, e.g. {example}",
        )


def as_bytes(text: str | bytes) -> bytes:
    """Text as the bytes it was read from.

    Environment values that are not UTF-8 reach Python as lone surrogates, which a plain
    ``encode()`` refuses with an exception: give such bytes back as they were, so a bad key or
    passphrase is reported as bad, not as a crash.
    """
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
