"""The ``qs-jwt`` command line: read flags and ``QSJWT_*`` variables, call the core, print.

Exit codes: 0 success; 2 bad input or usage; 1 any other failure (an invalid token for
``verify``, a broken error-level rule for ``lint``, an output that cannot be written);
128 + N a signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP) that stopped a write cleanly.

Whatever the user typed may be a secret typed in the wrong place, so no message repeats a
value: it names a known option, or a path that exists, and otherwise describes what it got.
Every printed line starts with ``qs-jwt:`` and has its control characters escaped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from qsjwt import __version__
from qsjwt.claims import new_jti
from qsjwt.display import escape_controls, json_document, path_for_message
from qsjwt.errors import InputError, QsjwtError
from qsjwt.files import Interrupted, PlannedFile, check_writable, write_all
from qsjwt.findings import Finding, Severity
from qsjwt.formats import ENV_NAME, is_reserved_env_name, iso_utc
from qsjwt.inputs import (
    CERTIFICATE,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
    Target,
    default_lifetime,
    inputs_for,
)
from qsjwt.keys import (
    certificate_pem,
    generate_key,
    load_verifying_key,
    one_line_pem,
    private_pem,
    public_pem,
    self_signed_certificate,
)
from qsjwt.lint import MILLISECONDS, lint_token
from qsjwt.mint import Minted, mint_from_text
from qsjwt.settings import parse_settings
from qsjwt.sign import decode_unverified, verify_token
from qsjwt.sources import (
    KEY_LIMIT,
    PASSPHRASE_LIMIT,
    TOKEN_LIMIT,
    check_length,
    read_bounded,
)

PROG = "qs-jwt"
ENV_PRIVATE_KEY = "QSJWT_PRIVATE_KEY"
ENV_PRIVATE_KEY_FILE = "QSJWT_PRIVATE_KEY_FILE"
ENV_PASSPHRASE = "QSJWT_PRIVATE_KEY_PASSPHRASE"  # noqa: S105 (a variable name)
ENV_CERTIFICATE = "QSJWT_CERTIFICATE"
ENV_CERTIFICATE_FILE = "QSJWT_CERTIFICATE_FILE"
DOTENV_DEFAULT = "QLIK_JWT"
STDOUT = "-"
"""``--output -``: the token goes to standard output, as without ``--output``."""

# Options people reach for that are never accepted: a key or passphrase on a command line
# shows in `ps` and in shell history.
_FORBIDDEN = ("--private-key", "--passphrase", "--private-key-passphrase", "--key", "--password")

EXAMPLES = {
    "qseow": f"""example:
  {PROG} qseow --user-id svc_ci --user-directory CORP --group Deployers \\
      --audience qlik --private-key-file key.pem --output token.txt
  printf 'Authorization: Bearer %s\\n' "$(cat token.txt)" > auth.header   # off the command line
  curl -H @auth.header -H "X-Qlik-Xrfkey: 0123456789abcdef" \\
      "https://qlik.example.com/jwt/qrs/about?Xrfkey=0123456789abcdef"
""",
    "cloud": f"""example:
  export QSJWT_PRIVATE_KEY_FILE=key.pem
  {PROG} cloud --issuer my-idp.example.com --key-id my-key-2026 \\
      --subject svc_ci --name "CI Service" --email ci@example.com --output token.txt
  printf 'Authorization: Bearer %s\\n' "$(cat token.txt)" > auth.header   # off the command line
  curl -X POST -H @auth.header -c cookies.txt https://tenant.eu.qlikcloud.com/login/jwt-session
""",
    "decode": f"""example:
  {PROG} decode - < token.txt
""",
    "verify": f"""example:
  {PROG} verify - --certificate-file certificate.pem < token.txt
""",
    "lint": f"""example:
  {PROG} lint - --target cloud < token.txt
""",
    "keygen": f"""example:
  {PROG} keygen --out-dir ./qlik-jwt-key
  # paste certificate.pem into the virtual proxy's "JWT certificate" field (QSEoW)
  # or the identity provider's "Certificate" field (Qlik Cloud); keep private-key.pem secret
