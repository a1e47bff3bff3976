"""The leak table through the GitHub Action, under a simulated runner.

The runner's contract (tests/action_runner.py): every input ``action.yml`` declares arrives as
``INPUT_<NAME>`` with hyphens kept (empty when not given), ``GITHUB_OUTPUT``, ``GITHUB_ENV`` and
``GITHUB_STEP_SUMMARY`` are files, ``RUNNER_DEBUG=1`` when debug logging is on.

Modes: in this process (``qsjwt.action.main(env)``), the key as PEM, ``\\n``-escaped or base64,
each with and without ``RUNNER_DEBUG=1``: six modes, every case, including those no process can
receive (a NUL byte, a 1 MB value). Then ``python entrypoint.py`` as a process, with debug
logging, every case a process can receive, run concurrently once per session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qsjwt.action import entry as action
from scripts.render_action import read_action
from tests.leaks.cases import CASES, Case
from tests.leaks.checks import Outcome, baseline, check_action
from tests.leaks.driver import run_all
from tests.leaks.material import material
from tests.leaks.plans import (
    ActionMode,
    action_plan,
    entrypoint_command,
    in_process_environment,
    prepare_in_process,
)
from tests.leaks.tally import TALLY, Timer, ensure_reporter
from tests.platforms import LINUX_ONLY_PLACES

pytestmark = LINUX_ONLY_PLACES

MATERIAL = material()
DECLARED = list(read_action()["inputs"])
IN_PROCESS = tuple(
    ActionMode(f"action-{key}-{'debug' if debug else 'quiet'}", key, debug)
    for key in ("pem", "escaped", "base64")
    for debug in (False, True)
)
PROCESS = ActionMode("action-process-debug", "pem", debug=True)
ACTION_CASES = [case for case in CASES if case.for_action() is not None]


def _judge(case: Case, mode: ActionMode, outcome: Outcome, plan: Any) -> None:
    expect = case.for_action()
    assert expect is not None
    verdict = check_action(case, expect, outcome, plan, before=baseline(plan), material=MATERIAL)
    TALLY.record(
        mode.name, case.id, leaks=len(verdict.leaks), failed=bool(verdict.problems or verdict.leaks)
    )
    assert not verdict.leaks and not verdict.problems, verdict.explain(outcome)


@pytest.fixture(scope="module", autouse=True)
def _reporter(request: pytest.FixtureRequest) -> None:
    ensure_reporter(request.config)


@pytest.mark.parametrize("mode", IN_PROCESS, ids=[m.name for m in IN_PROCESS])
@pytest.mark.parametrize("case", ACTION_CASES, ids=[c.id for c in ACTION_CASES])
def test_action_in_process(
    case: Case, mode: ActionMode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = action_plan(case, mode, MATERIAL, [], DECLARED)
    prepare_in_process(plan, tmp_path)
    env = in_process_environment(plan, tmp_path)
    capsys.readouterr()
    with Timer(mode.name):
        code = action.main(env)
    out, err = capsys.readouterr()
    _judge(case, mode, Outcome.from_directory(code, out, err, tmp_path, plan), plan)


def _process_plans() -> list[Any]:
    params = []
    for case in ACTION_CASES:
        plan = action_plan(case, PROCESS, MATERIAL, entrypoint_command(), DECLARED)
        if plan.exec_problem() is None:
            params.append(pytest.param(case, id=case.id))
    return params


@pytest.fixture(scope="session")
def process_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    plans = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.name.startswith("test_action_process[") and callspec is not None:
            case = callspec.params["case"]
            plans.append(
                action_plan(case, PROCESS, MATERIAL, entrypoint_command(), DECLARED).to_json()
            )
    with Timer(PROCESS.name):
        results = run_all(plans, tmp_path_factory.mktemp("action-leaks"))
    return {result["id"]: result for result in results}


@pytest.mark.parametrize("case", _process_plans())
def test_action_process(case: Case, process_runs: dict[str, dict[str, Any]]) -> None:
    plan = action_plan(case, PROCESS, MATERIAL, entrypoint_command(), DECLARED)
    _judge(case, PROCESS, Outcome.from_driver(process_runs[plan.id]), plan)
