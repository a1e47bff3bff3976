"""The command line's grammar: commands, options, help texts, and usage errors that never
repeat what was typed (it may be a key or passphrase given in the wrong place)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, Protocol, cast

from qsjwt._version import __version__
from qsjwt.base.inputs import Target, default_for, inputs_for
from qsjwt.cli.gather import (
    ACCESS_DOTENV_DEFAULT,
    DOTENV_DEFAULT,
    ENV_CERTIFICATE,
    ENV_CERTIFICATE_FILE,
    ENV_PASSPHRASE,
    ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
    ENV_TOKEN,
    ENV_TOKEN_FILE,
)
from qsjwt.cli.out import PROG, note

FORBIDDEN = ("--private-key", "--passphrase", "--private-key-passphrase", "--key", "--password")
"""Options people reach for that are never accepted: a key or passphrase on a command line
shows in ``ps`` and in shell history."""
TOP_LEVEL_FLAGS = ("-h", "--help", "--version")
CHECKABLE = tuple(target.value for target in Target)
_EXPLICIT = re.compile(r"ignored explicit argument .*", re.DOTALL)

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
    "oauth": f"""example:
  export QSJWT_PRIVATE_KEY_FILE=oauth-key.pem      # its JWK is in the OAuth client (qs-jwt jwk)
  {PROG} oauth --tenant tenant.eu.qlikcloud.com --client-id 0123456789abcdef \\
      --scope user_default --output access-token.txt
  {PROG} call https://tenant.eu.qlikcloud.com/api/v1/users/me --token-file access-token.txt
""",
    "jwk": f"""example:
  {PROG} jwk --private-key-file oauth-key.pem > jwk.json
  # paste jwk.json into the OAuth client's "Public key" field, or put it in the publicKeys
  # array of POST/PATCH /api/v1/oauth-clients; qs-jwt oauth signs with the same kid
""",
    "call": f"""example:
  export QSJWT_TOKEN_FILE=access-token.txt         # or QSJWT_TOKEN, e.g. from a step output
  {PROG} call https://tenant.eu.qlikcloud.com/api/v1/users/me
  {PROG} call https://qlik.example.com/jwt/qrs/about --xrfkey --token-file token.jwt
""",
    "check": f"""example:
  export QSJWT_PRIVATE_KEY_FILE=key.pem
  {PROG} check qseow --user-id svc_ci --user-directory CORP \\
      --virtual-proxy-url https://qlik.example.com/jwt
  {PROG} check cloud --tenant tenant.eu.qlikcloud.com --issuer my-idp.example.com \\
      --key-id my-key-2026 --subject svc_ci --name "CI Service" --email ci@example.com
  {PROG} check oauth --tenant tenant.eu.qlikcloud.com --client-id 0123456789abcdef
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
    "bulk": f"""example (users.csv: a header row user-id,name,email,groups, then one user per row):
  {PROG} bulk --target qseow --users-file users.csv --user-directory CORP \\
      --private-key-file key.pem --output tokens.jsonl
  # tokens.jsonl (0600): one {{"user", "token", "expires_at"}} per row, in input order
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
  3  Qlik refused (oauth, call, check): the message says which setting to change
  4  Qlik could not be reached (oauth, call, check): network, TLS, proxy or time-out; or the
     key service (key-service: Vault, a KMS) could not be reached
  130  interrupted: SIGINT (143 for SIGTERM, 129 for SIGHUP); during a write no temporary
     file is left, and each file keeps its old content (or, if the signal came during the
     final renames, holds its new one)
"""


class _Options(Protocol):
    """What argparse's parsers and argument groups share: adding an option."""

    def add_argument(self, *names: str, **kwargs: Any) -> argparse.Action: ...  # noqa: ANN401


class _Commands(Protocol):
    def add_parser(self, name: str, **kwargs: Any) -> _Parser: ...  # noqa: ANN401


