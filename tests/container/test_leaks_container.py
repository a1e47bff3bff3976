"""The leak table (tests/leaks/cases.py) through the action image, GitHub mode and GitLab mode.

A ``docker run`` per case and mode would cost a container start each (hundreds of them), so
every case runs, batched: one container per mode family runs tests/leaks/driver.py, which starts
each case as its own process inside the image, with its own environment and directories, and
reports what each left behind. The judging is the same code as on the host (tests/leaks/checks).

- GitHub mode: the container is started as the runner starts the action (run_action_with:
  mounts, file commands); inside it each case runs ``/opt/qsjwt/bin/python /entrypoint.py``,
  the image's ENTRYPOINT, with the case's ``INPUT_*`` variables and fresh file commands, with
  ``RUNNER_DEBUG=1`` and without.
- GitLab mode: the container is started as a GitLab job with ``entrypoint: [""]``
  (run_gitlab_with); inside it each case runs the component's own job script
  (templates/qs-jwt.yml, tests/leaks/gitlab.py) with the key as a File-type variable and as a
  masked base64 variable.

A few cases also run as one real ``docker run`` each, in both modes, through the fixtures'
own runners, so the batch driver is checked against the real thing.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from scripts.render_action import read_action
from tests.container.conftest import Docker, run_action_with, run_gitlab_with
from tests.leaks.cases import BY_ID, CASES, Case
from tests.leaks.checks import Outcome, baseline, check_action, check_cli
from tests.leaks.driver import collect, unb64
from tests.leaks.gitlab import GITLAB_MODES, GitlabMode, gitlab_plan
from tests.leaks.material import material
from tests.leaks.plans import RUNNER_DIR, RUNNER_STEMS, ActionMode, Plan, action_plan
from tests.leaks.tally import TALLY, Timer, ensure_reporter

DRIVER = Path(__file__).resolve().parents[1] / "leaks" / "driver.py"
IMAGE_PYTHON = "/opt/qsjwt/bin/python"
ENTRYPOINT = [IMAGE_PYTHON, "/entrypoint.py"]
BATCH_TIMEOUT = 1800
MATERIAL = material()
DECLARED = list(read_action()["inputs"])
GITHUB_MODES = (
    ActionMode("container-github-debug", "pem", debug=True),
    ActionMode("container-github-quiet", "pem", debug=False),
)
REAL_RUNS = (
    "good-qseow",
    "good-cloud",
    "key-missing",
    "key-encrypted-wrong-passphrase",
    "key-is-certificate",
    "hostile-newline-command",
)


def _github_plan(case: Case, mode: ActionMode) -> Plan:
    return action_plan(case, mode, MATERIAL, ENTRYPOINT, DECLARED)


def _github_params() -> list[Any]:
    return [
        pytest.param(case, mode, id=f"{case.id}@{mode.name}")
        for case in CASES
        if case.for_action() is not None
        for mode in GITHUB_MODES
        if _github_plan(case, mode).exec_problem() is None
    ]


def _gitlab_params() -> list[Any]:
    return [
        pytest.param(case, mode, id=f"{case.id}@{mode.name}")
        for case in CASES
        if case.for_cli() is not None and case.gitlab
        for mode in GITLAB_MODES
        if gitlab_plan(case, mode, MATERIAL).exec_problem() is None
    ]


def _selected(request: pytest.FixtureRequest, test_name: str) -> list[tuple[Any, Any]]:
    chosen = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.name.startswith(test_name + "[") and callspec is not None:
            chosen.append((callspec.params["case"], callspec.params["mode"]))
    return chosen


def _batch(workspace: Path, plans: list[Plan]) -> tuple[Path, list[str]]:
    workspace.mkdir(parents=True, exist_ok=True)
    shutil.copy(DRIVER, workspace / "driver.py")
    (workspace / "plans.json").write_text(json.dumps([p.to_json() for p in plans]))
    return workspace / "results.json", ["driver.py", "plans.json", "results.json", "/tmp/leaks"]


def _results(path: Path, stderr: str) -> dict[str, dict[str, Any]]:
    assert path.exists(), f"the driver wrote no results:\n{stderr[-4000:]}"
    return {result["id"]: result for result in json.loads(path.read_text())}


@pytest.fixture(scope="module")
def github_runs(
    request: pytest.FixtureRequest,
    docker: Docker,
    action_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, Any]]:
    ensure_reporter(request.config)
    plans = [_github_plan(case, mode) for case, mode in _selected(request, "test_github_mode")]
    root = tmp_path_factory.mktemp("leaks-github")
    results, args = _batch(root / "workspace", plans)
    with Timer("container-github (both modes, one container)"):
        run = run_action_with(
            docker,
            action_image,
            {},
            root=root,
            entrypoint=IMAGE_PYTHON,
            args=[f"/github/workspace/{arg}" if "/" not in arg else arg for arg in args],
            timeout=BATCH_TIMEOUT,
        )
    assert run.returncode == 0, run.stderr[-4000:]
    return _results(results, run.stderr)


@pytest.fixture(scope="module")
def gitlab_runs(
    request: pytest.FixtureRequest,
    docker: Docker,
    action_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, Any]]:
    ensure_reporter(request.config)
    plans = [
        gitlab_plan(case, mode, MATERIAL) for case, mode in _selected(request, "test_gitlab_mode")
    ]
    project = tmp_path_factory.mktemp("leaks-gitlab") / "project"
    results, args = _batch(project, plans)
    with Timer("container-gitlab (both modes, one container)"):
        run = run_gitlab_with(
            docker,
            action_image,
            "python " + " ".join(args),
            {},
            project_dir=project,
            timeout=BATCH_TIMEOUT,
        )
    assert run.returncode == 0, run.stderr[-4000:]
    return _results(results, run.stderr)


def _record(mode: str, case: Case, verdict: Any, outcome: Outcome) -> None:
    TALLY.record(
        mode, case.id, leaks=len(verdict.leaks), failed=bool(verdict.problems or verdict.leaks)
    )
    assert not verdict.leaks and not verdict.problems, verdict.explain(outcome)


@pytest.mark.parametrize(("case", "mode"), _github_params())
def test_github_mode(case: Case, mode: ActionMode, github_runs: dict[str, dict[str, Any]]) -> None:
    expect = case.for_action()
    assert expect is not None
    plan = _github_plan(case, mode)
    outcome = Outcome.from_driver(github_runs[plan.id])
    _record(
        mode.name,
        case,
        check_action(case, expect, outcome, plan, before=baseline(plan), material=MATERIAL),
        outcome,
    )


@pytest.mark.parametrize(("case", "mode"), _gitlab_params())
def test_gitlab_mode(case: Case, mode: GitlabMode, gitlab_runs: dict[str, dict[str, Any]]) -> None:
    expect = case.for_cli()
    assert expect is not None
    plan = gitlab_plan(case, mode, MATERIAL)
    outcome = Outcome.from_driver(gitlab_runs[plan.id])
    verdict = check_cli(case, expect, outcome, plan, before=baseline(plan), material=MATERIAL)
    _record(mode.name, case, verdict, outcome)


# --- a few cases as real `docker run`s, one container each ------------------------------------


@pytest.mark.parametrize("case_id", REAL_RUNS)
def test_github_real_docker_run(
    case_id: str, docker: Docker, action_image: str, tmp_path: Path
) -> None:
    case = BY_ID[case_id]
    expect = case.for_action()
    assert expect is not None
    mode = GITHUB_MODES[0]
    plan = _github_plan(case, mode)
    env = {
        name: value.decode()
        for name, value in plan.env.items()
        if name.startswith("INPUT_") or name == "RUNNER_DEBUG"
    }
    with Timer("container-github-real-run"):
        run = run_action_with(docker, action_image, env, root=tmp_path / "runner")
    entries = {
        f"{RUNNER_DIR}/{stem}": {"kind": "file", "mode": 0o644, "data": run.files[key].encode()}
        for stem, key in zip(RUNNER_STEMS.values(), ("output", "env", "summary"), strict=True)
    }
    outcome = Outcome(run.returncode, run.stdout, run.stderr, entries)
    assert collect(run.root, ["workspace"]) == {}, "the action left files in the workspace"
    _record(
        "container-github-real-run",
        case,
        check_action(case, expect, outcome, plan, before={}, material=MATERIAL),
        outcome,
    )


@pytest.mark.parametrize("case_id", REAL_RUNS)
def test_gitlab_real_docker_run(
    case_id: str, docker: Docker, action_image: str, tmp_path: Path
) -> None:
    case = BY_ID[case_id]
    expect = case.for_cli()
    assert expect is not None
    plan = gitlab_plan(case, GITLAB_MODES[0], MATERIAL)
    project = tmp_path / "project"
    inside = "/builds/project"
    for rel, data in plan.files.items():  # File-type variables: files the job can read
        path = project / ".file-variables" / Path(rel).name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (project / ".qs-jwt").mkdir(parents=True, exist_ok=True)
    env = {
        name: value.decode()
        .replace("@ROOT@/work", inside)
        .replace("@ROOT@/keys", f"{inside}/.file-variables")
        for name, value in plan.env.items()
        if name not in ("CI", "GITLAB_CI", "CI_PROJECT_DIR")
    }
    before = _prefixed(collect(project, ["."]))
    with Timer("container-gitlab-real-run"):
        run = run_gitlab_with(docker, action_image, plan.argv[2].decode(), env, project_dir=project)
    outcome = Outcome.from_driver(
        {
            "code": run.returncode,
            "stdout": _b64(run.stdout),
            "stderr": _b64(run.stderr),
            "entries": _prefixed(collect(project, ["."])),
        }
    )
    verdict = check_cli(case, expect, outcome, plan, before=_decoded(before), material=MATERIAL)
    _record("container-gitlab-real-run", case, verdict, outcome)


def _prefixed(entries: dict[str, Any]) -> dict[str, Any]:
    return {f"work/{path}": entry for path, entry in entries.items()}


def _decoded(entries: dict[str, Any]) -> dict[str, Any]:
    return {p: {**e, "data": unb64(e["data"])} if "data" in e else e for p, e in entries.items()}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_every_case_runs_in_a_container_mode_or_says_why_not() -> None:
    """No case silently drops out of the container: each runs in one mode or has a reason."""
    github = {param.values[0].id for param in _github_params()}
    gitlab = {param.values[0].id for param in _gitlab_params()}
    for case in CASES:
        if case.id in github | gitlab:
            continue
        unreceivable = (
            case.for_action() is not None
            and _github_plan(case, GITHUB_MODES[0]).exec_problem() is not None
        )  # a NUL or over 128 KiB: runs in process only
        assert case.why_not or unreceivable, f"{case.id} runs in no container mode, says not why"
