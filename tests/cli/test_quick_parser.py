"""``cli.parser.Quick`` reads a mint or bulk command line without argparse: whenever it
answers, its answer is argparse's, from the same grammar (``mint_options``, ``bulk_options``);
whatever else it leaves to argparse, which prints the help or the usage error."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsjwt.base.inputs import Target
from qsjwt.cli import parse
from qsjwt.cli.grammar import command_parser
from qsjwt.cli.parser import QUICK, quick_parse

TARGETS = list(QUICK)
"""The commands ``Quick`` reads: the three mints and ``bulk``."""
BULK_NEEDS = ["--target", "qseow", "--users-file", "users.csv"]
"""bulk's required options: without them argparse stops with a usage error."""


def flags_of(command: str) -> list[str]:
    return sorted(flag for flag in command_parser(command).option_of if flag.startswith("--"))


def switches_of(command: str) -> set[str]:
    parser = command_parser(command, prog="qs-jwt")
    return {flag for act in parser._actions if act.nargs == 0 for flag in act.option_strings}


def by_argparse(command: str, argv: list[str]) -> tuple[dict[str, object], dict[str, str]] | None:
    """argparse's namespace and spellings, or None where it prints help or a usage error."""
    parser = command_parser(command, prog=f"qs-jwt {command}")
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        try:
            args, extras = parser.parse_command(argv)
        except SystemExit:
            return None
    return None if extras else (vars(args), parser.option_of)


def by_quick(command: str, argv: list[str]) -> tuple[dict[str, object], dict[str, str]] | None:
    read = quick_parse(command, argv)
    return None if read is None else (vars(read[0]), read[1])


def needed(command: str) -> list[str]:
    """What a command line of ``command`` needs before anything else can be read."""
    return list(BULK_NEEDS) if command == "bulk" else []


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_the_two_readers_declare_the_same_options_and_defaults(target: str) -> None:
    assert by_quick(target, needed(target)) == by_argparse(target, needed(target))
    assert by_quick(target, needed(target)) is not None


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_every_option_alone_reads_the_same(target: str) -> None:
    switches = switches_of(target)
    for flag in flags_of(target):
        forms = [[flag]] if flag in switches else [[flag, "v a=l"], [f"{flag}=v a=l"], [flag, ""]]
        for alone in forms:
            argv = needed(target) + alone
            quick = by_quick(target, argv)
            if flag == "--help-all":
                assert quick is None
                continue
            assert quick is not None, argv
            assert quick == by_argparse(target, argv), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["-h"],
        ["--help"],
        ["--help-all"],
        ["--user-id"],
        ["--user-id", "--user-directory", "CORP"],
        ["--user-id", "-5"],
        ["--user-id=-x"],
        ["--user-id", "--"],
        ["--"],
        ["-"],
        ["alice"],
        ["--user-i", "alice"],
        ["--private-key", "KEY"],
        ["--check=yes"],
        ["--user-id", "alice", "--bogus"],
        [""],
    ],
)
def test_anything_but_a_plain_command_line_goes_to_argparse(argv: list[str]) -> None:
    assert quick_parse(Target.QSEOW.value, argv) is None


@pytest.mark.parametrize(
    "argv",
    [
        [],  # neither of the required options: argparse names them
        ["--target", "qseow"],
        ["--users-file", "users.csv"],
        [*BULK_NEEDS, "--skip-bad-rows=yes"],  # a switch takes no value
        [*BULK_NEEDS, "--users", "x"],  # no abbreviations
    ],
)
def test_a_bulk_command_line_argparse_refuses_goes_to_argparse(argv: list[str]) -> None:
    assert quick_parse("bulk", argv) is None
    assert by_argparse("bulk", argv) is None


def test_parse_reads_a_plain_bulk_command_line_without_argparse() -> None:
    code = (
        "import sys; from qsjwt.cli import parse; "
        "args, _ = parse(['bulk', '--target', 'qseow', '--users-file', 'u.csv', '--skip-bad-rows',"
        " '--jobs', '2', '--user-directory', 'CORP']); "
        "print(args.command, args.skip_bad_rows, args.jobs, 'argparse' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["bulk", "True", "2", "False"]


def test_parse_reads_a_plain_mint_command_line_without_argparse() -> None:
    argv = ["qseow", "--user-id", "alice", "--group=a", "--group", "b", "--check"]
    args, option_of = parse(argv)
    assert isinstance(args, SimpleNamespace)
    assert (args.command, args.target, args.check) == ("qseow", Target.QSEOW, "true")
    assert getattr(args, "user-id") == "alice"
    assert args.groups == ["a", "b"]
    assert option_of["user-id"] == "--user-id"


_WORDS = st.sampled_from(
    ["-h", "--help", "--help-all", "--", "-", "--bogus", "-5", "", "=", "--user-id=", "x=y", "a b"]
)


@st.composite
def command_lines(draw: st.DrawFn, plain: bool) -> tuple[str, list[str]]:
    target = draw(st.sampled_from(TARGETS))
    flags = flags_of(target)
    switches = switches_of(target)
    values = st.text(min_size=0, max_size=6)
    if plain:
        values = values.filter(lambda text: not text.startswith("-"))
    argv: list[str] = needed(target) if plain or draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 8))):
        flag = draw(st.sampled_from([f for f in flags if f != "--help-all"] if plain else flags))
        kind = draw(st.sampled_from(["space", "equals", "junk"]))
        if flag in switches:
            argv.append(flag if plain or kind != "equals" else f"{flag}={draw(values)}")
        elif kind == "equals":
            argv.append(f"{flag}={draw(values)}")
        elif kind == "junk" and not plain:
            argv.extend([flag, draw(_WORDS)])
        else:
            argv.extend([flag, draw(values)])
        if not plain and draw(st.booleans()):
            argv.append(draw(_WORDS | values))
    return target, argv


@settings(max_examples=300, deadline=None)
@given(command_lines(plain=False))
def test_when_quick_answers_argparse_answers_the_same(case: tuple[str, list[str]]) -> None:
    target, argv = case
    quick = by_quick(target, argv)
    if quick is not None:
        assert quick == by_argparse(target, argv)


@settings(max_examples=200, deadline=None)
@given(command_lines(plain=True))
def test_a_plain_command_line_is_read_by_quick(case: tuple[str, list[str]]) -> None:
    target, argv = case
    quick = by_quick(target, argv)
    assert quick is not None, argv
    assert quick == by_argparse(target, argv)
