"""Writing secrets to disk: checked before any write, never world-readable, never through a symlink.

Each file is written complete before it gets a name: on Linux as an unnamed file (O_TMPFILE)
in the destination's directory, linked to a temporary name only to be renamed over the
destination at once; elsewhere (or where the file system has no O_TMPFILE) under a temporary
name made by ``mkstemp``. Signals that would end the process are held while files are written
and honoured at the next stage boundary, so clean-up always runs and no temporary file is left;
only SIGKILL can leave one, and on Linux only in the instant between link and rename.

Every call that exists only on some systems has a path for the others (Windows above all):
no ``os.fchmod`` (Python < 3.13 on Windows): ``os.chmod`` on the temporary name; no O_TMPFILE,
O_NOFOLLOW, O_DIRECTORY or ``os.link`` with ``dir_fd``: ``mkstemp``; a named temporary file is
closed before it is renamed (Windows cannot rename an open file); no O_NOFOLLOW when a dotenv
file is read: the opened file must be the one ``lstat`` sees; no SIGHUP or SIGPIPE: the signals
that exist are held (SIGBREAK too, on Windows). Links are found per path component with
``lstat``, which also sees Windows junctions, instead of comparing with ``realpath`` (which on
Windows also expands 8.3 short names and mapped drives). What "private" means on Windows, where
mode bits are mostly ignored, is in SECURITY.md.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import NamedTuple

from qsjwt.base.display import path_for_message
from qsjwt.base.errors import InputError, OutputError
from qsjwt.io.sources import file_kind

DOTENV_LIMIT = 1024 * 1024
"""The largest existing dotenv file whose other lines are kept (GitLab's own limit is far lower)."""

_STOPPING_NAMES = ("SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE", "SIGBREAK")
"""Signals that end the process by default; each is held only where it exists (not SIGHUP and
SIGPIPE on Windows, SIGBREAK only there)."""
_UNNAMED_NEEDS = ("O_TMPFILE", "O_DIRECTORY", "O_NOFOLLOW", "link")
"""What the unnamed-file path needs from ``os``; without any of it, ``mkstemp`` is used."""
_REPARSE_LINKS = {0xA000000C, 0xA0000003}
"""Windows reparse tags of a symbolic link and of a junction (mount point): both redirect a
path as a symbolic link does, and ``lstat`` reports them in ``st_reparse_tag``."""
_NO_UNNAMED_FILES = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL}
"""What open(O_TMPFILE) fails with where the kernel or file system has no unnamed files."""
_FD_DIR = "/proc/self/fd"
"""Linux: each open file descriptor as a link, the only way to give an unnamed file a name"""

stage_hook: Callable[[str], None] | None = None
"""TESTS ONLY: called with each stage's name as a write reaches it (opened, written, chmodded,
synced, linked, replaced), so a test can send a signal there. Never set by qs-jwt itself."""


class PlannedFile(NamedTuple):
    """A file to write: checked before anything is made, then written atomically with its mode.
    (A named tuple: a dataclass took 0.7 ms of the start of every command that writes one.)"""

    path: Path
    content: bytes
    input_name: str
    """the option that named the file, for messages"""
    mode: int = 0o600
    replaces_lines: bytes | None = None
    """a dotenv file: if set (``NAME=``), an existing file's other lines are kept and only the
    lines starting with it are replaced by ``content`` (appended when there is none)"""

    def __repr__(self) -> str:
        """Never the content: a token, a key or a dotenv line of one."""
        shown = f"path={self.path!r}, input_name={self.input_name!r}, mode={self.mode:#o}"
        return f"PlannedFile({shown}, content=<hidden>)"


class Interrupted(KeyboardInterrupt):
    """A signal stopped a write: the shell exits 128 + the signal's number, with no traceback."""

    def __init__(self, signum: int, *, written: bool) -> None:
        self.signum = signum
        self.written = written
        """True: every file was already in place (complete) when the signal was honoured"""
        super().__init__(self.signal_name)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


# --- checks ------------------------------------------------------------------------------------


