"""The commands: each reads its values (gather), calls the core, and prints (out)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, cast

from qsjwt.app.target import parse_settings
from qsjwt.base.display import json_document, path_for_message
from qsjwt.base.errors import InputError, OutputError, QsjwtError
from qsjwt.base.findings import Severity
from qsjwt.base.formats import iso_utc
from qsjwt.base.inputs import (
    CERTIFICATE,
    JWT_TARGETS,
    KEY_SERVICE,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
    Target,
    parse_target,
)
from qsjwt.base.rules import MILLISECONDS
from qsjwt.cli import gather, out
from qsjwt.cli.out import PROG
from qsjwt.io.sources import KEY_LIMIT, read_bounded
from qsjwt.login.claims import new_jti
from qsjwt.login.lint import lint_token
from qsjwt.login.mint import Minted, mint_from_text
from qsjwt.signing.jws import decode_unverified, verify_token
from qsjwt.signing.keys import load_verifying_key, one_line_pem

if TYPE_CHECKING:
    from qsjwt.io.files import PlannedFile
    from qsjwt.login.mint import Minted
    from qsjwt.login.settings import Settings
    from qsjwt.oauth.assertion import OAuthSettings
    from qsjwt.signing.keys import LoadedKey

Handler = Callable[[argparse.Namespace, Mapping[str, str], Mapping[str, str]], int]
"""(parsed arguments, the environment, how each input was spelled) -> exit code"""

FORMATS = ("token", "json")


def mint(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    target: Target = args.target
    values = gather.settings_values(args, env, target)
    if args.format not in FORMATS:
        raise InputError(f"must be one of {', '.join(FORMATS)}", input_name="format")
    check_only = getattr(args, "check_only", False)
    if check_only:
        values["check"] = "true"
        if args.output or args.dotenv or args.format != "token":
            raise InputError(
                "check makes no token for output: it proves one and prints who Qlik logged in",
                input_name="output" if args.output else "dotenv" if args.dotenv else "format",
                hint=f"run {PROG} {target.value} --check to mint, check and output a token",
            )
    outputs = gather.planned_outputs(args, env)
    if not outputs and sys.stdout is None and not check_only:
        raise QsjwtError("standard output is closed; no token was made", hint="use --output FILE")
    settings = parse_settings(target, values)
    out.findings(settings.warnings, names, sys.stderr)
    remote = gather.remote_key(values, env, args.private_key_file)
    if settings.target is Target.OAUTH:  # its modules load only here
        key = remote or _oauth_key(cast("OAuthSettings", settings), args, env)
        return _oauth(cast("OAuthSettings", settings), key, args, outputs)
    jwt_settings = cast("Settings", settings)
    material = None if remote is not None else gather.key_material(args, env)

    def mint_one() -> Minted:
        if remote is not None:
            return _mint_remote(jwt_settings, remote, args, env)
        if material is None:  # unreachable: without a remote key the material was read
            raise QsjwtError("no key to sign with")
        return mint_from_text(
            jwt_settings,
            private_key=material.private_key,
            passphrase=material.passphrase,
            certificate=material.certificate,
            now=dt.datetime.now(dt.UTC),
            jti=new_jti(),
        )

    minted = mint_one()
    out.findings([f for f in minted.warnings if f not in settings.warnings], names, sys.stderr)
    if jwt_settings.check is not None:
        _check(jwt_settings, minted.token, lambda: mint_one().token)
    if check_only:
        return 0
    return _deliver(
        minted.token,
        _signed_document(minted) if args.format == "json" else None,
        outputs,
        args.dotenv_variable or gather.DOTENV_DEFAULT,
        f"token expires at {iso_utc(minted.expires_at)}",
    )


def _mint_remote(
    settings: Settings, remote: LoadedKey, args: argparse.Namespace, env: Mapping[str, str]
) -> Minted:
    """Mint with a key held by a key service; Qlik's certificate, if given, must be its."""
    from qsjwt.login.mint import mint as mint_with  # noqa: PLC0415
    from qsjwt.signing.keys import load_certificates  # noqa: PLC0415

    text = gather.certificate(getattr(args, "certificate_file", None), env)
    chain = load_certificates(text, input_name=CERTIFICATE) if text else []
    return mint_with(
        settings, remote, now=dt.datetime.now(dt.UTC), jti=new_jti(), certificates=chain
    )


def _oauth_key(
    settings: OAuthSettings, args: argparse.Namespace, env: Mapping[str, str]
) -> LoadedKey:
    from qsjwt.oauth.assertion import load_oauth_key  # noqa: PLC0415

    material = gather.key_material(args, env)
    return load_oauth_key(settings, material.private_key, material.passphrase)


