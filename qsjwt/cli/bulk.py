"""``qs-jwt bulk``: read the users, mint on every core (``qsjwt.app.bulk``), write JSON Lines."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import TextIO

from qsjwt.app.bulk import USERS, USERS_LIMIT, Users, issue_bulk
from qsjwt.base.display import path_for_message
from qsjwt.base.errors import InputError, QsjwtError
from qsjwt.base.inputs import JWT_TARGETS, parse_target
from qsjwt.cli import gather, out
from qsjwt.io.files import Interrupted, PlannedFile, check_writable, streamed
from qsjwt.io.sources import read_bounded

SHOWN_SKIPPED = 10
"""How many skipped line numbers stderr lists before it only counts them."""


def run(args: SimpleNamespace, env: Mapping[str, str], names: Mapping[str, str]) -> int:
    """``qs-jwt bulk``: gather the values, mint through ``app.bulk``, write the JSON Lines."""
    target = parse_target(args.target, allowed=JWT_TARGETS)
    names = gather.spelled(SimpleNamespace(**{**vars(args), "target": target}), env, names)
    names = {**names, USERS: "--users-file"}
    values = gather.settings_values(args, env, target)
    jobs = _jobs(args.jobs)
    key = gather.key_source(args, env, {})
    planned = _planned_output(args, env)
    if planned is None and sys.stdout is None:
        raise QsjwtError("standard output is closed; no token was made", hint="use --output FILE")
    if args.users_file == gather.STDIO:
        data = gather.stdin_bytes(USERS_LIMIT, input_name=USERS)
    else:
        data = read_bounded(args.users_file, USERS_LIMIT, input_name=USERS, secret_hint=None)
    mint = functools.partial(
        issue_bulk,
        target,
        Users(data, args.users_format),
        values,
        key,
        skip_bad_rows=args.skip_bad_rows,
        jobs=jobs,
        progress=_progress_bar(sys.stderr),
    )
    if planned is None:
        result, found = mint()
        out.findings(found + result.warnings, names, sys.stderr)
        out.result("".join(line + "\n" for line in result.lines))
    else:
        try:
            # each task's tokens are written while the workers sign the next ones; the file is
            # put in place (0600, synced) only once every token is made, and is else left out
            with streamed(PlannedFile(planned.path, b"", "output", 0o600)) as write:
                result, found = mint(sink=write)
                out.findings(found + result.warnings, names, sys.stderr)
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
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 1024:
        raise InputError("must be a whole number from 1 to 1024", input_name="jobs")
    return int(text)


def _planned_output(args: SimpleNamespace, env: Mapping[str, str]) -> PlannedFile | None:
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
