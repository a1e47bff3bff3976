"""Write the shell completion scripts in completions/ from qs-jwt's own parsers (with shtab).

The scripts are static files, so completing costs qs-jwt nothing at start-up and shtab is a
development dependency only. ``tests/cli/test_completions.py`` fails while they are out of date.

    python scripts/completions.py --write     regenerate completions/
    python scripts/completions.py --check     exit 1 when a script differs from the parser
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import shtab

from qsjwt.cli.grammar import command_parser
from qsjwt.cli.helptext import SUMMARIES
from qsjwt.cli.parser import CHECKABLE, COMMANDS

ROOT = Path(__file__).resolve().parent.parent
DIRECTORY = ROOT / "completions"
SCRIPTS = {"bash": "qs-jwt.bash", "zsh": "_qs-jwt", "fish": "qs-jwt.fish"}
_CHOICES = re.compile(r"\{([A-Za-z0-9_,.-]+)\}")
_FILES = ("PATH", "FILE")


def completion_parser() -> argparse.ArgumentParser:
    """The whole command line as one argparse tree, with each option's completion: its known
    choices (from the metavar), files for paths, directories for ``--out-dir``."""
    top = argparse.ArgumentParser(prog="qs-jwt", add_help=False)
    top.add_argument("-h", "--help", action="help")
    top.add_argument("-V", "--version", action="version", version="")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if name == "check":
            check = commands.add_parser(name, help=SUMMARIES[name], add_help=False)
            targets = check.add_subparsers(dest="target", metavar="TARGET")
            for target in CHECKABLE:
                _add(targets, target, SUMMARIES[target])
        else:
            _add(commands, name, SUMMARIES[name])
    helped = commands.add_parser("help", help="show the help of qs-jwt or of a command")
    helped.add_argument("topic", nargs="?", choices=COMMANDS)
    return top


def _add(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> None:
    own = command_parser(name, full=True)
    for action in own._actions:
        complete: object = None
        if action.metavar is not None and (found := _CHOICES.fullmatch(str(action.metavar))):
            action.choices = found[1].split(",")
        elif action.metavar in _FILES:
            complete = shtab.FILE
        elif action.metavar in ("DIR",) and "--out-dir" in action.option_strings:
            complete = shtab.DIRECTORY
        if complete is not None:
            action.complete = complete  # type: ignore[attr-defined]  # shtab's documented hook
    commands.add_parser(name, help=help_text, parents=[own], add_help=False)


def scripts() -> dict[Path, str]:
    """Each shell's script as shtab writes it for this parser."""
    parser = completion_parser()
    return {DIRECTORY / file: shtab.complete(parser, shell) for shell, file in SCRIPTS.items()}


def main(argv: list[str]) -> int:
    mode = argparse.ArgumentParser(prog="completions.py", description=__doc__.split("\n")[0])
    group = mode.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    args = mode.parse_args(argv)
    stale = [
        path for path, text in scripts().items() if not path.is_file() or path.read_text() != text
    ]
    if args.check:
        for path in stale:
            sys.stderr.write(
                f"completions: {path.relative_to(ROOT)} is out of date (make completions)\n"
            )
        return 1 if stale else 0
    DIRECTORY.mkdir(exist_ok=True)
    for path, text in scripts().items():
        path.write_text(text)
    sys.stdout.write(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in scripts())}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
