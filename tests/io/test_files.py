"""Writing secrets: mode 0600, atomic, never through a symlink, all files or none."""

from __future__ import annotations

import errno
import itertools
import os
import signal
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qsjwt.base.errors import InputError, OutputError, QsjwtError
from qsjwt.io import files
from qsjwt.io.files import PlannedFile, check_writable, replace_lines, write_all
from tests.helpers import assert_error
from tests.platforms import (
    DEV_NULL_PATH,
    FIFOS,
    POSIX_MODES,
    POSIX_SIGNALS,
    PROCFS,
    SYMLINKS,
    UNIX_SOCKETS,
    UNNAMED_FILES,
    WINDOWS,
)


def _planned(
    path: Path, content: bytes = b"secret\n", name: str = "output", **kw: Any
) -> PlannedFile:
    return PlannedFile(path=path, content=content, input_name=name, **kw)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask, so a 0600 result is the code's doing, not the umask's."""
    old = os.umask(0)
    yield
    os.umask(old)


@POSIX_MODES
def test_writes_with_mode_0600(tmp_path: Path, open_umask: Any) -> None:
    target = tmp_path / "token.txt"
    write_all([_planned(target, b"eyJ.token\n")])
    assert target.read_bytes() == b"eyJ.token\n"
    assert _mode(target) == 0o600
    assert sorted(tmp_path.iterdir()) == [target]  # no temporary file left behind


@POSIX_MODES
def test_mode_can_be_chosen(tmp_path: Path, open_umask: Any) -> None:
    target = tmp_path / "certificate.pem"
    write_all([_planned(target, mode=0o644)])
    assert _mode(target) == 0o644


@POSIX_MODES
def test_overwrite_replaces_content_and_tightens_mode(tmp_path: Path, open_umask: Any) -> None:
    target = tmp_path / "token.txt"
    target.write_bytes(b"old and longer content")
    target.chmod(0o644)
    write_all([_planned(target, b"new")])
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o600


@pytest.mark.skipif(WINDOWS, reason="Windows cannot replace a file that another handle holds open")
def test_replaces_atomically_by_rename(tmp_path: Path) -> None:
    """A reader holding the old file keeps it whole: the new content is a new inode."""
    target = tmp_path / "token.txt"
    target.write_bytes(b"old")
    before = target.stat().st_ino
    with target.open("rb") as reader:
        write_all([_planned(target, b"new")])
        assert reader.read() == b"old"
    assert target.stat().st_ino != before


def test_writes_several_files(tmp_path: Path) -> None:
    first, second = tmp_path / "key.pem", tmp_path / "cert.pem"
    write_all([_planned(first, b"1"), _planned(second, b"2", mode=0o644)])
    assert (first.read_bytes(), second.read_bytes()) == (b"1", b"2")
    assert (_mode(first), _mode(second)) == (0o600, 0o644)


def test_overwrite_false_refuses_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "private-key.pem"
    target.write_bytes(b"keep me")
    with pytest.raises(InputError) as info:
        write_all([_planned(target, name="out-dir")], overwrite=False)
    assert_error(info.value, "out-dir", "exists", "--force")
    assert target.read_bytes() == b"keep me"


def test_overwrite_false_writes_a_new_file(tmp_path: Path) -> None:
    target = tmp_path / "private-key.pem"
    write_all([_planned(target)], overwrite=False)
    assert target.read_bytes() == b"secret\n"


@SYMLINKS
@pytest.mark.parametrize("dangling", [False, True])
def test_refuses_a_symlink_destination(tmp_path: Path, dangling: bool) -> None:
    real = tmp_path / "elsewhere.txt"
    if not dangling:
        real.write_bytes(b"untouched")
    link = tmp_path / "token.txt"
    link.symlink_to(real)
    with pytest.raises(InputError) as info:
        write_all([_planned(link)])
    assert_error(info.value, "output", "is a symbolic link", "regular file")
    assert link.is_symlink()
    if dangling:
        assert not real.exists()
    else:
        assert real.read_bytes() == b"untouched"


def test_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        write_all([_planned(tmp_path)])
    assert_error(info.value, "output", "is a directory")


def test_refuses_a_missing_parent(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "token.txt"
    with pytest.raises(InputError) as info:
        write_all([_planned(target)])
    assert_error(info.value, "output", "does not exist")
    assert not (tmp_path / "no").exists()


def test_refuses_a_parent_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(InputError) as info:
        write_all([_planned(tmp_path / "file" / "token.txt")])
    assert_error(info.value, "output", "does not exist")


@PROCFS
def test_refuses_an_unwritable_directory() -> None:
    """The tests run as root, for whom mode bits do not stop writing; /proc/sys does.

    access(2) reports procfs directories as not writable even for root, and they are not.
    """
    target = Path("/proc/sys/qs-jwt-token")
    with pytest.raises(InputError) as info:
        write_all([_planned(target)])
    assert_error(info.value, "output", "is not writable")
    assert not target.exists()


def test_unwritable_check_uses_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same branch for an ordinary directory, whatever user runs the tests."""
    asked = []

    def no_write(path: str | Path, mode: int) -> bool:
        asked.append((Path(path), mode))
        return False

    monkeypatch.setattr(os, "access", no_write)
    with pytest.raises(InputError) as info:
        check_writable(_planned(tmp_path / "token.txt"))
    assert_error(info.value, "output", f"directory {str(tmp_path)!r} is not writable")
    assert asked == [(tmp_path, os.W_OK | os.X_OK)]


