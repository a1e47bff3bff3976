"""Writing secrets to disk: all files or none, never world-readable, never through a symlink."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qsjwt.errors import InputError


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    content: bytes
    input_name: str
    """the option that named the file, for messages"""
    mode: int = 0o600


def check_writable(planned: PlannedFile, *, overwrite: bool = True) -> None:
    """Refuse a destination before any work is done, so nothing is left half-written."""
    path = planned.path
    if path.is_symlink():
        raise InputError(
            f"{str(path)!r} is a symbolic link; refusing to write a secret through it",
            input_name=planned.input_name,
            hint="give the path of a regular file",
        )
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a directory", input_name=planned.input_name)
    if path.exists() and not overwrite:
        raise InputError(
            f"{str(path)!r} exists", input_name=planned.input_name, hint="use --force to replace it"
        )
    parent = path.parent
    if not parent.is_dir():
        raise InputError(f"directory {str(parent)!r} does not exist", input_name=planned.input_name)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"directory {str(parent)!r} is not writable", input_name=planned.input_name
        )


def write_all(files: Sequence[PlannedFile], *, overwrite: bool = True) -> None:
    """Write every file to a temporary name first, then rename them all into place."""
    for planned in files:
        check_writable(planned, overwrite=overwrite)
    staged: list[tuple[str, PlannedFile]] = []
    placed: list[Path] = []
    for current in files:
        try:
            staged.append((_stage(current), current))
        except OSError as err:
            _remove([temp for temp, _ in staged])
            raise _write_error(current, err) from None
    for temp, current in staged:
        try:
            os.replace(temp, current.path)
        except OSError as err:
            _remove([temp for temp, _ in staged])
            _remove(placed)
            raise _write_error(current, err) from None
        placed.append(current.path)


def _write_error(planned: PlannedFile, err: OSError) -> InputError:
    return InputError(
        f"cannot write {str(planned.path)!r}: {err.strerror}", input_name=planned.input_name
    )


def _remove(paths: Sequence[str] | Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _stage(planned: PlannedFile) -> str:
    fd, temp = tempfile.mkstemp(dir=planned.path.parent, prefix=f".{planned.path.name}.")
    try:
        os.fchmod(fd, planned.mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(planned.content)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError:
        _remove([temp])
        raise
    return temp
