"""The ``qs-jwt`` command line: read flags and ``QSJWT_*`` variables, call the core, print.

Exit codes: 0 success; 2 bad input or usage; 1 any other failure (an invalid token for
``verify``, a broken error-level rule for ``lint``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from qsjwt import __version__
from qsjwt.claims import new_jti
from qsjwt.errors import InputError, QsjwtError, quoted
from qsjwt.files import PlannedFile, check_writable, write_all
from qsjwt.findings import Finding, Severity
from qsjwt.formats import ENV_NAME, iso_utc
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

PROG = "qs-jwt"
ENV_PRIVATE_KEY = "QSJWT_PRIVATE_KEY"
ENV_PRIVATE_KEY_FILE = "QSJWT_PRIVATE_KEY_FILE"
ENV_PASSPHRASE = "QSJWT_PRIVATE_KEY_PASSPHRASE"  # noqa: S105 (a variable name)
ENV_CERTIFICATE = "QSJWT_CERTIFICATE"
ENV_CERTIFICATE_FILE = "QSJWT_CERTIFICATE_FILE"
DOTENV_DEFAULT = "QLIK_JWT"

EXAMPLES = {
    "qseow": f"""example:
  {PROG} qseow --user-id svc_ci --user-directory CORP --group Deployers \\
      --audience qlik --private-key-file key.pem > token.txt
  curl -H "Authorization: Bearer $(cat token.txt)" -H "X-Qlik-Xrfkey: 0123456789abcdef" \\
      "https://qlik.example.com/jwt/qrs/about?Xrfkey=0123456789abcdef"
