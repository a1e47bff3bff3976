"""The ``qs-jwt`` command line: read flags and ``QSJWT_*`` variables, call the core, print.

Exit codes: 0 success; 2 bad input or usage; 3 Qlik refused and 4 Qlik could not be reached
(``oauth``, ``call``, ``check``); 1 any other failure (an invalid token for ``verify``, a
broken error-level rule for ``lint``, an output that cannot be written); 128 + N a signal N
(130 SIGINT, 143 SIGTERM, 129 SIGHUP) that stopped a write cleanly.

Whatever the user typed may be a secret typed in the wrong place, so no message repeats a
value: it names a known option, or a path that exists, and otherwise describes what it got.
The modules: ``parser`` (grammar and usage errors), ``gather`` (where each value comes from),
``commands`` (one function a command), ``out`` (printing).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from qsjwt.base.errors import QsjwtError
from qsjwt.cli import out
from qsjwt.cli.commands import HANDLERS
from qsjwt.cli.gather import (
    ENV_CERTIFICATE,
    ENV_CERTIFICATE_FILE,
    ENV_PASSPHRASE,
    ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
    spelled,
)
from qsjwt.cli.parser import build_parser, parse

__all__ = [
    "ENV_CERTIFICATE",
    "ENV_CERTIFICATE_FILE",
    "ENV_PASSPHRASE",
    "ENV_PRIVATE_KEY",
    "ENV_PRIVATE_KEY_FILE",
    "build_parser",
    "main",
]


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run one command; returns the exit code. Never raises, never prints a traceback."""
    out.tolerant_streams()
    try:
        code = _run(list(sys.argv[1:] if argv is None else argv), env)
    except SystemExit as done:  # argparse: --help, --version, a usage error
        code = done.code if isinstance(done.code, int) else 2
    return out.flushed(code)


def _run(argv: list[str], env: Mapping[str, str] | None) -> int:
    environ = os.environ if env is None else env
    args, option_of = parse(argv)
    names = spelled(args, environ, option_of)
    try:
        return HANDLERS[args.command](args, environ, names)
    except QsjwtError as err:
        out.note(f"error: {err.render(names)}")
        return err.exit_code
    except KeyboardInterrupt:
        out.note("interrupted")
        return 130
    except OSError as err:  # stdout closed or full: the result did not reach its reader
        out.output_failed(err)
        return 1
    except Exception as err:  # an unexpected bug: no traceback, which could carry secrets
        out.note(
            f"internal error ({type(err).__name__}). Please report it at the project's issue "
            "tracker."
        )
        return 1
