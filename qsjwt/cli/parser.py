"""The command line's grammar on the mint path: the parser class, whose usage errors never
repeat what was typed (it may be a key or passphrase given in the wrong place), and the options
of the three mint commands.

A cold ``qs-jwt qseow`` builds only its own parser from here. The other commands' options
(``grammar``), the whole tree for a usage error or ``help`` (``usage``) and the help texts
(``helptext``) are imported only when they are needed.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, Protocol, cast

from qsjwt._version import __version__
from qsjwt.base.inputs import (
    BY_NAME,
    CA_BUNDLE,
    CHECK,
    INSECURE,
    KEY_SERVICE,
    KEY_SERVICE_INPUTS,
    RECORD_INPUTS,
    TENANT,
    TIMEOUT,
    VIRTUAL_PROXY_URL,
    InputSpec,
    Target,
    default_for,
    inputs_for,
)
from qsjwt.cli.gather import (
    ACCESS_DOTENV_DEFAULT,
    CREDENTIAL_VARIABLES,
    DOTENV_DEFAULT,
    ECOSYSTEM,
    ENV_CERTIFICATE,
    ENV_CERTIFICATE_FILE,
    ENV_PASSPHRASE,
    ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
)
from qsjwt.cli.out import PROG, note

COMMANDS = (
    "qseow",
    "cloud",
    "oauth",
    "jwk",
    "call",
    "check",
    "decode",
    "verify",
    "lint",
    "keygen",
    "bulk",
)
"""Every command, in the order help lists them (``helptext.SUMMARIES`` has their words)."""
CHECKABLE = tuple(target.value for target in Target)
VERSION_FLAGS = ("-V", "--version")
COMMIT_FILE = "COMMIT"
"""Beside the package's modules: the commit of a build from a checkout (scripts/set_version.py)."""
_EXPLICIT = re.compile(r"ignored explicit argument .*", re.DOTALL)
AT_QLIK = (CHECK, VIRTUAL_PROXY_URL, TIMEOUT, CA_BUNDLE, INSECURE, *RECORD_INPUTS)
"""The settings of a mint that only matter when Qlik is called (``--check``)."""


def version_line() -> str:
    """``qs-jwt VERSION``, and the commit a build from a checkout was made from (written into
    ``qsjwt/COMMIT`` when it was installed: nothing runs git here)."""
    from pathlib import Path  # noqa: PLC0415 (only for --version)

    try:
        commit = (Path(__file__).parent.parent / COMMIT_FILE).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        commit = ""
    shown = commit if commit.isalnum() and len(commit) <= 40 else ""
    return f"{PROG} {__version__}" + (f" (commit {shown})" if shown else "")


class Options(Protocol):
    """What argparse's parsers and argument groups share: adding an option."""

    def add_argument(self, *names: str, **kwargs: Any) -> argparse.Action: ...  # noqa: ANN401


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

    def option(self, where: Options, *names: str, **kwargs: Any) -> None:  # noqa: ANN401
        """``where.add_argument``, remembering the option strings it declared."""
        action = where.add_argument(*names, **kwargs)
        for flag in action.option_strings:
            self.option_of.setdefault(action.dest.replace("_", "-"), flag)
        self.option_of.update({flag: flag for flag in action.option_strings})


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
    parser.set_defaults(command=target.value)
    _mint_command(parser, target, full=full)
    parser.built()
    return parser


def certificate_option(parser: Parser, where: Options, help_text: str) -> None:
    """``--certificate-file``, the certificate configured in Qlik, with its variables named."""
    parser.option(
        where,
        "--certificate-file",
        metavar="PATH",
        help=f"{help_text} (env {ENV_CERTIFICATE_FILE}, or the PEM text in {ENV_CERTIFICATE})",
    )


def setting_option(parser: Parser, where: Options, spec: InputSpec, target: Target | None) -> None:
    """One input of the table as a flag, with its default and its variable in the help."""
    default = default_for(spec, target) if target is not None else spec.default
    extra = f" [default {default}]" if default and not spec.switch else ""
    how: dict[str, Any] = (
        {"action": "store_const", "const": "true"}
        if spec.switch
        else {"metavar": spec.metavar, "action": "append" if spec.is_list else "store"}
    )
    parser.option(
        where,
        spec.cli_flag,
        dest=spec.name,
        help=f"{spec.description}{extra} ({variables(spec)})",
        **how,
    )