""",
    "cloud": f"""example:
  export QSJWT_PRIVATE_KEY_FILE=key.pem
  TOKEN=$({PROG} cloud --issuer my-idp.example.com --key-id my-key-2026 \\
      --subject svc_ci --name "CI Service" --email ci@example.com)
  curl -X POST -H "Authorization: Bearer $TOKEN" -c cookies.txt \\
      https://tenant.eu.qlikcloud.com/login/jwt-session
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
"""


class _Parser(argparse.ArgumentParser):
    """One clear line on stderr and exit 2, instead of argparse's usage dump.

    argparse echoes bad values in full; a key or passphrase pasted in the wrong place (for
    example ``--private-key "$KEY"``) would land in the job log. Values are shown only when
    they are short plain words, and abbreviations are off, so ``--private-key`` or
    ``--passphrase`` is an unknown option, not a path to ``--private-key-file``.
    """

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)

    def _check_value(self, action: argparse.Action, value: object) -> None:
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(map(str, action.choices))
            raise argparse.ArgumentError(
                action, f"invalid choice: {_shown(str(value))} (choose from {choices})"
            )

    def _get_value(self, action: argparse.Action, arg_string: str) -> object:
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError:
            if _plain(arg_string):
                raise
            raise argparse.ArgumentError(action, f"invalid value: {_shown(arg_string)}") from None


_PLAIN = re.compile(r"[A-Za-z0-9_.:/@+-]{0,40}")
_OPTION = re.compile(r"--?[A-Za-z][A-Za-z0-9_-]*")


def _plain(value: str) -> bool:
    return bool(_PLAIN.fullmatch(value)) and not value.startswith("---")


def _shown(value: str) -> str:
    """A command-line value for a message, unless it could be a secret given by mistake."""
    return quoted(value) if _plain(value) else f"a value of {len(value)} characters (not shown)"


def _unrecognized(extras: Sequence[str]) -> str:
    """Name unknown options, never their values: the value may be a key or a passphrase."""
    options = [name for name in (e.split("=", 1)[0] for e in extras) if _OPTION.fullmatch(name)]
    hidden = len(extras) - len(options)
    text = "unrecognized arguments: " + (", ".join(options) or "")
    if hidden:
        text += (" and " if options else "") + f"{hidden} value(s) (not shown)"
    if any(name in ("--private-key", "--passphrase") for name in options):
        text += (
            "; the key and its passphrase are never command-line values: use "
            f"--private-key-file / --passphrase-file or {ENV_PRIVATE_KEY} / {ENV_PASSPHRASE}"
        )
    return text


if TYPE_CHECKING:
    _Commands = argparse._SubParsersAction[_Parser]


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    environ = os.environ if env is None else env
    parser = _build_parser()
    args, extras = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if extras:
        parser.error(_unrecognized(extras))
    handler: Callable[[argparse.Namespace, Mapping[str, str]], int] = args.handler
    try:
        return handler(args, environ)
    except QsjwtError as err:
        _report_error(err, getattr(args, "spelled", {}))
        return err.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except OSError as err:  # stdout closed or full: the result did not reach its reader
        if isinstance(err, BrokenPipeError):  # keep Python's own exit quiet too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.stderr.write(f"{PROG}: error: output failed ({err.strerror or type(err).__name__})\n")
        return 1
    except Exception as err:  # an unexpected bug: no traceback, which could carry secrets
        sys.stderr.write(
            f"{PROG}: internal error ({type(err).__name__}); no token was made. "
            "Please report it at the project's issue tracker.\n"
        )
        return 1


def _report_error(err: QsjwtError, spelled: dict[str, str]) -> None:
    sys.stderr.write(f"{PROG}: error: {err.render(spelled)}\n")


def _print_findings(findings: Sequence[Finding], spelled: dict[str, str], out: TextIO) -> None:
    for finding in findings:
        out.write(f"{PROG}: {finding.severity.value}: {finding.render(spelled)}\n")


# --- parser -------------------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
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
    _add_mint_command(sub, Target.QSEOW, "mint a token for a QSEoW virtual proxy (JWT)")
    _add_mint_command(sub, Target.CLOUD, "mint a token for a Qlik Cloud JWT identity provider")

    decode = _command(sub, "decode", "show a token's header and claims, NOT verified")
    _token_argument(decode)
    decode.set_defaults(handler=_decode)

    verify = _command(sub, "verify", "check a token's signature, expiry and audience")
    _token_argument(verify)
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("--certificate-file", metavar="PATH", help="X.509 certificate (PEM)")
    source.add_argument("--public-key-file", metavar="PATH", help="public key (PEM)")
    verify.add_argument("--audience", metavar="AUD", help="require this aud claim")
    verify.set_defaults(handler=_verify)

    lint = _command(sub, "lint", "list every Qlik rule a token breaks (exit 1 on any error)")
    _token_argument(lint)
    lint.add_argument("--target", required=True, choices=[t.value for t in Target])
    lint.add_argument("--user-id-claim", metavar="CLAIM", help="QSEoW (default userId)")
    lint.add_argument(
        "--user-directory-claim", metavar="CLAIM", help="QSEoW (default userDirectory)"
    )
    lint.set_defaults(handler=_lint)

    keygen = _command(sub, "keygen", "create a key pair and a self-signed certificate for Qlik")
    keygen.add_argument("--out-dir", required=True, metavar="DIR", type=Path)
    keygen.add_argument(
        "--key-type",
        choices=["rsa", "ec"],
        default="rsa",
        help="rsa (default; the only type QSEoW accepts) or ec (P-256, ES256)",
    )
    keygen.add_argument(
        "--bits",
        type=int,
        choices=[2048, 3072, 4096],
        default=3072,
        help="RSA key size (default 3072)",
    )
    keygen.add_argument(
        "--days", type=_positive_int, default=365, help="certificate validity in days (default 365)"
    )
    keygen.add_argument(
        "--common-name",
        metavar="CN",
        default="qs-jwt",
        help="certificate subject CN (default qs-jwt)",
    )
    keygen.add_argument("--force", action="store_true", help="replace existing files")
    keygen.set_defaults(handler=_keygen)
    return parser


def _command(sub: _Commands, name: str, summary: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=EXAMPLES[name] + "\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    return parser


def _token_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "token",
        nargs="?",
        default="-",
        metavar="TOKEN",
        help="the token, or - (default) to read it from standard input; prefer - so the token "
        "stays out of shell history and the process list",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_mint_command(sub: _Commands, target: Target, summary: str) -> None:
    parser = _command(sub, target.value, summary)
    claims = parser.add_argument_group(
        "token settings", "each can also come from the QSJWT_* variable shown; a flag wins"
    )
    for spec in inputs_for(target):
        default = spec.default if spec.name != "expires-in" else default_lifetime(target)
        extra = f" [default {default}]" if default else ""
        claims.add_argument(
            spec.cli_flag,
            dest=spec.name,
            metavar=spec.metavar,
            action="append" if spec.is_list else "store",
            help=f"{spec.description}{extra} (env {spec.env_var})",
        )
    key = parser.add_argument_group(
        "key", "the private key is never a command-line value: it would show in ps and history"
    )
    key.add_argument(
        "--private-key-file",
        metavar="PATH",
        help=f"PEM private key (PKCS#1 or PKCS#8) (env {ENV_PRIVATE_KEY_FILE}, or the key "
        f"text itself in {ENV_PRIVATE_KEY}: PEM, \\n-escaped PEM or base64)",
    )
    key.add_argument(
        "--passphrase-file",
        metavar="PATH",
        help=f"passphrase of an encrypted key (env {ENV_PASSPHRASE} holds the passphrase)",
    )
    key.add_argument(
        "--certificate-file",
        metavar="PATH",
        help="certificate configured in Qlik; checked to match the key before signing "
        f"(env {ENV_CERTIFICATE_FILE}, or the PEM text in {ENV_CERTIFICATE})",
    )
    out = parser.add_argument_group("output", "by default the token alone goes to stdout")
    out.add_argument(
        "--format",
        choices=["token", "json"],
        default="token",
        help="token (default) or json: {token, header, claims, expires_at}",
    )
    out.add_argument(
        "--output",
        metavar="FILE",
        type=Path,
        help="write to FILE (mode 0600, atomically) instead of stdout",
    )
    out.add_argument(
        "--dotenv",
        metavar="FILE",
        type=Path,
        help="also write NAME=TOKEN to FILE (0600), e.g. for GitLab "
        "artifacts:reports:dotenv; nothing goes to stdout",
    )
    out.add_argument(
        "--dotenv-variable",
        metavar="NAME",
        default=DOTENV_DEFAULT,
        help=f"variable name in the dotenv file (default {DOTENV_DEFAULT})",
    )
    parser.set_defaults(handler=_mint, target=target)


# --- mint ---------------------------------------------------------------------------------


def _mint(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    target: Target = args.target
    values: dict[str, str | list[str]] = {}
    spelled: dict[str, str] = {}
    args.spelled = spelled
    for spec in inputs_for(target):
        flag_value = getattr(args, spec.name)
        if flag_value is not None:
            values[spec.name] = flag_value
            spelled[spec.name] = spec.cli_flag
        elif env.get(spec.env_var):
            values[spec.name] = env[spec.env_var]
            spelled[spec.name] = spec.env_var
        else:
            spelled[spec.name] = f"{spec.cli_flag} (or {spec.env_var})"
    outputs = _planned_outputs(args, spelled)
    for planned in outputs:
        check_writable(planned)
    settings = parse_settings(target, values)
    _print_findings(settings.warnings, spelled, sys.stderr)
    private_key, passphrase, certificate = _key_material(args, env, spelled)
    minted = mint_from_text(
        settings,
        private_key=private_key,
        passphrase=passphrase,
        certificate=certificate,
        now=dt.datetime.now(dt.UTC),
        jti=new_jti(),
    )
    key_findings = [f for f in minted.warnings if f not in settings.warnings]
    _print_findings(key_findings, spelled, sys.stderr)
    rendered = _render(minted, args.format)
    if not outputs:
        sys.stdout.write(rendered + "\n")
        return 0
    files = [
        PlannedFile(p.path, _file_content(p, rendered, minted, args), p.input_name) for p in outputs
    ]
    write_all(files)
    for planned in files:
        sys.stderr.write(f"{PROG}: wrote {planned.path} (mode 0600)\n")
    sys.stderr.write(f"{PROG}: token expires at {iso_utc(minted.expires_at)}\n")
    return 0


def _planned_outputs(args: argparse.Namespace, spelled: dict[str, str]) -> list[PlannedFile]:
    spelled.update(
        {"output": "--output", "dotenv": "--dotenv", "dotenv-variable": "--dotenv-variable"}
    )
    planned = []
    if args.output is not None:
        planned.append(PlannedFile(args.output, b"", "output"))
    if args.dotenv is not None:
        if not ENV_NAME.fullmatch(args.dotenv_variable):
            raise InputError(
                f"{quoted(args.dotenv_variable)} is not a variable name",
                input_name="dotenv-variable",
                hint="use letters, digits and _, not starting with a digit",
            )
        planned.append(PlannedFile(args.dotenv, b"", "dotenv"))
    if len(planned) == 2 and planned[0].path.resolve() == planned[1].path.resolve():
        raise InputError("names the same file as --output", input_name="dotenv")
    return planned


def _file_content(
    planned: PlannedFile, rendered: str, minted: Minted, args: argparse.Namespace
) -> bytes:
    if planned.input_name == "dotenv":
        return f"{args.dotenv_variable}={minted.token}\n".encode()
    return (rendered + "\n").encode()


def _render(minted: Minted, output_format: str) -> str:
    if output_format == "token":
        return minted.token
    document = {
        "token": minted.token,
        "header": minted.header,
        "claims": minted.claims,
        "expires_at": iso_utc(minted.expires_at),
    }
    return json.dumps(document, indent=2)


def _key_material(
    args: argparse.Namespace, env: Mapping[str, str], spelled: dict[str, str]
) -> tuple[str | bytes, str | bytes | None, str | bytes | None]:
    if args.private_key_file:
        key_file, spelled[PRIVATE_KEY] = args.private_key_file, "--private-key-file"
    elif env.get(ENV_PRIVATE_KEY) and env.get(ENV_PRIVATE_KEY_FILE):
        raise InputError(
            f"both {ENV_PRIVATE_KEY} and {ENV_PRIVATE_KEY_FILE} are set",
            input_name=PRIVATE_KEY,
            hint="keep one key source",
        )
    elif env.get(ENV_PRIVATE_KEY_FILE):
        key_file, spelled[PRIVATE_KEY] = env[ENV_PRIVATE_KEY_FILE], ENV_PRIVATE_KEY_FILE
    elif env.get(ENV_PRIVATE_KEY):
        key_file, spelled[PRIVATE_KEY] = None, ENV_PRIVATE_KEY
    else:
        raise InputError(
            f"no private key: give --private-key-file PATH, or set {ENV_PRIVATE_KEY_FILE} "
            f"(a path) or {ENV_PRIVATE_KEY} (the key text)",
            input_name=None,
        )
    private_key = (
        _read(key_file, spelled[PRIVATE_KEY], text_variable=ENV_PRIVATE_KEY)
        if key_file
        else env[ENV_PRIVATE_KEY]
    )
    passphrase: str | bytes | None = None
    if args.passphrase_file:
        spelled[PRIVATE_KEY_PASSPHRASE] = "--passphrase-file"
        passphrase = _read(args.passphrase_file, "--passphrase-file", text_variable=ENV_PASSPHRASE)
        passphrase = passphrase.rstrip(b"\r\n")
    elif env.get(ENV_PASSPHRASE):
        spelled[PRIVATE_KEY_PASSPHRASE] = ENV_PASSPHRASE
        passphrase = env[ENV_PASSPHRASE].strip("\r\n")  # a pasted line break is never meant
    else:
        spelled[PRIVATE_KEY_PASSPHRASE] = f"--passphrase-file (or {ENV_PASSPHRASE})"
    certificate: str | bytes | None = None
    cert_file = args.certificate_file or env.get(ENV_CERTIFICATE_FILE)
    if cert_file:
        spelled[CERTIFICATE] = (
            "--certificate-file" if args.certificate_file else ENV_CERTIFICATE_FILE
        )
        certificate = _read(cert_file, spelled[CERTIFICATE], text_variable=ENV_CERTIFICATE)
    elif env.get(ENV_CERTIFICATE):
        spelled[CERTIFICATE] = ENV_CERTIFICATE
        certificate = env[ENV_CERTIFICATE]
    return private_key, passphrase, certificate


def _read(path: str | Path, spelled_name: str, *, text_variable: str | None = None) -> bytes:
    """A file's bytes.

    ``text_variable`` (the variable that takes the text itself) marks key material, whose
    "path" is not shown: it may be the secret, pasted into the wrong variable.
    """
    try:
        return Path(path).read_bytes()
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        reason = getattr(err, "strerror", None) or "not a usable path"
        if text_variable is None:
            raise InputError(
                f"cannot read {str(path)!r}: {reason}", input_name=spelled_name
            ) from None
        text = str(path)
        looks_like_text = "-----BEGIN" in text or len(text) > 1024 or "\n" in text
        raise InputError(
            f"cannot read the file it names: {reason}",
            input_name=spelled_name,
            hint=f"it looks like the text itself, not a path: give that in {text_variable}"
            if looks_like_text
            else "the path is not shown, in case it is the secret itself",
        ) from None


# --- decode, verify, lint -----------------------------------------------------------------


def _read_token(args: argparse.Namespace) -> str:
    args.spelled = {}
    if args.token != "-":  # noqa: S105 (stdin marker)
        return str(args.token)
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError(
            "no token: pass it on standard input (qs-jwt ... - < token.txt) or as an argument",
            input_name="token",
        )
    try:
        text = sys.stdin.read().strip()
    except UnicodeDecodeError:
        raise InputError("standard input is not UTF-8 text", input_name="token") from None
    if not text:
        raise InputError("standard input was empty", input_name="token")
    return text


def _decode(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    header, claims = decode_unverified(_read_token(args))
    sys.stderr.write(f"{PROG}: NOT verified: the signature was not checked (use verify)\n")
    document = {"verified": False, "header": header, "claims": claims, "times": _times(claims)}
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    return 0


def _verify(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    token = _read_token(args)
    option = "--certificate-file" if args.certificate_file else "--public-key-file"
    path = args.certificate_file or args.public_key_file
    args.spelled[CERTIFICATE] = option
    key = load_verifying_key(_read(path, option), input_name=CERTIFICATE)
    header, claims = verify_token(token, key, audience=args.audience)
    document = {"verified": True, "header": header, "claims": claims, "times": _times(claims)}
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    sys.stderr.write(
        f"{PROG}: valid: signature ({header.get('alg')}), expiry and not-before"
        + (" and audience" if args.audience else "")
        + " checked\n"
    )
    return 0


def _lint(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    header, claims = decode_unverified(_read_token(args))
    findings = lint_token(
        header,
        claims,
        Target(args.target),
        now=dt.datetime.now(dt.UTC),
        user_id_claim=args.user_id_claim,
        user_directory_claim=args.user_directory_claim,
    )
    _print_findings(findings, {}, sys.stdout)
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = len(findings) - errors
    sys.stdout.write(f"{errors} error(s), {warnings} warning(s) for target {args.target}\n")
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


def _check_certificate_args(common_name: str, days: int, now: dt.datetime) -> None:
    """What cryptography would refuse with a bare exception, as errors naming the option."""
    if not 1 <= len(common_name) <= MAX_COMMON_NAME or not common_name.isprintable():
        raise InputError(
            f"must be 1 to {MAX_COMMON_NAME} printable characters (UTF-8)",
            input_name="common-name",
            hint="e.g. the host or identity provider name",
        )
    try:
        now + dt.timedelta(days=days)
    except OverflowError:
        raise InputError(
            "puts the certificate's end after the year 9999", input_name="days", hint="e.g. 365"
        ) from None


def _keygen(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    args.spelled = {"out-dir": "--out-dir", "common-name": "--common-name", "days": "--days"}
    now = dt.datetime.now(dt.UTC)
    _check_certificate_args(args.common_name, args.days, now)
    key = generate_key(args.key_type, args.bits)
    certificate = self_signed_certificate(
        key, common_name=args.common_name, days=args.days, now=now
    )
    cert_pem = certificate_pem(certificate)
    out_dir: Path = args.out_dir
    if not out_dir.is_dir():  # only now: a refused argument leaves no empty directory behind
        try:
            out_dir.mkdir(parents=True, mode=0o700)
        except OSError as err:
            raise InputError(
                f"cannot create {str(out_dir)!r}: {err.strerror}", input_name="out-dir"
            ) from None
    files = [
        PlannedFile(out_dir / "private-key.pem", private_pem(key), "out-dir", 0o600),
        PlannedFile(out_dir / "certificate.pem", cert_pem, "out-dir", 0o644),
        PlannedFile(out_dir / "public-key.pem", public_pem(key), "out-dir", 0o644),
    ]
    write_all(files, overwrite=args.force)
    for planned in files:
        sys.stderr.write(f"{PROG}: wrote {planned.path} (mode {planned.mode:o})\n")
    sys.stderr.write(
        f"{PROG}: certificate valid for {args.days} days; the one-line PEM for Qlik Cloud's "
        "identity-provider API follows on stdout\n"
    )
    sys.stdout.write(one_line_pem(cert_pem) + "\n")
    return 0
