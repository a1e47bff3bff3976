"""``qs-jwt bulk``: read the users, mint on every core (qsjwt.login.bulk), write JSON Lines."""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from qsjwt.base.display import path_for_message
from qsjwt.base.errors import InputError, QsjwtError
from qsjwt.base.inputs import CERTIFICATE, JWT_TARGETS, parse_target
from qsjwt.cli import gather, out
from qsjwt.io.files import Interrupted, PlannedFile, check_writable, write_all
from qsjwt.login.bulk import USERS, KeyText, mint_bulk, read_rows, sniff_format

SHOWN_SKIPPED = 10
"""How many skipped line numbers stderr lists before it only counts them."""


def run(args: argparse.Namespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    target = parse_target(args.target, allowed=JWT_TARGETS)
    names = gather.spelled(argparse.Namespace(**{**vars(args), "target": target}), env, names)
    names = {**names, USERS: "--users-file"}
    values = gather.settings_values(args, env, target)
    jobs = _jobs(args.jobs)
    material = gather.key_material(args, env)
    planned = _planned_output(args, env)
    if planned is None and sys.stdout is None:
        raise QsjwtError("standard output is closed; no token was made", hint="use --output FILE")
    key = KeyText(material.private_key, material.passphrase)
    loaded = key.load()  # refused here, before the users are read, when it cannot sign
    if material.certificate:
        from qsjwt.signing.keys import certificate_of, load_certificates  # noqa: PLC0415

        chain = load_certificates(material.certificate, input_name=CERTIFICATE)
        _, found = certificate_of(
            loaded.key, chain, input_name=CERTIFICATE, now=dt.datetime.now(dt.UTC)
        )
        out.findings(found, names, sys.stderr)
    stream = _open_users(args.users_file)
    try:
        lines = iter(stream)
        first = next(lines, "")
        users_format = args.users_format or sniff_format(first)
        rows = read_rows(itertools.chain([first], lines), target, users_format)
        result = mint_bulk(
            rows,
            target=target,
            shared=values,
            key=key,
            now=dt.datetime.now(dt.UTC),
            skip_bad_rows=args.skip_bad_rows,
            jobs=jobs,
            progress=_progress_bar(sys.stderr),
        )
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", input_name=USERS) from None
    finally:
        if stream is not sys.stdin:
            stream.close()
    out.findings(result.warnings, names, sys.stderr)
    text = "".join(line + "\n" for line in result.lines)
    if planned is None:
        out.result(text)
    else:
        try:
            write_all([PlannedFile(planned.path, text.encode(), "output", 0o600)])
        except Interrupted as stop:
            done = "the file was written" if stop.written else "no file was written or changed"
            out.say(sys.stderr, f"interrupted by {stop.signal_name}; {done}")
            return stop.exit_code
        out.say(sys.stderr, f"wrote {path_for_message(planned.path)} (mode 0600)")
    _summary(result.count, result.skipped)
    return 0


def _jobs(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 1024:
        raise InputError("must be a whole number from 1 to 1024", input_name="jobs")
    return int(text)


def _planned_output(args: argparse.Namespace, env: Mapping[str, str]) -> PlannedFile | None:
    """The output file, checked before any token is made: never over an input file."""
    if args.output is None or args.output == gather.STDIO:
        return None
    planned = PlannedFile(Path(args.output), b"", "output")
    inputs = (
        ("--users-file", args.users_file if args.users_file != gather.STDIO else None),
        ("--private-key-file", args.private_key_file),
        ("--passphrase-file", args.passphrase_file),
        ("--certificate-file", args.certificate_file),
        (gather.ENV_PRIVATE_KEY_FILE, env.get(gather.ENV_PRIVATE_KEY_FILE)),
        (gather.ENV_CERTIFICATE_FILE, env.get(gather.ENV_CERTIFICATE_FILE)),
    )
    check_writable(planned, reads=[(name, path) for name, path in inputs if path])
    return planned


def _open_users(path: str) -> TextIO:
    if path == gather.STDIO:
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError(
                "- reads the users from standard input, which is a terminal", input_name=USERS
            )
        return sys.stdin
    try:
        return open(path, encoding="utf-8", newline="")
    except OSError as err:
        raise InputError(
            f"cannot read {path_for_message(path)}: {err.strerror}", input_name=USERS
        ) from None


def _progress_bar(stream: TextIO | None) -> Callable[[int, int], None] | None:
    """A one-line counter on stderr, only when stderr is a terminal someone watches."""
    if stream is None or not stream.isatty():
        return None
    shown = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - shown[0] < 0.1:
            return
        shown[0] = now
        width = 30
        filled = width * done // max(total, 1)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} users")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def _summary(count: int, skipped: tuple[int, ...]) -> None:
    text = f"{count} token(s)"
    if skipped:
        lines = ", ".join(str(line) for line in skipped[:SHOWN_SKIPPED])
        more = f" and {len(skipped) - SHOWN_SKIPPED} more" if len(skipped) > SHOWN_SKIPPED else ""
        text += f"; {len(skipped)} bad row(s) skipped (line {lines}{more})"
    out.note(text)