def variables(spec: InputSpec) -> str:
    """``env QSJWT_X``, and the other tools' variables read after it (``else VAULT_ADDR``)."""
    others = ECOSYSTEM.get(spec.name, ())
    return f"env {spec.env_var}" + (f", else {' or '.join(others)}" if others else "")


def key_service_options(parser: Parser, *, full: bool) -> None:
    """``--key-service`` and its back ends' options in one group; the back ends' own options
    are listed by ``--help-all`` only, and their credentials come from variables alone."""
    more = "" if full else f"\n{PROG} {parser.command} --help-all lists each service's options."
    group = parser.add_argument_group(
        "key service",
        "a key held by a key service instead of a private key (docs/keyless-*.md);\n"
        "its credentials come from variables only, never flags:\n  "
        + "\n  ".join(CREDENTIAL_VARIABLES)
        + more,
    )
    parser.option(parser, "--help-all", action=_HelpAll, help="show help with every option")
    for name in KEY_SERVICE_INPUTS:
        spec = BY_NAME[name]
        parser.option(
            group,
            spec.cli_flag,
            dest=name,
            metavar=spec.metavar,
            help=f"{spec.description} ({variables(spec)})"
            if full or name == KEY_SERVICE
            else argparse.SUPPRESS,
        )


def _mint_command(parser: Parser, target: Target, *, full: bool) -> None:
    claims = parser.add_argument_group(
        "token settings", "each can also come from the QSJWT_* variable shown; a flag wins"
    )
    at_qlik = (
        parser.add_argument_group("Qlik connection", "for the exchange, and for --check")
        if target is Target.OAUTH
        else parser.add_argument_group("check at Qlik", "prove the token at Qlik after minting it")
    )
    where_at_qlik = AT_QLIK + ((TENANT,) if target is Target.CLOUD else ())
    specs = [s for s in inputs_for(target) if s.name not in KEY_SERVICE_INPUTS]
    for spec in sorted(specs, key=lambda spec: target not in spec.required):
        setting_option(parser, at_qlik if spec.name in where_at_qlik else claims, spec, target)
    key = parser.add_argument_group(
        "key", "the private key is never a command-line value: it would show in ps and history"
    )
    parser.option(
        key,
        "--private-key-file",
        metavar="PATH",
        help=f"PEM private key (PKCS#1 or PKCS#8) (env {ENV_PRIVATE_KEY_FILE}, or the key "
        f"text itself in {ENV_PRIVATE_KEY}: PEM, \\n-escaped PEM or base64)",
    )
    parser.option(
        key,
        "--passphrase-file",
        metavar="PATH",
        help=f"passphrase of an encrypted key (env {ENV_PASSPHRASE} holds the passphrase)",
    )
    if target is Target.OAUTH:
        made = "the access token (the assertion with --assertion-only)"
        json_help = (
            "token (default) or json: {access_token, token_type, expires_at, expires_in, "
            "scope}; with --assertion-only {token, header, claims, expires_at}"
        )
        variable = f"{ACCESS_DOTENV_DEFAULT}, or {DOTENV_DEFAULT} for an assertion"
    else:
        certificate_option(
            parser, key, "certificate configured in Qlik; checked to match the key before signing"
        )
        made = "the token"
        json_help = "token (default) or json: {token, header, claims, expires_at}"
        variable = DOTENV_DEFAULT
    key_service_options(parser, full=full)
    out = parser.add_argument_group("output", f"by default {made} alone goes to stdout")
    parser.option(out, "--format", metavar="{token,json}", default="token", help=json_help)
    parser.option(
        out,
        "--output",
        metavar="FILE",
        help="write to FILE (mode 0600, atomically) instead of stdout; - (or /dev/stdout) is "
        "stdout. An existing FILE is replaced; it must be a regular file, not an input file, "
        "and no part of the path may be a symbolic link",
    )
    parser.option(
        out,
        "--dotenv",
        metavar="FILE",
        help="also write NAME=TOKEN to FILE (0600), e.g. for GitLab "
        "artifacts:reports:dotenv; nothing goes to stdout. In an existing FILE only the "
        "NAME= line is replaced (or added): its other lines are kept as they are",
    )
    parser.option(
        out,
        "--dotenv-variable",
        metavar="NAME",
        help=f"variable name in the dotenv file (default {variable}); needs --dotenv",
    )
    parser.set_defaults(target=target)
