"""The ``qs-jwt`` command line: read flags and ``QSJWT_*`` variables, call the core, print.

Exit codes: 0 success; 2 bad input or usage; 3 Qlik refused and 4 Qlik could not be reached
(``oauth``, ``call``, ``check``); 1 any other failure (an invalid token for ``verify``, a
broken error-level rule for ``lint``, an output that cannot be written); 128 + N a signal N
(130 SIGINT, 143 SIGTERM, 129 SIGHUP) that stopped a write cleanly.

Whatever the user typed may be a secret typed in the wrong place, so no message repeats a
value: it names a known option, or a path that exists, and otherwise describes what it got.
The modules: ``parser`` (the mint commands' options, and ``Quick``, which reads a plain mint
command line without argparse), ``argparser`` (argparse's parser: help, usage errors and what
``Quick`` leaves to it), ``grammar`` (the other commands' options), ``usage`` (help and usage
errors for the whole tree), ``helptext`` (the words of the help), ``gather`` (where each value
comes from), ``reading`` (the token a command reads), ``commands`` (one function a command),
``out`` (printing), ``bulk``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING

from qsjwt.base.display import path_for_message
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
from qsjwt.cli.out import PROG
from qsjwt.cli.parser import CHECKABLE, COMMANDS, QUICK, VERSION_FLAGS, quick_parse, version_line

if TYPE_CHECKING:
    from qsjwt.cli.usage import Cli

__all__ = [
    "ENV_CERTIFICATE",
    "ENV_CERTIFICATE_FILE",
    "ENV_PASSPHRASE",
    "ENV_PRIVATE_KEY",
    "ENV_PRIVATE_KEY_FILE",
    "build_parser",
    "main",
]


def build_parser() -> Cli:
    """Every command's parser, as help and usage errors see them (not on the mint path)."""
    from qsjwt.cli.usage import build_parser as build  # noqa: PLC0415

    return build()


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
    except OSError as err:
        if isinstance(err.filename, str):  # a file no command turned into its own error
            reason = err.strerror or type(err).__name__
            out.note(f"error: {path_for_message(err.filename)}: {reason}")
            return 1
        out.output_failed(err)  # stdout or stderr closed or full: the result did not arrive
        return 1
    except Exception as err:  # an unexpected bug: no traceback, which could carry secrets
        out.note(
            f"internal error ({type(err).__name__}). Please report it at the project's issue "
            "tracker."
        )
        return 1


def parse(argv: list[str], prog: str = PROG) -> tuple[SimpleNamespace, dict[str, str]]:  # noqa: RET503 (the last call never returns)
    """The namespace of the command in ``argv``, and how its options are spelled (each input
    name to its flag); or exit with help, the version, or a usage error that shows no value.

    A plain mint or bulk command line is read without argparse (``parser.Quick``); otherwise
    only the parser of the command being run is built: a cold ``qs-jwt qseow`` does not pay for the
    options of ten other commands. The whole tree is built when it is needed: for ``help``, no
    command, or a usage error that names another command's option."""
    if argv[:1] == ["check"] and len(argv) > 1 and argv[1] in CHECKABLE:
        args, option_of = parse(argv[1:], prog=f"{prog} check")
        args.check_only = True
        return args, option_of
    if argv[:1] and argv[0] in VERSION_FLAGS:
        if sys.stdout is not None:
            sys.stdout.write(version_line() + "\n")
        raise SystemExit(0)
    if argv and argv[0] in COMMANDS:
        quick = quick_parse(argv[0], argv[1:]) if argv[0] in QUICK else None
        if quick is not None:
            return quick
        from qsjwt.cli.grammar import command_parser  # noqa: PLC0415 (not on the mint path)

        parser = command_parser(argv[0], prog=f"{prog} {argv[0]}")
        args, extras = parser.parse_command(argv[1:])
        if extras:
            parser.error(build_parser().unrecognized(extras, argv[0]))
        return args, parser.option_of
    from qsjwt.cli.usage import top_level  # noqa: PLC0415 (help, or a usage error)

    top_level(argv)
