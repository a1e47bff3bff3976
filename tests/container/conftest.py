"""Fixtures for the container tests: a Docker engine, the built action image, and runners.

Which engine is used, in order:

1. ``QSJWT_DOCKER_HOST`` (it must answer, or the session fails);
2. ``DOCKER_HOST``, or the client's default engine, if it answers;
3. with ``QSJWT_CONTAINER_TESTS=1`` (set by CI), a private engine started here with
   ``scripts/docker-engine.sh`` (root; no bridge, no iptables changes) and stopped by PID at the
   end of the session. Its data root lives in ``QSJWT_BUILD_WORK`` (default /tmp/qsjwt-build),
   so a second session reuses the image cache.

Otherwise the tests are skipped; with ``QSJWT_CONTAINER_TESTS=1`` a missing engine is an error,
never a skip. The image is built once per session with ``scripts/build-image.sh``, which builds
a local stand-in base image when no registry can be reached.

``run_action`` runs the image the way the GitHub runner runs a container action (mounts, file
commands, ``-e NAME`` with the value in the client's environment, so hyphenated ``INPUT_*``
names and multi-line values such as PEM keys work). ``run_gitlab`` runs it the way a GitLab job
with ``image:`` and ``entrypoint: [""]`` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENGINE_SCRIPT = REPO / "scripts" / "docker-engine.sh"
HOST_TOOLS_SCRIPT = REPO / "scripts" / "host-tools.sh"
BUILD_SCRIPT = REPO / "scripts" / "build-image.sh"
WORK = Path(os.environ.get("QSJWT_BUILD_WORK", "/tmp/qsjwt-build"))
IMAGE_TAG = os.environ.get("QSJWT_IMAGE_TAG", "qs-jwt-action:test")
BASE_IMAGE = os.environ.get("BASE_IMAGE", "python:3.13-slim")
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
RUN_TIMEOUT = 120
ENABLE_HINT = (
    "no Docker engine: set QSJWT_CONTAINER_TESTS=1 (as root: starts a private engine) "
    "or QSJWT_DOCKER_HOST / DOCKER_HOST"
)

# The file commands the runner creates for every step, by the variable that points to each.
FILE_COMMANDS = {
    "GITHUB_OUTPUT": "set_output",
    "GITHUB_ENV": "set_env",
    "GITHUB_PATH": "add_path",
    "GITHUB_STATE": "save_state",
    "GITHUB_STEP_SUMMARY": "step_summary",
}
_FILE_KEYS = {
    "GITHUB_OUTPUT": "output",
    "GITHUB_ENV": "env",
    "GITHUB_PATH": "path",
    "GITHUB_STATE": "state",
    "GITHUB_STEP_SUMMARY": "summary",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this directory needs the engine: give it the ``container`` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.container)


@dataclass(frozen=True)
class Result:
    """What one ``docker run`` of the action left behind.

    ``files`` holds the file commands' contents by short name: ``output``, ``env``, ``path``,
    ``state``, ``summary``. ``root`` is the host directory holding ``workspace/``,
    ``file_commands/``, ``home/``, ``workflow/`` and ``runner_temp/``.
    """

    returncode: int
    stdout: str
    stderr: str
    files: dict[str, str]
    root: Path

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"


@dataclass(frozen=True)
class GitlabResult:
    returncode: int
    stdout: str
    stderr: str
    project_dir: Path


@dataclass(frozen=True)
class Docker:
    """The docker client bound to one engine."""

    host: str | None

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DOCKER_CONTEXT", None)
        if self.host:
            env["DOCKER_HOST"] = self.host
        # The runner's HOME override below must not move the client's own config directory.
        env.setdefault("DOCKER_CONFIG", str(Path.home() / ".docker"))
        env.update(extra or {})
        return env

    def __call__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = RUN_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["docker", *args],
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
            )
        return proc

    def answers(self) -> bool:
        if shutil.which("docker") is None:
            return False
        try:
            return self("info", check=False, timeout=20).returncode == 0
        except subprocess.TimeoutExpired:
            return False


def _log(message: str) -> None:
    # Timing notes for whoever runs `pytest -s`; captured (and shown on failure) otherwise.
    print(f"[container-tests] {message}", file=sys.stderr)


def _missing_host_tools() -> list[str]:
    """The host programs these tests call that are not on PATH (scripts/host-tools.sh)."""
    proc = subprocess.run(
        ["bash", str(HOST_TOOLS_SCRIPT), "check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.stdout.split() if proc.returncode != 0 else []


def _engine_from_script(action: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ENGINE_SCRIPT), action, str(workdir)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="session")
def docker() -> Iterator[Docker]:
    """A docker client bound to a reachable engine (see the module docstring)."""
    required = os.environ.get("QSJWT_CONTAINER_TESTS") == "1"
    if required and (missing := _missing_host_tools()):
        pytest.fail(
            "the container tests need these host programs, which are not on PATH: "
            + ", ".join(missing)
            + " (bash scripts/host-tools.sh install, as root, installs them; .ci/run does)"
        )
    explicit = os.environ.get("QSJWT_DOCKER_HOST")
    if explicit:
        client = Docker(explicit)
        if not client.answers():
            pytest.fail(f"QSJWT_DOCKER_HOST={explicit} does not answer `docker info`")
        yield client
        return

    default = Docker(os.environ.get("DOCKER_HOST"))
    if default.answers():
        yield default
        return
    if not required:
        pytest.skip(ENABLE_HINT)

    workdir = WORK / "engine"
    private = Docker(f"unix://{workdir}/docker.sock")
    if private.answers():  # someone (e.g. CI) already runs the engine here: use, don't stop
        _log(f"reusing the running engine in {workdir}")
        yield private
        return
    if os.geteuid() != 0:
        pytest.fail("QSJWT_CONTAINER_TESTS=1 needs root to start a private Docker engine")
    started = time.monotonic()
    proc = _engine_from_script("start", workdir)
    if proc.returncode != 0:
        pytest.fail(f"scripts/docker-engine.sh start failed:\n{proc.stderr[-4000:]}")
    private = Docker(proc.stdout.strip().splitlines()[-1])
    _log(f"private engine up in {time.monotonic() - started:.1f} s at {private.host}")
    try:
        yield private
    finally:
        stop = _engine_from_script("stop", workdir)
        _log(f"private engine stopped (rc {stop.returncode}): {stop.stderr.strip()}")


@pytest.fixture(scope="session")
def action_image(docker: Docker) -> str:
    """Build the action image once per session (cached layers make a rebuild ~2 s); its tag."""
    copied = (
        "Dockerfile",
        "entrypoint.py",
        "pyproject.toml",
        "README.md",
        "requirements/action.txt",
    )
    missing = [name for name in copied if not (REPO / name).is_file()]
    if missing:
        pytest.fail(f"cannot build the image: {', '.join(missing)} missing from {REPO}")
    cmd = ["bash", str(BUILD_SCRIPT), "--quiet", "--tag", IMAGE_TAG]
    if any(HOST_CA_DIR.glob("*.crt")):
        # A TLS-intercepting proxy's CA, written at boot on CI machines: trusted by the build
        # (through the stand-in base or the build stage), never committed.
        cmd += ["--ca-dir", str(HOST_CA_DIR)]
    started = time.monotonic()
    proc = subprocess.run(
        cmd,
        env=docker.env({"QSJWT_BUILD_WORK": str(WORK), "BASE_IMAGE": BASE_IMAGE}),
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"scripts/build-image.sh failed (rc {proc.returncode}):\n{proc.stderr[-6000:]}")
    laps = [line for line in proc.stderr.splitlines() if line.startswith("build-image: [")]
    _log(f"image built in {time.monotonic() - started:.1f} s:\n" + "\n".join(laps))
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def base_image() -> str:
    """The name of the base image the action image was built on (``BASE_IMAGE``)."""
    return BASE_IMAGE


def _client_env(env: Mapping[str, str | None]) -> tuple[list[str], dict[str, str]]:
    """``-e NAME`` flags plus the values for the client's own environment (like the runner)."""
    flags: list[str] = []
    values: dict[str, str] = {}
    for name, value in env.items():
        if value is None:
            continue
        if "=" in name or not name:
            raise ValueError(f"bad environment variable name: {name!r}")
        flags += ["-e", name]
        values[name] = value
    return flags, values


