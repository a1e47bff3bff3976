"""Usage errors and help for the whole command line: ``qs-jwt``, ``qs-jwt help [COMMAND]``, no
command, an unknown command, or an option that belongs to another command. Never on the mint
path; no message repeats a value that is not the tool's own word (a command, an option)."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from typing import NoReturn

from qsjwt.cli import helptext
from qsjwt.cli.argparser import Parser
from qsjwt.cli.gather import ENV_PASSPHRASE, ENV_PRIVATE_KEY
from qsjwt.cli.grammar import command_parser
from qsjwt.cli.out import PROG
from qsjwt.cli.parser import CHECKABLE, COMMANDS

FORBIDDEN = ("--private-key", "--passphrase", "--private-key-passphrase", "--key", "--password")
"""Options people reach for that are never accepted: a key or passphrase on a command line
shows in ``ps`` and in shell history."""
HELP_FLAGS = ("-h", "--help")


class Cli:
    """The whole tree: the top-level parser and each command's (built only for ``help``, no
    command, and usage errors)."""

    def __init__(self, parser: Parser, commands: dict[str, Parser]) -> None:
        self.parser = parser
        self.commands = commands

    def flags(self, command: str) -> frozenset[str]:
        """Every option string of one command, to name only options that exist."""
        return frozenset(f for f in self.commands[command].option_of if f.startswith("-"))

    def unrecognized(self, extras: Sequence[str], command: str) -> str:
        """Name an unknown argument only when it is a known option of some command.

        Anything else (``-pS3cret``, a key, a passphrase after an unknown option) is counted,
        never shown; a misspelt ``--option`` gets the known one close to it.
        """
        named: list[str] = []
        notes: list[str] = []
        hidden = 0
        for extra in extras:
            option = extra.split("=", 1)[0]
            owners = [name for name in self.commands if option in self.flags(name)]
            if option in FORBIDDEN:
                named.append(option)
                notes.append(
                    "the key and its passphrase are never command-line values: use "
                    "--private-key-file / --passphrase-file or "
                    f"{ENV_PRIVATE_KEY} / {ENV_PASSPHRASE}"
                )
            elif owners and command not in owners:
                named.append(option)
                notes.append(f"{option} belongs to {PROG} {' / '.join(owners)}, not {command}")
            elif owners:
                named.append(option)
            else:
                hidden += 1
                if option.startswith("--"):
                    known = sorted(self.flags(command))
                    close = difflib.get_close_matches(option, known, n=1, cutoff=0.8)
                    notes.extend(f"did you mean {flag}?" for flag in close)
        text = "unrecognized arguments: " + ", ".join(dict.fromkeys(named))
        if hidden:
            text += (" and " if named else "") + f"{hidden} other value(s) (not shown)"
        for extra_note in dict.fromkeys(notes):
            text += f"; {extra_note}"
        return text


def build_parser() -> Cli:
    """The top-level parser (its help lists the commands) and every command's parser."""
    parser = Parser(
        prog=PROG,
        description=helptext.DESCRIPTION,
        epilog=helptext.EXIT_CODES + "\n" + helptext.MORE,
    )
    parser.add_argument("-V", "--version", action="store_true", help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        sub.add_parser(name, help=helptext.SUMMARIES[name], add_help=False)
    sub.add_parser("help", help="show the help of qs-jwt or of a command", add_help=False)
    parser.built()
    return Cli(parser, {name: command_parser(name) for name in COMMANDS})


def top_level(argv: list[str]) -> NoReturn:
    """Anything that is not a command's own: help, no command, or a usage error."""
    cli = build_parser()
    if argv[:1] == ["help"]:
        _help(cli, argv[1:])
    if argv[:1] and argv[0] in HELP_FLAGS:
        cli.parser.print_help(sys.stdout)
        raise SystemExit(0)
    if not argv:
        cli.parser.print_help(sys.stderr)
        raise SystemExit(2)
    names = ", ".join(COMMANDS)
    option = argv[0].split("=", 1)[0]
    if any(option in cli.flags(command) for command in COMMANDS):
        cli.parser.error(f"{option} goes after the command: {PROG} COMMAND [options] ({names})")
    close = difflib.get_close_matches(argv[0], [*COMMANDS, "help"], n=1)
    guess = f"; did you mean {close[0]}?" if close else ""
    # not a command: it may be a key pasted too early, so it is counted, never shown
    cli.parser.error(
        f"argument COMMAND: invalid choice: a value of {len(argv[0])} characters (not shown)"
        f"{guess} (choose from {names})"
    )


def _help(cli: Cli, topic: Sequence[str]) -> NoReturn:
    """``qs-jwt help``, ``qs-jwt help COMMAND``, ``qs-jwt help check TARGET``."""
    if not topic:
        cli.parser.print_help(sys.stdout)
        raise SystemExit(0)
    if topic[0] == "check" and len(topic) > 1 and topic[1] in CHECKABLE:
        command_parser(topic[1], prog=f"{PROG} check {topic[1]}").print_help(sys.stdout)
        raise SystemExit(0)
    if topic[0] in COMMANDS and len(topic) == 1:
        cli.commands[topic[0]].print_help(sys.stdout)
        raise SystemExit(0)
    close = difflib.get_close_matches(topic[0], COMMANDS, n=1)
    guess = f"; did you mean {PROG} help {close[0]}?" if close else ""
    cli.parser.error(
        f"help takes one command of {', '.join(COMMANDS)}, or check and a target "
        f"({len(topic)} other word(s) given, not shown){guess}"
    )
