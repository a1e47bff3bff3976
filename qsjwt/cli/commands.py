"""The commands: each reads its values (gather), calls the core, and prints (out)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from qsjwt.claims import new_jti
from qsjwt.cli import gather, out
from qsjwt.display import json_document, path_for_message
from qsjwt.errors import InputError, QsjwtError
from qsjwt.files import Interrupted, PlannedFile, check_writable, write_all
from qsjwt.findings import Severity
from qsjwt.formats import iso_utc
from qsjwt.inputs import CERTIFICATE, Target
from qsjwt.keys import load_verifying_key, one_line_pem
from qsjwt.lint import lint_token
from qsjwt.mint import Minted, mint_from_text
from qsjwt.rules import MILLISECONDS
from qsjwt.settings import parse_settings, parse_target
from qsjwt.sign import decode_unverified, verify_token
from qsjwt.sources import KEY_LIMIT, read_bounded

Handler = Callable[[argparse.Namespace, Mapping[str, str], Mapping[str, str]], int]
"""(parsed arguments, the environment, how each input was spelled) -> exit code"""

FORMATS = ("token", "json")


def mint(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    target: Target = args.target
    values = gather.settings_values(args, env, target)
    if args.format not in FORMATS:
        raise InputError(f"must be one of {', '.join(FORMATS)}", input_name="format")
    outputs = gather.planned_outputs(args, env)
    if not outputs and sys.stdout is None:
        raise QsjwtError("standard output is closed; no token was made", hint="use --output FILE")
    settings = parse_settings(target, values)
    out.findings(settings.warnings, names, sys.stderr)
    material = gather.key_material(args, env)
    minted = mint_from_text(
        settings,
        private_key=material.private_key,
        passphrase=material.passphrase,
        certificate=material.certificate,
        now=dt.datetime.now(dt.UTC),
        jti=new_jti(),
    )
    out.findings([f for f in minted.warnings if f not in settings.warnings], names, sys.stderr)
    rendered = _render(minted, args.format)
    if not outputs:
        out.result(rendered + "\n")
        return 0
    variable = args.dotenv_variable or gather.DOTENV_DEFAULT
    files = [
        replace(p, content=f"{variable}={minted.token}\n".encode())
        if p.replaces_lines
        else replace(p, content=(rendered + "\n").encode())
        for p in outputs
    ]
    if (stopped := _write(files)) is not None:
        return stopped
    out.say(sys.stderr, f"token expires at {iso_utc(minted.expires_at)}")
    return 0


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


def _write(files: list[PlannedFile], *, overwrite: bool = True) -> int | None:
    """Write every file, then say so; the exit code when a signal stopped the write."""
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
    target = parse_target(args.target)
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
    from qsjwt.keygen import make_key_pair, parse_keygen  # noqa: PLC0415 (only keygen needs it)

    now = dt.datetime.now(dt.UTC)
    values = {"key-type": args.key_type, "bits": args.bits, "days": args.days}
    settings = parse_keygen({**values, "common-name": args.common_name}, now=now)
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
    ]
    if (stopped := _write(files, overwrite=args.force)) is not None:
        return stopped
    out.say(
        sys.stderr,
        f"certificate valid for {settings.days} days; the one-line PEM for Qlik Cloud's "
        "identity-provider API follows on stdout",
    )
    out.result(one_line_pem(made.certificate) + "\n")
    return 0


def bulk(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    from qsjwt.cli.bulk import run  # noqa: PLC0415 (only bulk needs it)

    return run(args, env, names)


HANDLERS: dict[str, Handler] = {
    "qseow": mint,
    "cloud": mint,
    "decode": decode,
    "verify": verify,
    "lint": lint,
    "keygen": keygen,
    "bulk": bulk,
}