def check_writable(
    planned: PlannedFile, *, overwrite: bool = True, reads: Sequence[tuple[str, str]] = ()
) -> None:
    """Refuse a destination before any work is done, so nothing is left half-written.

    ``reads`` pairs how an input file is spelled (``--private-key-file``) with its path: an
    output that is the same file would destroy it.
    """
    path, name = planned.path, planned.input_name
    shown = path_for_message(path)
    kind = _kind(path)
    if kind == "a symbolic link":
        raise InputError(
            f"{shown} is a symbolic link; refusing to write a secret through it",
            input_name=name,
            hint="give the path of a regular file",
        )
    if kind == "a directory":
        raise InputError(f"{shown} is a directory", input_name=name)
    if kind is not None:
        raise InputError(
            f"{shown} is {kind}, not a regular file; refusing to replace it",
            input_name=name,
            hint="give the path of a regular file, or of one to create",
        )
    for spelled, other in reads:
        if _same_file(path, Path(other)):
            raise InputError(
                f"names the same file as {spelled}; refusing to overwrite it", input_name=name
            )
    if _exists(path) and not overwrite:
        raise InputError(f"{shown} exists", input_name=name, hint="use --force to replace it")
    _check_directory(path.parent, name)


def _check_directory(parent: Path, input_name: str) -> None:
    if not parent.is_dir():
        raise InputError(
            f"directory {path_for_message(parent)} does not exist", input_name=input_name
        )
    if _link_on_the_way(parent):
        real = os.path.realpath(parent)
        raise InputError(
            f"directory {path_for_message(parent)} goes through a symbolic link; refusing to "
            "write a secret through it",
            input_name=input_name,
            hint=f"give the path without links: {path_for_message(real)}",
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"directory {path_for_message(parent)} is not writable", input_name=input_name
        )


def _link_on_the_way(directory: Path) -> bool:
    """Whether a component of ``directory``, as written, is a symbolic link or a junction.

    Each component is ``lstat``-ed in turn (``..`` included, so ``link/..`` is caught), which
    works the same on Windows. A relative path starts at the working directory, whose own
    links are not the caller's doing (on POSIX ``getcwd()`` has none).
    """
    if directory.is_absolute():
        current, parts = Path(directory.anchor), directory.parts[1:]
    elif directory.anchor:  # Windows: "C:relative" or "\\rooted": no components of its own
        absolute = Path(os.path.abspath(directory))
        current, parts = Path(absolute.anchor), absolute.parts[1:]
    else:
        current, parts = Path(os.getcwd()), directory.parts
    for part in parts:
        current = current / part
        if _is_link(current):
            return True
    return False


def _is_link(path: Path) -> bool:
    try:
        info = os.lstat(path)
    except (OSError, ValueError):
        return False
    return stat.S_ISLNK(info.st_mode) or getattr(info, "st_reparse_tag", 0) in _REPARSE_LINKS


def _kind(path: Path) -> str | None:
    """What is at ``path`` when it is not a regular file; None for a regular file or nothing."""
    try:
        mode = os.lstat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    return file_kind(mode)


def _exists(path: Path) -> bool:
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def _same_file(output: Path, other: Path) -> bool:
    """Whether writing ``output`` would replace ``other``: one inode, or one path to be."""
    try:
        return os.path.samefile(output, other)
    except (OSError, ValueError):  # one of them does not exist (yet)
        return os.path.realpath(output) == os.path.realpath(other)


# --- writing -----------------------------------------------------------------------------------


class _Staged:
    """One file on its way: complete content in ``fd`` (unnamed) or under ``name``."""

    __slots__ = ("fd", "name", "planned")

    def __init__(self, planned: PlannedFile, fd: int | None = None) -> None:
        self.planned = planned
        self.fd = fd
        self.name: str | None = None
        """a temporary name in the destination's directory, removed unless renamed into place"""

    def discard(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        if self.name is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.name)
            self.name = None


def write_all(files: Sequence[PlannedFile], *, overwrite: bool = True) -> None:
    """Write every file completely first, then rename them all into place.

    Raises InputError (a refused destination), OutputError (a failed write) or Interrupted.
    """
    for planned in files:
        check_writable(planned, overwrite=overwrite)
    staged: list[_Staged] = []
    with _held_signals() as received:
        try:
            for planned in files:
                staged.append(_Staged(planned))
                _stage(staged[-1], received)
            _commit(staged, received)
        finally:
            for item in staged:
                item.discard()


def _reached(stage: str, received: list[int], *, stop: bool = True) -> None:
    """A stage boundary: where a held signal stops the write (before anything is in place)."""
    if stage_hook is not None:
        stage_hook(stage)
    if stop and received:
        raise Interrupted(received[0], written=False)