# --- all or nothing --------------------------------------------------------------------------


def test_second_file_refused_first_not_written(tmp_path: Path) -> None:
    first = tmp_path / "key.pem"
    second = tmp_path / "missing" / "cert.pem"
    with pytest.raises(InputError) as info:
        write_all([_planned(first, name="one"), _planned(second, name="two")])
    assert_error(info.value, "two", "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_second_file_existing_first_not_written(tmp_path: Path) -> None:
    first, second = tmp_path / "key.pem", tmp_path / "cert.pem"
    second.write_bytes(b"old cert")
    with pytest.raises(InputError):
        write_all([_planned(first), _planned(second, name="two")], overwrite=False)
    assert sorted(tmp_path.iterdir()) == [second]
    assert second.read_bytes() == b"old cert"


def test_rename_failure_on_the_second_file_leaves_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "key.pem", tmp_path / "cert.pem"
    real_replace = os.replace
    calls = []

    def failing_replace(src: str | Path, dst: str | Path) -> None:
        calls.append(Path(dst))
        if Path(dst) == second:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(QsjwtError) as info:
        write_all([_planned(first, name="one"), _planned(second, name="two")])
    assert (type(info.value), info.value.exit_code) == (OutputError, 1)
    assert_error(info.value, "two", "cannot write", "No space left on device")
    assert calls == [first, second]
    assert list(tmp_path.iterdir()) == []  # neither file, and no temporary file


@pytest.mark.skipif(
    not hasattr(os, "fchmod"),
    reason="no os.fchmod (Windows before Python 3.13); test_files_portable fails os.chmod",
)
def test_staging_failure_on_the_second_file_leaves_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "key.pem", tmp_path / "cert.pem"
    real_fchmod = os.fchmod
    calls = []

    def failing_fchmod(fd: int, mode: int) -> None:
        calls.append(mode)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real_fchmod(fd, mode)

    monkeypatch.setattr(os, "fchmod", failing_fchmod)
    with pytest.raises(QsjwtError) as info:
        write_all([_planned(first, name="one"), _planned(second, name="two")])
    assert (type(info.value), info.value.exit_code) == (OutputError, 1)
    assert_error(info.value, "two", "cannot write", "Input/output error")
    assert list(tmp_path.iterdir()) == []


def test_error_message_does_not_carry_the_content(tmp_path: Path) -> None:
    secret = b"eyJhbGciOiJSUzI1NiJ9.secret-token-body.sig"
    with pytest.raises(InputError) as info:
        write_all([_planned(tmp_path / "nope" / "t", secret)])
    assert secret.decode() not in info.value.render()


# --- class 1: an interruption leaves no secret behind ------------------------------------------

UNNAMED_STAGES = ["opened", "written", "chmodded", "synced", "linked", "replaced"]
NAMED_STAGES = ["opened", "written", "chmodded", "synced", "replaced"]
HELD = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]


