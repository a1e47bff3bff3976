"""Reading what a shell is given, with a limit that fits each kind of content.

A path like ``/dev/zero`` or a runaway variable must fail at once with a clear error, not
fill the memory. The limits are far above any real key, passphrase or token, and far below
what could hurt.
"""

from __future__ import annotations

import os
import stat

from qsjwt.base.display import path_exists, path_for_message
from qsjwt.base.errors import InputError

KEY_LIMIT = 256 * 1024
"""A private key or certificate input, PEM bundles with a chain included (a 4096-bit RSA key
is about 3.3 KB as PEM, a certificate 1-2 KB)."""

PASSPHRASE_LIMIT = 4 * 1024
"""A passphrase: OpenSSL's own prompt takes at most 1 KB."""

TOKEN_LIMIT = 1024 * 1024
"""A token to decode, verify or lint: far above what any proxy accepts, so that an oversized
token can still be read and reported."""


def _size_text(limit: int) -> str:
    return f"{limit // 1024} KiB"


def check_length(value: str | bytes, limit: int, *, input_name: str) -> None:
    """Refuse a value (a variable's, an argument's) longer than ``limit`` bytes."""
    if len(value) > limit:
        raise InputError(
            f"is longer than {_size_text(limit)}, more than any real value of this kind",
            input_name=input_name,
        )


FILE_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
}
"""What a path holds when it is not a regular file, in words."""


def file_kind(mode: int) -> str:
    """``mode``'s kind of file in words (``FILE_KINDS``)."""
    return FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")


_NON_BLOCKING = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
"""A FIFO with no writer opens at once instead of blocking the run (and is then refused)."""


def read_bounded(path: str, limit: int, *, input_name: str, secret_hint: str | None) -> bytes:
    """At most ``limit`` bytes of the regular file at ``path``, or a clear InputError.

    Opened non-blocking and refused unless it is a regular file: a FIFO with no writer would
    block ``open()`` for ever, and ``/dev/zero`` or a socket is no file of settings.
    ``secret_hint`` marks inputs whose "path" may be the secret itself, pasted into the wrong
    place: the path is then never shown unless it exists, and the hint says where text goes.
    """
    try:
        with open(os.open(path, _NON_BLOCKING), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError(
                    f"names {file_kind(info.st_mode)}, not a regular file",
                    input_name=input_name,
                    hint="give the path of a regular file",
                )
            if info.st_size > limit:
                raise _too_big(limit, input_name)
            data = handle.read(limit + 1)
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        raise _unreadable(path, err, input_name, secret_hint) from None
    if len(data) > limit:
        raise _too_big(limit, input_name)
    return data


def _too_big(limit: int, input_name: str) -> InputError:
    return InputError(
        f"the file it names is larger than {_size_text(limit)}, more than any real value of "
        "this kind",
        input_name=input_name,
        hint="check the path",
    )


def _unreadable(
    path: str, err: OSError | ValueError, input_name: str, secret_hint: str | None
) -> InputError:
    reason = getattr(err, "strerror", None) or "not a usable path"
    exists = path_exists(path)
    looks_like_text = "-----BEGIN" in path or len(path) > 1024 or "\n" in path
    if secret_hint and looks_like_text:
        hint: str | None = f"it looks like the text itself, not a path: give that in {secret_hint}"
    elif exists:
        hint = None
    else:
        hint = "the path is not shown, in case it is a secret given in the wrong place"
    where = f" ({path_for_message(path)})" if exists else ""
    return InputError(
        f"cannot read the file it names{where}: {reason}", input_name=input_name, hint=hint
    )


def passphrase_from(value: str | bytes) -> str | bytes:
    """A passphrase less the line breaks around it: a file or a pasted secret ends with one,
    and no passphrase anyone types holds one."""
    return value.strip("\r\n") if isinstance(value, str) else value.strip(b"\r\n")
