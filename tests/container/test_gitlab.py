"""The GitLab component's job, run for real in the action image as a GitLab runner runs it.

The job is rendered from templates/qs-jwt.yml with chosen inputs (the model of GitLab in
tests/test_gitlab_template.py: spec validation, ``$[[ inputs.x ]]``, ``extends``, variable
expansion), then its ``script`` runs in the image with ``--entrypoint ""``, ``CI=true``,
``GITLAB_CI=true`` and the project directory mounted at ``CI_PROJECT_DIR``, with the variables
the template sets plus the project's key variable. ``after_script`` runs in a second container,
as GitLab runs it in a new shell.

The last tests run whole pipelines with gitlab-ci-local (npm), an independent implementation
of GitLab's pipeline semantics: ``include: local:`` with ``inputs``, ``spec:inputs``, ``extends``,
File-type variables, ``after_script``, and the dotenv report reaching a later job through
``needs``. It needs two things a machine with no registry lacks, both made here: its helper
image (a Debian image with rsync, tagged with the name gitlab-ci-local asks for) and a version
that runs on the machine's Node.js (see docs/gitlab.md, "How this is tested").
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from qsjwt.cli import ENV_PRIVATE_KEY, ENV_PRIVATE_KEY_FILE
from tests.conftest import KeyPair, verify_independently
from tests.container.conftest import WORK, Docker, GitlabResult, run_gitlab_with
from tests.test_gitlab_template import (
    CLOUD_INPUTS,
    DOTENV_FILE,
    QSEOW_INPUTS,
    TEMPLATE,
    TOKEN_FILE,
    job_environment,
    render,
    resolve_job,
    shell_script,
)

PROJECT_DIR = "/builds/project"  # where run_gitlab_with mounts the project directory
# Where GitLab would put a File-type variable is outside the project; here it is a file in the
# mounted project directory (outside .qs-jwt/), which is all the CLI needs: a path.
KEY_DIR = ".file-variables"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _job(given: dict[str, Any]) -> dict[str, Any]:
    jobs = render(given)
    return resolve_job(jobs, str(given.get("job-name", "qs-jwt")))


def _job_variables(job: dict[str, Any]) -> dict[str, str]:
    """The job's variables as the runner passes them (predefined ones are added by the helper)."""
    predefined = {"CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": PROJECT_DIR}
    env = job_environment(job, predefined)
    return {k: v for k, v in env.items() if k not in predefined}


def _key_file_variable(project: Path, pem: bytes) -> dict[str, str]:
    folder = project / KEY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ENV_PRIVATE_KEY_FILE).write_bytes(pem)
    return {ENV_PRIVATE_KEY_FILE: f"{PROJECT_DIR}/{KEY_DIR}/{ENV_PRIVATE_KEY_FILE}"}


def _run(
    docker: Docker,
    image: str,
    project: Path,
    job: dict[str, Any],
    secrets: dict[str, str],
    *,
    part: str = "script",
) -> GitlabResult:
    env = {**_job_variables(job), **secrets}
    return run_gitlab_with(docker, image, shell_script(job[part]), env, project_dir=project)


