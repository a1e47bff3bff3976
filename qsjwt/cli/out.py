"""What the command line prints, and how it survives streams that are closed or full.

Every line of ours starts with ``qs-jwt:`` and has its control characters escaped, so no value
in it can end the line, start a runner command or steer a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from qsjwt.base.display import escape_controls
from qsjwt.base.errors import QsjwtError
from qsjwt.base.findings import Finding

PROG = "qs-jwt"


def say(out: TextIO, text: str) -> None:
    """One line of ours: prefixed, control characters escaped, so it cannot forge another."""
    out.write(f"{PROG}: {escape_controls(text)}\n")


def note(text: str) -> None:
    """A line on stderr that must not fail the run when stderr is closed or full."""
    if sys.stderr is None:
        return
    try:
        say(sys.stderr, text)
        sys.stderr.flush()
    except OSError:
        pass


def result(text: str) -> None:
    """The command's result on stdout; a closed stdout is a failure, not a silent success."""
    if sys.stdout is None:
        raise QsjwtError("standard output is closed")
    sys.stdout.write(text)


def findings(found: Sequence[Finding], names: Mapping[str, str], out: TextIO) -> None:
    """Each finding on one line, in the words of the shell (``names``), escaped."""
    for finding in found:
        say(out, f"{finding.severity.value}: {finding.render(names)}")


def tolerant_streams() -> None:
    """An encoding that cannot show a character escapes it instead of failing the run."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def flushed(code: int) -> int:
    """Flush stdout now, so a closed pipe or a full disk is exit 1, not Python's exit 120."""
    if sys.stdout is None:
        return code
    try:
        sys.stdout.flush()
    except OSError as err:
        output_failed(err)
        return 1
    return code


def output_failed(err: OSError) -> None:
    """stdout closed or full: what is left in its buffer goes nowhere, so the interpreter's
    exit is quiet, and one line says why."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        sys.stdout = None
    note(f"error: output failed ({err.strerror or type(err).__name__})")
