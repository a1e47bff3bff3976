"""The command line's grammar on the mint path: the options of the three mint commands, written
once against ``Builder``, and ``Quick``, which reads a plain mint command line with them.

A cold ``qs-jwt qseow`` imports no argparse: ``Quick`` reads a command line made only of this
command's own options, each with its value (``--name VALUE`` or ``--name=VALUE``), into the
namespace argparse would make (``tests/cli/test_quick_parser.py`` holds the two to the same
result). Anything else (help, an unknown option, a missing value, a value that starts with
``-``) goes to argparse (``argparser``), which prints the help or the usage error. The other
commands' options (``grammar``), the whole tree for a usage error or ``help`` (``usage``) and
the help texts (``helptext``) are imported only when they are needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, Protocol

from qsjwt._version import __version__
from qsjwt.base.inputs import (
    BY_NAME,
    CA_BUNDLE,
    CHECK,
    INSECURE,
    JWT_TARGETS,
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
from qsjwt.cli.out import PROG

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
SUPPRESS = "==SUPPRESS=="
"""argparse's word for an option left out of the help (``argparse.SUPPRESS``, not imported)."""
HELP_ALL = "help-all"
"""The action of ``--help-all``, which ``argparser.Parser`` turns into its own."""
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


class Builder(Protocol):
    """What the grammar needs of a parser: ``argparser.Parser`` (argparse) and ``Quick``."""

    command: str | None

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any: ...  # noqa: ANN401

    def option(self, where: object, *names: str, **kwargs: Any) -> None: ...  # noqa: ANN401

    def set_defaults(self, **kwargs: Any) -> None: ...  # noqa: ANN401


def remember(option_of: dict[str, str], dest: str, flags: Sequence[str]) -> None:
    """How messages spell an option: its input name (``dest``) and each flag, to its flag."""
    for flag in flags:
        if dest != SUPPRESS:
            option_of.setdefault(dest.replace("_", "-"), flag)
        option_of[flag] = flag


class Quick:
    """A mint command's options, read without argparse from the one grammar (``mint_options``).

    It reads only what argparse reads the same way; ``read`` returns None for anything else,
    and argparse takes over with its help and messages."""

    def __init__(self, command: str) -> None:
        self.command: str | None = command
        self.option_of: dict[str, str] = {}
        self._actions: dict[str, tuple[str, str, object]] = {}
        self._defaults: dict[str, object] = {}
        self._required: set[str] = set()

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Quick:  # noqa: ANN401
        """Groups only shape the help: every option lands in this one reader."""
        return self

    def option(self, where: object, *names: str, **kwargs: Any) -> None:  # noqa: ANN401
        """One option as argparse would store it: its ``dest``, action, constant and default."""
        action = kwargs.get("action", "store")
        dest = kwargs.get("dest") or names[0].lstrip("-").replace("-", "_")
        if action == HELP_ALL:
            dest = SUPPRESS  # as argparse's: --help-all sets nothing, it prints and exits
        if action == "store_true":  # argparse's store_true: store_const True, default False
            action, kwargs = "store_const", {"const": True, "default": False, **kwargs}
        for flag in names:
            self._actions[flag] = (dest, action, kwargs.get("const"))
        if dest != SUPPRESS:
            self._defaults.setdefault(dest, kwargs.get("default"))
        if kwargs.get("required"):
            self._required.add(dest)
        remember(self.option_of, dest, names)

    def set_defaults(self, **kwargs: Any) -> None:  # noqa: ANN401
        """Values no option sets (the command, the target), as argparse's ``set_defaults``."""
        self._defaults.update(kwargs)

    def read(self, argv: Sequence[str]) -> SimpleNamespace | None:
        """The namespace of ``argv``, or None where argparse must read it."""
        values = dict(self._defaults)
        given: set[str] = set()
        words = iter(argv)
        for word in words:
            flag, equals, value = word.partition("=")
            if flag not in self._actions:
                return None
            dest, action, const = self._actions[flag]
            given.add(dest)
            if action == "store_const" and not equals:
                values[dest] = const
                continue
            if action not in ("store", "append"):
                return None
            if not equals:
                value = next(words, "-")  # none left: argparse's message
            if value.startswith("-"):
                return None  # argparse reads "-5", "--" and "--other" each its own way
            if action == "store":
                values[dest] = value
            else:
                listed = values[dest]
                values[dest] = [*listed, value] if isinstance(listed, list) else [value]
        if not self._required <= given:
            return None  # argparse's message names the missing option
        return SimpleNamespace(**values)