def _assert_clean_log(log: str, pair: KeyPair, token: str | None = None) -> None:
    """No token, no key text, no workflow command in what the job log would show."""
    assert not JWT.search(log), "a JWT in the job log"
    if token:
        for part in token.split("."):
            assert part not in log
    assert "-----BEGIN" not in log and "PRIVATE KEY" not in log
    for line in pair.private_pem.decode().splitlines():
        if not line.startswith("-----"):
            assert line not in log, "a line of the private key in the job log"
    assert base64.b64encode(pair.private_pem).decode()[:40] not in log
    assert not [line for line in log.splitlines() if line.lstrip().startswith("::")]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cloud_job_with_a_file_variable_writes_token_and_dotenv(
    docker: Docker, action_image: str, tmp_path: Path, rsa_pair: KeyPair
) -> None:
    project = tmp_path / "project"
    given = {**CLOUD_INPUTS, "image": action_image, "dotenv": True, "expires-in": "10m"}
    job = _job(given)
    assert job["image"] == {"name": action_image, "entrypoint": [""]}
    secrets = _key_file_variable(project, rsa_pair.private_pem)

    result = _run(docker, action_image, project, job, secrets)

    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    token_file, dotenv_file = project / TOKEN_FILE, project / DOTENV_FILE
    token = token_file.read_text(encoding="ascii").strip()
    assert token_file.read_text(encoding="ascii") == token + "\n"
    assert dotenv_file.read_text(encoding="ascii") == f"QLIK_JWT={token}\n"
    assert _mode(token_file) == 0o600 and _mode(dotenv_file) == 0o600
    assert _mode(token_file.parent) == 0o700
    header, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "kid-2026"}
    assert claims["iss"] == "my-idp.example.com"
    assert claims["sub"] == "svc_gitlab" and claims["subType"] == "user"
    assert claims["name"] == "GitLab CI" and claims["email"] == "ci@example.com"
    assert claims["groups"] == ["Deployers", "Readers"]
    assert claims["aud"] == "qlik.api/login/jwt-session"
    assert claims["exp"] - claims["nbf"] == 600
    assert result.stdout == ""  # the CLI's notes go to stderr; the token goes nowhere
    assert f"wrote '{PROJECT_DIR}/{TOKEN_FILE}' (mode 0600)" in result.stderr
    _assert_clean_log(log, rsa_pair, token)

    # after_script, in a new shell as GitLab runs it: the token file goes, the report stays.
    after = _run(docker, action_image, project, job, {}, part="after_script")
    assert after.returncode == 0, after.stderr
    assert not token_file.exists()
    assert dotenv_file.read_text(encoding="ascii") == f"QLIK_JWT={token}\n"
    _assert_clean_log(after.stdout + after.stderr, rsa_pair, token)


def test_qseow_job_with_a_base64_key_variable_writes_only_the_token_file(
    docker: Docker, action_image: str, tmp_path: Path, rsa_pair: KeyPair
) -> None:
    project = tmp_path / "project"
    given = {**QSEOW_INPUTS, "image": action_image, "attributes": "environment=ci"}
    job = _job(given)
    # A masked variable: the key base64-encoded on one line.
    secrets = {ENV_PRIVATE_KEY: base64.b64encode(rsa_pair.private_pem).decode()}

    result = _run(docker, action_image, project, job, secrets)

    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    token = (project / TOKEN_FILE).read_text(encoding="ascii").strip()
    assert _mode(project / TOKEN_FILE) == 0o600
    assert not (project / DOTENV_FILE).exists()
    header, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert header == {"alg": "RS256", "typ": "JWT"}
    assert claims["userId"] == "svc_gitlab"
    assert claims["userDirectory"] == "CORP"
    assert claims["groups"] == ["Deployers"]
    assert claims["aud"] == "qlik"
    assert claims["environment"] == "ci"
    assert claims["exp"] - claims["iat"] == 3600  # the CLI's QSEoW default, as the input is empty
    _assert_clean_log(log, rsa_pair, token)
    assert secrets[ENV_PRIVATE_KEY][:40] not in log


def test_hidden_job_for_extending_and_a_renamed_output_variable(
    docker: Docker, action_image: str, tmp_path: Path, rsa_pair: KeyPair
) -> None:
    project = tmp_path / "project"
    given = {
        **CLOUD_INPUTS,
        "image": action_image,
        "job-name": ".qlik-jwt",
        "dotenv": True,
        "output-variable": "QLIK_CLOUD_JWT",
    }
    jobs = render(given)
    # A job of the user's own that extends the hidden job and references its script, then uses
    # the token from the file in the same shell (without printing it).
    jobs["deploy"] = {
        "extends": ".qlik-jwt",
        "script": [
            *jobs[".qlik-jwt"]["script"],
            'test "$(wc -c < "$QLIK_JWT_FILE")" -gt 100',
            'case "$(cat "$QLIK_JWT_FILE")" in eyJ*) ;; *) exit 9 ;; esac',
        ],
    }
    job = resolve_job(jobs, "deploy")
    secrets = _key_file_variable(project, rsa_pair.private_pem)

    result = _run(docker, action_image, project, job, secrets)

    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    token = (project / TOKEN_FILE).read_text(encoding="ascii").strip()
    assert (project / DOTENV_FILE).read_text(encoding="ascii") == f"QLIK_CLOUD_JWT={token}\n"
    verify_independently(token, rsa_pair.certificate_pem, "RS256")
    _assert_clean_log(log, rsa_pair, token)