""",
}

EXIT_CODES = """exit codes:
  0  success
  1  failure: a token that cannot be decoded or is invalid (decode, verify, lint),
     a broken rule (lint), an output that cannot be written, an internal error
  2  bad input or usage: the message names the option or variable to fix
  130  interrupted: SIGINT (143 for SIGTERM, 129 for SIGHUP); during a write no temporary
     file is left, and each file keeps its old content (or, if the signal came during the
     final renames, holds its new one)
"""

FORMATS = ("token", "json")
KEY_TYPES = ("rsa", "ec")
RSA_BITS = ("2048", "3072", "4096")


def _say(out: TextIO, text: str) -> None:
    """One line of ours: prefixed, control characters escaped, so it cannot forge another."""
    out.write(f"{PROG}: {escape_controls(text)}\n")


class _Parser(argparse.ArgumentParser):
    """One clear line on stderr and exit 2, instead of argparse's usage dump.

    The options take plain strings (no ``type`` or ``choices``), so argparse's own messages
    only ever name options; values are checked by the commands, which never repeat them.
    Abbreviations are off, so ``--private-key`` is an unknown option, not a prefix of
    ``--private-key-file``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 (argparse's own)
        super().__init__(*args, **kwargs)
        self.known_flags: set[str] = {"-h", "--help"}

    def error(self, message: str) -> NoReturn:
        _say(sys.stderr, f"error: {message} (see {self.prog} --help)")
        raise SystemExit(2)

    def option(self, container: _Container, *names: str, **kwargs: Any) -> None:  # noqa: ANN401
        """``container.add_argument``, remembering the option strings it declared."""
        self.known_flags.update(container.add_argument(*names, **kwargs).option_strings)


if TYPE_CHECKING:
    _Commands = argparse._SubParsersAction[_Parser]
    _Container = argparse._ActionsContainer


@dataclass
class _Spelling:
    """How the user spelled each input (a flag or a variable), for messages.

    Filled only by the functions that read flags and variables (``_gather_*``), read only by
    the error report.
    """

    names: dict[str, str] = field(default_factory=dict)


Handler = Callable[[argparse.Namespace, Mapping[str, str], _Spelling], int]


@dataclass(frozen=True)
class _Cli:
    parser: argparse.ArgumentParser
    flags: dict[str, frozenset[str]]
    """every command's option strings, to name only options that exist"""


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run one command; returns the exit code. Never raises, never prints a traceback."""
    _tolerant_streams()
    try:
        code = _run(list(sys.argv[1:] if argv is None else argv), env)
    except SystemExit as done:  # argparse: --help, --version, a usage error
        code = done.code if isinstance(done.code, int) else 2
    return _flushed(code)


def _tolerant_streams() -> None:
    """An encoding that cannot show a character escapes it instead of failing the run."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _flushed(code: int) -> int:
    """Flush stdout now, so a closed pipe or a full disk is exit 1, not Python's exit 120."""
    if sys.stdout is None:
        return code
    try:
        sys.stdout.flush()
    except OSError as err:
        _silence_stdout()
        _stderr_line(f"error: output failed ({err.strerror or type(err).__name__})")
        return 1
    return code


def _silence_stdout() -> None:
    """What is left in stdout's buffer goes nowhere, so the interpreter's exit is quiet."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        sys.stdout = None


def _stderr_line(text: str) -> None:
    if sys.stderr is None:
        return
    try:
        _say(sys.stderr, text)
        sys.stderr.flush()
    except OSError:
        pass


def _run(argv: list[str], env: Mapping[str, str] | None) -> int:
    environ = os.environ if env is None else env
    cli = _build_parser()
    _check_command(cli, argv)
    args, extras = cli.parser.parse_known_args(argv)
    if args.command is None:
        if sys.stderr is not None:
            cli.parser.print_help(sys.stderr)
        return 2
    if extras:
        cli.parser.error(_unrecognized(extras, args.command, cli.flags))
    handler: Handler = args.handler
    spelling = _Spelling()
    try:
        return handler(args, environ, spelling)
    except QsjwtError as err:
        _stderr_line(f"error: {err.render(spelling.names)}")
        return err.exit_code
    except KeyboardInterrupt:
        _stderr_line("interrupted")
        return 130
    except OSError as err:  # stdout closed or full: the result did not reach its reader
        if isinstance(err, BrokenPipeError):
            _silence_stdout()
        _stderr_line(f"error: output failed ({err.strerror or type(err).__name__})")
        return 1
    except Exception as err:  # an unexpected bug: no traceback, which could carry secrets
        _stderr_line(
            f"internal error ({type(err).__name__}). Please report it at the project's issue "
            "tracker."
        )
        return 1


_TOP_LEVEL_FLAGS = ("-h", "--help", "--version")


def _check_command(cli: _Cli, argv: list[str]) -> None:
    """Refuse anything but a command first, without repeating it: it may be a key pasted too
    early (a PEM text starts with ``-`` and holds spaces, so argparse would take it for the
    command and echo it)."""
    if not argv or argv[0] in cli.flags or argv[0] in _TOP_LEVEL_FLAGS:
        return
    commands = ", ".join(cli.flags)
    option = argv[0].split("=", 1)[0]
    if any(option in known for known in cli.flags.values()):
        cli.parser.error(f"{option} goes after the command: {PROG} COMMAND [options] ({commands})")
    close = difflib.get_close_matches(argv[0], list(cli.flags), n=1)
    guess = f"; did you mean {close[0]}?" if close else ""
    cli.parser.error(
        f"argument COMMAND: invalid choice: a value of {len(argv[0])} characters (not shown)"
        f"{guess} (choose from {commands})"
    )


def _unrecognized(extras: Sequence[str], command: str, flags: dict[str, frozenset[str]]) -> str:
    """Name an unknown argument only when it is a known option of some command.

    Anything else (``-pS3cret``, a key, a passphrase after an unknown option) is counted,
    never shown.
    """
    named: list[str] = []
    notes: list[str] = []
    hidden = 0
    for extra in extras:
        option = extra.split("=", 1)[0]
        owners = [name for name, known in flags.items() if option in known]
        if not owners and option.startswith("--"):
            # a known option close to a misspelt one: names only what exists, never the value
            close = difflib.get_close_matches(option, sorted(flags[command]), n=1, cutoff=0.8)
            notes.extend(f"did you mean {known}?" for known in close)
        if option in _FORBIDDEN:
            named.append(option)
            notes.append(
                "the key and its passphrase are never command-line values: use "
                f"--private-key-file / --passphrase-file or {ENV_PRIVATE_KEY} / {ENV_PASSPHRASE}"
            )
        elif owners and command not in owners:
            named.append(option)
            notes.append(f"{option} belongs to {PROG} {' / '.join(owners)}, not {command}")
        elif owners:
            named.append(option)
        else:
            hidden += 1
    text = "unrecognized arguments: " + ", ".join(dict.fromkeys(named))
    if hidden:
        text += (" and " if named else "") + f"{hidden} other value(s) (not shown)"
    for note in dict.fromkeys(notes):
        text += f"; {note}"
    return text


# --- parser -------------------------------------------------------------------------------


def _build_parser() -> _Cli:
    parser = _Parser(
        prog=PROG,
        description="Mint, inspect and check JSON Web Tokens for Qlik Sense: client-managed "
        "QSEoW virtual proxies (qseow) and Qlik Cloud JWT identity providers (cloud).",
        epilog=EXIT_CODES + "\nRun 'qs-jwt COMMAND --help' for each command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands = [
        _add_mint_command(sub, Target.QSEOW, "mint a token for a QSEoW virtual proxy (JWT)"),
        _add_mint_command(sub, Target.CLOUD, "mint a token for a Qlik Cloud JWT identity provider"),
    ]

    decode = _command(sub, "decode", "show a token's header and claims, NOT verified")
    _token_argument(decode)
    decode.set_defaults(handler=_decode)
    commands.append(decode)

    verify = _command(sub, "verify", "check a token's signature, expiry and audience")
    _token_argument(verify)
    source = verify.add_mutually_exclusive_group()
    verify.option(
        source,
        "--certificate-file",
        metavar="PATH",
        help=f"X.509 certificate (PEM) (env {ENV_CERTIFICATE_FILE}, or the PEM text in "
        f"{ENV_CERTIFICATE})",
    )
    verify.option(source, "--public-key-file", metavar="PATH", help="public key (PEM)")
    verify.option(verify, "--audience", metavar="AUD", help="require this aud claim")
    verify.set_defaults(handler=_verify)
    commands.append(verify)

    lint = _command(sub, "lint", "list every Qlik rule a token breaks (exit 1 on any error)")
    _token_argument(lint)
    lint.option(lint, "--target", required=True, metavar="{qseow,cloud}", help="the target")
    lint.option(lint, "--user-id-claim", metavar="CLAIM", help="QSEoW (default userId)")
    lint.option(
        lint, "--user-directory-claim", metavar="CLAIM", help="QSEoW (default userDirectory)"
    )
    lint.set_defaults(handler=_lint)
    commands.append(lint)

    keygen = _command(sub, "keygen", "create a key pair and a self-signed certificate for Qlik")
    keygen.option(keygen, "--out-dir", required=True, metavar="DIR")
    keygen.option(
        keygen,
        "--key-type",
        metavar="{rsa,ec}",
        default="rsa",
        help="rsa (default; the only type QSEoW accepts) or ec (P-256, ES256)",
    )
    keygen.option(
        keygen,
        "--bits",
        metavar="{2048,3072,4096}",
        default="3072",
        help="RSA key size (default 3072)",
    )
    keygen.option(
        keygen,
        "--days",
        metavar="N",
        default="365",
        help="certificate validity in days (default 365)",
    )
    keygen.option(
        keygen,
        "--common-name",
        metavar="CN",
        default="qs-jwt",
        help="certificate subject CN (default qs-jwt)",
    )
    keygen.option(keygen, "--force", action="store_true", help="replace existing files")
    keygen.set_defaults(handler=_keygen)
    commands.append(keygen)
    flags = {command.prog.split()[-1]: frozenset(command.known_flags) for command in commands}
    return _Cli(parser, flags)


def _command(sub: _Commands, name: str, summary: str) -> _Parser:
    parser: _Parser = sub.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=EXAMPLES[name] + "\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    return parser


def _token_argument(parser: _Parser) -> None:
    parser.option(
        parser,
        "token",
        nargs="?",
        default="-",
        metavar="TOKEN",
        help="the token, or - (default) to read it from standard input; prefer - so the token "
        "stays out of shell history and the process list",
    )


def _add_mint_command(sub: _Commands, target: Target, summary: str) -> _Parser:
    parser = _command(sub, target.value, summary)
    claims = parser.add_argument_group(
        "token settings", "each can also come from the QSJWT_* variable shown; a flag wins"
    )
    for spec in inputs_for(target):
        default = spec.default if spec.name != "expires-in" else default_lifetime(target)
        extra = f" [default {default}]" if default else ""
        parser.option(
            claims,
            spec.cli_flag,
            dest=spec.name,
            metavar=spec.metavar,
            action="append" if spec.is_list else "store",
            help=f"{spec.description}{extra} (env {spec.env_var})",
        )
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
    parser.option(
        key,
        "--certificate-file",
        metavar="PATH",
        help="certificate configured in Qlik; checked to match the key before signing "
        f"(env {ENV_CERTIFICATE_FILE}, or the PEM text in {ENV_CERTIFICATE})",
    )
    out = parser.add_argument_group("output", "by default the token alone goes to stdout")
    parser.option(
        out,
        "--format",
        metavar="{token,json}",
        default="token",
        help="token (default) or json: {token, header, claims, expires_at}",
    )
    parser.option(
        out,
        "--output",
        metavar="FILE",
        help="write to FILE (mode 0600, atomically) instead of stdout; - is stdout. An "
        "existing FILE is replaced; it must be a regular file, not an input file, and no "
        "part of the path may be a symbolic link",
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
        help=f"variable name in the dotenv file (default {DOTENV_DEFAULT}); needs --dotenv",
    )
    parser.set_defaults(handler=_mint, target=target)
    return parser


def _choice(value: str, allowed: Sequence[str], input_name: str) -> str:
    """A value from a fixed list, or an error that lists the list (never the value)."""
    if value in allowed:
        return value
    raise InputError(f"must be one of {', '.join(allowed)}", input_name=input_name)


# --- mint ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _KeyMaterial:
    private_key: str | bytes
    passphrase: str | bytes | None
    certificate: str | bytes | None


def _mint(args: argparse.Namespace, env: Mapping[str, str], spelling: _Spelling) -> int:
    target: Target = args.target
    values = _gather_settings(args, env, target, spelling)
    output_format = _choice(args.format, FORMATS, "format")
    outputs = _planned_outputs(args, env)
    if not outputs and sys.stdout is None:
        raise QsjwtError("standard output is closed; no token was made", hint="use --output FILE")
    settings = parse_settings(target, values)
    _print_findings(settings.warnings, spelling, sys.stderr)
    material = _gather_key_material(args, env, spelling)
    minted = mint_from_text(
        settings,
        private_key=material.private_key,
        passphrase=material.passphrase,
        certificate=material.certificate,
        now=dt.datetime.now(dt.UTC),
        jti=new_jti(),
    )
    key_findings = [f for f in minted.warnings if f not in settings.warnings]
    _print_findings(key_findings, spelling, sys.stderr)
    rendered = _render(minted, output_format)
    if not outputs:
        sys.stdout.write(rendered + "\n")
        return 0
    variable = args.dotenv_variable or DOTENV_DEFAULT
    files = [
        replace(p, content=f"{variable}={minted.token}\n".encode())
        if p.replaces_lines
        else replace(p, content=(rendered + "\n").encode())
        for p in outputs
    ]
    try:
        write_all(files)
    except Interrupted as stop:
        return _interrupted(stop)
    for planned in files:
        _say(sys.stderr, f"wrote {path_for_message(planned.path)} (mode 0600)")
    _say(sys.stderr, f"token expires at {iso_utc(minted.expires_at)}")
    return 0


def _interrupted(stop: Interrupted) -> int:
    """A signal during a write: one line, and the exit code a shell expects (128 + N)."""
    done = "every file was written" if stop.written else "no file was written or changed"
    _say(sys.stderr, f"interrupted by {stop.signal_name}; {done}")
    return stop.exit_code


def _gather_settings(
    args: argparse.Namespace, env: Mapping[str, str], target: Target, spelling: _Spelling
) -> dict[str, str | list[str]]:
    """Each setting from its flag, else its variable; records how each was spelled."""
    values: dict[str, str | list[str]] = {}
    for spec in inputs_for(target):
        flag_value = getattr(args, spec.name)
        if flag_value is not None:
            values[spec.name] = flag_value
            spelling.names[spec.name] = spec.cli_flag
        elif env.get(spec.env_var):
            values[spec.name] = env[spec.env_var]
            spelling.names[spec.name] = spec.env_var
        else:
            spelling.names[spec.name] = f"{spec.cli_flag} (or {spec.env_var})"
    spelling.names.update(
        {
            "format": "--format",
            "output": "--output",
            "dotenv": "--dotenv",
            "dotenv-variable": "--dotenv-variable",
        }
    )
    return values


def _planned_outputs(args: argparse.Namespace, env: Mapping[str, str]) -> list[PlannedFile]:
    """The output files, each checked before the token is made: never over an input file."""
    planned = []
    if args.output is not None and args.output != STDOUT:
        planned.append(PlannedFile(Path(args.output), b"", "output"))
    if args.dotenv_variable is not None and args.dotenv is None:
        raise InputError("only applies with --dotenv FILE", input_name="dotenv-variable")
    if args.dotenv is not None:
        variable = args.dotenv_variable or DOTENV_DEFAULT
        if not ENV_NAME.fullmatch(variable):
            raise InputError(
                "is not a variable name",
                input_name="dotenv-variable",
                hint="use letters, digits and _, not starting with a digit",
            )
        if is_reserved_env_name(variable):
            raise InputError(
                "names a variable that changes how later jobs run (PATH, LD_*, CI_*, ...)",
                input_name="dotenv-variable",
                hint=f"use a name of your own, e.g. {DOTENV_DEFAULT}",
            )
        if args.dotenv == STDOUT:
            raise InputError("must be a file, not standard output", input_name="dotenv")
        planned.append(
            PlannedFile(Path(args.dotenv), b"", "dotenv", replaces_lines=f"{variable}=".encode())
        )
    inputs = (
        ("--private-key-file", args.private_key_file),
        ("--passphrase-file", args.passphrase_file),
        ("--certificate-file", args.certificate_file),
        (ENV_PRIVATE_KEY_FILE, env.get(ENV_PRIVATE_KEY_FILE)),
        (ENV_CERTIFICATE_FILE, env.get(ENV_CERTIFICATE_FILE)),
    )
    reads = [(spelled, path) for spelled, path in inputs if path]
    for index, file in enumerate(planned):
        earlier = [(f"--{p.input_name}", os.fspath(p.path)) for p in planned[:index]]
        check_writable(file, reads=reads + earlier)
    return planned


def _render(minted: Minted, output_format: str) -> str:
    if output_format == "token":
        return minted.token
    document = {
        "token": minted.token,
        "header": minted.header,
        "claims": minted.claims,
        "expires_at": iso_utc(minted.expires_at),
    }
    return json_document(document)


def _gather_key_material(
    args: argparse.Namespace, env: Mapping[str, str], spelling: _Spelling
) -> _KeyMaterial:
    """The key, its passphrase and the certificate, from files or variables, each bounded."""
    names = spelling.names
    if args.private_key_file:
        key_file, names[PRIVATE_KEY] = args.private_key_file, "--private-key-file"
    elif env.get(ENV_PRIVATE_KEY) and env.get(ENV_PRIVATE_KEY_FILE):
        raise InputError(
            f"both {ENV_PRIVATE_KEY} and {ENV_PRIVATE_KEY_FILE} are set",
            input_name=PRIVATE_KEY,
            hint="keep one key source",
        )
    elif env.get(ENV_PRIVATE_KEY_FILE):
        key_file, names[PRIVATE_KEY] = env[ENV_PRIVATE_KEY_FILE], ENV_PRIVATE_KEY_FILE
    elif env.get(ENV_PRIVATE_KEY):
        key_file, names[PRIVATE_KEY] = None, ENV_PRIVATE_KEY
    else:
        raise InputError(
            f"no private key: give --private-key-file PATH, or set {ENV_PRIVATE_KEY_FILE} "
            f"(a path) or {ENV_PRIVATE_KEY} (the key text)",
            input_name=None,
        )
    private_key = _text_or_file(
        key_file, env.get(ENV_PRIVATE_KEY, ""), PRIVATE_KEY, KEY_LIMIT, ENV_PRIVATE_KEY
    )
    passphrase: str | bytes | None = None
    if args.passphrase_file:
        names[PRIVATE_KEY_PASSPHRASE] = "--passphrase-file"
        raw = read_bounded(
            args.passphrase_file,
            PASSPHRASE_LIMIT,
            input_name=PRIVATE_KEY_PASSPHRASE,
            secret_hint=ENV_PASSPHRASE,
        )
        passphrase = raw.rstrip(b"\r\n")
    elif env.get(ENV_PASSPHRASE):
        names[PRIVATE_KEY_PASSPHRASE] = ENV_PASSPHRASE
        check_length(env[ENV_PASSPHRASE], PASSPHRASE_LIMIT, input_name=PRIVATE_KEY_PASSPHRASE)
        passphrase = env[ENV_PASSPHRASE].strip("\r\n")  # a pasted line break is never meant
    else:
        names[PRIVATE_KEY_PASSPHRASE] = f"--passphrase-file (or {ENV_PASSPHRASE})"
    certificate = _gather_certificate(args.certificate_file, env, spelling)
    return _KeyMaterial(private_key, passphrase, certificate)


def _gather_certificate(
    flag_path: str | None, env: Mapping[str, str], spelling: _Spelling
) -> bytes | str | None:
    """The certificate from ``--certificate-file``, else its variables; None if none given."""
    if flag_path:
        spelling.names[CERTIFICATE] = "--certificate-file"
        path: str | None = flag_path
    elif env.get(ENV_CERTIFICATE_FILE):
        spelling.names[CERTIFICATE] = ENV_CERTIFICATE_FILE
        path = env[ENV_CERTIFICATE_FILE]
    elif env.get(ENV_CERTIFICATE):
        spelling.names[CERTIFICATE] = ENV_CERTIFICATE
        path = None
    else:
        return None
    return _text_or_file(
        path, env.get(ENV_CERTIFICATE, ""), CERTIFICATE, KEY_LIMIT, ENV_CERTIFICATE
    )


def _text_or_file(
    path: str | None,
    text: str,
    input_name: str,
    limit: int,
    text_variable: str,
) -> str | bytes:
    """The file at ``path`` when one is given, else the variable's text; both bounded."""
    if path is not None:
        return read_bounded(path, limit, input_name=input_name, secret_hint=text_variable)
    check_length(text, limit, input_name=input_name)
    return text


def _print_findings(findings: Sequence[Finding], spelling: _Spelling, out: TextIO) -> None:
    for finding in findings:
        _say(out, f"{finding.severity.value}: {finding.render(spelling.names)}")


# --- decode, verify, lint -----------------------------------------------------------------


def _read_token(args: argparse.Namespace, spelling: _Spelling) -> str:
    if args.token != STDOUT:
        check_length(args.token, TOKEN_LIMIT, input_name="token")
        return str(args.token)
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError(
            "no token: pass it on standard input (qs-jwt ... - < token.txt) or as an argument",
            input_name="token",
        )
    data = sys.stdin.buffer.read(TOKEN_LIMIT + 1)
    check_length(data, TOKEN_LIMIT, input_name="token")
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InputError("standard input is not UTF-8 text", input_name="token") from None
    if not text:
        raise InputError("standard input was empty", input_name="token")
    return text


def _stdout(text: str) -> None:
    if sys.stdout is None:
        raise QsjwtError("standard output is closed")
    sys.stdout.write(text)


def _decode(args: argparse.Namespace, env: Mapping[str, str], spelling: _Spelling) -> int:
    header, claims = decode_unverified(_read_token(args, spelling))
    _say(sys.stderr, "NOT verified: the signature was not checked (use verify)")
    document = {"verified": False, "header": header, "claims": claims, "times": _times(claims)}
    _stdout(json_document(document) + "\n")
    return 0


def _verify(args: argparse.Namespace, env: Mapping[str, str], spelling: _Spelling) -> int:
    token = _read_token(args, spelling)
    if args.public_key_file:
        spelling.names[CERTIFICATE] = "--public-key-file"
        key_text: str | bytes | None = read_bounded(
            args.public_key_file, KEY_LIMIT, input_name=CERTIFICATE, secret_hint=None
        )
    else:
        key_text = _gather_certificate(args.certificate_file, env, spelling)
    if key_text is None:
        raise InputError(
            "give --certificate-file PATH or --public-key-file PATH (or set "
            f"{ENV_CERTIFICATE_FILE} / {ENV_CERTIFICATE})",
            input_name=None,
        )
    key = load_verifying_key(key_text, input_name=CERTIFICATE)
    header, claims = verify_token(token, key, audience=args.audience)
    document = {"verified": True, "header": header, "claims": claims, "times": _times(claims)}
    _stdout(json_document(document) + "\n")
    _say(
        sys.stderr,
        f"valid: signature ({header.get('alg')}), expiry and not-before"
        + (" and audience" if args.audience else "")
        + " checked",
    )
    return 0


def _lint(args: argparse.Namespace, env: Mapping[str, str], spelling: _Spelling) -> int:
    spelling.names["target"] = "--target"
    target = Target(_choice(args.target, [t.value for t in Target], "target"))
    header, claims = decode_unverified(_read_token(args, spelling))
    findings = lint_token(
        header,
        claims,
        target,
        now=dt.datetime.now(dt.UTC),
        user_id_claim=args.user_id_claim,
        user_directory_claim=args.user_directory_claim,
    )
    if sys.stdout is None:
        raise QsjwtError("standard output is closed")
    claim_flags = {name: "--" + name for name in ("user-id-claim", "user-directory-claim")}
    _print_findings(findings, _Spelling(claim_flags), sys.stdout)
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = len(findings) - errors
    _stdout(f"{errors} error(s), {warnings} warning(s) for target {target.value}\n")
    return 1 if errors else 0


def _times(claims: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: iso_utc(dt.datetime.fromtimestamp(claims[name], tz=dt.UTC))
        for name in ("iat", "nbf", "exp")
        if isinstance(claims.get(name), int)
        and not isinstance(claims.get(name), bool)
        and 0 <= claims[name] < MILLISECONDS
    }


# --- keygen -------------------------------------------------------------------------------


MAX_COMMON_NAME = 64
"""RFC 5280's upper bound for a common name; cryptography refuses a longer one."""


def _days(text: str, now: dt.datetime) -> int:
    """``--days``: a whole number of days that keeps the certificate's end before 10000."""
    if not text.isdigit() or int(text) < 1:
        raise InputError("must be a whole number of at least 1", input_name="days", hint="e.g. 365")
    try:
        now + dt.timedelta(days=int(text))
    except OverflowError:
        raise InputError(
            "puts the certificate's end after the year 9999", input_name="days", hint="e.g. 365"
        ) from None
    return int(text)


def _check_common_name(common_name: str) -> None:
    """What cryptography would refuse with a bare exception, as an error naming the option."""
    if not 1 <= len(common_name) <= MAX_COMMON_NAME or not common_name.isprintable():
        raise InputError(
            f"must be 1 to {MAX_COMMON_NAME} printable characters (UTF-8)",
            input_name="common-name",
            hint="e.g. the host or identity provider name",
        )


def _keygen(args: argparse.Namespace, env: Mapping[str, str], spelling: _Spelling) -> int:
    spelling.names.update(
        {name: "--" + name for name in ("out-dir", "common-name", "days", "key-type", "bits")}
    )
    key_type = _choice(args.key_type, KEY_TYPES, "key-type")
    bits = int(_choice(args.bits, RSA_BITS, "bits"))
    now = dt.datetime.now(dt.UTC)
    days = _days(args.days, now)
    _check_common_name(args.common_name)
    key = generate_key(key_type, bits)
    certificate = self_signed_certificate(key, common_name=args.common_name, days=days, now=now)
    cert_pem = certificate_pem(certificate)
    out_dir = Path(args.out_dir)
    if not out_dir.is_dir():  # only now: a refused argument leaves no empty directory behind
        # one new level in a real, writable directory: a key or passphrase given here by
        # mistake (a key's base64 holds '/') makes no tree of directories named after it
        check_writable(PlannedFile(out_dir, b"", "out-dir"))
        try:
            out_dir.mkdir(mode=0o700)
        except OSError as err:
            raise InputError(
                f"cannot create {path_for_message(out_dir)}: {err.strerror}",
                input_name="out-dir",
            ) from None
    files = [
        PlannedFile(out_dir / "private-key.pem", private_pem(key), "out-dir", 0o600),
        PlannedFile(out_dir / "certificate.pem", cert_pem, "out-dir", 0o644),
        PlannedFile(out_dir / "public-key.pem", public_pem(key), "out-dir", 0o644),
    ]
    try:
        write_all(files, overwrite=args.force)
    except Interrupted as stop:
        return _interrupted(stop)
    for planned in files:
        _say(sys.stderr, f"wrote {path_for_message(planned.path)} (mode {planned.mode:04o})")
    _say(
        sys.stderr,
        f"certificate valid for {days} days; the one-line PEM for Qlik Cloud's "
        "identity-provider API follows on stdout",
    )
    _stdout(one_line_pem(cert_pem) + "\n")
    return 0