def _oauth(
    settings: OAuthSettings, key: LoadedKey, args: argparse.Namespace, outputs: list[PlannedFile]
) -> int:
    """The assertion alone, or (by default) the access token Qlik trades it for."""
    from qsjwt.oauth.assertion import assertion_header, build_assertion  # noqa: PLC0415
    from qsjwt.oauth.assertion import new_jti as new_oauth_jti  # noqa: PLC0415 (a UUID, as Qlik asks)

    assertion_header(settings, key)  # Qlik's OAuth rules, before anything is signed or sent
    if settings.assertion_only:
        now = dt.datetime.now(dt.UTC)
        assertion = build_assertion(settings, key, now=now, jti=new_oauth_jti())
        return _deliver(
            assertion.token,
            _signed_document(assertion) if args.format == "json" else None,
            outputs,
            args.dotenv_variable or gather.DOTENV_DEFAULT,
            f"assertion expires at {iso_utc(assertion.expires_at)}; post it to the tenant's "
            "/oauth/token once, before then",
        )
    from qsjwt.oauth.exchange import obtain_access_token  # noqa: PLC0415 (HTTP only when needed)

    access = obtain_access_token(settings, key)
    if settings.check:
        _check(settings, access.access_token, lambda: access.access_token)
    if getattr(args, "check_only", False):
        return 0
    expires = iso_utc(access.expires_at) if access.expires_at else None
    document = {
        "access_token": access.access_token,
        "token_type": access.token_type,
        "expires_at": expires,
        "expires_in": access.expires_in,
        "scope": access.scope,
    }
    return _deliver(
        access.access_token,
        json_document(document) if args.format == "json" else None,
        outputs,
        args.dotenv_variable or gather.ACCESS_DOTENV_DEFAULT,
        f"access token expires at {expires or 'a time Qlik did not say'}",
    )


def _check(settings: Settings | OAuthSettings, token: str, make_probe: Callable[[], str]) -> None:
    """Prove the token at Qlik before it is output; a refusal raises (exit 3 or 4)."""
    from qsjwt.app.check import describe, prove  # noqa: PLC0415 (HTTP only for check)

    out.say(sys.stderr, describe(prove(settings, token, make_probe)))


class _Signed(Protocol):
    """A minted token or an OAuth assertion: what ``--format json`` shows of it."""

    @property
    def token(self) -> str: ...
    @property
    def header(self) -> Mapping[str, Any]: ...
    @property
    def claims(self) -> Mapping[str, Any]: ...
    @property
    def expires_at(self) -> dt.datetime: ...


def _signed_document(signed: _Signed) -> str:
    return json_document(
        {
            "token": signed.token,
            "header": signed.header,
            "claims": signed.claims,
            "expires_at": iso_utc(signed.expires_at),
        }
    )


def _deliver(
    token: str, document: str | None, outputs: list[PlannedFile], variable: str, done: str
) -> int:
    """The token (or the JSON ``document`` holding it) to stdout or the output files; a dotenv
    file gets ``variable=token``. ``done`` goes to stderr once files are written."""
    rendered = (document or token) + "\n"
    if not outputs:
        out.result(rendered)
        return 0
    files = [
        replace(p, content=f"{variable}={token}\n".encode())
        if p.replaces_lines
        else replace(p, content=rendered.encode())
        for p in outputs
    ]
    if (stopped := _write(files)) is not None:
        return stopped
    out.say(sys.stderr, done)
    return 0


def _write(files: list[PlannedFile], *, overwrite: bool = True) -> int | None:
    """Write every file, then say so; the exit code when a signal stopped the write."""
    from qsjwt.io.files import Interrupted, write_all  # noqa: PLC0415 (no file, no need)

    try:
        write_all(files, overwrite=overwrite)
    except Interrupted as stop:
        done = "every file was written" if stop.written else "no file was written or changed"
        out.say(sys.stderr, f"interrupted by {stop.signal_name}; {done}")
        return stop.exit_code
    for planned in files:
        out.say(sys.stderr, f"wrote {path_for_message(planned.path)} (mode {planned.mode:04o})")
    return None


