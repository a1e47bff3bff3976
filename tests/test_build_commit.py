"""``qs-jwt --version`` of a build from a checkout names its commit, written at build time by
``scripts/set_version.py --record-commit`` (make runs it); a release names its version alone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from scripts import set_version

GIT = shutil.which("git")


@pytest.mark.skipif(GIT is None, reason="no git")
def test_record_commit_writes_the_checkout_s_short_hash(tmp_path: Path) -> None:
    assert GIT is not None
    written = tmp_path / "COMMIT"
    commit = set_version.record_commit(written)
    head = subprocess.run(
        [GIT, "-C", str(set_version.ROOT), "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    assert commit == head
    assert written.read_text() == (head + "\n" if head else "")


def test_stamping_a_release_drops_the_recorded_commit(tmp_path: Path) -> None:
    version_file = tmp_path / "_version.py"
    version_file.write_text('__version__ = "0.0.0.dev0"\n')
    commit = tmp_path / set_version.COMMIT_FILE.name
    commit.write_text("0123456789ab\n")
    set_version.stamp(set_version.DEV_VERSION, version_file)
    assert commit.exists()
    set_version.stamp("1.2.3", version_file)
    assert not commit.exists()
    assert set_version.read_version(version_file) == "1.2.3"


def test_the_recorded_commit_is_not_committed() -> None:
    ignored = (set_version.ROOT / ".gitignore").read_text().splitlines()
    assert "/qsjwt/COMMIT" in ignored
