"""The leak table through the real ``qs-jwt`` process, in four ways of giving it the key.

Modes (tests/leaks/plans.py ``CLI_MODES``): the key in a file (``--private-key-file``), or in
``QSJWT_PRIVATE_KEY`` as PEM, as ``\\n``-escaped PEM on one line, or as base64; settings as
flags or as ``QSJWT_*`` variables; the token printed, or written with ``--output`` and
``--dotenv``. Good cases and key errors run in all four; a case that fails on a setting before
the key is read runs in the first two (key file + flags, key text + variables).

The processes of all selected cases run concurrently, once per session (tests/leaks/driver.py),
and each test then judges its own run.

Cases a process cannot receive (a NUL byte in an argument or a variable, a value over Linux's
128 KiB limit for one argument) are left out here and run in the action's in-process modes;
a NUL in the key or the passphrase still reaches the CLI through the key-file mode.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.leaks.cases import CASES, Case, about_the_key
from tests.leaks.checks import Outcome, baseline, check_cli
from tests.leaks.driver import run_all
from tests.leaks.material import material
from tests.leaks.plans import CLI_MODES, CliMode, cli_plan, qs_jwt_command
from tests.leaks.tally import TALLY, Timer, ensure_reporter
from tests.platforms import LINUX_ONLY_PLACES

pytestmark = LINUX_ONLY_PLACES

MATERIAL = material()
NOT_RUNNABLE: dict[str, str] = {}
"""case@mode -> why no process can receive it"""


def _combos() -> list[Any]:
    params = []
    for case in CASES:
        if case.for_cli() is None:
            continue
        for mode in CLI_MODES if about_the_key(case) else CLI_MODES[:2]:
            plan = cli_plan(case, mode, MATERIAL, qs_jwt_command())
            problem = plan.exec_problem()
            if problem:
                NOT_RUNNABLE[plan.id] = problem
                continue
            params.append(pytest.param(case, mode, id=plan.id))
    return params


COMBOS = _combos()


@pytest.fixture(scope="session")
def cli_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """Every selected case x mode, run once, concurrently: results by plan id."""
    ensure_reporter(request.config)
    plans = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.name.startswith("test_cli_case[") and callspec is not None:
            case, mode = callspec.params["case"], callspec.params["mode"]
            plans.append(cli_plan(case, mode, MATERIAL, qs_jwt_command()).to_json())
    with Timer("cli (all four modes)"):
        results = run_all(plans, tmp_path_factory.mktemp("cli-leaks"))
    return {result["id"]: result for result in results}


@pytest.mark.parametrize(("case", "mode"), COMBOS)
def test_cli_case(case: Case, mode: CliMode, cli_runs: dict[str, dict[str, Any]]) -> None:
    expect = case.for_cli()
    assert expect is not None
    plan = cli_plan(case, mode, MATERIAL, qs_jwt_command())
    outcome = Outcome.from_driver(cli_runs[plan.id])
    verdict = check_cli(case, expect, outcome, plan, before=baseline(plan), material=MATERIAL)
    TALLY.record(
        mode.name, case.id, leaks=len(verdict.leaks), failed=bool(verdict.problems or verdict.leaks)
    )
    assert not verdict.leaks and not verdict.problems, verdict.explain(outcome)


def test_only_unreceivable_cases_are_left_out() -> None:
    """What the CLI modes skip is what no process can receive, and nothing else."""
    assert all("NUL" in why or "128 KiB" in why for why in NOT_RUNNABLE.values()), NOT_RUNNABLE
    left_out = {plan_id.partition("@")[0] for plan_id in NOT_RUNNABLE}
    run = {param.values[0].id for param in COMBOS}
    assert left_out - run <= {"hostile-nul", "hostile-name-1mb", "hostile-1mb-key"}, left_out
