"""The commands: each reads its values (gather), calls the core, and prints (out)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from qsjwt.app.flow import Issued, KeySource, Request, check_asked, document, issue, prove
from qsjwt.app.target import parse_settings
from qsjwt.base.display import json_document, path_for_message
from qsjwt.base.errors import InputError, OutputError, QsjwtError, spell
from qsjwt.base.findings import Severity
from qsjwt.base.formats import iso_utc
from qsjwt.base.inputs import (
    CERTIFICATE,
    JWT_TARGETS,
    RECORD_INPUTS,
    Target,
    parse_target,
)
from qsjwt.cli import gather, out
from qsjwt.cli.out import PROG
from qsjwt.io.sources import KEY_LIMIT, read_bounded

if TYPE_CHECKING:
    import datetime as dt

    from qsjwt.io.files import PlannedFile

Handler = Callable[[SimpleNamespace, Mapping[str, str], Mapping[str, str]], int]
"""(parsed arguments, the environment, how each input was spelled) -> exit code"""

FORMATS = ("token", "json")


def _utc_now() -> dt.datetime:
    """The clock, for the commands that read or make certificates and tokens with dates (a mint
    takes its time from ``time``: it never imports ``datetime``)."""
    import datetime as dt  # noqa: PLC0415

    return dt.datetime.now(dt.UTC)


def mint(args: SimpleNamespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    """``qseow``, ``cloud`` and ``oauth``: gather, call the shared use case, deliver."""
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
    gather.with_ca_variables(values, env, target)
    outputs = gather.planned_outputs(args, env)
    if not outputs and sys.stdout is None and not check_only:
        raise QsjwtError("standard output is closed; no token was made", hint="use --output FILE")
    settings = parse_settings(target, values)
    out.findings(settings.warnings, names, sys.stderr)
    record = None
    if values.get("record"):
        from qsjwt.net.record import open_recorder  # noqa: PLC0415 (only with --record)

        command = f"check {target.value}" if check_only else target.value
        record = open_recorder(values, command=command)
    request = Request(settings, gather.key_source(args, env, values), ci_env=env, record=record)
    issued = issue(request)
    out.findings([f for f in issued.warnings if f not in settings.warnings], names, sys.stderr)
    if check_asked(settings):
        out.say(sys.stderr, prove(request, issued))
    if check_only:
        return 0
    shown = json_document(document(issued, expires_at=iso_utc)) if args.format == "json" else None
    rendered = (shown or issued.token) + "\n"
    if not outputs:
        out.result(rendered)
        return 0
    variable, done = _made(issued)
    variable = args.dotenv_variable or variable
    files = [
        p._replace(content=f"{variable}={issued.token}\n".encode())
        if p.replaces_lines
        else p._replace(content=rendered.encode())
        for p in outputs
    ]
    if (stopped := _write(files)) is not None:
        return stopped
    out.say(sys.stderr, done)
    return 0


def _made(issued: Issued) -> tuple[str, str]:
    """The dotenv variable of what was made, and the line that says when it expires (once the
    files are written: a token printed alone needs neither, nor ``datetime``)."""
    if issued.access is not None:
        access = issued.access
        expires = iso_utc(access.expires_at) if access.expires_at else "a time Qlik did not say"
        return gather.ACCESS_DOTENV_DEFAULT, f"access token expires at {expires}"
    if issued.assertion is not None:
        return gather.DOTENV_DEFAULT, (
            f"assertion expires at {iso_utc(issued.assertion.expires_at)}; post it to the "
            "tenant's /oauth/token once, before then"
        )
    signed = issued.signed
    expires = iso_utc(signed.expires_at) if signed is not None else "?"
    return gather.DOTENV_DEFAULT, f"token expires at {expires}"


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


def decode(args: SimpleNamespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    """``qs-jwt decode``: header and claims, NOT verified, and whether the token is in date."""
    from qsjwt.app import tokens  # noqa: PLC0415 (not on the mint path)
    from qsjwt.cli import reading  # noqa: PLC0415

    header, claims = tokens.decode(reading.token(args, env))
    in_date, said = tokens.validity(claims, now=_utc_now())
    out.say(sys.stderr, "NOT verified: the signature was not checked (use verify)")
    out.say(sys.stderr, said)
    shown = {
        "verified": False,
        "in_date": in_date,
        "validity": said,
        "header": header,
        "claims": claims,
        "times": tokens.times(claims),
    }
    out.result(json_document(shown) + "\n")
    return 0


def verify(args: SimpleNamespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    """``qs-jwt verify``: the signature, the times and (if given) the audience."""
    from qsjwt.app import tokens  # noqa: PLC0415 (not on the mint path)
    from qsjwt.cli import reading  # noqa: PLC0415

    token = reading.token(args, env)
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
    now = _utc_now()
    header, claims = tokens.verify(token, key_text, audience=args.audience, now=now)
    out.findings(tokens.certificate_findings(key_text, now=now), names, sys.stderr)
    _, said = tokens.validity(claims, now=now)
    shown = {"verified": True, "header": header, "claims": claims, "times": tokens.times(claims)}
    out.result(json_document(shown) + "\n")
    checked = " and audience" if args.audience else ""
    out.say(
        sys.stderr,
        f"valid: signature ({header.get('alg')}), expiry and not-before{checked} checked; {said}",
    )
    return 0


LINT_FORMATS = ("text", "json")


def lint(args: SimpleNamespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    """``qs-jwt lint``: every Qlik rule the token breaks; exit 1 on an error-level one."""
    from qsjwt.app import tokens  # noqa: PLC0415 (not on the mint path)
    from qsjwt.cli import reading  # noqa: PLC0415

    target = parse_target(args.target, allowed=JWT_TARGETS)
    if args.format not in LINT_FORMATS:
        raise InputError(f"must be one of {', '.join(LINT_FORMATS)}", input_name="format")
    found = tokens.lint(
        reading.token(args, env),
        target,
        now=_utc_now(),
        user_id_claim=args.user_id_claim,
        user_directory_claim=args.user_directory_claim,
    )
    if sys.stdout is None:
        raise QsjwtError("standard output is closed")
    errors = sum(f.severity is Severity.ERROR for f in found)
    if args.format == "json":
        document = {
            "target": target.value,
            "errors": errors,
            "warnings": len(found) - errors,
            "findings": [
                {"severity": f.severity.value, "claim": f.subject, "message": spell(f.message, {})}
                for f in found
            ],
        }
        out.result(json_document(document) + "\n")
        return 1 if errors else 0
    out.findings(found, names, sys.stdout)
    out.result(f"{errors} error(s), {len(found) - errors} warning(s) for target {target.value}\n")
    return 1 if errors else 0


def keygen(args: SimpleNamespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    """``qs-jwt keygen``: a key pair and certificate, or a key service key's public files."""
    from pathlib import Path  # noqa: PLC0415

    from qsjwt.app import keys  # noqa: PLC0415 (only keygen and jwk need it)
    from qsjwt.io.files import PlannedFile, check_writable  # noqa: PLC0415

    values = {
        "key-type": args.key_type,
        "bits": args.bits,
        "days": args.days,
        "curve": args.curve,
        "common-name": args.common_name,
    }
    service = gather.key_service_values(args, env)
    source = gather.key_source(args, env, service) if service.get("key-service") else KeySource()
    settings, made = keys.keygen(values, source, now=_utc_now(), ci_env=env)
    out_dir = Path(args.out_dir)
    if not out_dir.is_dir():  # only now: a refused argument leaves no empty directory behind
        # one new level in a real, writable directory: a key or passphrase given here by
        # mistake (a key's base64 holds '/') makes no tree of directories named after it
        if not out_dir.absolute().parent.is_dir():
            raise InputError(
                "names a directory inside one that does not exist; keygen creates only the "
                "last directory of the path",
                input_name="out-dir",
                hint="create the ones above it first (mkdir -p), or give another path",
            )
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
    out.result(keys.one_line_pem(made.certificate) + "\n")
    return 0