def make_runner_dirs(root: Path) -> dict[str, str]:
    """Create the runner's directories and empty file commands under ``root``.

    Returns the environment the runner gives a container action (container paths).
    """
    for name in ("workspace", "file_commands", "home", "workflow", "runner_temp"):
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "workflow" / "event.json").write_text("{}\n", encoding="utf-8")
    step = uuid.uuid4()
    env = {
        "HOME": "/github/home",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_EVENT_PATH": "/github/workflow/event.json",
        "RUNNER_TEMP": "/github/runner_temp",
    }
    for var, stem in FILE_COMMANDS.items():
        (root / "file_commands" / f"{stem}_{step}").touch()
        env[var] = f"/github/file_commands/{stem}_{step}"
    return env


def run_action_with(
    docker: Docker,
    image: str,
    env: Mapping[str, str | None],
    *,
    root: Path,
    entrypoint: str | None = None,
    args: Sequence[str] = (),
    timeout: float = RUN_TIMEOUT,
    network: str = "none",
    workspace_files: Mapping[str, bytes] | None = None,
) -> Result:
    """``docker run`` ``image`` as the GitHub runner runs a container action.

    ``network`` "host" is for the tests that talk to a local Qlik on 127.0.0.1 (loopback only:
    the engine has no bridge); ``workspace_files`` are written into the workspace first.

    ``env`` adds to (or, with ``None`` as the value, removes from) the runner's environment;
    names are passed with ``-e NAME`` only and values through the client's environment, as the
    runner does, so ``INPUT_PRIVATE-KEY`` with a multi-line PEM works.
    """
    runner_env: dict[str, str | None] = dict(make_runner_dirs(root))
    runner_env.update(env)
    for name, content in (workspace_files or {}).items():
        (root / "workspace" / name).write_bytes(content)
    flags, values = _client_env(runner_env)
    cmd = ["run", "--rm", "--network", network, "--workdir", "/github/workspace", *flags]
    for name in ("workspace", "file_commands", "home", "workflow"):
        cmd += ["-v", f"{root / name}:/github/{name}"]
    cmd += ["-v", f"{root / 'runner_temp'}:/github/runner_temp"]
    if entrypoint is not None:
        cmd += ["--entrypoint", entrypoint]
    cmd += [image, *args]
    proc = docker(*cmd, env=values, check=False, timeout=timeout)
    files: dict[str, str] = {}
    for var, key in _FILE_KEYS.items():
        path = runner_env.get(var)
        host = root / "file_commands" / Path(path).name if path else None
        files[key] = host.read_text(encoding="utf-8") if host and host.exists() else ""
    return Result(proc.returncode, proc.stdout, proc.stderr, files, root)


