"""Small text formats that more than one shell writes, so the CLI and the action agree."""

from __future__ import annotations

import datetime as dt
import re

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A name every shell accepts for an environment variable (dotenv files, GITHUB_ENV)."""


def iso_utc(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: what ``date -d``, JavaScript and Python all parse."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


_RESERVED_ENV = re.compile(
    r"(GITHUB|RUNNER|ACTIONS|CI|GITLAB|LD|DYLD|NODE|NPM_CONFIG|PYTHON|PIP|GIT|SSH|DOCKER)_.*"
    r"|PATH|HOME|SHELL|ENV|BASH_ENV|IFS|PS4|PROMPT_COMMAND|CDPATH|TMPDIR|LANG|LC_.*|TZ"
    r"|PERL5OPT|PERL5LIB|RUBYOPT|RUBYLIB|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS"
    r"|CLASSPATH|GCONV_PATH|HOSTALIASES|CI|GITHUB|NODE_OPTIONS|PYTHONPATH|BASH_FUNC_.*",
    re.IGNORECASE,
)


def is_reserved_env_name(name: str) -> bool:
    """A variable that changes how later steps or jobs run (the runner's own, the loader's,
    an interpreter's start-up options, the shell's): a token must never be exported to it."""
    return bool(_RESERVED_ENV.fullmatch(name))