class _Parser(argparse.ArgumentParser):
    """One clear line on stderr and exit 2, instead of argparse's usage dump.

    The options take plain strings (no ``type`` or ``choices``), so argparse's own messages
    only ever name options; values are checked by the commands, which never repeat them.
    Abbreviations are off, so ``--private-key`` is an unknown option, not a prefix of
    ``--private-key-file``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 (argparse's own)
        self._building = True
        super().__init__(*args, **kwargs)
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

    def error(self, message: str) -> NoReturn:
        # argparse's one message that quotes a value: "--force=VALUE" on an option that takes none
        message = _EXPLICIT.sub("takes no value; one was given (not shown)", message)
        note(f"error: {message} (see {self.prog} --help)")
        raise SystemExit(2)

    def option(self, where: _Options, *names: str, **kwargs: Any) -> None:  # noqa: ANN401
        """``where.add_argument``, remembering the option strings it declared."""
        action = where.add_argument(*names, **kwargs)
        for flag in action.option_strings:
            self.option_of.setdefault(action.dest.replace("_", "-"), flag)
        self.option_of.update({flag: flag for flag in action.option_strings})


class Cli:
    """The whole tree: the top-level parser and each command's (a plain class: it is only
    built for --help and usage errors, but a dataclass would cost every start)."""

    def __init__(self, parser: _Parser, commands: dict[str, _Parser]) -> None:
        self.parser = parser
        self.commands = commands

    def flags(self, command: str) -> frozenset[str]:
        """Every option string of one command, to name only options that exist."""
        return frozenset(f for f in self.commands[command].option_of if f.startswith("-"))

    def parse(self, argv: list[str]) -> argparse.Namespace:
        """The namespace for a known command, or exit 2 with a message that shows no value.

        ``check TARGET [options]`` is the target's own command, parsed as such, that proves a
        token at Qlik and outputs none."""
        if argv[:1] == ["check"] and len(argv) > 1 and argv[1] in CHECKABLE:
            args = self.parse(argv[1:])
            args.check_only = True
            return args
        self._check_command(argv)
        args, extras = self.parser.parse_known_args(argv)
        if args.command is None:
            if sys.stderr is not None:
                self.parser.print_help(sys.stderr)
            raise SystemExit(2)
        if extras:
            self.parser.error(self.unrecognized(extras, args.command))
        return args

    def _check_command(self, argv: list[str]) -> None:
        """Refuse anything but a command first, without repeating it: it may be a key pasted
        too early (a PEM text starts with ``-`` and holds spaces, so argparse would take it
        for the command and echo it)."""
        if not argv or argv[0] in self.commands or argv[0] in TOP_LEVEL_FLAGS:
            return
        import difflib  # noqa: PLC0415 (only for a usage error)

        names = ", ".join(self.commands)
        option = argv[0].split("=", 1)[0]
        if any(option in self.flags(command) for command in self.commands):
            self.parser.error(
                f"{option} goes after the command: {PROG} COMMAND [options] ({names})"
            )
        close = difflib.get_close_matches(argv[0], list(self.commands), n=1)
        guess = f"; did you mean {close[0]}?" if close else ""
        self.parser.error(
            f"argument COMMAND: invalid choice: a value of {len(argv[0])} characters (not shown)"
            f"{guess} (choose from {names})"
        )

    def unrecognized(self, extras: Sequence[str], command: str) -> str:
        """Name an unknown argument only when it is a known option of some command.

        Anything else (``-pS3cret``, a key, a passphrase after an unknown option) is counted,
        never shown; a misspelt ``--option`` gets the known one close to it.
        """
        import difflib  # noqa: PLC0415 (only for a usage error)

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


SUMMARIES = {
    "qseow": "mint a token for a QSEoW virtual proxy (JWT)",
    "cloud": "mint a token for a Qlik Cloud JWT identity provider",
    "oauth": "get a Qlik Cloud OAuth access token with a private key (Private Key JWT)",
    "jwk": "print a key's public JWK, to register in a Qlik Cloud OAuth client",
    "call": "make one request to Qlik with a token, which stays off every command line",
    "check": "prove that Qlik takes a token, and show who Qlik logs in (no token is output)",
    "decode": "show a token's header and claims, NOT verified",
    "verify": "check a token's signature, expiry and audience",
    "lint": "list every Qlik rule a token breaks (exit 1 on any error)",
    "keygen": "create a key pair and a self-signed certificate for Qlik",
    "bulk": "mint a token per user from CSV or JSON Lines, on every core",
}
"""Every command, in the order ``--help`` lists them, with its one-line summary."""


def parse(argv: list[str]) -> tuple[argparse.Namespace, dict[str, str]]:
    """The namespace of the command in ``argv``, and how its options are spelled (each input
    name to its flag); or exit 2 with a message that shows no value.

    Only the parser of the command being run is built: a cold ``qs-jwt qseow`` does not pay for
    the options of ten other commands. The whole tree is built when it is needed: for
    ``--help``, no command, or a usage error that names another command's option."""
    if argv[:1] == ["check"] and len(argv) > 1 and argv[1] in CHECKABLE:
        args, option_of = parse(argv[1:])
        args.check_only = True
        return args, option_of
    if argv and argv[0] in SUMMARIES:
        parser = command_parser(argv[0])
        args, extras = parser.parse_known_args(argv[1:])
        if extras:
            cli = build_parser()
            cli.parser.error(cli.unrecognized(extras, argv[0]))
        return args, parser.option_of
    cli = build_parser()
    args = cli.parse(argv)
    return args, cli.commands[args.command].option_of