def test_hostile_input_values_stay_data(
    docker: Docker, action_image: str, tmp_path: Path, rsa_pair: KeyPair
) -> None:
    project = tmp_path / "project"
    hostile = 'x" ; touch pwned1 ; echo "`touch pwned2`$(touch pwned3)\'; touch pwned4 #'
    job = _job({**CLOUD_INPUTS, "image": action_image, "name": hostile, "email": "::warning::x"})
    secrets = _key_file_variable(project, rsa_pair.private_pem)

    result = _run(docker, action_image, project, job, secrets)

    assert result.returncode == 0, result.stderr
    assert not list(project.glob("pwned*"))
    token = (project / TOKEN_FILE).read_text(encoding="ascii").strip()
    _, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert claims["name"] == hostile
    _assert_clean_log(result.stdout + result.stderr, rsa_pair, token)


@dataclass(frozen=True)
class BadCase:
    inputs: dict[str, Any]
    key: str | None
    """how the project passes the key: file, certificate (as the key file), base64, or not"""
    message: str


BAD_CASES = {
    "lifetime above Qlik Cloud's limit": BadCase(
        {**CLOUD_INPUTS, "expires-in": "2h"}, "file", "QSJWT_EXPIRES_IN: 2h is longer than the 1h"
    ),
    "no key variable": BadCase(CLOUD_INPUTS, None, "no private key"),
    "the certificate given as the key": BadCase(
        QSEOW_INPUTS,
        "certificate",
        "QSJWT_PRIVATE_KEY_FILE: is a certificate, not a private key",
    ),
    "missing QSEoW user directory": BadCase(
        {**QSEOW_INPUTS, "user-directory": ""}, "base64", "QSJWT_USER_DIRECTORY"
    ),
    "email-verified not a boolean": BadCase(
        {**CLOUD_INPUTS, "email-verified": "maybe"},
        "file",
        "QSJWT_EMAIL_VERIFIED: is not true or false",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_inputs_fail_the_job_with_a_clear_message_and_write_nothing(
    docker: Docker, action_image: str, tmp_path: Path, rsa_pair: KeyPair, case: str
) -> None:
    bad = BAD_CASES[case]
    inputs, key, message = bad.inputs, bad.key, bad.message
    project = tmp_path / "project"
    job = _job({**inputs, "image": action_image, "dotenv": True})
    secrets: dict[str, str] = {}
    if key == "file":
        secrets = _key_file_variable(project, rsa_pair.private_pem)
    elif key == "certificate":
        secrets = _key_file_variable(project, rsa_pair.certificate_pem)
    elif key == "base64":
        secrets = {ENV_PRIVATE_KEY: base64.b64encode(rsa_pair.private_pem).decode()}

    result = _run(docker, action_image, project, job, secrets)

    log = result.stdout + result.stderr
    assert result.returncode == 2, (case, log)
    assert message in result.stderr, (case, result.stderr)
    assert result.stderr.count("qs-jwt: error:") == 1, result.stderr
    assert not (project / TOKEN_FILE).exists(), case
    assert not (project / DOTENV_FILE).exists(), case
    assert not [p for p in (project / ".qs-jwt").iterdir()], "no temporary file left behind"
    _assert_clean_log(log, rsa_pair)


def test_default_entrypoint_outside_github_points_to_the_cli_and_mints_nothing(
    docker: Docker, action_image: str, tmp_path: Path, rsa_pair: KeyPair
) -> None:
    """A GitLab job that forgets ``entrypoint: [""]`` gets the GitHub adapter: it must stop."""
    project = tmp_path / "project"
    project.mkdir()
    env = {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PROJECT_DIR": PROJECT_DIR,
        # Everything the action would need to mint, so that only the platform check stops it.
        "INPUT_TARGET": "qseow",
        "INPUT_USER-ID": "alice",
        "INPUT_USER-DIRECTORY": "CORP",
        "INPUT_PRIVATE-KEY": rsa_pair.private_pem.decode(),
        ENV_PRIVATE_KEY: base64.b64encode(rsa_pair.private_pem).decode(),
        "QSJWT_USER_ID": "alice",
        "QSJWT_USER_DIRECTORY": "CORP",
    }
    flags = [arg for name in env for arg in ("-e", name)]
    args = ["run", "--rm", "--network", "none", *flags]
    args += ["-v", f"{project}:{PROJECT_DIR}", "-w", PROJECT_DIR, action_image]
    result = docker(*args, env=env, check=False)

    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    assert "GITHUB_ACTIONS" in result.stderr
    assert "qs-jwt" in result.stderr and 'entrypoint: [""]' in result.stderr
    assert result.stdout == ""
    _assert_clean_log(log, rsa_pair)
    assert list(project.iterdir()) == []


# --- whole pipelines with gitlab-ci-local -------------------------------------------------

# The newest releases need Node.js 22 (Set.prototype.union); this one runs on Node.js 18 and 20.
GITLAB_CI_LOCAL_VERSION = "4.64.1"
# gitlab-ci-local copies files in and out of job volumes with this image (sh, chown, rsync).
GITLAB_CI_LOCAL_UTIL = "docker.io/firecow/gitlab-ci-local-util:latest"


@dataclass(frozen=True)
class Pipeline:
    returncode: int
    output: str
    """gitlab-ci-local's own output plus every job log it wrote"""
    state: Path
    """the project's .gitlab-ci-local directory"""

    def job_log(self, job: str) -> str:
        return (self.state / "output" / f"{job}.log").read_text(encoding="utf-8")


def _answers(command: str) -> bool:
    try:
        proc = subprocess.run(
            [command, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError:
        return False
    return proc.returncode == 0 and proc.stdout.strip() == GITLAB_CI_LOCAL_VERSION


NPM_PIN = Path(__file__).parent / "gitlab-ci-local"


@pytest.fixture(scope="session")
def gitlab_ci_local(docker: Docker, action_image: str, base_image: str) -> Iterator[str]:
    """The gitlab-ci-local command, installed with npm into the build work directory if needed,
    and its helper image in the engine (built from the action's base image plus rsync)."""
    command = os.environ.get("QSJWT_GITLAB_CI_LOCAL")
    prefix = WORK / f"gitlab-ci-local-{GITLAB_CI_LOCAL_VERSION}"
    installed = str(prefix / "node_modules" / ".bin" / "gitlab-ci-local")
    if not command and not _answers(installed):
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            pytest.skip("gitlab-ci-local is not installed and there is no npm to install it")
        # Its dependency re2 is a native module: npm builds it with node-gyp (a few minutes,
        # once per work directory) when no prebuilt binary can be downloaded.
        started = time.monotonic()
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):  # the pinned, integrity-locked tree
            shutil.copy(NPM_PIN / name, prefix / name)
        proc = subprocess.run(
            [npm, "ci", "--prefix", str(prefix), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        if proc.returncode != 0 or not _answers(installed):
            pytest.fail(f"npm install gitlab-ci-local failed:\n{proc.stderr[-4000:]}")
        print(f"[container-tests] gitlab-ci-local installed in {time.monotonic() - started:.1f} s")
    command = command or installed

    if docker("image", "inspect", GITLAB_CI_LOCAL_UTIL, check=False).returncode != 0:
        context = WORK / "gitlab-ci-local-util"
        context.mkdir(parents=True, exist_ok=True)
        (context / "Dockerfile").write_text(
            f"FROM {base_image}\n"
            "RUN apt-get update -qq \\\n"
            " && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends"
            " rsync >/dev/null \\\n"
            " && rm -rf /var/lib/apt/lists/*\n",
            encoding="utf-8",
        )
        build = ["build", "-q", "--network", "host", "-t", GITLAB_CI_LOCAL_UTIL, str(context)]
        docker(*build, timeout=600)
    yield command


def _pipeline_project(root: Path, inputs: dict[str, Any], pair: KeyPair) -> Path:
    """A git repository with the template, a pipeline that includes it and a job that uses the
    token from the dotenv report, and the key as a File-type project variable."""
    project = root / "project"
    (project / "templates").mkdir(parents=True)
    shutil.copy(TEMPLATE, project / "templates" / TEMPLATE.name)
    (project / "certificate.pem").write_bytes(pair.certificate_pem)
    pipeline = {
        "include": [{"local": f"templates/{TEMPLATE.name}", "inputs": inputs}],
        "use-token": {
            "stage": "deploy",
            "needs": [{"job": "qs-jwt", "artifacts": True}],
            "image": {"name": inputs["image"], "entrypoint": [""]},
            "script": [
                'test -n "$QLIK_JWT"',
                'printf %s "$QLIK_JWT" | qs-jwt verify - --certificate-file certificate.pem'
                " > claims.json",
            ],
        },
    }
    (project / ".gitlab-ci.yml").write_text(yaml.safe_dump(pipeline), encoding="utf-8")
    git = ["git", "-c", "user.name=qs-jwt tests", "-c", "user.email=tests@example.invalid"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "pipeline"]):
        subprocess.run([*git, *args], cwd=project, check=True, capture_output=True)
    # Not committed: the project's CI/CD variables. A File-type variable, as docs/gitlab.md says.
    variables = {ENV_PRIVATE_KEY_FILE: {"type": "file", "values": {"*": pair.private_pem.decode()}}}
    (project / ".gitlab-ci-local-variables.yml").write_text(
        yaml.safe_dump(variables), encoding="utf-8"
    )
    return project


def _run_pipeline(command: str, docker: Docker, project: Path) -> Pipeline:
    proc = subprocess.run(
        [command, "--pull-policy", "if-not-present", "--no-artifacts-to-source"],
        cwd=project,
        env=docker.env({"HOME": str(project.parent), "FORCE_COLOR": "0", "NO_COLOR": "1"}),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    state = project / ".gitlab-ci-local"
    logs = [p.read_text(encoding="utf-8") for p in sorted((state / "output").glob("*.log"))]
    return Pipeline(proc.returncode, "\n".join([proc.stdout, proc.stderr, *logs]), state)


def test_gitlab_ci_local_runs_the_component_and_passes_the_token_by_dotenv(
    gitlab_ci_local: str, docker: Docker, action_image: str, tmp_path: Path, rsa_pair: KeyPair
) -> None:
    inputs = {**CLOUD_INPUTS, "image": action_image, "dotenv": True, "expires-in": "10m"}
    project = _pipeline_project(tmp_path, inputs, rsa_pair)

    result = _run_pipeline(gitlab_ci_local, docker, project)

    assert result.returncode == 0, result.output[-6000:]
    assert "PASS  qs-jwt" in result.output and "PASS  use-token" in result.output
    mint_log = result.job_log("qs-jwt")
    assert "qs-jwt: wrote '.qs-jwt/qs-jwt.env' (mode 0600)" in mint_log
    assert '$ rm -f "$QLIK_JWT_FILE"' in mint_log  # after_script ran
    assert "qs-jwt: valid: signature (RS256)" in result.job_log("use-token")
    reports = list((result.state / "artifacts" / "qs-jwt").rglob("qs-jwt.env"))
    assert len(reports) == 1
    name, _, token = reports[0].read_text(encoding="ascii").strip().partition("=")
    assert name == "QLIK_JWT"
    _, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert claims["sub"] == "svc_gitlab" and claims["exp"] - claims["nbf"] == 600
    # The token file never became an artifact.
    assert not list((result.state / "artifacts").rglob("token"))
    _assert_clean_log(result.output, rsa_pair, token)

    # gitlab-ci-local's reading of the template agrees with the model the other tests use.
    expanded = yaml.safe_load((result.state / "expanded-gitlab-ci.yml").read_text("utf-8"))
    ours = resolve_job(render(inputs), "qs-jwt")
    for key in ("stage", "image", "script", "after_script", "artifacts"):
        assert expanded["qs-jwt"][key] == ours[key], key
    assert expanded["qs-jwt"]["variables"] == {
        name: _as_gitlab_ci_local_writes(value) for name, value in ours["variables"].items()
    }


def _as_gitlab_ci_local_writes(value: Any) -> str:
    """gitlab-ci-local flattens ``{value, expand: false}`` to the value with each ``$`` doubled,
    which its own expansion then turns back into the value as written."""
    if isinstance(value, dict):
        text = str(value["value"])
        return text.replace("$", "$$") if value.get("expand") is False else text
    return str(value)


def test_gitlab_ci_local_failed_mint_fails_the_pipeline_and_passes_nothing_on(
    gitlab_ci_local: str, docker: Docker, action_image: str, tmp_path: Path, rsa_pair: KeyPair
) -> None:
    inputs = {**CLOUD_INPUTS, "image": action_image, "dotenv": True, "expires-in": "2h"}
    project = _pipeline_project(tmp_path, inputs, rsa_pair)

    result = _run_pipeline(gitlab_ci_local, docker, project)

    assert result.returncode != 0
    assert "FAIL  qs-jwt" in result.output
    assert "QSJWT_EXPIRES_IN: 2h is longer than the 1h" in result.job_log("qs-jwt")
    assert not (result.state / "output" / "use-token.log").exists()
    assert not list((result.state / "artifacts").rglob("qs-jwt.env"))
    _assert_clean_log(result.output, rsa_pair)
