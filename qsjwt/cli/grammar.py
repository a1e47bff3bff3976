"""The options of the commands that mint no login token for one target: ``jwk``, ``call``,
``check``, ``decode``, ``verify``, ``lint``, ``keygen`` and ``bulk`` (imported only for them)."""

from __future__ import annotations

from collections.abc import Callable

from qsjwt.base.inputs import (
    BY_NAME,
    RECORD_INPUTS,
    Target,
)
from qsjwt.cli.argparser import Parser, mint_parser
from qsjwt.cli.gather import (
    ENV_PASSPHRASE,
    ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
    ENV_TOKEN,
    ENV_TOKEN_FILE,
)
from qsjwt.cli.out import PROG
from qsjwt.cli.parser import (
    CHECKABLE,
    bulk_options,
    certificate_option,
    key_service_options,
    setting_option,
)


def command_parser(name: str, *, prog: str | None = None, full: bool = False) -> Parser:
    """Any command's parser (``full``: with every key service's options in its help)."""
    shown = prog or f"{PROG} {name}"
    if name in CHECKABLE:
        return mint_parser(Target(name), prog=shown, full=full)
    parser = Parser(prog=shown, command=name)
    parser.full_help = lambda: command_parser(name, prog=shown, full=True)
    parser.set_defaults(command=name)
    BUILDERS[name](parser, full)
    parser.built()
    return parser


def _token_arguments(parser: Parser) -> None:
    """The token: a file (``--token-file``, ``QSJWT_TOKEN_FILE``), the argument, or stdin."""
    parser.option(
        parser,
        "token",
        nargs="?",
        metavar="TOKEN",
        help="the token itself, or - to read it from standard input (the default when no "
        "--token-file is given); prefer --token-file or - so the token stays out of shell "
        "history and the process list",
    )
    parser.option(
        parser,
        "--token-file",
        metavar="PATH",
        help=f"a file holding the token (env {ENV_TOKEN_FILE})",
    )


def _jwk_command(jwk: Parser, full: bool) -> None:
    source = jwk.add_argument_group(
        "key",
        f"one of these; by default the private key of {ENV_PRIVATE_KEY_FILE} or "
        f"{ENV_PRIVATE_KEY}, as qs-jwt oauth reads it",
    )
    given = source.add_mutually_exclusive_group()
    jwk.option(given, "--private-key-file", metavar="PATH", help="PEM private key")
    jwk.option(given, "--public-key-file", metavar="PATH", help="PEM public key")
    certificate_option(jwk, given, "X.509 certificate (PEM) of the key")
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
    key_service_options(jwk, full=full)


def _call_command(call: Parser, full: bool) -> None:
    call.option(
        call,
        "url",
        metavar="URL",
        help="the https URL to request; the token is sent to this URL's host, whatever it is "
        "(a warning when a JWT's audience names another host): give only Qlik's own URLs",
    )
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
        help="PEM file of the CAs to trust instead of the system's (env QSJWT_CA_BUNDLE, else "
        "REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE)",
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
        help="write the answer's body to FILE (0600) as it came, an echo of the token hidden; "
        "without it, a JSON answer is printed on stdout (any other kind needs --output); - is "
        "stdout",
    )
    for name in RECORD_INPUTS:
        setting_option(call, call, BY_NAME[name], None)


def _check_command(check: Parser, full: bool) -> None:
    check.option(
        check,
        "target",
        metavar="{qseow,cloud,oauth}",
        help="then the target's own options (qs-jwt TARGET --help), and where Qlik is: "
        "--virtual-proxy-url (qseow) or --tenant (cloud, oauth)",
    )


def _decode_command(decode: Parser, full: bool) -> None:
    _token_arguments(decode)


def _verify_command(verify: Parser, full: bool) -> None:
    _token_arguments(verify)
    source = verify.add_mutually_exclusive_group()
    certificate_option(verify, source, "X.509 certificate (PEM)")
    verify.option(source, "--public-key-file", metavar="PATH", help="public key (PEM)")
    verify.option(verify, "--audience", metavar="AUD", help="require this aud claim")


def _lint_command(lint: Parser, full: bool) -> None:
    _token_arguments(lint)
    lint.option(lint, "--target", required=True, metavar="{qseow,cloud}", help="the target")
    lint.option(lint, "--user-id-claim", metavar="CLAIM", help="QSEoW (default userId)")
    lint.option(
        lint, "--user-directory-claim", metavar="CLAIM", help="QSEoW (default userDirectory)"
    )
    lint.option(
        lint,
        "--format",
        metavar="{text,json}",
        default="text",
        help="text (default): one line per finding; json: {target, errors, warnings, findings: "
        "[{severity, claim, message}]}",
    )


def _keygen_command(keygen: Parser, full: bool) -> None:
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
    key_service_options(keygen, full=full)


BUILDERS: dict[str, Callable[[Parser, bool], None]] = {
    "jwk": _jwk_command,
    "call": _call_command,
    "check": _check_command,
    "decode": _decode_command,
    "verify": _verify_command,
    "lint": _lint_command,
    "keygen": _keygen_command,
    "bulk": bulk_options,
}