def command_parser(name: str) -> _Parser:
    """One command's parser on its own, as it is in the tree (the same prog, the same help)."""
    parser = _Parser(prog=f"{PROG} {name}", **_command_settings(name))
    parser.set_defaults(command=name)
    _fill(parser, name)
    parser.built()
    return parser


def build_parser() -> Cli:
    """The whole tree: the top-level parser and every command's."""
    parser = _Parser(
        prog=PROG,
        description="Mint, inspect and check JSON Web Tokens for Qlik Sense: client-managed "
        "QSEoW virtual proxies (qseow), Qlik Cloud JWT identity providers (cloud), and Qlik "
        "Cloud OAuth clients with a private key (oauth: an access token, no client secret).",
        epilog=EXIT_CODES + "\nRun 'qs-jwt COMMAND --help' for each command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub: _Commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands: dict[str, _Parser] = {}
    for name, summary in SUMMARIES.items():
        command = sub.add_parser(name, help=summary, **_command_settings(name))
        _fill(command, name)
        command.built()
        commands[name] = command
    parser.built()
    return Cli(parser, commands)


def _fill(parser: _Parser, name: str) -> None:
    """Add command ``name``'s arguments to its parser."""
    if name in CHECKABLE:
        _mint_command(parser, Target(name))
    else:
        _BUILDERS[name](parser)


def _command_settings(name: str) -> dict[str, Any]:
    """What a command's parser is made with, whether it hangs in the tree or stands alone."""
    summary = SUMMARIES[name]
    return {
        "description": summary[0].upper() + summary[1:] + ".",
        "epilog": EXAMPLES[name] + "\n" + EXIT_CODES,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
        "allow_abbrev": False,
    }


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


def _certificate_option(parser: _Parser, where: _Options, help_text: str) -> None:
    parser.option(
        where,
        "--certificate-file",
        metavar="PATH",
        help=f"{help_text} (env {ENV_CERTIFICATE_FILE}, or the PEM text in {ENV_CERTIFICATE})",
    )


def _mint_command(parser: _Parser, target: Target) -> None:
    claims = parser.add_argument_group(
        "token settings", "each can also come from the QSJWT_* variable shown; a flag wins"
    )
    for spec in sorted(inputs_for(target), key=lambda spec: target not in spec.required):
        default = default_for(spec, target)
        extra = f" [default {default}]" if default and not spec.switch else ""
        how: dict[str, Any] = (
            {"action": "store_const", "const": "true"}
            if spec.switch
            else {"metavar": spec.metavar, "action": "append" if spec.is_list else "store"}
        )
        parser.option(
            claims,
            spec.cli_flag,
            dest=spec.name,
            help=f"{spec.description}{extra} (env {spec.env_var})",
            **how,
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
    if target is Target.OAUTH:
        made = "the access token (the assertion with --assertion-only)"
        json_help = (
            "token (default) or json: {access_token, token_type, expires_at, expires_in, "
            "scope}; with --assertion-only {token, header, claims, expires_at}"
        )
        variable = f"{ACCESS_DOTENV_DEFAULT}, or {DOTENV_DEFAULT} for an assertion"
    else:
        _certificate_option(
            parser, key, "certificate configured in Qlik; checked to match the key before signing"
        )
        made = "the token"
        json_help = "token (default) or json: {token, header, claims, expires_at}"
        variable = DOTENV_DEFAULT
    out = parser.add_argument_group("output", f"by default {made} alone goes to stdout")
    parser.option(out, "--format", metavar="{token,json}", default="token", help=json_help)
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
        help=f"variable name in the dotenv file (default {variable}); needs --dotenv",
    )
    parser.set_defaults(target=target)


def _jwk_command(jwk: _Parser) -> None:
    source = jwk.add_argument_group(
        "key",
        f"one of these; by default the private key of {ENV_PRIVATE_KEY_FILE} or "
        f"{ENV_PRIVATE_KEY}, as qs-jwt oauth reads it",
    )
    given = source.add_mutually_exclusive_group()
    jwk.option(given, "--private-key-file", metavar="PATH", help="PEM private key")
    jwk.option(given, "--public-key-file", metavar="PATH", help="PEM public key")
    _certificate_option(jwk, given, "X.509 certificate (PEM) of the key")
    jwk.option(
        source,
        "--passphrase-file",
        metavar="PATH",
        help=f"passphrase of an encrypted private key (env {ENV_PASSPHRASE})",
    )
    jwk.option(
        jwk,
        "--key-id",
        metavar="KID",
        help="the JWK's kid [default: the key's RFC 7638 thumbprint, the kid qs-jwt oauth "
        "signs with when --key-id is not given]",
    )
    jwk.option(
        jwk,
        "--algorithm",
        metavar="{RS256,RS512,ES384}",
        help="the JWK's alg [default RS256 for an RSA key, ES384 for an EC P-384 key]",
    )
    jwk.option(
        jwk,
        "--format",
        metavar="{jwk,jwks,json}",
        default="jwk",
        help="jwk (default): the JWK alone; jwks: {keys: [JWK]}; json: {jwk, jwks, "
        "public_key_pem, one_line_pem}",
    )
    _key_service_options(jwk)


def _call_command(call: _Parser) -> None:
    call.option(call, "url", metavar="URL", help="the https URL to request")
    call.option(
        call,
        "--method",
        metavar="METHOD",
        default="GET",
        help="GET (default), POST, PUT, PATCH or DELETE",
    )
    call.option(
        call,
        "--token-file",
        metavar="PATH",
        help=f"a file holding the token (env {ENV_TOKEN_FILE}, or the token itself in "
        f"{ENV_TOKEN}); never a command-line value",
    )
    call.option(call, "--data-file", metavar="PATH", help="the request body, - for stdin")
    call.option(
        call,
        "--content-type",
        metavar="TYPE",
        default="application/json",
        help="of the body [default application/json]",
    )
    call.option(
        call,
        "--xrfkey",
        action="store_true",
        help="QSEoW: add a random X-Qlik-Xrfkey, in the query and the header, as QRS and the "
        "proxy's APIs require",
    )
    call.option(
        call,
        "--ca-bundle",
        metavar="PATH",
        help="PEM file of the CAs to trust instead of the system's (env QSJWT_CA_BUNDLE)",
    )
    call.option(
        call,
        "--insecure",
        action="store_true",
        help="do NOT verify the server's TLS certificate (warns every time; tests only)",
    )
    call.option(
        call, "--timeout", metavar="DURATION", default="30s", help="[default 30s, at most 10m]"
    )
    call.option(
        call,
        "--output",
        metavar="FILE",
        help="write the answer's body to FILE (0600) as it came; without it, a JSON answer is "
        "printed on stdout (any other kind needs --output)",
    )


def _check_command(check: _Parser) -> None:
    check.option(
        check,
        "target",
        metavar="{qseow,cloud,oauth}",
        help="then the target's own options (qs-jwt TARGET --help), and where Qlik is: "
        "--virtual-proxy-url (qseow) or --tenant (cloud, oauth)",
    )


def _decode_command(decode: _Parser) -> None:
    _token_argument(decode)


def _verify_command(verify: _Parser) -> None:
    _token_argument(verify)
    source = verify.add_mutually_exclusive_group()
    _certificate_option(verify, source, "X.509 certificate (PEM)")
    verify.option(source, "--public-key-file", metavar="PATH", help="public key (PEM)")
    verify.option(verify, "--audience", metavar="AUD", help="require this aud claim")


def _lint_command(lint: _Parser) -> None:
    _token_argument(lint)
    lint.option(lint, "--target", required=True, metavar="{qseow,cloud}", help="the target")
    lint.option(lint, "--user-id-claim", metavar="CLAIM", help="QSEoW (default userId)")
    lint.option(
        lint, "--user-directory-claim", metavar="CLAIM", help="QSEoW (default userDirectory)"
    )


def _key_service_options(parser: _Parser) -> None:
    """``--key-service`` and its back end's options, for the commands that are not a mint."""
    from qsjwt.base.inputs import BY_NAME, KEY_SERVICE_INPUTS  # noqa: PLC0415

    group = parser.add_argument_group(
        "key service", "a key held by a key service instead of a private key (docs/keyless-*.md)"
    )
    for name in KEY_SERVICE_INPUTS:
        spec = BY_NAME[name]
        parser.option(
            group,
            spec.cli_flag,
            dest=name,
            metavar=spec.metavar,
            help=f"{spec.description} (env {spec.env_var})",
        )


def _keygen_command(keygen: _Parser) -> None:
    from qsjwt.app.keys import DEFAULTS as KEYGEN_DEFAULTS  # noqa: PLC0415 (a token needs none)

    keygen.option(keygen, "--out-dir", required=True, metavar="DIR")
    helps = {
        "key-type": (
            "{rsa,ec}",
            "rsa (default; the only type QSEoW accepts) or ec (the default with --curve)",
        ),
        "bits": ("{2048,3072,4096}", "RSA key size (default 3072)"),
        "curve": (
            "{P-256,P-384}",
            "EC curve (default P-256, for ES256; P-384 for ES384, the "
            "one curve Qlik Cloud OAuth takes)",
        ),
        "days": ("N", "certificate validity in days (default 365)"),
        "common-name": ("CN", "certificate subject CN (default qs-jwt)"),
    }
    for name, (metavar, help_text) in helps.items():
        keygen.option(
            keygen,
            f"--{name}",
            metavar=metavar,
            default=None if name in ("key-type", "curve") else KEYGEN_DEFAULTS[name],
            help=help_text,
        )
    keygen.option(keygen, "--force", action="store_true", help="replace existing files")
    _key_service_options(keygen)


def _bulk_command(bulk: _Parser) -> None:
    """``bulk``: a token per user row, the shared settings and the key as for one token."""
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
    for target in Target:
        for spec in inputs_for(target):
            if spec.name in seen:
                continue
            seen.add(spec.name)
            bulk.option(
                shared,
                spec.cli_flag,
                dest=spec.name,
                metavar=spec.metavar,
                action="append" if spec.is_list else "store",
                help=f"{spec.description} (env {spec.env_var})",
            )
    key = bulk.add_argument_group("key", "as for qseow and cloud; never a command-line value")
    bulk.option(
        key,
        "--private-key-file",
        metavar="PATH",
        help=f"PEM private key (env {ENV_PRIVATE_KEY_FILE}, or the text in {ENV_PRIVATE_KEY})",
    )
    bulk.option(key, "--passphrase-file", metavar="PATH", help=f"passphrase (env {ENV_PASSPHRASE})")
    _certificate_option(bulk, key, "certificate configured in Qlik; checked to match the key")
    bulk.option(
        bulk,
        "--output",
        metavar="FILE",
        help="write the JSON Lines to FILE (mode 0600, atomically) instead of stdout",
    )


_BUILDERS: dict[str, Callable[[_Parser], None]] = {
    "jwk": _jwk_command,
    "call": _call_command,
    "check": _check_command,
    "decode": _decode_command,
    "verify": _verify_command,
    "lint": _lint_command,
    "keygen": _keygen_command,
    "bulk": _bulk_command,
}