def call(args: SimpleNamespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    """``qs-jwt call``: one request with the token from a file or variable, never argv."""
    from pathlib import Path  # noqa: PLC0415

    from qsjwt.app.call import (  # noqa: PLC0415
        audience_warning,
        check_method,
        check_url,
        new_xrfkey,
        transport_for,
    )
    from qsjwt.app.call import call as request  # noqa: PLC0415 (HTTP only for this command)
    from qsjwt.cli import reading  # noqa: PLC0415
    from qsjwt.io.files import PlannedFile, check_writable  # noqa: PLC0415
    from qsjwt.net.connection import parse_connection  # noqa: PLC0415

    url = check_url(args.url)
    method = check_method(args.method)
    connection, findings = parse_connection(
        args.timeout,
        args.ca_bundle or gather.ca_bundle_variable(env),
        "true" if args.insecure else "",
    )
    output = gather.output_path(args.output)
    outputs = [PlannedFile(Path(output), b"", "output")] if output else []
    for planned in outputs:
        check_writable(planned, reads=gather.call_reads(args, env))
    token = reading.bearer_token(args, env)
    body = None
    if args.data_file == gather.STDIO:
        body = gather.stdin_bytes(CALL_BODY_LIMIT, input_name="data-file")
    elif args.data_file:
        body = read_bounded(
            args.data_file, CALL_BODY_LIMIT, input_name="data-file", secret_hint=None
        )
    mismatch = audience_warning(token, url)
    out.findings([*findings, *([mismatch] if mismatch else [])], names, sys.stderr)
    record = None
    if args.record:
        from qsjwt.net.record import open_recorder  # noqa: PLC0415 (only with --record)

        given = {name: getattr(args, name) or "" for name in RECORD_INPUTS}
        record = open_recorder(given, command="call")
    answer = request(
        method,
        url,
        token,
        body=body,
        content_type=args.content_type,
        xrfkey=new_xrfkey() if args.xrfkey else None,
        transport=transport_for(connection),
        record=record,
    )
    said = f"{answer.status} {answer.reason}, {len(answer.body)} bytes"
    if outputs:
        if (stopped := _write([outputs[0]._replace(content=answer.body)])) is not None:
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


def jwk(args: SimpleNamespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    """``qs-jwt jwk``: the public JWK to register in a Qlik Cloud OAuth client."""
    from qsjwt.app import keys  # noqa: PLC0415 (only keygen and jwk need it)

    if args.format not in JWK_FORMATS:
        raise InputError(f"must be one of {', '.join(JWK_FORMATS)}", input_name="format")
    public_text: str | bytes | None = None
    source = KeySource()
    if args.public_key_file or args.certificate_file:
        public_text = read_bounded(
            args.public_key_file or args.certificate_file,
            KEY_LIMIT,
            input_name=CERTIFICATE,
            secret_hint=None,
        )
    else:
        source = gather.key_source(args, env, gather.key_service_values(args, env))
    forms, kid = keys.jwk(
        key_id=args.key_id,
        algorithm=args.algorithm,
        public_text=public_text,
        key=source,
        ci_env=env,
    )
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
    out.result(json_document(documents[args.format]) + "\n")
    out.say(
        sys.stderr,
        f"{'the kid given' if kid else 'kid = the key thumbprint ' + forms.jwk['kid']}, alg "
        f"{forms.jwk['alg']}: register this public JWK in the OAuth client (nothing in it is "
        "secret)",
    )
    return 0


def bulk(args: SimpleNamespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    """``qs-jwt bulk``: its module is loaded only for this command."""
    from qsjwt.cli.bulk import run  # noqa: PLC0415 (only bulk needs it)

    return run(args, env, names)


def check(args: SimpleNamespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
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
