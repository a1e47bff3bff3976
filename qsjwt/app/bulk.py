"""``bulk``: a token for each user of a users file, the same for the command line and the action.

The file is read bounded (``USERS_LIMIT``) and as UTF-8 with or without a byte-order mark (Excel
writes one); a file with no users is an input error, never an empty success. The key is loaded
and checked once, before any row is read; a certificate given with it must be its own.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

from qsjwt.app.flow import KeySource
from qsjwt.base.errors import InputError
from qsjwt.base.findings import Finding
from qsjwt.base.inputs import CERTIFICATE, Target
from qsjwt.base.values import RawValue
from qsjwt.login.bulk import USERS, BulkResult, KeyText, mint_bulk, read_rows

__all__ = ["USERS", "USERS_LIMIT", "BulkResult", "Users", "issue_bulk"]

USERS_LIMIT = 64 * 1024 * 1024
"""Bytes of a users file read at most: about half a million users."""


class Users(NamedTuple):
    """The users file as read: its bytes, and the format if the user named one."""

    data: bytes
    users_format: str | None = None


def issue_bulk(
    target: Target,
    users: Users,
    shared: Mapping[str, RawValue],
    key: KeySource,
    *,
    skip_bad_rows: bool = False,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    sink: Callable[[bytes], None] | None = None,
) -> tuple[BulkResult, tuple[Finding, ...]]:
    """The tokens (to ``sink`` as they are made, if given: ``mint_bulk``), and what the
    certificate check found (warnings); raises InputError for the users file (``USERS``), the
    key or a bad row."""
    if key.private_key is None:
        raise InputError("is required", input_name="private-key")
    now = int(time.time())
    text_key = KeyText(key.private_key, key.passphrase)
    loaded = text_key.load()  # refused here, before the users are read, when it cannot sign
    found: tuple[Finding, ...] = ()
    if key.certificate:
        from qsjwt.signing.keys import certificate_of, load_certificates  # noqa: PLC0415

        chain = load_certificates(key.certificate, input_name=CERTIFICATE)
        _, listed = certificate_of(loaded.key, chain, input_name=CERTIFICATE, now=now)
        found = tuple(listed)
    try:
        text = users.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", input_name=USERS) from None
    if not text.strip():
        raise InputError("holds no users", input_name=USERS, hint="one user per row")
    layout, found_rows = read_rows(text, target, users.users_format)
    with _collector_paused():
        rows = list(found_rows)
        if not rows:
            raise InputError("holds no users", input_name=USERS, hint="one user per row")
        result = mint_bulk(
            rows,
            layout=layout,
            shared=shared,
            key=text_key,
            now=now,
            skip_bad_rows=skip_bad_rows,
            jobs=jobs,
            progress=progress,
            sink=sink,
            loaded=loaded,
        )
    return result, found


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while the rows are read and signed: they hold no
    cycles, and it would walk the growing list of them again and again (3 ms in the parent
    before the workers start, with 20,000 rows; forked workers run without it too)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