SYNC_EVERY = 4 * 1024 * 1024
"""Bytes a streamed file takes to the disk as they come (``streamed``): the disk writes them
while the content is still being made, and the final fsync waits for the last part only
(``qs-jwt bulk``, 20,000 tokens: the final fsync took 8.7 ms, now ~3)."""


@contextlib.contextmanager
def streamed(planned: PlannedFile) -> Iterator[Callable[[bytes], None]]:
    """Write ``planned`` in parts while its content is still being made (``qs-jwt bulk``
    writes each task's tokens while its workers sign the next), then, when the block ends
    without an exception, put it in place with its mode as ``write_all`` does; on an exception
    nothing is left. The parts go to an unnamed file (Linux), which vanishes with the process
    whatever ends it; where there is none they are kept in memory and written by ``write_all``
    at the end, as a named temporary file could be left behind by a kill during the run. The
    unnamed file is synced every ``SYNC_EVERY`` bytes.

    Raises InputError, OutputError or Interrupted, as ``write_all`` does.
    """
    check_writable(planned)
    try:
        fd = _open_unnamed(planned.path.parent)
    except OSError as err:
        raise _write_error(planned, err) from None
    if fd is None:
        parts: list[bytes] = []
        yield parts.append
        write_all([planned._replace(content=b"".join(parts))])
        return
    item = _Staged(planned, fd=fd)
    unsynced = 0

    def write(data: bytes) -> None:
        nonlocal unsynced
        try:
            _write_fully(fd, data)
            unsynced += len(data)
            if unsynced >= SYNC_EVERY:
                os.fsync(fd)
                unsynced = 0
        except OSError as err:
            raise _write_error(planned, err) from None

    try:
        yield write
        check_writable(planned)  # as write_all checks it again just before it writes
        with _held_signals() as received:
            _reached("written", received)
            try:
                _seal(item, received)
            except OSError as err:
                raise _write_error(planned, err) from None
            _commit([item], received)
    finally:
        item.discard()


def _stage(item: _Staged, received: list[int]) -> None:
    planned = item.planned
    try:
        content = _content(planned)
        item.fd = _open_unnamed(planned.path.parent)
        if item.fd is None:
            import tempfile  # noqa: PLC0415 (the fallback only; see _open_unnamed)

            item.fd, item.name = tempfile.mkstemp(
                dir=planned.path.parent, prefix=f".{planned.path.name}."
            )
        _reached("opened", received)
        _write_fully(item.fd, content)
        _reached("written", received)
        _seal(item, received)
    except OSError as err:
        raise _write_error(planned, err) from None


def _write_fully(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _seal(item: _Staged, received: list[int]) -> None:
    """Give the written file its mode and take it to the disk (raises OSError)."""
    planned, fd = item.planned, item.fd
    if fd is None:
        raise RuntimeError("a file is sealed once, while it is open")  # our bug
    if hasattr(os, "fchmod"):  # not on Windows before Python 3.13
        os.fchmod(fd, planned.mode)
    else:
        os.chmod(item.name or f"{_FD_DIR}/{fd}", planned.mode)
    _reached("chmodded", received)
    os.fsync(fd)
    if item.name is not None:  # renamed by its name, and Windows cannot rename an open file
        item.fd = None
        os.close(fd)
    _reached("synced", received)


def _open_unnamed(directory: Path) -> int | None:
    """An unnamed file in ``directory`` (Linux O_TMPFILE, linked through /proc), or None."""
    if not all(hasattr(os, name) for name in _UNNAMED_NEEDS) or not os.path.isdir(_FD_DIR):
        return None
    try:
        return os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600)
    except OSError as err:
        if err.errno in _NO_UNNAMED_FILES:
            return None
        raise


def _commit(staged: list[_Staged], received: list[int]) -> None:
    """Rename each file into place; on failure, remove the files this run created."""
    created: list[Path] = []
    placed = False
    for item in staged:
        path = item.planned.path
        try:
            if item.name is None:
                item.name = _link_unnamed(item)
                _reached("linked", received, stop=not placed)
            existed = _exists(path)
            os.replace(item.name, path)
        except OSError as err:
            for new in created:
                with contextlib.suppress(OSError):
                    os.unlink(new)
            raise _write_error(item.planned, err) from None
        item.name, placed = None, True
        if not existed:
            created.append(path)
        _reached("replaced", received, stop=False)