QUICK = (*CHECKABLE, "bulk")
"""The commands whose plain command lines ``Quick`` reads: the mints and ``bulk``."""


def quick_parse(command: str, argv: Sequence[str]) -> tuple[SimpleNamespace, dict[str, str]] | None:
    """A plain command line of a ``QUICK`` command read without argparse, with how its options
    are spelled; or None."""
    quick = Quick(command)
    if command == "bulk":
        quick.set_defaults(command=command)  # as grammar.command_parser does
        bulk_options(quick)
    else:
        mint_options(quick, Target(command), full=False)
    args = quick.read(argv)
    return None if args is None else (args, quick.option_of)


def bulk_options(bulk: Builder, full: bool = False) -> None:
    """The options of ``bulk``, for argparse or ``Quick``: a token per user row, the shared
    settings and the key as for one token (``full`` changes nothing: bulk signs with a key file)."""
    users = bulk.add_argument_group("users")
    bulk.option(users, "--target", required=True, metavar="{qseow,cloud}", help="the target")
    bulk.option(
        users,
        "--users-file",
        required=True,
        metavar="PATH",
        help="CSV with a header row, or JSON Lines; - for standard input. Per-user columns: "
        "qseow user-id, user-directory, name, email, groups, attributes; cloud subject, name, "
        "email, email-verified, groups (a list: one value per line in a cell, or a JSON array)",
    )
    bulk.option(
        users,
        "--users-format",
        metavar="{csv,jsonl}",
        help="default: jsonl when the first line opens a JSON object, else csv",
    )
    bulk.option(
        users,
        "--skip-bad-rows",
        action="store_true",
        help="skip a row that cannot be minted and count it (default: stop at the first)",
    )
    bulk.option(users, "--jobs", metavar="N", help="worker processes (default: one per core)")
    shared = bulk.add_argument_group(
        "shared token settings", "for every row, unless the row has its own value"
    )
    seen: set[str] = set()
    for target in JWT_TARGETS:
        for spec in inputs_for(target):
            if spec.name in seen or spec.name in (*KEY_SERVICE_INPUTS, *AT_QLIK, TENANT):
                continue
            seen.add(spec.name)
            setting_option(bulk, shared, spec, None)
    key = bulk.add_argument_group("key", "as for qseow and cloud; never a command-line value")
    bulk.option(
        key,
        "--private-key-file",
        metavar="PATH",
        help=f"PEM private key (env {ENV_PRIVATE_KEY_FILE}, or the text in {ENV_PRIVATE_KEY})",
    )
    bulk.option(key, "--passphrase-file", metavar="PATH", help=f"passphrase (env {ENV_PASSPHRASE})")
    certificate_option(bulk, key, "certificate configured in Qlik; checked to match the key")
    bulk.option(
        bulk,
        "--output",
        metavar="FILE",
        help="write the JSON Lines to FILE (mode 0600, atomically) instead of stdout",
    )


def certificate_option(parser: Builder, where: object, help_text: str) -> None:
    """``--certificate-file``, the certificate configured in Qlik, with its variables named."""
    parser.option(
        where,
        "--certificate-file",
        metavar="PATH",
        help=f"{help_text} (env {ENV_CERTIFICATE_FILE}, or the PEM text in {ENV_CERTIFICATE})",
    )


def setting_option(parser: Builder, where: object, spec: InputSpec, target: Target | None) -> None:
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


def key_service_options(parser: Builder, *, full: bool) -> None:
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
    parser.option(parser, "--help-all", action=HELP_ALL, help="show help with every option")
    for name in KEY_SERVICE_INPUTS:
        spec = BY_NAME[name]
        parser.option(
            group,
            spec.cli_flag,
            dest=name,
            metavar=spec.metavar,
            help=f"{spec.description} ({variables(spec)})"
            if full or name == KEY_SERVICE
            else SUPPRESS,
        )


def mint_options(parser: Builder, target: Target, *, full: bool) -> None:
    """The options of ``qseow``, ``cloud`` or ``oauth``, for argparse or ``Quick`` (``full``:
    every key service's options in the help)."""
    parser.set_defaults(command=target.value)
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
