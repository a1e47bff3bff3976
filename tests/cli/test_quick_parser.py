"""``cli.parser.Quick`` reads a mint command line without argparse: whenever it answers, its
answer is argparse's, from the same grammar (``mint_options``); whatever else it leaves to
argparse, which prints the help or the usage error."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsjwt.base.inputs import Target
from qsjwt.cli import parse
from qsjwt.cli.argparser import mint_parser
from qsjwt.cli.parser import Quick, mint_options, quick_parse

TARGETS = list(Target)


def declared(target: Target) -> Quick:
    quick = Quick(target.value)
    mint_options(quick, target, full=False)
    return quick


def flags_of(target: Target) -> list[str]:
    return sorted(flag for flag in declared(target).option_of if flag.startswith("--"))


def switches_of(target: Target) -> set[str]:
    parser = mint_parser(target, prog="qs-jwt")
    return {flag for act in parser._actions if act.nargs == 0 for flag in act.option_strings}


def by_argparse(target: Target, argv: list[str]) -> tuple[dict[str, object], dict[str, str]] | None:
    """argparse's namespace and spellings, or None where it prints help or a usage error."""
    parser = mint_parser(target, prog=f"qs-jwt {target.value}")
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        try:
            args, extras = parser.parse_command(argv)
        except SystemExit:
            return None
    return None if extras else (vars(args), parser.option_of)


def by_quick(target: Target, argv: list[str]) -> tuple[dict[str, object], dict[str, str]] | None:
    read = quick_parse(target, argv)
    return None if read is None else (vars(read[0]), read[1])


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_the_two_readers_declare_the_same_options_and_defaults(target: Target) -> None:
    assert by_quick(target, []) == by_argparse(target, [])
    assert by_quick(target, []) is not None


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_every_option_alone_reads_the_same(target: Target) -> None:
    switches = switches_of(target)
    for flag in flags_of(target):
        forms = [[flag]] if flag in switches else [[flag, "v a=l"], [f"{flag}=v a=l"], [flag, ""]]
        for argv in forms:
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
    assert quick_parse(Target.QSEOW, argv) is None


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
def command_lines(draw: st.DrawFn, plain: bool) -> tuple[Target, list[str]]:
    target = draw(st.sampled_from(TARGETS))
    flags = flags_of(target)
    switches = switches_of(target)
    values = st.text(min_size=0, max_size=6)
    if plain:
        values = values.filter(lambda text: not text.startswith("-"))
    argv: list[str] = []
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
def test_when_quick_answers_argparse_answers_the_same(case: tuple[Target, list[str]]) -> None:
    target, argv = case
    quick = by_quick(target, argv)
    if quick is not None:
        assert quick == by_argparse(target, argv)


@settings(max_examples=200, deadline=None)
@given(command_lines(plain=True))
def test_a_plain_command_line_is_read_by_quick(case: tuple[Target, list[str]]) -> None:
    target, argv = case
    quick = by_quick(target, argv)
    assert quick is not None, argv
    assert quick == by_argparse(target, argv)