def decode(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    header, claims = decode_unverified(gather.token(args))
    out.say(sys.stderr, "NOT verified: the signature was not checked (use verify)")
    document = {"verified": False, "header": header, "claims": claims, "times": _times(claims)}
    out.result(json_document(document) + "\n")
    return 0


def verify(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    token = gather.token(args)
    if args.public_key_file:
        key_text: str | bytes | None = read_bounded(
            args.public_key_file, KEY_LIMIT, input_name=CERTIFICATE, secret_hint=None
        )
    else:
        key_text = gather.certificate(args.certificate_file, env)
    if key_text is None:
        raise InputError(
            "give --certificate-file PATH or --public-key-file PATH (or set "
            f"{gather.ENV_CERTIFICATE_FILE} / {gather.ENV_CERTIFICATE})",
            input_name=None,
        )
    key = load_verifying_key(key_text, input_name=CERTIFICATE)
    header, claims = verify_token(token, key, audience=args.audience)
    document = {"verified": True, "header": header, "claims": claims, "times": _times(claims)}
    out.result(json_document(document) + "\n")
    checked = " and audience" if args.audience else ""
    out.say(
        sys.stderr,
        f"valid: signature ({header.get('alg')}), expiry and not-before{checked} checked",
    )
    return 0


def lint(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    target = parse_target(args.target, allowed=JWT_TARGETS)
    token = gather.token(args)
    header, claims = decode_unverified(token)
    found = lint_token(
        header,
        claims,
        target,
        now=dt.datetime.now(dt.UTC),
        user_id_claim=args.user_id_claim,
        user_directory_claim=args.user_directory_claim,
        size=len(token),
    )
    if sys.stdout is None:
        raise QsjwtError("standard output is closed")
    out.findings(found, names, sys.stdout)
    errors = sum(f.severity is Severity.ERROR for f in found)
    out.result(f"{errors} error(s), {len(found) - errors} warning(s) for target {target.value}\n")
    return 1 if errors else 0


def _times(claims: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: iso_utc(dt.datetime.fromtimestamp(claims[name], tz=dt.UTC))
        for name in ("iat", "nbf", "exp")
        if isinstance(claims.get(name), int)
        and not isinstance(claims.get(name), bool)
        and 0 <= claims[name] < MILLISECONDS
    }


def keygen(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    from pathlib import Path  # noqa: PLC0415

    from qsjwt.io.files import PlannedFile, check_writable  # noqa: PLC0415
    from qsjwt.signing.keygen import make_key_pair, parse_keygen  # noqa: PLC0415 (only keygen needs it)

    now = dt.datetime.now(dt.UTC)
    values = {"key-type": args.key_type, "bits": args.bits, "days": args.days, "curve": args.curve}
    settings = parse_keygen({**values, "common-name": args.common_name}, now=now)
    remote = gather.remote_key(gather.key_service_values(args, env), env, None)
    if remote is not None:  # the key exists in the service: its public forms only
        from qsjwt.signing.keygen import remote_key_files  # noqa: PLC0415

        made = remote_key_files(remote.key, settings, now=now)
    else:
        made = make_key_pair(settings, now=now)
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
        PlannedFile(out_dir / "private-key.pem", made.private, "out-dir", 0o600),
        PlannedFile(out_dir / "certificate.pem", made.certificate, "out-dir", 0o644),
        PlannedFile(out_dir / "public-key.pem", made.public, "out-dir", 0o644),
    ][0 if made.private else 1 :]
    if made.request is not None:
        files.append(
            PlannedFile(out_dir / "certificate-request.pem", made.request, "out-dir", 0o644)
        )
    if made.jwk is not None:
        files.append(PlannedFile(out_dir / "jwk.json", made.jwk, "out-dir", 0o644))
    if (stopped := _write(files, overwrite=args.force)) is not None:
        return stopped
    out.say(
        sys.stderr,
        f"certificate valid for {settings.days} days; the one-line PEM for Qlik Cloud's "
        "identity-provider API follows on stdout",
    )
    out.result(one_line_pem(made.certificate) + "\n")
    return 0


def call(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    from pathlib import Path  # noqa: PLC0415

    from qsjwt.app.call import call as request  # noqa: PLC0415 (HTTP only for this command)
    from qsjwt.app.call import check_method, check_url, new_xrfkey  # noqa: PLC0415
    from qsjwt.io.files import PlannedFile, check_writable  # noqa: PLC0415
    from qsjwt.net.connection import parse_connection  # noqa: PLC0415
    from qsjwt.oauth.exchange import Transport  # noqa: PLC0415

    url = check_url(args.url)
    method = check_method(args.method)
    connection, findings = parse_connection(
        args.timeout,
        args.ca_bundle or env.get("QSJWT_CA_BUNDLE", ""),
        "true" if args.insecure else "",
    )
    outputs = [PlannedFile(Path(args.output), b"", "output")] if args.output else []
    for planned in outputs:
        check_writable(planned, reads=gather.call_reads(args, env))
    token = gather.bearer_token(args, env)
    body = None
    if args.data_file == gather.STDIO:
        body = gather.stdin_bytes(CALL_BODY_LIMIT, input_name="data-file")
    elif args.data_file:
        body = read_bounded(
            args.data_file, CALL_BODY_LIMIT, input_name="data-file", secret_hint=None
        )
    out.findings(findings, names, sys.stderr)
    answer = request(
        method,
        url,
        token,
        body=body,
        content_type=args.content_type,
        xrfkey=new_xrfkey() if args.xrfkey else None,
        transport=Transport.of(connection),
    )
    said = f"{answer.status} {answer.reason}, {len(answer.body)} bytes"
    if outputs:
        if (stopped := _write([replace(outputs[0], content=answer.body)])) is not None:
            return stopped
        out.say(sys.stderr, said)
        return 0
    if not answer.body.strip():
        out.say(sys.stderr, said)
        return 0
    try:
        document = json.loads(answer.body)
    except ValueError:
        raise OutputError(
            f"Qlik answered {answer.status} with a body that is not JSON; it is not printed",
            input_name="output",
            hint="give --output FILE to save it as it came",
        ) from None
    out.result(json_document(document) + "\n")
    out.say(sys.stderr, said)
    return 0


CALL_BODY_LIMIT = 16 * 1024 * 1024
JWK_FORMATS = ("jwk", "jwks", "json")


def jwk(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    from qsjwt.signing.jwk import (  # noqa: PLC0415
        check_kid,
        check_oauth_algorithm,
        public_forms,
        public_key_from_text,
    )

    if args.format not in JWK_FORMATS:
        raise InputError(f"must be one of {', '.join(JWK_FORMATS)}", input_name="format")
    kid = check_kid(args.key_id, input_name="key-id") if args.key_id else None
    alg = check_oauth_algorithm(args.algorithm, input_name="algorithm") if args.algorithm else None
    if args.public_key_file or args.certificate_file:
        text: str | bytes = read_bounded(
            args.public_key_file or args.certificate_file,
            KEY_LIMIT,
            input_name=CERTIFICATE,
            secret_hint=None,
        )
        key = public_key_from_text(
            text, input_name=CERTIFICATE, passphrase_name=PRIVATE_KEY_PASSPHRASE
        )
        source = CERTIFICATE
    elif (remote := gather.remote_key(gather.key_service_values(args, env), env, None)) is not None:
        key = remote.key.public_key()
        source = KEY_SERVICE
    else:
        material = gather.key_material(args, env)
        key = public_key_from_text(
            material.private_key,
            material.passphrase,
            input_name=PRIVATE_KEY,
            passphrase_name=PRIVATE_KEY_PASSPHRASE,
        )
        source = PRIVATE_KEY
    forms = public_forms(key, kid=kid, algorithm=alg, input_name=source)
    documents: dict[str, Mapping[str, Any]] = {
        "jwk": forms.jwk,
        "jwks": forms.jwks,
        "json": {
            "jwk": forms.jwk,
            "jwks": forms.jwks,
            "public_key_pem": forms.public_pem.decode("ascii"),
            "one_line_pem": forms.one_line_pem,
        },
    }
    document = documents[args.format]
    out.result(json_document(document) + "\n")
    out.say(
        sys.stderr,
        f"{'the kid given' if kid else 'kid = the key thumbprint ' + forms.jwk['kid']}, alg "
        f"{forms.jwk['alg']}: register this public JWK in the OAuth client (nothing in it is "
        "secret)",
    )
    return 0


def bulk(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    from qsjwt.cli.bulk import run  # noqa: PLC0415 (only bulk needs it)

    return run(args, env, names)


def check(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    """Reached only when the word after ``check`` is not a target (the parser sends a target's
    check to that target's command)."""
    target = parse_target(args.target, input_name="target")
    raise InputError(
        "is a target, but written otherwise than the command is",
        input_name="target",
        hint=f"write it in lower case: {PROG} check {target.value} ...",
    )


HANDLERS: dict[str, Handler] = {
    "check": check,
    "qseow": mint,
    "cloud": mint,
    "oauth": mint,
    "jwk": jwk,
    "call": call,
    "decode": decode,
    "verify": verify,
    "lint": lint,
    "keygen": keygen,
    "bulk": bulk,
}
