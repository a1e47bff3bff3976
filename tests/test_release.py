"""The release, checked without publishing anything.

- the version: one source (qsjwt/_version.py), stamped from the tag by scripts/set_version.py,
  read by the package metadata, ``qs-jwt --version`` and the image's build argument;
- the released action.yml (scripts/release_action.py): the same inputs and outputs as the
  repository's, ``image: docker://IMAGE@sha256:<64 hex>``;
- the base image: one literal, digest-pinned ``FROM`` (Dependabot), swapped for a local
  stand-in by scripts/build-image.sh; the index check that gates a release;
- .github/workflows/release.yml: trigger, one repository setting, permissions job by job, SHA
  pins, the order of its checks;
- scripts/publish-action.sh against a local bare repository (no network);
- the wheel and the sdist, built from a copy of the tree and installed into a fresh venv
  (``--no-index --no-deps``; PyJWT and cryptography come from this interpreter's environment).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path
from typing import Any

import cryptography
import jwt as pyjwt
import pytest
import yaml

import qsjwt
from scripts import release_action, set_version
from scripts.render_action import parse_yaml_subset
from tests.conftest import KeyPair, verify_independently

REPO = Path(__file__).resolve().parents[1]
RELEASE_YML = REPO / ".github" / "workflows" / "release.yml"
DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = "ghcr.io/some-owner/qs-jwt"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _run(*args: str | Path, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# --- the version ------------------------------------------------------------------------------


def test_one_version_source_read_by_the_package_and_the_image() -> None:
    stamped = set_version.read_version()
    assert qsjwt.__version__ == stamped
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "qsjwt._version.__version__"
    }
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.findall(r"^ARG QSJWT_VERSION=(.*)$", dockerfile, re.MULTILINE) == [stamped]
    assert 'org.opencontainers.image.version="${QSJWT_VERSION}"' in dockerfile
    assert 'RUN python scripts/set_version.py "$QSJWT_VERSION"' in dockerfile
    assert "!scripts/set_version.py" in (REPO / ".dockerignore").read_text(encoding="utf-8")


def test_the_checkout_says_the_unreleased_version() -> None:
    # A release stamps its copy; a commit never carries a release version.
    assert set_version.read_version() == set_version.DEV_VERSION == "0.0.0.dev0"


@pytest.mark.parametrize(
    ("tag", "version"), [("v1.2.3", "1.2.3"), ("1.0.0", "1.0.0"), ("v10.0.12", "10.0.12")]
)
def test_version_from_tag(tag: str, version: str) -> None:
    assert set_version.version_from_tag(tag) == version
    assert set_version.major_tag(version) == "v" + version.split(".", maxsplit=1)[0]


@pytest.mark.parametrize(
    "tag", ["v1.2", "v01.2.3", "v1.2.3-rc1", "v1.2.3.post1", "1.2.3 ", "release-1.2.3", "v1..3"]
)
def test_version_from_tag_refuses_anything_else(tag: str) -> None:
    with pytest.raises(ValueError, match="not a release tag"):
        set_version.version_from_tag(tag)


def test_stamp_changes_only_the_version_line(tmp_path: Path) -> None:
    path = tmp_path / "_version.py"
    original = set_version.VERSION_FILE.read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    set_version.stamp("4.5.6", path)
    assert set_version.read_version(path) == "4.5.6"
    changed = [
        (a, b)
        for a, b in zip(original.splitlines(), path.read_text().splitlines(), strict=True)
        if a != b
    ]
    assert changed == [('__version__ = "0.0.0.dev0"', '__version__ = "4.5.6"')]


def test_stamp_urls_points_the_placeholder_at_the_repository(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text((REPO / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    set_version.stamp_urls("Some-Org/qs-jwt", path)
    urls = tomllib.loads(path.read_text(encoding="utf-8"))["project"]["urls"]
    assert urls and all(u.startswith("https://github.com/Some-Org/qs-jwt") for u in urls.values())
    with pytest.raises(ValueError, match=r"no https://github\.com/OWNER/qs-jwt URL"):
        set_version.stamp_urls("Some-Org/qs-jwt", path)
    with pytest.raises(ValueError, match="not a GitHub repository"):
        set_version.stamp_urls("owner/name/extra", path)


def test_pyproject_urls_are_the_placeholder_the_release_stamps() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert set(project["urls"]) >= {"Homepage", "Source", "Issues", "Changelog"}
    assert all(u.startswith(set_version.URL_PLACEHOLDER) for u in project["urls"].values())
    assert project["license"] == "MIT"
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # PEP 639
    assert project["dependencies"] == ["PyJWT>=2.8,<3", "cryptography>=42"]


CHANGELOG = """\
# Changelog