def run_gitlab_with(
    docker: Docker,
    image: str,
    script: str,
    env: Mapping[str, str | None],
    *,
    project_dir: Path,
    timeout: float = RUN_TIMEOUT,
    network: str = "none",
    files: Mapping[str, bytes] | None = None,
) -> GitlabResult:
    """Run ``sh -c script`` in ``image`` as a GitLab job with ``entrypoint: [""]`` would;
    ``files`` are written into the project directory first."""
    project_dir.mkdir(parents=True, exist_ok=True)
    for name, content in (files or {}).items():
        (project_dir / name).write_bytes(content)
    base: dict[str, str | None] = {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PROJECT_DIR": "/builds/project",
    }
    base.update(env)
    flags, values = _client_env(base)
    cmd = ["run", "--rm", "--network", network, "--entrypoint", "", *flags]
    cmd += ["-v", f"{project_dir}:/builds/project", "-w", "/builds/project"]
    cmd += [image, "sh", "-c", script]
    proc = docker(*cmd, env=values, check=False, timeout=timeout)
    return GitlabResult(proc.returncode, proc.stdout, proc.stderr, project_dir)


RunAction = Callable[..., Result]
RunGitlab = Callable[..., GitlabResult]


@pytest.fixture
def run_action(docker: Docker, tmp_path: Path) -> RunAction:
    """``run_action(image, env, *, entrypoint=None, args=()) -> Result``; one fresh runner
    directory per call, under this test's ``tmp_path``."""

    def run(
        image: str,
        env: Mapping[str, str | None],
        *,
        entrypoint: str | None = None,
        args: Sequence[str] = (),
        timeout: float = RUN_TIMEOUT,
        network: str = "none",
        files: Mapping[str, bytes] | None = None,
    ) -> Result:
        root = Path(tempfile.mkdtemp(prefix="gh-", dir=tmp_path))
        return run_action_with(
            docker,
            image,
            env,
            root=root,
            entrypoint=entrypoint,
            args=args,
            timeout=timeout,
            network=network,
            workspace_files=files,
        )

    return run


@pytest.fixture
def run_gitlab(docker: Docker, tmp_path: Path) -> RunGitlab:
    """``run_gitlab(image, script, env) -> GitlabResult`` with a fresh project directory."""

    def run(
        image: str,
        script: str,
        env: Mapping[str, str | None],
        *,
        timeout: float = RUN_TIMEOUT,
        network: str = "none",
        files: Mapping[str, bytes] | None = None,
    ) -> GitlabResult:
        project = Path(tempfile.mkdtemp(prefix="gl-", dir=tmp_path)) / "project"
        return run_gitlab_with(
            docker,
            image,
            script,
            env,
            project_dir=project,
            timeout=timeout,
            network=network,
            files=files,
        )

    return run
