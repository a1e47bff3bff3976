"""argparse's side of the command line: the parser class (for ``--help``, ``--help-all`` and
usage errors, and for a command line the mint path's ``parser.Quick`` does not read itself),
whose usage errors never repeat what was typed (it may be a key or passphrase given in the wrong
place). Never imported by a cold mint of a plain command line: argparse, with the ``gettext``
and ``locale`` its messages load, is about 3 ms of a 50 ms start (``docs/performance.md``)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any, NoReturn, cast

from qsjwt.base.inputs import Target
from qsjwt.cli.out import note
from qsjwt.cli.parser import HELP_ALL, SUPPRESS, mint_options, remember

_EXPLICIT = re.compile(r"ignored explicit argument .*", re.DOTALL)


class Parser(argparse.ArgumentParser):
    """One clear line on stderr and exit 2, instead of argparse's usage dump.

    The options take plain strings (no ``type`` or ``choices``), so argparse's own messages
    only ever name options; values are checked by the commands, which never repeat them.
    Abbreviations are off, so ``--private-key`` is an unknown option, not a prefix of
    ``--private-key-file``. A command's description and example are read on ``--help`` only.
    """

    def __init__(self, *args: Any, command: str | None = None, **kwargs: Any) -> None:  # noqa: ANN401 (argparse's own)
        self._building = True
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self.command = command
        self.full_help: Callable[[], Parser] | None = None
        """the same parser with every option in its help, for ``--help-all``"""
        self.option_of: dict[str, str] = {}
        """each option's input name (its ``dest``), to its flag: how messages spell it"""

    def built(self) -> None:
        """Every argument is in: help from now on is formatted for the terminal's width."""
        self._building = False

    def _get_formatter(self) -> argparse.HelpFormatter:
        if self._building:
            # add_argument only checks a metavar with it: the terminal's width (and shutil,
            # which argparse imports to read it) are not needed to parse a command line
            made: argparse.HelpFormatter = cast(Any, self.formatter_class)(prog=self.prog, width=80)
            return made
        return super()._get_formatter()

    def format_help(self) -> str:
        if self.command is not None and self.epilog is None:
            from qsjwt.cli import helptext  # noqa: PLC0415 (only for --help)

            self.description = helptext.description(self.command)
            self.epilog = helptext.epilog(self.command)
        return super().format_help()

    def error(self, message: str) -> NoReturn:
        # argparse's one message that quotes a value: "--force=VALUE" on an option that takes none
        message = _EXPLICIT.sub("takes no value; one was given (not shown)", message)
        note(f"error: {message} (see {self.prog} --help)")
        raise SystemExit(2)

    def option(self, where: Any, *names: str, **kwargs: Any) -> None:  # noqa: ANN401
        """``where.add_argument``, remembering the option strings it declared."""
        if kwargs.get("action") == HELP_ALL:
            kwargs["action"] = _HelpAll
        if kwargs.get("help") == SUPPRESS:
            kwargs["help"] = argparse.SUPPRESS  # argparse tells it by identity, not equality
        action = where.add_argument(*names, **kwargs)
        remember(self.option_of, action.dest, action.option_strings)

    def parse_command(self, argv: Sequence[str]) -> tuple[SimpleNamespace, list[str]]:
        """The namespace (the same kind ``parser.Quick`` makes) and the arguments not read."""
        return self.parse_known_args(argv, namespace=SimpleNamespace())


class _HelpAll(argparse.Action):
    """``--help-all``: the help with every key service's own options."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:  # noqa: ANN401
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        full_help = cast(Parser, parser).full_help
        if full_help is not None:
            full_help().print_help()
        parser.exit()


def mint_parser(target: Target, *, prog: str, full: bool = False) -> Parser:
    """The parser of ``qseow``, ``cloud`` or ``oauth`` (``full``: every key service's options
    in its help); ``grammar.command_parser`` builds the other commands'."""
    parser = Parser(prog=prog, command=target.value)
    parser.full_help = lambda: mint_parser(target, prog=prog, full=True)
    mint_options(parser, target, full=full)
    parser.built()
    return parser
