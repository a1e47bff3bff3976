"""The action image itself: what is installed, how it starts, how big it is.

These tests check the Dockerfile and the harness, not qs-jwt's behaviour (tests of the action
and the CLI run in the image through the same fixtures).
"""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path
from typing import Any

from tests.container.conftest import Docker, RunAction, RunGitlab

REPO = Path(__file__).resolve().parents[2]

VENV = "/opt/qsjwt"
ENTRYPOINT = [f"{VENV}/bin/python", "/entrypoint.py"]
# Measured on the stand-in base: 20.9 MB over the base (cryptography alone is 16 MB).
MAX_GROWTH_MB = 60


def _package_version() -> str:
    """The version pyproject.toml declares: static, or setuptools' dynamic ``attr``."""
    with (REPO / "pyproject.toml").open("rb") as f:
        pyproject = tomllib.load(f)
    if "version" in pyproject["project"]:
        return str(pyproject["project"]["version"])
    attr = pyproject["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module, _, name = attr.rpartition(".")
    path = REPO.joinpath(*module.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return str(ast.literal_eval(node.value))
    raise AssertionError(f"no {attr} found in {source}")


def _inspect(docker: Docker, image: str) -> dict[str, Any]:
    inspected: dict[str, Any] = json.loads(docker("image", "inspect", image).stdout)[0]
    return inspected


def _python(run_action: RunAction, image: str, code: str) -> tuple[int, str, str]:
    result = run_action(image, {}, entrypoint="python", args=["-c", code])
    return result.returncode, result.stdout, result.stderr


def test_qs_jwt_is_on_path_and_prints_the_package_version(
    action_image: str, run_gitlab: RunGitlab
) -> None:
    result = run_gitlab(action_image, "command -v qs-jwt && qs-jwt --version", {})
    assert result.returncode == 0, result.stderr
    where, version_line = result.stdout.strip().splitlines()
    assert where == f"{VENV}/bin/qs-jwt"
    # "qs-jwt VERSION", and "(commit ABC)" when the image was built from a checkout that
    # `make` recorded the commit of (qsjwt/COMMIT; a release build has none)
    assert version_line.split()[:2] == ["qs-jwt", _package_version()]


def test_the_package_and_its_runtime_dependencies_import(
    action_image: str, run_action: RunAction
) -> None:
    code = (
        "import importlib.metadata as md, qsjwt, jwt, cryptography, requests; "
        "import actions_toolkit.core; "
        "print(md.version('qs-jwt'))"
    )
    rc, out, err = _python(run_action, action_image, code)
    assert rc == 0, err
    assert out.strip() == _package_version()


def test_pygithub_and_build_tools_are_not_installed(
    action_image: str, run_action: RunAction
) -> None:
    # actions-toolkit declares PyGithub; the image installs it with --no-deps. setuptools is
    # build-only, and the actions-toolkit wheel's stray top-level `tests` package is removed.
    code = (
        "import importlib.util as u; "
        "print([m for m in ('github', 'nacl', 'setuptools', 'pip', 'tests') if u.find_spec(m)])"
    )
    rc, out, err = _python(run_action, action_image, code)
    assert rc == 0, err
    assert out.strip() == "[]"
    rc, _, err = _python(run_action, action_image, "import github")
    assert rc == 1
    assert "No module named 'github'" in err


def test_runs_with_no_network_and_only_loopback(action_image: str, run_action: RunAction) -> None:
    rc, out, err = _python(
        run_action, action_image, "import socket; print([n for _, n in socket.if_nameindex()])"
    )
    assert rc == 0, err
    assert out.strip() == "['lo']"


def test_entrypoint_is_absolute_exec_form_and_runs_as_root(
    docker: Docker, action_image: str
) -> None:
    config = _inspect(docker, action_image)["Config"]
    assert config["Entrypoint"] == ENTRYPOINT
    # Setting ENTRYPOINT resets the base's CMD ["python3"]; otherwise the runner's docker run
    # would hand "python3" to the entrypoint as an argument.
    assert not config["Cmd"]
    assert config["User"] in ("", "root", "0")
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PATH"].split(":")[0] == f"{VENV}/bin"


def test_bytecode_is_compiled_at_build_time(action_image: str, run_action: RunAction) -> None:
    # Hash-based, unchecked .pyc (flags == 1) comes from the Dockerfile's compileall step, not
    # from pip; and importing must not have to write any.
    code = (
        "import importlib.util, pathlib, qsjwt; "
        "pkg = pathlib.Path(qsjwt.__file__).parent; "
        "srcs = sorted(pkg.glob('*.py')); "
        "pycs = [pathlib.Path(importlib.util.cache_from_source(str(s))) for s in srcs]; "
        "missing = [p.name for p in pycs if not p.exists()]; "
        "flags = {int.from_bytes(p.read_bytes()[4:8], 'little') for p in pycs if p.exists()}; "
        "print(len(srcs), missing, sorted(flags))"
    )
    rc, out, err = _python(run_action, action_image, code)
    assert rc == 0, err
    count, rest = out.strip().split(" ", 1)
    assert int(count) >= 1
    assert rest == "[] [1]"


def test_no_build_leftovers_in_the_final_image(action_image: str, run_gitlab: RunGitlab) -> None:
    # The build stage's /tmp/build (requirements, any .build-ca certificates) and /src stay behind.
    result = run_gitlab(
        action_image,
        "ls -A /tmp /root/.cache 2>/dev/null; test ! -e /src && test ! -e /tmp/build && echo clean",
        {},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "clean"


def test_image_size_over_the_base(docker: Docker, action_image: str, base_image: str) -> None:
    image = _inspect(docker, action_image)
    base = _inspect(docker, base_image)
    growth_mb = (image["Size"] - base["Size"]) / 1e6
    total_mb = image["Size"] / 1e6
    print(f"image {action_image}: {total_mb:.1f} MB, {growth_mb:.1f} MB over {base_image}")
    assert 0 < growth_mb < MAX_GROWTH_MB


def test_runner_harness_passes_hyphenated_multiline_inputs(
    action_image: str, run_action: RunAction
) -> None:
    # The harness itself: `-e NAME` with the value in the client's environment, as the runner
    # does. A PEM has newlines, which `docker run --env-file` cannot carry.
    pem = "-----BEGIN EXAMPLE-----\nAAAA\nBBBB\n-----END EXAMPLE-----\n"
    code = (
        "import os, pathlib; "
        "key = os.environ['INPUT_PRIVATE-KEY']; "
        "out = pathlib.Path(os.environ['GITHUB_OUTPUT']); "
        'out.write_text(f"lines={len(key.splitlines())}\\ncwd={os.getcwd()}\\n"); '
        "pathlib.Path(os.environ['GITHUB_STEP_SUMMARY']).write_text('# ok\\n'); "
        "print(os.environ['HOME'], os.environ['GITHUB_ACTIONS'], os.environ['CI'], "
        "'INPUT_UNSET' in os.environ)"
    )
    result = run_action(
        action_image,
        {"INPUT_PRIVATE-KEY": pem, "INPUT_UNSET": None},
        entrypoint="python",
        args=["-c", code],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/github/home", "true", "true", "False"]
    assert result.files["output"] == "lines=4\ncwd=/github/workspace\n"
    assert result.files["summary"] == "# ok\n"
    assert result.files["env"] == result.files["path"] == result.files["state"] == ""
    assert result.stderr == ""


def test_gitlab_style_run_gets_the_project_dir(action_image: str, run_gitlab: RunGitlab) -> None:
    result = run_gitlab(
        action_image,
        'echo "$GITLAB_CI $CI_PROJECT_DIR $(pwd)" && qs-jwt --help > help.txt',
        {"QSJWT_EXAMPLE": "multi\nline"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "true /builds/project /builds/project"
    assert (result.project_dir / "help.txt").read_text(encoding="utf-8").strip()