## [Unreleased]

## [1.1.0] - 2027-01-02

### Fixed

- something

## [1.0.0] - 2027-01-01

- first

[1.1.0]: https://example.com/compare/v1.0.0...v1.1.0
"""


def test_release_notes_are_the_version_section() -> None:
    assert set_version.release_notes(CHANGELOG, "1.1.0") == "### Fixed\n\n- something"
    assert set_version.release_notes(CHANGELOG, "1.0.0") == "- first"
    with pytest.raises(ValueError, match=r"no `## \[1.2.0\]` section"):
        set_version.release_notes(CHANGELOG, "1.2.0")
    with pytest.raises(ValueError, match="is empty"):
        set_version.release_notes("## [2.0.0] - 2027-02-02\n\n## [1.0.0]\n- x\n", "2.0.0")


def test_changelog_and_license_are_there() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert "keepachangelog.com" in changelog
    license_text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License")
    assert "qs-jwt contributors" in license_text


# --- the released action.yml ------------------------------------------------------------------


def _released() -> str:
    source = (REPO / "action.yml").read_text(encoding="utf-8")
    return release_action.render(source, IMAGE, DIGEST)


def test_released_action_runs_the_image_by_digest() -> None:
    released = parse_yaml_subset(_released())
    assert released["runs"]["using"] == "docker"
    image = released["runs"]["image"]
    assert re.fullmatch(r"docker://ghcr\.io/[a-z0-9._/-]+@sha256:[0-9a-f]{64}", image), image
    assert image == f"docker://{IMAGE}@{DIGEST}"
    assert "args" not in released["runs"]  # inputs travel as INPUT_* variables, never args


def test_released_action_has_the_same_inputs_and_outputs() -> None:
    source = parse_yaml_subset((REPO / "action.yml").read_text(encoding="utf-8"))
    released = parse_yaml_subset(_released())
    assert released["inputs"] == source["inputs"]
    assert released["outputs"] == source["outputs"]
    assert {k: v for k, v in released.items() if k != "runs"} == {
        k: v for k, v in source.items() if k != "runs"
    }
    # and yaml agrees with the subset parser
    assert yaml.safe_load(_released())["runs"] == {
        "using": "docker",
        "image": f"docker://{IMAGE}@{DIGEST}",
    }


def test_the_repository_action_keeps_building_the_dockerfile() -> None:
    source = parse_yaml_subset((REPO / "action.yml").read_text(encoding="utf-8"))
    assert source["runs"] == {"using": "docker", "image": "Dockerfile"}


@pytest.mark.parametrize(
    ("image", "digest", "match"),
    [
        (IMAGE, "sha256:" + "0" * 63, "not an image digest"),
        (IMAGE, "sha256:" + "A" * 64, "not an image digest"),
        (IMAGE, "sha512:" + "0" * 64, "not an image digest"),
        (IMAGE + ":1.0.0", DIGEST, "without tag or digest"),
        ("ghcr.io/Owner/qs-jwt", DIGEST, "lowercase"),
        ("qs-jwt", DIGEST, "without tag or digest"),
        (IMAGE + "\n  args: [x]", DIGEST, "without tag or digest"),
    ],
)
def test_render_refuses_a_bad_image_or_digest(image: str, digest: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        release_action.render((REPO / "action.yml").read_text(encoding="utf-8"), image, digest)


def test_render_refuses_an_action_that_is_already_released() -> None:
    with pytest.raises(ValueError, match="exactly one line"):
        release_action.render(_released(), IMAGE, DIGEST)


def test_render_command_writes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "action.yml"
    shutil.copy(REPO / "action.yml", path)
    proc = _run(
        sys.executable,
        "scripts/release_action.py",
        "render",
        "--image",
        IMAGE,
        "--digest",
        DIGEST,
        "--path",
        path,
    )
    assert proc.returncode == 0, proc.stderr
    assert path.read_text(encoding="utf-8") == _released()


# --- the base image ---------------------------------------------------------------------------


def test_the_base_is_one_literal_digest_pinned_from() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    froms = re.findall(r"^FROM (.*)$", dockerfile, re.MULTILINE)
    base = release_action.base_image(dockerfile)
    assert froms[0] == f"{base} AS base"
    assert re.fullmatch(r"python:3\.\d+-slim@sha256:[0-9a-f]{64}", base)
    assert froms[1:] == ["base AS build", "base"]  # every stage starts from that one line
    assert "${" not in froms[0]  # Dependabot does not follow an ARG into FROM


def test_dependabot_watches_the_dockerfile() -> None:
    config = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    docker = [u for u in config["updates"] if u["package-ecosystem"] == "docker"]
    assert [u["directory"] for u in docker] == ["/"]


def test_build_image_swaps_only_the_base_line_for_a_local_stand_in() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    pinned = release_action.base_image(dockerfile)
    proc = _run(
        "bash", "scripts/build-image.sh", "--print-dockerfile", BASE_IMAGE="python:3.13-slim"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == dockerfile.replace(
        f"FROM {pinned} AS base\n", "FROM python:3.13-slim AS base\n"
    )
    assert proc.stdout != dockerfile
    # with no BASE_IMAGE, the stand-in is named after the pin without its digest
    default = _run("bash", "scripts/build-image.sh", "--print-dockerfile", BASE_IMAGE="")
    assert default.stdout == proc.stdout.replace(
        "FROM python:3.13-slim AS base", f"FROM {pinned.split('@')[0]} AS base"
    )
    # the pinned reference itself (a host with a registry): the Dockerfile as it is
    same = _run("bash", "scripts/build-image.sh", "--print-dockerfile", BASE_IMAGE=pinned)
    assert same.stdout == dockerfile


def _index(*platforms: str, media: str = release_action.INDEX_TYPES[0]) -> str:
    manifests: list[dict[str, Any]] = []
    for platform in platforms:
        os_name, arch = platform.split("/")
        manifests.append({"digest": DIGEST, "platform": {"os": os_name, "architecture": arch}})
    manifests.append({"digest": DIGEST, "platform": {"os": "unknown", "architecture": "unknown"}})
    return json.dumps({"schemaVersion": 2, "mediaType": media, "manifests": manifests})


def test_base_index_check() -> None:
    assert release_action.check_base_index(_index("linux/amd64", "linux/arm64", "linux/386")) == []
    docker_list = release_action.INDEX_TYPES[1]
    assert (
        release_action.check_base_index(_index("linux/amd64", "linux/arm64", media=docker_list))
        == []
    )
    assert release_action.check_base_index(_index("linux/amd64")) == [
        "the base image has no linux/arm64 manifest"
    ]
    single = json.dumps({"mediaType": "application/vnd.oci.image.manifest.v1+json"})
    assert "not a multi-platform index" in release_action.check_base_index(single)[0]
    assert release_action.check_base_index("<html>") == ["the registry's answer is not JSON"]


def test_check_base_command(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(_index("linux/amd64", "linux/arm64"), encoding="utf-8")
    bad.write_text(_index("linux/amd64"), encoding="utf-8")
    script = "scripts/release_action.py"
    assert _run(sys.executable, script, "check-base", good).returncode == 0
    refused = _run(sys.executable, script, "check-base", bad)
    assert refused.returncode == 1
    assert "no linux/arm64" in refused.stderr
    base = _run(sys.executable, script, "base-image")
    assert base.stdout.strip() == release_action.base_image(
        (REPO / "Dockerfile").read_text(encoding="utf-8")
    )


# --- .github/workflows/release.yml ------------------------------------------------------------


def _workflow() -> dict[str, Any]:
    data = yaml.safe_load(RELEASE_YML.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _step(job: dict[str, Any], uses_or_name: str) -> tuple[int, dict[str, Any]]:
    for at, step in enumerate(job["steps"]):
        if str(step.get("uses", "")).startswith(uses_or_name) or step.get("name") == uses_or_name:
            return at, step
    raise AssertionError(f"no step {uses_or_name}")


def test_release_runs_on_version_tags_only() -> None:
    workflow: dict[Any, Any] = _workflow()
    trigger = workflow[True]  # PyYAML reads `on` as True (YAML 1.1)
    assert trigger == {"push": {"tags": ["v*.*.*"]}}


# Exactly what each job may do; id-token (OIDC) only where a signature or PyPI needs it.
EXPECTED_PERMISSIONS = {
    "prepare": {"contents": "read"},
    "image": {"contents": "read", "packages": "write"},
    "binaries": {"contents": "read"},
    "attest": {"id-token": "write", "attestations": "write", "packages": "write"},
    "dist": {"contents": "read"},
    "pypi": {"id-token": "write"},
    "action": {"contents": "write"},
}


def test_release_permissions_job_by_job() -> None:
    workflow = _workflow()
    assert workflow["permissions"] == {}
    assert {job_id: job["permissions"] for job_id, job in workflow["jobs"].items()} == (
        EXPECTED_PERMISSIONS
    )


def test_only_the_pypi_job_publishes_to_pypi() -> None:
    jobs = _workflow()["jobs"]
    for job_id, job in jobs.items():
        uses = [str(step.get("uses", "")) for step in job["steps"]]
        publishes = any(u.startswith("pypa/gh-action-pypi-publish@") for u in uses)
        assert publishes == (job_id == "pypi"), job_id
    pypi = jobs["pypi"]
    assert pypi["environment"]["name"] == "pypi"
    assert "password" not in str(pypi)  # trusted publishing: no token, no secret
    assert set(pypi["needs"]) >= {"image", "dist"}  # the image is out before PyPI (final)


def test_every_action_is_pinned_by_sha_with_its_version() -> None:
    for line in RELEASE_YML.read_text(encoding="utf-8").splitlines():
        if re.match(r"\s*(-\s+)?uses:", line):
            ref = line.split("uses:", 1)[1].split("#", 1)[0].strip()
            assert SHA_PIN.match(ref), line
            assert re.search(r"#\s*v\d+\.\d+\.\d+\s*$", line), line


def test_one_setting_names_where_the_release_goes() -> None:
    text = RELEASE_YML.read_text(encoding="utf-8")
    workflow = _workflow()
    assert workflow["env"]["RELEASE_REPOSITORY"] == "${{ github.repository }}"
    assert text.count("github.repository }}") == 1  # only the setting itself
    assert text.count("github.repository_owner") == 0
    assert "OWNER" not in text
    # every image name is derived from it
    assert 'echo "image=ghcr.io/${RELEASE_REPOSITORY,,}"' in text
    code = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert sum("ghcr.io/" in line for line in code) == 1
    assert text.count("registry: ghcr.io") == 2  # the logins


def test_the_image_job_checks_the_base_before_it_builds() -> None:
    job = _workflow()["jobs"]["image"]
    check, check_step = _step(job, "The base image digest resolves")
    build, build_step = _step(job, "docker/build-push-action@")
    assert check < build
    assert "docker buildx imagetools inspect --raw" in check_step["run"]
    assert "release_action.py check-base" in check_step["run"]
    options = build_step["with"]
    assert options["platforms"].split(",") == list(release_action.PLATFORMS)
    assert options["push"] is True
    assert options["provenance"] == "mode=max"
    assert options["sbom"] is True
    assert "QSJWT_VERSION=${{ needs.prepare.outputs.version }}" in options["build-args"]


def test_the_dist_job_stamps_the_tag_and_builds_hash_locked() -> None:
    run = "\n".join(step.get("run", "") for step in _workflow()["jobs"]["dist"]["steps"])
    assert 'set_version.py "$TAG" --repository "$RELEASE_REPOSITORY"' in run
    assert "--require-hashes -r requirements/release.txt" in run
    assert "-m build --no-isolation --sdist --wheel" in run
    locked = (REPO / "requirements" / "release.txt").read_text(encoding="utf-8")
    assert re.search(r"^build==", locked, re.MULTILINE)
    assert "--hash=sha256:" in locked


def test_the_action_job_publishes_the_digest_it_built() -> None:
    job = _workflow()["jobs"]["action"]
    assert set(job["needs"]) >= {"image", "pypi"}
    _, step = _step(job, "Release commit, vX.Y.Z and the major tag")
    assert step["env"]["DIGEST"] == "${{ needs.image.outputs.digest }}"
    assert step["env"]["SOURCE_SHA"] == "${{ github.sha }}"
    assert "scripts/publish-action.sh" in step["run"]
    assert _workflow()["jobs"]["image"]["outputs"]["digest"] == "${{ steps.build.outputs.digest }}"


# --- scripts/publish-action.sh against a local bare repository ----------------------------------


def _git(cwd: Path, *args: str) -> str:
    proc = _run(
        "git",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "-c",
        "init.defaultBranch=main",
        *args,
        cwd=cwd,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> tuple[Path, Path]:
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    _git(tmp_path, "init", "-q", "--bare", str(origin))
    _git(tmp_path, "clone", "-q", str(origin), str(work))
    shutil.copy(REPO / "action.yml", work / "action.yml")
    _git(work, "add", "action.yml")
    _git(work, "commit", "-q", "-m", "source")
    _git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
    return origin, work


def _tag(work: Path, tag: str) -> str:
    _git(work, "tag", "-a", tag, "-m", tag)
    _git(work, "push", "-q", "origin", f"refs/tags/{tag}")
    return _git(work, "rev-parse", "HEAD")


def _publish(
    work: Path, tag: str, source: str, digest: str = DIGEST
) -> subprocess.CompletedProcess[str]:
    _git(work, "checkout", "-q", "--detach", source)
    return _run(
        "bash",
        REPO / "scripts" / "publish-action.sh",
        tag,
        source,
        IMAGE,
        digest,
        cwd=work,
        PYTHON=sys.executable,
    )


def _peeled(origin: Path, ref: str) -> str:
    return _git(origin, "rev-parse", f"{ref}^{{commit}}")


def test_publish_moves_the_version_and_major_tags_to_the_release_commit(
    remote: tuple[Path, Path],
) -> None:
    origin, work = remote
    source = _tag(work, "v1.2.3")
    first = _publish(work, "v1.2.3", source)
    assert first.returncode == 0, first.stderr
    release = first.stdout.strip()
    assert _peeled(origin, "v1.2.3") == release == _peeled(origin, "v1")
    assert _git(origin, "rev-parse", f"{release}^") == source
    released = _git(origin, "show", f"{release}:action.yml")
    assert f'  image: "docker://{IMAGE}@{DIGEST}"' in released.splitlines()
    assert _git(origin, "diff", "--stat", source, release).startswith("action.yml")

    again = _publish(work, "v1.2.3", source)  # a re-run makes nothing new
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == release == _peeled(origin, "v1.2.3")
    assert "already names the release commit" in again.stderr

    other = _publish(work, "v1.2.3", source, digest="sha256:" + "f" * 64)
    assert other.returncode == 1
    assert "another image or digest" in other.stderr


def test_publish_does_not_pull_the_major_tag_back(remote: tuple[Path, Path]) -> None:
    origin, work = remote
    newer = _tag(work, "v1.3.0")
    assert _publish(work, "v1.3.0", newer).returncode == 0
    v1 = _peeled(origin, "v1")
    _git(work, "checkout", "-q", newer)
    (work / "README").write_text("a fix for 1.2\n", encoding="utf-8")
    _git(work, "add", "README")
    _git(work, "commit", "-q", "-m", "fix")
    older = _tag(work, "v1.2.4")
    proc = _publish(work, "v1.2.4", older)
    assert proc.returncode == 0, proc.stderr
    assert "v1 stays: v1.3.0 is newer" in proc.stderr
    assert _peeled(origin, "v1") == v1


def test_publish_refuses_a_tag_someone_moved(remote: tuple[Path, Path]) -> None:
    _, work = remote
    source = _tag(work, "v2.0.0")
    for name in ("one", "two"):  # not a child of the source
        (work / name).write_text("x\n", encoding="utf-8")
        _git(work, "add", name)
        _git(work, "commit", "-q", "-m", name)
    _git(work, "tag", "-f", "-a", "v2.0.0", "-m", "moved")
    _git(work, "push", "-q", "--force", "origin", "refs/tags/v2.0.0")
    proc = _publish(work, "v2.0.0", source)
    assert proc.returncode == 1
    assert "neither the source" in proc.stderr


# --- the wheel and the sdist --------------------------------------------------------------------

PACKAGE_FILES = ("pyproject.toml", "README.md", "LICENSE", "qsjwt")


def _build(source: Path, out: Path, kind: str) -> Path:
    """A PEP 517 build through setuptools' backend, as `python -m build --no-isolation` does."""
    code = f"import sys; from setuptools import build_meta as b; print(b.build_{kind}(sys.argv[1]))"
    proc = _run(sys.executable, "-c", code, out, cwd=source)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out / proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist of a tree stamped 9.8.7, and the wheel built from that sdist."""
    base = tmp_path_factory.mktemp("dist")
    tree, out = base / "tree", base / "out"
    out.mkdir()
    for name in (*PACKAGE_FILES, "scripts"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            tree.mkdir(exist_ok=True)
            shutil.copy(source, tree / name)
    stamp = _run(
        sys.executable, "scripts/set_version.py", "v9.8.7", "--repository", "o/qs-jwt", cwd=tree
    )
    assert stamp.returncode == 0, stamp.stderr
    sdist = _build(tree, out, "sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(base / "unpacked", filter="data")
    wheel = _build(base / "unpacked" / "qs_jwt-9.8.7", out, "wheel")
    return sdist, wheel


def test_sdist_and_wheel_names_and_metadata(distributions: tuple[Path, Path]) -> None:
    sdist, wheel = distributions
    assert sdist.name == "qs_jwt-9.8.7.tar.gz"
    assert wheel.name == "qs_jwt-9.8.7-py3-none-any.whl"
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "qsjwt/__init__.py",
        "qsjwt/py.typed",
    } <= names
    assert not any(n.startswith(("tests/", "scripts/")) for n in names)
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("qs_jwt-9.8.7.dist-info/METADATA").decode()
        files = set(archive.namelist())
    assert "qs_jwt-9.8.7.dist-info/licenses/LICENSE" in files
    assert {"qsjwt/_version.py", "qsjwt/cli/__init__.py", "qsjwt/py.typed"} <= files
    assert not any(n.startswith(("tests/", "scripts/")) for n in files)
    assert "\nVersion: 9.8.7\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata
    assert "\nProject-URL: Source, https://github.com/o/qs-jwt\n" in metadata
    assert "\nClassifier: Programming Language :: Python :: 3.13\n" in metadata
    requires = sorted(re.findall(r"^Requires-Dist: (.*)$", metadata, re.MULTILINE))
    assert [r for r in requires if "extra ==" not in r] == ["PyJWT<3,>=2.8", "cryptography>=42"]


def test_the_wheel_installs_and_runs_in_a_fresh_venv(
    distributions: tuple[Path, Path], tmp_path: Path, rsa_pair: KeyPair
) -> None:
    _, wheel = distributions
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
    )
    # PyJWT and cryptography (with cffi) from this interpreter's environment, after the venv's own
    # site-packages; no index, no network. A directory named in a .pth file is only appended to
    # sys.path: its own .pth files (an editable qs-jwt) are not run.
    deps = {Path(pyjwt.__file__).parent.parent, Path(cryptography.__file__).parent.parent}
    (site / "_test_deps.pth").write_text("".join(f"{d}\n" for d in sorted(deps)), encoding="utf-8")
    install = _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-index",
        "--no-deps",
        "--no-compile",
        wheel,
    )
    assert install.returncode == 0, install.stderr
    qs_jwt = env_dir / "bin" / "qs-jwt"
    clean = {"PYTHONPATH": "", "QSJWT_PRIVATE_KEY": "", "QSJWT_PRIVATE_KEY_FILE": ""}

    version = _run(qs_jwt, "--version", cwd=tmp_path, **clean)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "qs-jwt 9.8.7"
    where = _run(python, "-c", "import qsjwt; print(qsjwt.__file__)", cwd=tmp_path, **clean)
    assert Path(where.stdout.strip()).is_relative_to(env_dir), where.stdout

    paths = rsa_pair.write(tmp_path)
    mint = _run(
        qs_jwt,
        "qseow",
        "--user-id",
        "alice",
        "--user-directory",
        "CORP",
        "--audience",
        "qlik",
        "--private-key-file",
        paths["private"],
        cwd=tmp_path,
        **clean,
    )
    assert mint.returncode == 0, mint.stderr
    header, claims = verify_independently(mint.stdout.strip(), rsa_pair.public_pem, "RS256")
    assert header["alg"] == "RS256"
    assert (claims["userId"], claims["userDirectory"], claims["aud"]) == ("alice", "CORP", "qlik")