def _link_unnamed(item: _Staged) -> str:
    """Give the complete unnamed file a fresh temporary name beside its destination.

    The directory's descriptor makes ``os.link`` call linkat(AT_SYMLINK_FOLLOW); plain link(2)
    would link the /proc entry itself and fail with EXDEV.
    """
    path = item.planned.path
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        while True:
            name = f".{path.name}.{os.urandom(8).hex()}"  # secrets.token_hex, without hmac
            try:
                os.link(f"{_FD_DIR}/{item.fd}", name, dst_dir_fd=directory, follow_symlinks=True)
            except FileExistsError:
                continue
            return os.path.join(path.parent, name)
    finally:
        os.close(directory)


def _content(planned: PlannedFile) -> bytes:
    """What to write: the content, or an existing dotenv file with our variable's line set."""
    prefix = planned.replaces_lines
    if prefix is None:
        return planned.content
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    try:
        # no link followed, no FIFO waited on; bytes as they are (O_BINARY: no CRLF translation
        # on Windows)
        flags = os.O_RDONLY | nofollow | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        handle = os.open(planned.path, flags)
    except FileNotFoundError:
        return planned.content
    with os.fdopen(handle, "rb") as existing:
        info = os.fstat(existing.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if not nofollow and not _is_the_file_at(planned.path, info):
            raise OSError(errno.ELOOP, "a symbolic link")
        old = existing.read(DOTENV_LIMIT + 1)
    if len(old) > DOTENV_LIMIT:
        raise InputError(
            f"{path_for_message(planned.path)} is over {DOTENV_LIMIT // 1024} KiB; refusing to "
            "rewrite it",
            input_name=planned.input_name,
            hint="give a new file",
        )
    return replace_lines(old, prefix, planned.content)


def _is_the_file_at(path: Path, opened: os.stat_result) -> bool:
    """Without O_NOFOLLOW (Windows): the file opened is the one at ``path``, not a link's target
    (a link put there since ``check_writable`` looked)."""
    try:
        here = os.lstat(path)
    except OSError:
        return False
    return not _is_link(path) and os.path.samestat(here, opened)


def replace_lines(old: bytes, prefix: bytes, line: bytes) -> bytes:
    """``old`` with its first line starting with ``prefix`` replaced by ``line`` (and any later
    one dropped), or ``line`` appended; every other line is kept byte for byte."""
    kept: list[bytes] = []
    done = False
    for existing in old.splitlines(keepends=True):
        if not existing.startswith(prefix):
            kept.append(existing)
        elif not done:
            kept.append(line)
            done = True
    if not done:
        if kept and not kept[-1].endswith((b"\n", b"\r")):
            kept.append(b"\n")
        kept.append(line)
    return b"".join(kept)


def _write_error(planned: PlannedFile, err: OSError) -> OutputError:
    return OutputError(
        f"cannot write {path_for_message(planned.path)}: {err.strerror or type(err).__name__}",
        input_name=planned.input_name,
    )


# --- signals -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _held_signals() -> Iterator[list[int]]:
    """Hold SIGINT, SIGTERM, SIGHUP and SIGPIPE (SIGBREAK on Windows) while files are written.

    A handler that raised at once could fire between ``mkstemp`` creating a file and returning
    its name, or inside the clean-up itself, and leave a secret behind. So each signal whose
    current handling would end the process (the default, or Python's KeyboardInterrupt) is only
    recorded; the write stops at the next stage boundary. An ignored or custom handler is left
    alone, and so is everything outside the main thread, where handlers cannot be set. Once the
    files are in place, a held signal is raised as Interrupted (written=True).
    """
    import threading  # noqa: PLC0415 (imported when a file is written, not at every start)

    received: list[int] = []
    old: dict[int, signal.Handlers | Callable[[int, FrameType | None], object] | int | None] = {}
    if threading.current_thread() is threading.main_thread():

        def hold(signum: int, frame: FrameType | None) -> None:
            received.append(signum)

        stopping = [getattr(signal, name) for name in _STOPPING_NAMES if hasattr(signal, name)]
        for signum in stopping:
            handler = signal.getsignal(signum)
            if handler in (signal.SIG_DFL, signal.default_int_handler):
                old[signum] = handler
                signal.signal(signum, hold)
    try:
        yield received
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)
    if received:
        raise Interrupted(received[0], written=True)
