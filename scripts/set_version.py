"""Stamp the version of a release tag into qsjwt/_version.py; read a release's changelog notes.

The tag is the one source of truth: ``v1.2.3`` gives version ``1.2.3`` for the package (wheel,
sdist), ``qs-jwt --version`` and the image label. A clean clone may have no tags and an image
build context has no ``.git``, so the version is handed over explicitly: the release workflow
runs this script before it builds the wheel and the sdist, and the Dockerfile runs it with its
``QSJWT_VERSION`` build argument. A checkout that is not stamped says ``0.0.0.dev0``.

    python scripts/set_version.py v1.2.3            stamp 1.2.3 (prints it)
    python scripts/set_version.py v1.2.3 --repository owner/name
                                                    also point pyproject.toml's project URLs
                                                    (https://github.com/OWNER/qs-jwt) at it
    python scripts/set_version.py 0.0.0.dev0        back to the unreleased version
    python scripts/set_version.py --check v1.2.3    exit 1 unless 1.2.3 is stamped
    python scripts/set_version.py --record-commit   write the checkout's commit to qsjwt/COMMIT
                                                    (make does, before it installs qs-jwt, so
                                                    that ``qs-jwt --version`` names it)
    python scripts/set_version.py --notes v1.2.3    print the CHANGELOG.md section of 1.2.3
                                                    (exit 1 if there is none: no release
                                                    without its changelog entry)

It needs only the standard library and imports nothing from qsjwt (the image's build stage
runs it before qs-jwt is installed).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION_FILE = ROOT / "qsjwt" / "_version.py"
PYPROJECT = ROOT / "pyproject.toml"
URL_PLACEHOLDER = "https://github.com/OWNER/qs-jwt"
REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
CHANGELOG = ROOT / "CHANGELOG.md"
DEV_VERSION = "0.0.0.dev0"
COMMIT_FILE = ROOT / "qsjwt" / "COMMIT"
"""A build from a checkout names its commit here (ignored by git; read only by --version)."""

# vMAJOR.MINOR.PATCH, nothing else: the release workflow moves the major tag (v1) to it, so a
# pre-release or a build suffix is refused rather than published as the newest v1.
TAG = re.compile(r"v?(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})")
ASSIGNMENT = re.compile(r'^__version__ = "[^"\n]*"$', re.MULTILINE)


def version_from_tag(tag: str) -> str:
    """``v1.2.3`` (or ``1.2.3``) -> ``1.2.3``; anything else is a ValueError."""
    match = TAG.fullmatch(tag)
    if match is None:
        raise ValueError(
            f"not a release tag: {tag!r} (expected vMAJOR.MINOR.PATCH, e.g. v1.2.3, "
            "without leading zeros or suffixes)"
        )
    return ".".join(match.groups())


def major_tag(version: str) -> str:
    """``1.2.3`` -> ``v1``: the tag that moves to the newest release of a major version."""
    return "v" + version_from_tag(version).split(".", 1)[0]


def read_version(path: Path = VERSION_FILE) -> str:
    match = ASSIGNMENT.search(path.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f'{path}: no `__version__ = "..."` line')
    return match.group(0).split('"')[1]


def stamp(version: str, path: Path = VERSION_FILE) -> None:
    """Write ``version`` into ``path``'s ``__version__`` line (the only line it changes)."""
    text = path.read_text(encoding="utf-8")
    if len(ASSIGNMENT.findall(text)) != 1:
        raise ValueError(f'{path}: expected exactly one `__version__ = "..."` line')
    path.write_text(ASSIGNMENT.sub(f'__version__ = "{version}"', text), encoding="utf-8")
    if version != DEV_VERSION:  # a release names its version alone: its tag is the commit
        (path.parent / COMMIT_FILE.name).unlink(missing_ok=True)


def stamp_urls(repository: str, path: Path = PYPROJECT) -> None:
    """Point the project URLs of ``path`` at ``https://github.com/<repository>``."""
    if REPOSITORY.fullmatch(repository) is None or repository.endswith((".", "/")):
        raise ValueError(f"not a GitHub repository name: {repository!r} (owner/name)")
    text = path.read_text(encoding="utf-8")
    if URL_PLACEHOLDER + '"' not in text and URL_PLACEHOLDER + "/" not in text:
        raise ValueError(f"{path.name}: no {URL_PLACEHOLDER} URL to replace")
    path.write_text(text.replace(URL_PLACEHOLDER, f"https://github.com/{repository}"), "utf-8")


def release_notes(changelog: str, version: str) -> str:
    """The body of the ``## [version]`` section of a Keep a Changelog file."""
    heading = re.compile(rf"^## \[{re.escape(version)}\][^\n]*\n", re.MULTILINE)
    match = heading.search(changelog)
    if match is None:
        raise ValueError(f"CHANGELOG.md has no `## [{version}]` section")
    rest = changelog[match.end() :]
    end = re.search(r"^## |^\[[^\]]+\]: ", rest, re.MULTILINE)
    notes = (rest[: end.start()] if end else rest).strip()
    if not notes:
        raise ValueError(f"CHANGELOG.md: the `## [{version}]` section is empty")
    return notes


def record_commit(path: Path = COMMIT_FILE) -> str:
    """Write the checkout's commit (short hash) to ``path``; an empty file outside a checkout."""
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:  # no git
        done = None
    commit = done.stdout.strip() if done is not None and done.returncode == 0 else ""
    path.write_text(commit + "\n" if commit else "", encoding="ascii")
    return commit


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="set_version.py", description=__doc__.split("\n")[0])
    if argv == ["--record-commit"]:
        sys.stdout.write((record_commit() or "(not a git checkout)") + "\n")
        return 0
    parser.add_argument("tag", help="vMAJOR.MINOR.PATCH (or 0.0.0.dev0, the unreleased version)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 unless the tag is stamped")
    mode.add_argument("--notes", action="store_true", help="print the tag's CHANGELOG section")
    parser.add_argument("--repository", help="owner/name for pyproject.toml's project URLs")
    args = parser.parse_args(argv)
    try:
        # the unreleased version is accepted too (the Dockerfile's default; undoes a stamp)
        version = DEV_VERSION if args.tag == DEV_VERSION else version_from_tag(args.tag)
        if args.notes:
            sys.stdout.write(release_notes(CHANGELOG.read_text(encoding="utf-8"), version) + "\n")
            return 0
        if args.check:
            stamped = read_version()
            if stamped != version:
                sys.stderr.write(f"set_version: {VERSION_FILE.name} has {stamped}, not {version}\n")
                return 1
            return 0
        if args.repository:
            stamp_urls(args.repository)
        stamp(version)
    except (ValueError, OSError) as error:
        sys.stderr.write(f"set_version: {error}\n")
        return 1
    sys.stdout.write(version + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
