"""The composite action (anywhere/action.yml): rendered from the same table as action.yml, and
its steps run here with bash as a runner would run them.

setup-python cannot be fetched offline, so its step is played by this interpreter (its
``python-path`` output). The install step runs for real, pip and all, with ``PIP_NO_INDEX=1``
so nothing is fetched: a virtual environment at the place the step reuses
(``$RUNNER_TEMP/qs-jwt-anywhere``) is made first, and it sees this test run's packages (the
versions requirements/action.txt pins) through a ``.pth`` file, so every locked requirement is
already satisfied; qs-jwt itself is built and installed from a copy of this tree, as the runner
would from the action's checkout. The mint step then runs that environment's qs-jwt with the
inputs in ``INPUT_*`` variables, and the same checks as the container action's apply.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from qsjwt.action.schema import ACTION_INPUTS, OUTPUTS
from scripts.render_action import (
    ANYWHERE_PYTHON,
    ANYWHERE_YML,
    ROOT,
    SETUP_PYTHON,
    read_action,
    render_anywhere_yml,
)
from tests.action.test_action import (
    CLOUD,
    OUTPUT_NAMES,
    QSEOW,
    assert_failed,
    assert_masks_first,
    assert_no_leak,
    key_lines,
)
from tests.action_runner import Result, Runner, parse_file_command
from tests.conftest import KeyPair, verify_independently
from tests.platforms import WINDOWS

yaml = pytest.importorskip("yaml")

EXPRESSION = re.compile(r"\$\{\{ (inputs|steps)\.([\w-]+)(?:\.outputs\.([\w-]+))? \}\}")


def _anywhere() -> dict[str, Any]:
    data = yaml.safe_load(ANYWHERE_YML.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _steps() -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in _anywhere()["runs"]["steps"]}


# --- the file -------------------------------------------------------------------------------


def test_anywhere_yml_is_rendered_from_the_code() -> None:
    assert ANYWHERE_YML.read_text(encoding="utf-8") == render_anywhere_yml(), (
        "anywhere/action.yml is out of date: run python scripts/render_action.py --write"
    )


def test_same_inputs_and_outputs_as_the_container_action() -> None:
    container, anywhere = read_action(), _anywhere()
    inputs = {
        name: {"description": spec["description"], "required": spec["required"] == "true"}
        for name, spec in container["inputs"].items()
    }
    assert anywhere["inputs"] == inputs
    assert list(anywhere["outputs"]) == list(container["outputs"]) == list(OUTPUTS)
    for name, spec in anywhere["outputs"].items():
        assert spec["description"] == container["outputs"][name]["description"]
        assert spec["value"] == f"${{{{ steps.mint.outputs.{name} }}}}"
    assert (anywhere["author"], anywhere["branding"]) == (
        container["author"],
        container["branding"],
    )


def test_inputs_reach_only_the_mint_step_as_the_container_gets_them() -> None:
    """``INPUT_`` + the upper-cased name, hyphens kept, from ``inputs.<name>``: in ``env:``,
    never in a script; the install step (pip) sees none of them."""
    steps = _steps()
    expected = {
        f"INPUT_{item.name.upper()}": f"${{{{ inputs.{item.name} }}}}" for item in ACTION_INPUTS
    }
    mint_env = steps["mint"]["env"]
    assert {k: v for k, v in mint_env.items() if k.startswith("INPUT_")} == expected
    assert "INPUT_PRIVATE-KEY" in mint_env
    for step in steps.values():
        assert "${{" not in step.get("run", ""), step["id"]
        if step["id"] != "mint":
            assert not [k for k in step.get("env", {}) if k.startswith("INPUT_")], step["id"]
        if "run" in step:
            assert step["shell"] == "bash", "bash on every runner (Git Bash on Windows)"


def test_python_is_set_up_pinned_and_without_touching_the_job() -> None:
    steps = _steps()
    assert list(steps) == ["python", "install", "mint"]
    setup = steps["python"]
    assert setup["uses"] == SETUP_PYTHON.split(" #")[0]
    assert re.fullmatch(r"actions/setup-python@[0-9a-f]{40}", setup["uses"])
    assert f"uses: {SETUP_PYTHON}" in ANYWHERE_YML.read_text(encoding="utf-8"), "# vX.Y.Z"
    assert setup["with"] == {"python-version": ANYWHERE_PYTHON, "update-environment": False}
    ci = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert SETUP_PYTHON in ci, "the same pin as the workflows (Dependabot moves those)"


def test_the_install_is_hash_locked_and_fetches_nothing_else() -> None:
    script = _steps()["install"]["run"]
    assert '--require-hashes -r "$root/requirements/action.txt"' in script
    assert "--no-deps" in script
    assert '--no-build-isolation --no-index --force-reinstall "$root"' in script
    assert 'root="$GITHUB_ACTION_PATH/.."' in script


# --- the steps, run ---------------------------------------------------------------------------


@dataclass
class Composite:
    """A checkout of the action, a runner directory, and the Python of the install step."""

    action_path: Path
    runner_temp: Path
    python: str

    def step_env(
        self, step: dict[str, Any], base: Mapping[str, str], inputs: Mapping[str, str]
    ) -> dict[str, str]:
        """The step's process environment: the runner's, GITHUB_ACTION_PATH, its ``env:``."""
        env = {k: v for k, v in base.items() if not k.startswith("INPUT_")}
        env["GITHUB_ACTION_PATH"] = str(self.action_path / "anywhere")
        env["RUNNER_TEMP"] = str(self.runner_temp)
        outputs = {"python": {"python-path": sys.executable}, "install": {"python": self.python}}
        for key, value in step.get("env", {}).items():
            match = EXPRESSION.fullmatch(str(value))
            assert match, f"{key}: only inputs.* and steps.*.outputs.* are used"
            kind, name, output = match.groups()
            env[key] = inputs.get(name, "") if kind == "inputs" else outputs[name][output]
        return env


def _bash(script: str, env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """As the runner runs ``shell: bash``: the script in a file, ``bash --noprofile --norc
    -eo pipefail``."""
    path = cwd / "step.sh"
    path.write_text(script, encoding="utf-8")
    try:
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
            timeout=300,
        )
    finally:
        path.unlink()


def _checkout(target: Path) -> Path:
    """What the runner downloads for ``uses: OWNER/qs-jwt/anywhere@REF``: the repository."""
    for name in ("pyproject.toml", "README.md", "entrypoint.py"):
        shutil.copy2(ROOT / name, target / name)
    shutil.copytree(ROOT / "qsjwt", target / "qsjwt", ignore=shutil.ignore_patterns("__pycache__"))
    (target / "requirements").mkdir()
    shutil.copy2(ROOT / "requirements" / "action.txt", target / "requirements" / "action.txt")
    (target / "anywhere").mkdir()
    shutil.copy2(ANYWHERE_YML, target / "anywhere" / "action.yml")
    return target


def _prepared_venv(runner_temp: Path) -> None:
    """The environment the install step reuses, seeing this run's packages (no download)."""
    venv = runner_temp / "qs-jwt-anywhere"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    scheme = "nt" if WINDOWS else "posix_prefix"
    site = sysconfig.get_path("purelib", scheme, vars={"base": str(venv), "platbase": str(venv)})
    here = sysconfig.get_path("purelib")
    Path(site, "qs-jwt-test-packages.pth").write_text(here + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def composite(tmp_path_factory: pytest.TempPathFactory) -> Composite:
    if WINDOWS:
        pytest.skip(
            "a test's bash on Windows may be WSL's (CreateProcess looks in System32 first); "
            "selftest.yml runs the composite on windows-latest under the runner's Git Bash"
        )
    if shutil.which("bash") is None:
        pytest.skip("no bash here (the composite's steps are bash on every runner)")
    root = tmp_path_factory.mktemp("anywhere")
    (root / "action").mkdir()
    action_path = _checkout(root / "action")
    runner_temp = root / "runner-temp"
    runner_temp.mkdir()
    _prepared_venv(runner_temp)
    install = _steps()["install"]
    runner = Runner(root / "install-runner", [])
    base = runner.environment({}, {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    step = Composite(action_path, runner_temp, "")
    proc = _bash(install["run"], step.step_env(install, base, {}), runner.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    python = parse_file_command(runner.files["GITHUB_OUTPUT"].read_text(encoding="utf-8"))
    assert list(python) == ["python"]
    assert Path(python["python"]).parent.parent == runner_temp / "qs-jwt-anywhere"
    return Composite(action_path, runner_temp, python["python"])


def _mint(
    composite: Composite,
    runner: Runner,
    inputs: Mapping[str, str],
    extra: Mapping[str, str | None] | None = None,
) -> tuple[Result, dict[str, str]]:
    """The mint step under ``runner``; the result and the composite's outputs."""
    mint = _steps()["mint"]
    env = composite.step_env(mint, runner.environment({}, extra), inputs)
    proc = _bash(mint["run"], env, runner.root)
    result = runner.collect(proc.returncode, proc.stdout, proc.stderr, env)
    step_outputs = result.outputs
    outputs = {}
    for name, spec in _anywhere()["outputs"].items():
        match = EXPRESSION.fullmatch(spec["value"])
        assert match and match.group(2) == "mint"
        if match.group(3) in step_outputs:
            outputs[name] = step_outputs[match.group(3)]
    return result, outputs


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path / "runner", [])


def test_qs_jwt_is_installed_from_the_actions_files(composite: Composite) -> None:
    proc = subprocess.run(
        [composite.python, "-I", "-c", "import qsjwt; print(qsjwt.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = Path(proc.stdout.strip())
    assert composite.runner_temp / "qs-jwt-anywhere" in installed.parents
    assert installed.read_bytes() == (ROOT / "qsjwt" / "__init__.py").read_bytes()


def test_a_second_use_in_the_job_reuses_the_environment(
    composite: Composite, tmp_path: Path
) -> None:
    install = _steps()["install"]
    runner = Runner(tmp_path / "again", [])
    base = runner.environment({}, {"PIP_NO_INDEX": "1"})
    proc = _bash(install["run"], composite.step_env(install, base, {}), runner.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    again = parse_file_command(runner.files["GITHUB_OUTPUT"].read_text(encoding="utf-8"))
    assert again == {"python": composite.python}


def test_qseow_masks_first_and_sets_the_same_outputs(
    composite: Composite, runner: Runner, rsa_pair: KeyPair
) -> None:
    inputs = {**QSEOW, "groups": "Sales\nOps", "private-key": rsa_pair.private_pem.decode()}
    result, outputs = _mint(composite, runner, inputs, {"RUNNER_DEBUG": "1"})
    assert result.code == 0, result.stdout + result.stderr
    token = outputs["token"]
    assert_masks_first(result, token)
    assert set(result.masks) >= set(key_lines(rsa_pair.private_pem))
    assert list(outputs) == OUTPUT_NAMES
    header, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert header == json.loads(outputs["header"])
    assert claims == json.loads(outputs["claims"])
    assert (claims["userId"], claims["userDirectory"], claims["groups"]) == (
        "alice",
        "CORP",
        ["Sales", "Ops"],
    )
    assert claims["exp"] - claims["iat"] == 3600 == int(outputs["expires-in"])
    assert result.annotations("debug")
    assert_no_leak(result, token, *key_lines(rsa_pair.private_pem))


def test_cloud_with_export_env_and_summary(
    composite: Composite, runner: Runner, rsa_pair: KeyPair
) -> None:
    inputs = {**CLOUD, "private-key": rsa_pair.private_pem.decode(), "export-env": "QLIK_JWT"}
    result, outputs = _mint(composite, runner, inputs)
    assert result.code == 0, result.stdout + result.stderr
    token = outputs["token"]
    assert_masks_first(result, token)
    assert result.exported == {"QLIK_JWT": token}
    header, claims = verify_independently(token, rsa_pair.public_pem, "RS256")
    assert header["kid"] == "kid-1" and claims["sub"] == "svc_ci"
    assert "Qlik Cloud" in result.summary and token not in result.summary
    assert_no_leak(result, token, *key_lines(rsa_pair.private_pem), exported=True)


FAILURES = {
    "no-key": ({"private-key": ""}, "Invalid input private-key", "missing-input", "private-key"),
    "bad-lifetime": (
        {"expires-in": "soon"},
        "Invalid input expires-in",
        "invalid-input",
        "expires-in",
    ),
    "bad-key": ({"private-key": "not a key"}, "Unusable private-key", "invalid-key", "private-key"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_the_same_errors_and_error_outputs(
    composite: Composite, runner: Runner, rsa_pair: KeyPair, case: str
) -> None:
    """The titles, messages and outputs of tests/action/test_action.py, through the composite."""
    bad, title, code, input_name = FAILURES[case]
    inputs = {**QSEOW, "private-key": rsa_pair.private_pem.decode(), **bad}
    result, outputs = _mint(composite, runner, inputs)
    assert_failed(result, title, f"{input_name}:", code=code, input_name=input_name)
    assert outputs == {"error-code": code, "error-input": input_name}
    assert_no_leak(result, *key_lines(rsa_pair.private_pem))


def test_input_values_are_data_never_shell(
    composite: Composite, runner: Runner, rsa_pair: KeyPair
) -> None:
    hostile = 'x" ; touch pwned1 ; echo "`touch pwned2`$(touch pwned3)\'; touch pwned4 #'
    inputs = {**QSEOW, "name": hostile, "private-key": rsa_pair.private_pem.decode()}
    result, outputs = _mint(composite, runner, inputs)
    assert result.code == 0, result.stdout + result.stderr
    assert not list(runner.root.rglob("pwned*"))
    _, claims = verify_independently(outputs["token"], rsa_pair.public_pem, "RS256")
    assert claims["name"] == hostile


def test_outside_github_the_step_refuses_as_the_container_does(
    composite: Composite, runner: Runner, rsa_pair: KeyPair
) -> None:
    inputs = {**QSEOW, "private-key": rsa_pair.private_pem.decode()}
    result, outputs = _mint(composite, runner, inputs, {"GITHUB_ACTIONS": None})
    assert (result.code, result.stdout, outputs) == (2, "", {})
    assert "no token was made" in result.stderr