@pytest.fixture(params=["unnamed", "named"])
def staging(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of staging: Linux's O_TMPFILE, and mkstemp (other systems, other file systems)."""
    if request.param == "named":
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    elif not hasattr(os, "O_TMPFILE") or not os.path.isdir(files._FD_DIR):
        pytest.skip("O_TMPFILE and /proc/self/fd are Linux only")
    return str(request.param)


def _stages_seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(files, "stage_hook", seen.append)
    return seen


def test_every_stage_is_reached_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, staging: Any
) -> None:
    seen = _stages_seen(monkeypatch)
    write_all([_planned(tmp_path / "a"), _planned(tmp_path / "b")])
    stages = UNNAMED_STAGES if staging == "unnamed" else NAMED_STAGES
    staged, committed = stages[:4], stages[4:]
    assert seen == staged + staged + committed + committed


@UNNAMED_FILES
def test_on_linux_the_file_has_no_name_until_it_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """O_TMPFILE: while the secret is written, synced and chmodded, the directory is unchanged."""
    listings: dict[str, list[str]] = {}

    def look(stage: str) -> None:
        listings[stage] = sorted(p.name for p in tmp_path.iterdir())

    monkeypatch.setattr(files, "stage_hook", look)
    write_all([_planned(tmp_path / "token.jwt")])
    assert listings["opened"] == listings["written"] == listings["synced"] == []
    assert len(listings["linked"]) == 1 and listings["linked"][0].startswith(".token.jwt.")
    assert listings["replaced"] == ["token.jwt"]


@UNNAMED_FILES
def test_without_unnamed_files_the_temporary_name_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_umask: Any
) -> None:
    """The mkstemp fallback, e.g. a file system answering O_TMPFILE with EOPNOTSUPP."""
    real_open = os.open

    def no_tmpfile(path: str, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(errno.EOPNOTSUPP, "Operation not supported")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_tmpfile)
    modes: list[int] = []

    def look(stage: str) -> None:
        if stage == "opened":
            (temp,) = tmp_path.iterdir()
            assert temp.name.startswith(".token.jwt.")
            modes.append(_mode(temp))

    monkeypatch.setattr(files, "stage_hook", look)
    write_all([_planned(tmp_path / "token.jwt", b"tok")])
    assert modes == [0o600]
    assert [p.name for p in tmp_path.iterdir()] == ["token.jwt"]


def _signal_at(monkeypatch: pytest.MonkeyPatch, stage: str, signum: int) -> None:
    """Send ``signum`` to this process the first time a write reaches ``stage``."""
    sent: list[str] = []

    def hook(reached: str) -> None:
        if reached == stage and not sent:
            sent.append(reached)
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(files, "stage_hook", hook)


@pytest.fixture(params=[False, True], ids=["new", "replacing"])
def existing(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


SIGNAL_POINTS = [
    *itertools.product(["unnamed"], UNNAMED_STAGES, HELD),
    *itertools.product(["named"], NAMED_STAGES, HELD),  # mkstemp files are named from the start
]


@pytest.mark.usefixtures("hangup_at_default")
@POSIX_SIGNALS
@pytest.mark.parametrize(
    "at", SIGNAL_POINTS, ids=lambda at: f"{at[0]}-{at[1]}-{signal.Signals(at[2]).name}"
)
def test_a_signal_at_any_stage_leaves_old_or_new_files_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool, at: Any
) -> None:
    staging, stage, signum = at
    if staging == "named":
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    elif not hasattr(os, "O_TMPFILE") or not os.path.isdir(files._FD_DIR):
        pytest.skip("O_TMPFILE and /proc/self/fd are Linux only")
    first, second = tmp_path / "private-key.pem", tmp_path / "certificate.pem"
    if existing:
        first.write_bytes(b"old key")
        second.write_bytes(b"old cert")
    before = {signal.getsignal(s) for s in HELD}
    _signal_at(monkeypatch, stage, signum)
    with pytest.raises(files.Interrupted) as info:
        write_all([_planned(first, b"new key"), _planned(second, b"new cert", mode=0o644)])
    stopped = info.value
    assert (stopped.signum, stopped.exit_code) == (signum, 128 + signum)
    assert stopped.written == (stage == "replaced")
    contents = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    if stopped.written:  # the signal came during the renames: they all finish first
        assert contents == {first.name: b"new key", second.name: b"new cert"}
    elif existing:
        assert contents == {first.name: b"old key", second.name: b"old cert"}
    else:
        assert contents == {}
    assert {signal.getsignal(s) for s in HELD} == before  # handlers restored


