"""Every write path with the POSIX-only calls removed, as on Windows (and partly on macOS).

The fixture ``posix_removed`` takes away what Windows lacks: ``os.fchmod`` (before Python 3.13),
``O_TMPFILE``, ``O_NOFOLLOW``, ``O_DIRECTORY``, ``O_NONBLOCK``, ``os.link``, ``os.mkfifo``,
``os.getuid``/``geteuid``, ``SIGHUP`` and ``SIGPIPE``, and /proc (the Linux-only branch). Where
/proc can tell which files this process holds open, it also gives ``os.replace`` and
``os.unlink`` Windows' rule: a file that is open cannot be renamed or removed. Under it every
write (``--output``, ``--dotenv``, ``keygen``, several files at once) must still leave the
files complete, leave nothing half-written when a step fails, and refuse the same things.
The same tests run unchanged on the Windows and macOS CI runners, where the calls are
really missing.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qsjwt.base.errors import InputError, OutputError, QsjwtError
from qsjwt.io import files
from qsjwt.io.files import PlannedFile, check_writable, write_all
from tests.cli.test_cli import QSEOW_ARGS, qs_jwt
from tests.conftest import KeyPair, verify_independently
from tests.helpers import assert_error

REMOVED_FROM_OS = (
    "fchmod",
    "O_TMPFILE",
    "O_NOFOLLOW",
    "O_DIRECTORY",
    "O_NONBLOCK",
    "link",
    "mkfifo",
    "getuid",
    "geteuid",
    "getgid",
)
REMOVED_FROM_SIGNAL = ("SIGHUP", "SIGPIPE")
PROC_FD = Path("/proc/self/fd")
MODES_KEPT = os.name != "nt"
"""Windows keeps only the read-only flag of a mode (see SECURITY.md, "private" on Windows)."""
NEEDS_SYMLINKS = pytest.mark.skipif(
    sys.platform == "win32", reason="creating symbolic links on Windows needs a privilege"
)


def _open_here(path: str | os.PathLike[str]) -> bool:
    """Whether this process holds ``path`` open (read from /proc/self/fd)."""
    target = os.path.realpath(path)
    for entry in PROC_FD.iterdir():
        try:
            if os.readlink(entry) == target:
                return True
        except OSError:
            continue
    return False


@pytest.fixture
def posix_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in REMOVED_FROM_OS:
        monkeypatch.delattr(os, name, raising=False)
    for name in REMOVED_FROM_SIGNAL:
        monkeypatch.delattr(signal, name, raising=False)
    monkeypatch.setattr(files, "_FD_DIR", str(tmp_path / "no-proc"))
    if PROC_FD.is_dir():
        real_replace, real_unlink = os.replace, os.unlink

        def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
            if _open_here(src):
                raise PermissionError(errno.EACCES, "The process cannot access the file")
            real_replace(src, dst)

        def unlink(path: str | os.PathLike[str]) -> None:
            if _open_here(path):
                raise PermissionError(errno.EACCES, "The process cannot access the file")
            real_unlink(path)

        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "unlink", unlink)
    yield


def _planned(path: Path, content: bytes = b"secret\n", name: str = "output", **kw: Any) -> Any:
    return PlannedFile(path=path, content=content, input_name=name, **kw)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != "no-proc")


# --- the simulation itself -------------------------------------------------------------------


@pytest.mark.usefixtures("posix_removed")
def test_the_posix_only_calls_are_gone() -> None:
    for name in REMOVED_FROM_OS:
        assert not hasattr(os, name), name
    for name in REMOVED_FROM_SIGNAL:
        assert not hasattr(signal, name), name


@pytest.mark.skipif(not PROC_FD.is_dir(), reason="needs /proc to see which files are open")
@pytest.mark.usefixtures("posix_removed")
def test_an_open_file_cannot_be_renamed_as_on_windows(tmp_path: Path) -> None:
    """The rule the fixture adds: what the old code (rename while open) would have broken on."""
    source = tmp_path / "open.txt"
    with source.open("wb"), pytest.raises(PermissionError):
        os.replace(source, tmp_path / "renamed.txt")
    os.replace(source, tmp_path / "renamed.txt")


# --- every write path still writes --------------------------------------------------------


@pytest.mark.usefixtures("posix_removed")
def test_a_new_file_is_written_whole_and_alone(tmp_path: Path) -> None:
    seen: list[str] = []
    target = tmp_path / "token.jwt"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "stage_hook", seen.append)
        write_all([_planned(target, b"eyJ.token\n")])
    assert seen == ["opened", "written", "chmodded", "synced", "replaced"]  # the mkstemp path
    assert target.read_bytes() == b"eyJ.token\n"
    assert _listing(tmp_path) == ["token.jwt"]
    if MODES_KEPT:
        assert _mode(target) == 0o600


@pytest.mark.usefixtures("posix_removed")
def test_an_existing_file_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "token.jwt"
    target.write_bytes(b"old and longer content")
    if MODES_KEPT:
        target.chmod(0o644)
    write_all([_planned(target, b"new")])
    assert target.read_bytes() == b"new"
    assert _listing(tmp_path) == ["token.jwt"]
    if MODES_KEPT:
        assert _mode(target) == 0o600


@pytest.mark.usefixtures("posix_removed")
def test_several_files_with_their_modes(tmp_path: Path) -> None:
    key, cert = tmp_path / "private-key.pem", tmp_path / "certificate.pem"
    write_all([_planned(key, b"key"), _planned(cert, b"cert", mode=0o644)])
    assert (key.read_bytes(), cert.read_bytes()) == (b"key", b"cert")
    assert _listing(tmp_path) == ["certificate.pem", "private-key.pem"]
    if MODES_KEPT:
        assert (_mode(key), _mode(cert)) == (0o600, 0o644)


@pytest.mark.usefixtures("posix_removed")
def test_a_dotenv_file_keeps_its_other_lines_byte_for_byte(tmp_path: Path) -> None:
    """Read in binary (O_BINARY on Windows): CRLF lines and odd bytes come back as they were."""
    dotenv = tmp_path / "build.env"
    dotenv.write_bytes(b"A=1\r\nQLIK_JWT=old\r\nB=\xff\n")
    write_all([PlannedFile(dotenv, b"QLIK_JWT=new\n", "dotenv", replaces_lines=b"QLIK_JWT=")])
    assert dotenv.read_bytes() == b"A=1\r\nQLIK_JWT=new\nB=\xff\n"
    assert _listing(tmp_path) == ["build.env"]


@pytest.mark.usefixtures("posix_removed")
def test_a_dotenv_file_is_created(tmp_path: Path) -> None:
    dotenv = tmp_path / "build.env"
    write_all([PlannedFile(dotenv, b"QLIK_JWT=new\n", "dotenv", replaces_lines=b"QLIK_JWT=")])
    assert dotenv.read_bytes() == b"QLIK_JWT=new\n"


@pytest.mark.usefixtures("posix_removed")
def test_the_cli_output_and_dotenv(tmp_path: Path, rsa_pair: KeyPair) -> None:
    paths = rsa_pair.write(tmp_path)
    output, dotenv = tmp_path / "token.jwt", tmp_path / "jwt.env"
    run = qs_jwt(*QSEOW_ARGS, "--private-key-file", paths["private"], "--output", output)
    assert run.code == 0, run.err
    verify_independently(output.read_text().strip(), rsa_pair.public_pem, "RS256")
    run = qs_jwt(*QSEOW_ARGS, "--private-key-file", paths["private"], "--dotenv", dotenv)
    assert run.code == 0, run.err
    name, _, token = dotenv.read_text().strip().partition("=")
    assert name == "QLIK_JWT"
    verify_independently(token, rsa_pair.public_pem, "RS256")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.usefixtures("posix_removed")
def test_the_cli_keygen_writes_its_files_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    run = qs_jwt("keygen", "--out-dir", out, "--bits", "2048")
    assert run.code == 0, run.err
    assert _listing(out) == ["certificate.pem", "jwk.json", "private-key.pem", "public-key.pem"]
    key = (out / "private-key.pem").read_bytes()
    assert b"PRIVATE KEY" in key
    if MODES_KEPT:
        assert _mode(out / "private-key.pem") == 0o600
    again = qs_jwt("keygen", "--out-dir", out, "--bits", "2048")
    assert again.code == 2 and "exists" in again.err
    assert (out / "private-key.pem").read_bytes() == key


# --- nothing half-written -----------------------------------------------------------------


@pytest.mark.usefixtures("posix_removed")
def test_a_failed_sync_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OutputError) as info:
        write_all([_planned(tmp_path / "token.jwt")])
    assert_error(info.value, "output", "cannot write", "Input/output error")
    assert _listing(tmp_path) == []


@pytest.mark.usefixtures("posix_removed")
def test_a_failed_chmod_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.chmod is what sets the mode without os.fchmod; its failure is a write error."""

    def failing_chmod(path: Any, mode: int, **kwargs: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", failing_chmod)
    first, second = tmp_path / "a", tmp_path / "b"
    second.write_bytes(b"old")
    with pytest.raises(OutputError):
        write_all([_planned(first), _planned(second)])
    assert _listing(tmp_path) == ["b"]
    assert second.read_bytes() == b"old"


@pytest.mark.usefixtures("posix_removed")
def test_a_failed_second_rename_removes_the_first_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "key.pem", tmp_path / "cert.pem"
    simulated = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if Path(dst) == second:
            raise OSError(errno.ENOSPC, "No space left on device")
        simulated(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(QsjwtError) as info:
        write_all([_planned(first, name="one"), _planned(second, name="two")])
    assert_error(info.value, "two", "cannot write", "No space left on device")
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("stage", ["opened", "written", "chmodded", "synced", "replaced"])
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
@pytest.mark.skipif(sys.platform == "win32", reason="os.kill on Windows does not raise a signal")
def test_a_signal_without_sighup_still_leaves_old_or_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, posix_removed: Any, stage: str, signame: str
) -> None:
    signum = int(getattr(signal, signame))
    target = tmp_path / "token.jwt"
    target.write_bytes(b"old")
    sent: list[str] = []

    def hook(reached: str) -> None:
        if reached == stage and not sent:
            sent.append(reached)
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(files, "stage_hook", hook)
    with pytest.raises(files.Interrupted) as info:
        write_all([_planned(target, b"new")])
    assert info.value.exit_code == 128 + signum
    assert target.read_bytes() == (b"new" if stage == "replaced" else b"old")
    assert _listing(tmp_path) == ["token.jwt"]


# --- the same refusals ----------------------------------------------------------------------


@NEEDS_SYMLINKS
@pytest.mark.usefixtures("posix_removed")
def test_a_symlink_destination_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.write_bytes(b"untouched")
    (tmp_path / "token.jwt").symlink_to(real)
    with pytest.raises(InputError) as info:
        write_all([_planned(tmp_path / "token.jwt")])
    assert_error(info.value, "output", "is a symbolic link")
    assert real.read_bytes() == b"untouched"


@NEEDS_SYMLINKS
@pytest.mark.parametrize("through", ["alias", "alias/sub", "real/sub/../../alias/sub"])
@pytest.mark.usefixtures("posix_removed")
def test_a_symlinked_directory_is_refused_per_component(tmp_path: Path, through: str) -> None:
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    with pytest.raises(InputError) as info:
        write_all([_planned(tmp_path / through / "token.jwt")])
    assert_error(info.value, "output", "goes through a symbolic link")
    assert sorted(p.name for p in real.rglob("*")) == ["sub"]


@NEEDS_SYMLINKS
@pytest.mark.usefixtures("posix_removed")
def test_dotenv_swapped_for_a_link_after_the_check_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without O_NOFOLLOW the opened file must be the one lstat sees at the path."""
    dotenv, secret = tmp_path / "build.env", tmp_path / "other.txt"
    dotenv.write_bytes(b"A=1\n")
    secret.write_bytes(b"not yours\n")
    checked = files.check_writable

    def check_then_swap(planned: PlannedFile, **kwargs: Any) -> None:
        checked(planned, **kwargs)
        dotenv.unlink()
        dotenv.symlink_to(secret)

    monkeypatch.setattr(files, "check_writable", check_then_swap)
    with pytest.raises(OutputError) as info:
        write_all([PlannedFile(dotenv, b"QLIK_JWT=x\n", "dotenv", replaces_lines=b"QLIK_JWT=")])
    assert_error(info.value, "dotenv", "cannot write", "a symbolic link")
    assert dotenv.is_symlink()
    assert secret.read_bytes() == b"not yours\n"
    assert _listing(tmp_path) == ["build.env", "other.txt"]


@pytest.mark.usefixtures("posix_removed")
def test_a_short_or_odd_spelling_is_not_a_link(tmp_path: Path) -> None:
    """Only links refuse a path: ``.`` and ``..`` through real directories are fine (on
    Windows, realpath would also rewrite an 8.3 short name such as RUNNER~1)."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    write_all([_planned(tmp_path / "a" / "b" / ".." / "." / "token.jwt")])
    assert (tmp_path / "a" / "token.jwt").read_bytes() == b"secret\n"


@pytest.mark.usefixtures("posix_removed")
def test_other_refusals_are_unchanged(tmp_path: Path) -> None:
    existing = tmp_path / "private-key.pem"
    existing.write_bytes(b"keep me")
    cases = [
        (_planned(tmp_path), "is a directory"),
        (_planned(tmp_path / "missing" / "t.jwt"), "does not exist"),
        (_planned(existing), "names the same file as --private-key-file"),
    ]
    for planned, message in cases:
        with pytest.raises(InputError) as info:
            check_writable(planned, reads=[("--private-key-file", str(existing))])
        assert_error(info.value, "output", message)
    with pytest.raises(InputError) as info:
        write_all([_planned(existing)], overwrite=False)
    assert_error(info.value, "output", "exists", "--force")
    assert existing.read_bytes() == b"keep me"
    assert _listing(tmp_path) == ["private-key.pem"]
