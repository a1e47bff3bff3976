"""Writing secrets: mode 0600, atomic, never through a symlink, all files or none."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from qsjwt import files
from qsjwt.errors import InputError
from qsjwt.files import PlannedFile, check_writable, write_all
from tests.helpers import assert_error


def _planned(path: Path, content: bytes = b"secret\n", name: str = "output", **kw) -> PlannedFile:
    return PlannedFile(path=path, content=content, input_name=name, **kw)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The most permissive umask, so a 0600 result is the code's doing, not the umask's."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_writes_with_mode_0600(tmp_path, open_umask):
    target = tmp_path / "token.txt"
    write_all([_planned(target, b"eyJ.token\n")])
    assert target.read_bytes() == b"eyJ.token\n"
    assert _mode(target) == 0o600
    assert sorted(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_mode_can_be_chosen(tmp_path, open_umask):
    target = tmp_path / "certificate.pem"
    write_all([_planned(target, mode=0o644)])
    assert _mode(target) == 0o644


def test_overwrite_replaces_content_and_tightens_mode(tmp_path, open_umask):
    target = tmp_path / "token.txt"
    target.write_bytes(b"old and longer content")
    target.chmod(0o644)
    write_all([_planned(target, b"new")])
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o600


def test_replaces_atomically_by_rename(tmp_path):
    """A reader holding the old file keeps it whole: the new content is a new inode."""
    target = tmp_path / "token.txt"
    target.write_bytes(b"old")
    before = target.stat().st_ino
    with target.open("rb") as reader:
        write_all([_planned(target, b"new")])
        assert reader.read() == b"old"
    assert target.stat().st_ino != before


def test_writes_several_files(tmp_path):
    first, second = tmp_path / "key.pem", tmp_path / "cert.pem"
    write_all([_planned(first, b"1"), _planned(second, b"2", mode=0o644)])
    assert (first.read_bytes(), second.read_bytes()) == (b"1", b"2")
    assert (_mode(first), _mode(second)) == (0o600, 0o644)


def test_overwrite_false_refuses_an_existing_file(tmp_path):
    target = tmp_path / "private-key.pem"
    target.write_bytes(b"keep me")
    with pytest.raises(InputError) as info:
        write_all([_planned(target, name="out-dir")], overwrite=False)
    assert_error(info.value, "out-dir", "exists", "--force")
    assert target.read_bytes() == b"keep me"


def test_overwrite_false_writes_a_new_file(tmp_path):
    target = tmp_path / "private-key.pem"
    write_all([_planned(target)], overwrite=False)
    assert target.read_bytes() == b"secret\n"


@pytest.mark.parametrize("dangling", [False, True])
def test_refuses_a_symlink_destination(tmp_path, dangling):
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


def test_refuses_a_directory(tmp_path):
    with pytest.raises(InputError) as info:
        write_all([_planned(tmp_path)])
    assert_error(info.value, "output", "is a directory")


def test_refuses_a_missing_parent(tmp_path):
    target = tmp_path / "no" / "such" / "token.txt"
    with pytest.raises(InputError) as info:
        write_all([_planned(target)])
    assert_error(info.value, "output", "does not exist")
    assert not (tmp_path / "no").exists()


def test_refuses_a_parent_that_is_a_file(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(InputError) as info:
        write_all([_planned(tmp_path / "file" / "token.txt")])
    assert_error(info.value, "output", "does not exist")


def test_refuses_an_unwritable_directory():
    """The tests run as root, for whom mode bits do not stop writing; /proc/self does.

    access(2) reports procfs directories as not writable even for root, and they are not.
    """
    target = Path("/proc/self/qs-jwt-token")
    with pytest.raises(InputError) as info:
        write_all([_planned(target)])
    assert_error(info.value, "output", "is not writable")
    assert not target.exists()


def test_unwritable_check_uses_access(tmp_path, monkeypatch):
    """The same branch for an ordinary directory, whatever user runs the tests."""
    asked = []

    def no_write(path, mode):
        asked.append((Path(path), mode))
        return False

    monkeypatch.setattr(files.os, "access", no_write)
    with pytest.raises(InputError) as info:
        check_writable(_planned(tmp_path / "token.txt"))
    assert_error(info.value, "output", f"directory {str(tmp_path)!r} is not writable")
    assert asked == [(tmp_path, os.W_OK | os.X_OK)]


# --- all or nothing --------------------------------------------------------------------------


def test_second_file_refused_first_not_written(tmp_path):
    first = tmp_path / "key.pem"
    second = tmp_path / "missing" / "cert.pem"
    with pytest.raises(InputError) as info:
        write_all([_planned(first, name="one"), _planned(second, name="two")])
    assert_error(info.value, "two", "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_second_file_existing_first_not_written(tmp_path):
    first, second = tmp_path / "key.pem", tmp_path / "cert.pem"
    second.write_bytes(b"old cert")
    with pytest.raises(InputError):
        write_all([_planned(first), _planned(second, name="two")], overwrite=False)
    assert sorted(tmp_path.iterdir()) == [second]
    assert second.read_bytes() == b"old cert"


def test_rename_failure_on_the_second_file_leaves_neither(tmp_path, monkeypatch):
    first, second = tmp_path / "key.pem", tmp_path / "cert.pem"
    real_replace = os.replace
    calls = []

    def failing_replace(src, dst):
        calls.append(Path(dst))
        if Path(dst) == second:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", failing_replace)
    with pytest.raises(InputError) as info:
        write_all([_planned(first, name="one"), _planned(second, name="two")])
    assert_error(info.value, "two", "cannot write", "No space left on device")
    assert calls == [first, second]
    assert list(tmp_path.iterdir()) == []  # neither file, and no temporary file


def test_staging_failure_on_the_second_file_leaves_neither(tmp_path, monkeypatch):
    first, second = tmp_path / "key.pem", tmp_path / "cert.pem"
    real_fchmod = os.fchmod
    calls = []

    def failing_fchmod(fd, mode):
        calls.append(mode)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real_fchmod(fd, mode)

    monkeypatch.setattr(files.os, "fchmod", failing_fchmod)
    with pytest.raises(InputError) as info:
        write_all([_planned(first, name="one"), _planned(second, name="two")])
    assert_error(info.value, "two", "cannot write", "Input/output error")
    assert list(tmp_path.iterdir()) == []


def test_error_message_does_not_carry_the_content(tmp_path):
    secret = b"eyJhbGciOiJSUzI1NiJ9.secret-token-body.sig"
    with pytest.raises(InputError) as info:
        write_all([_planned(tmp_path / "nope" / "t", secret)])
    assert secret.decode() not in info.value.render()