@POSIX_SIGNALS
def test_an_ignored_signal_stays_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python ignores SIGPIPE (a closed pipe is an OSError instead), so it stops nothing."""
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN
    _signal_at(monkeypatch, "written", signal.SIGPIPE)
    write_all([_planned(tmp_path / "token.jwt", b"tok")])
    assert [p.read_bytes() for p in tmp_path.iterdir()] == [b"tok"]
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN


@POSIX_SIGNALS
def test_a_custom_handler_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    old = signal.signal(signal.SIGHUP, lambda signum, frame: calls.append(signum))
    try:
        _signal_at(monkeypatch, "written", signal.SIGHUP)
        write_all([_planned(tmp_path / "token.jwt")])
        assert calls == [signal.SIGHUP]
    finally:
        signal.signal(signal.SIGHUP, old)
    assert [p.name for p in tmp_path.iterdir()] == ["token.jwt"]


def test_outside_the_main_thread_signals_are_not_touched(tmp_path: Path) -> None:
    """signal.signal works only in the main thread: elsewhere the write goes on without it."""
    errors: list[BaseException] = []

    def write() -> None:
        try:
            write_all([_planned(tmp_path / "token.jwt")])
        except BaseException as err:
            errors.append(err)

    worker = threading.Thread(target=write)
    worker.start()
    worker.join()
    assert errors == []
    assert (tmp_path / "token.jwt").read_bytes() == b"secret\n"


def test_a_write_error_after_staging_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, staging: Any
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(QsjwtError):
        write_all([_planned(tmp_path / "token.jwt")])
    assert list(tmp_path.iterdir()) == []


# --- class 2: nothing but a regular file is replaced ------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        yield path


@pytest.mark.parametrize(
    ("place", "kind"),
    [
        pytest.param("/dev/null", "is a character device, not a regular file", marks=DEV_NULL_PATH),
        pytest.param("fifo", "is a FIFO (named pipe), not a regular file", marks=FIFOS),
        pytest.param("unix_socket", "is a socket, not a regular file", marks=UNIX_SOCKETS),
    ],
)
def test_refuses_what_is_not_a_regular_file(
    request: pytest.FixtureRequest, place: str, kind: str
) -> None:
    path = Path(place) if place.startswith("/") else request.getfixturevalue(place)
    before = os.lstat(path)
    with pytest.raises(InputError) as info:
        write_all([_planned(path)])
    assert_error(info.value, "output", repr(str(path)), kind, "regular file")
    after = os.lstat(path)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


@SYMLINKS
def test_refuses_the_same_file_as_an_input(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_bytes(b"the only key")
    hard = tmp_path / "hard.pem"
    os.link(key, hard)
    link = tmp_path / "link-to-key.pem"
    link.symlink_to(key)
    for output, given in [
        (key, key),
        (hard, key),
        (key, link),
        (Path(f"{tmp_path}/./key.pem"), key),
    ]:
        with pytest.raises(InputError) as info:
            check_writable(_planned(output), reads=[("--private-key-file", str(given))])
        assert_error(info.value, "output", "names the same file as --private-key-file")
    assert key.read_bytes() == b"the only key"


def test_two_outputs_not_yet_there_are_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        check_writable(
            _planned(Path("t.jwt"), name="dotenv"), reads=[("--output", f"{tmp_path}/t.jwt")]
        )
    assert_error(info.value, "dotenv", "names the same file as --output")
    check_writable(_planned(Path("u.jwt")), reads=[("--output", "t.jwt"), ("--x", "missing.pem")])


@SYMLINKS
@pytest.mark.parametrize("depth", [1, 2])
def test_refuses_a_path_through_a_symlinked_directory(tmp_path: Path, depth: int) -> None:
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(real)
    parent = tmp_path / "alias" if depth == 1 else tmp_path / "alias" / "sub"
    with pytest.raises(InputError) as info:
        write_all([_planned(parent / "token.jwt")])
    shown_real = repr(str(real if depth == 1 else real / "sub"))
    assert_error(
        info.value, "output", "goes through a symbolic link", f"without links: {shown_real}"
    )
    assert sorted(p.name for p in real.rglob("*")) == ["sub"]


@SYMLINKS
def test_a_relative_path_is_measured_from_the_real_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """getcwd() has no links, so only links written in the path itself are refused."""
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path / "alias")
    write_all([_planned(Path("token.jwt"))])
    assert (tmp_path / "real" / "token.jwt").read_bytes() == b"secret\n"


def _dotenv(path: Path) -> PlannedFile:
    return PlannedFile(path, b"QLIK_JWT=eyJ.new\n", "dotenv", replaces_lines=b"QLIK_JWT=")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"", b"QLIK_JWT=eyJ.new\n"),
        (b"A=1\nB=2\n", b"A=1\nB=2\nQLIK_JWT=eyJ.new\n"),
        (b"A=1", b"A=1\nQLIK_JWT=eyJ.new\n"),
        (b"A=1\nQLIK_JWT=eyJ.old\nB=2\n", b"A=1\nQLIK_JWT=eyJ.new\nB=2\n"),
        (b"QLIK_JWT=a\r\nX=\xff\r\nQLIK_JWT=b\r\n", b"QLIK_JWT=eyJ.new\nX=\xff\r\n"),
        (b"QLIK_JWT_OLD=1\n#QLIK_JWT=2\n", b"QLIK_JWT_OLD=1\n#QLIK_JWT=2\nQLIK_JWT=eyJ.new\n"),
    ],
    ids=["empty", "append", "no-final-newline", "replace-in-place", "duplicates-crlf", "prefixes"],
)
def test_dotenv_keeps_every_other_line(
    tmp_path: Path, open_umask: Any, old: bytes, new: bytes
) -> None:
    path = tmp_path / "build.env"
    path.write_bytes(old)
    if not WINDOWS:
        path.chmod(0o644)
    write_all([_dotenv(path)])
    assert path.read_bytes() == new
    if not WINDOWS:
        assert _mode(path) == 0o600
    assert replace_lines(old, b"QLIK_JWT=", b"QLIK_JWT=eyJ.new\n") == new


def test_dotenv_new_file(tmp_path: Path) -> None:
    path = tmp_path / "build.env"
    write_all([_dotenv(path)])
    assert path.read_bytes() == b"QLIK_JWT=eyJ.new\n"


def test_dotenv_too_large_to_be_a_dotenv_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.env"
    path.write_bytes(b"A=" + b"x" * files.DOTENV_LIMIT)
    with pytest.raises(InputError) as info:
        write_all([_dotenv(path)])
    assert_error(info.value, "dotenv", "is over 1024 KiB")
    assert path.stat().st_size == files.DOTENV_LIMIT + 2
    assert [p.name for p in tmp_path.iterdir()] == ["big.env"]


# --- class 3: a path that does not exist is never echoed -------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        lambda tmp, secret: tmp / secret / "token.jwt",
        lambda tmp, secret: tmp / "file" / secret,
    ],
    ids=["missing-directory", "below-a-file"],
)
def test_a_missing_path_is_described_not_shown(tmp_path: Path, where: Any) -> None:
    (tmp_path / "file").write_bytes(b"")
    secret = "hunter2-passphrase-typed-here"
    with pytest.raises(InputError) as info:
        write_all([_planned(where(tmp_path, secret))])
    assert secret not in info.value.render()


def test_a_write_error_does_not_show_a_path_that_vanished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "hunter2-passphrase-typed-here"

    def failing_replace(src: str | Path, dst: str | Path) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(QsjwtError) as info:
        write_all([_planned(tmp_path / secret)])
    assert_error(info.value, "output", "cannot write", "Read-only file system")
    assert secret not in info.value.render()


def test_messages_show_a_path_that_exists(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        write_all([_planned(tmp_path)])
    assert repr(str(tmp_path)) in info.value.render()


# --- class 4: Windows and other systems ------------------------------------------------------


@POSIX_MODES
@pytest.mark.parametrize("mode", [0o600, 0o644])
def test_without_fchmod_the_mode_is_still_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_umask: Any, staging: Any, mode: int
) -> None:
    """Windows before Python 3.13 has no os.fchmod: os.chmod on the path does the same."""
    monkeypatch.delattr(os, "fchmod")
    target = tmp_path / "certificate.pem"
    target.write_bytes(b"old")
    target.chmod(0o666)
    write_all([_planned(target, b"new", mode=mode)])
    assert (target.read_bytes(), _mode(target)) == (b"new", mode)
    assert [p.name for p in tmp_path.iterdir()] == ["certificate.pem"]


def test_without_proc_the_named_path_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_umask: Any
) -> None:
    """O_TMPFILE needs /proc/self/fd to link the file: without it, mkstemp is used."""
    monkeypatch.setattr(files, "_FD_DIR", str(tmp_path / "no-proc"))
    seen = _stages_seen(monkeypatch)
    write_all([_planned(tmp_path / "token.jwt")])
    assert seen == NAMED_STAGES
    if not WINDOWS:
        assert _mode(tmp_path / "token.jwt") == 0o600


# --- streamed: written in parts while the content is made (qs-jwt bulk) ------------------------


@POSIX_MODES
def test_streamed_parts_are_put_in_place_whole_at_the_end(
    tmp_path: Path, staging: Any, open_umask: Any
) -> None:
    """Nothing new in the directory while the parts come (an unnamed file, or memory), then
    the whole file with its mode, as write_all leaves it."""
    target = tmp_path / "tokens.jsonl"
    target.write_bytes(b"old")
    with files.streamed(_planned(target, b"")) as write:
        write(b"one\n")
        write(b"two\n")
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {target.name: b"old"}
    assert target.read_bytes() == b"one\ntwo\n"
    assert _mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_streamed_leaves_nothing_when_the_content_fails(
    tmp_path: Path, staging: Any, existing: bool
) -> None:
    """A bad row or a stopped run ends the block with an exception: no part is left, and a file
    that was there is unchanged."""
    target = tmp_path / "tokens.jsonl"
    if existing:
        target.write_bytes(b"old")
    with pytest.raises(RuntimeError), files.streamed(_planned(target, b"")) as write:
        write(b"one\n")
        raise RuntimeError("a bad row")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == (
        {target.name: b"old"} if existing else {}
    )


@POSIX_SIGNALS
@pytest.mark.parametrize("stage", ["written", "chmodded", "synced", "linked", "replaced"])
def test_streamed_a_signal_while_it_is_put_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir(files._FD_DIR):
        pytest.skip("O_TMPFILE and /proc/self/fd are Linux only")
    target = tmp_path / "tokens.jsonl"
    _signal_at(monkeypatch, stage, signal.SIGTERM)
    with pytest.raises(files.Interrupted) as info, files.streamed(_planned(target, b"")) as write:
        write(b"tok\n")
    assert info.value.written == (stage == "replaced")
    expected = {target.name: b"tok\n"} if info.value.written else {}
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == expected


def _unnamed_files() -> None:
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir(files._FD_DIR):
        pytest.skip("O_TMPFILE and /proc/self/fd are Linux only")


def test_streamed_parts_go_to_the_disk_as_they_come(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every SYNC_EVERY bytes the unnamed file is synced while the parts still come, so the
    fsync that seals it waits for the last part only; the file is the same."""
    _unnamed_files()
    monkeypatch.setattr(files, "SYNC_EVERY", 8)
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "tokens.jsonl"
    with files.streamed(_planned(target, b"")) as write:
        for part in (b"one\n", b"two\n", b"three\n", b"4\n"):
            write(part)
        during = list(synced)
    assert during == [8, 16]  # after "two" (8 bytes) and "three" + "4" (8 more)
    assert synced == [8, 16, 16]  # then the seal's own fsync
    assert target.read_bytes() == b"one\ntwo\nthree\n4\n"


def test_streamed_a_sync_error_while_the_parts_come(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    """A disk that fails while the parts come is an output error, and leaves nothing (a file
    that was there is unchanged)."""
    _unnamed_files()
    monkeypatch.setattr(files, "SYNC_EVERY", 1)

    def fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "tokens.jsonl"
    if existing:
        target.write_bytes(b"old")
    with pytest.raises(OutputError) as info, files.streamed(_planned(target, b"")) as write:
        write(b"tok\n")
    assert_error(info.value, "output", "cannot write", "Input/output error")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == (
        {target.name: b"old"} if existing else {}
    )


def test_a_planned_file_never_shows_its_content() -> None:
    planned = PlannedFile(Path("out.env"), b"QLIK_JWT=eyJ.secret\n", "dotenv")
    assert "secret" not in repr(planned) and "secret" not in str(planned)
    assert "out.env" in repr(planned)
