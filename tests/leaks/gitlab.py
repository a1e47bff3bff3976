"""GitLab mode of the leak suite: the component's own job script, with a case's inputs.

The job comes from templates/qs-jwt.yml through the GitLab model in
tests/test_gitlab_template.py (``$[[ inputs.x ]]``, ``extends``, variable expansion), with
``dotenv: true`` so both files are written. Spec validation is skipped on purpose: GitLab would
refuse some of these inputs when the pipeline is created (a target outside its options), and a
hand-written job that calls the CLI gets no such check, so the script must hold up anyway.

The key arrives as the project's CI/CD variable: a File-type ``QSJWT_PRIVATE_KEY_FILE`` (a path
to the PEM) or a masked ``QSJWT_PRIVATE_KEY`` (base64 on one line, since GitLab cannot mask a
multi-line value). The passphrase is a masked variable; the certificate a File-type variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tests.leaks.cases import Case
from tests.leaks.material import Material
from tests.leaks.plans import SERVICE_SECRETS, WORK, Plan, _new_plan, as_bytes
from tests.test_gitlab_template import (
    DOTENV_FILE,
    TEMPLATE,
    TOKEN_FILE,
    interpolate,
    job_environment,
    load_documents,
    resolve_job,
    shell_script,
)


@dataclass(frozen=True)
class GitlabMode:
    name: str
    key: Literal["file", "base64"]


GITLAB_MODES = (
    GitlabMode("container-gitlab-file-variable", "file"),
    GitlabMode("container-gitlab-base64-variable", "base64"),
)


def _job(values: dict[str, Any]) -> dict[str, Any]:
    header, jobs = load_documents(TEMPLATE)
    spec: dict[str, dict[str, Any]] = header["spec"]["inputs"]
    given = {name: item.get("default", "") for name, item in spec.items()}
    given.update({"image": "qs-jwt-action:test", "dotenv": True, **values})
    rendered = interpolate(jobs, given)
    name = str(given.get("job-name", "qs-jwt"))
    return resolve_job(rendered, name)


def gitlab_plan(case: Case, mode: GitlabMode, material: Material) -> Plan:
    """``sh -c <the job's script>`` with the job's variables and the project's key variable."""
    inputs = dict(case.inputs)
    secrets: dict[str, bytes] = {}
    files: dict[str, bytes] = {}
    key = inputs.pop("private-key", None)
    if key is not None:
        data = as_bytes(key, material, "base64" if mode.key == "base64" else "pem")
        if mode.key == "file":
            files["keys/private-key"] = data
            secrets["QSJWT_PRIVATE_KEY_FILE"] = b"@ROOT@/keys/private-key"
        else:
            secrets["QSJWT_PRIVATE_KEY"] = data
    if "private-key-file" in inputs:  # a variable of type Variable where File was meant
        secrets["QSJWT_PRIVATE_KEY_FILE"] = as_bytes(inputs.pop("private-key-file"), material)
    if "private-key-passphrase" in inputs:
        secrets["QSJWT_PRIVATE_KEY_PASSPHRASE"] = as_bytes(
            inputs.pop("private-key-passphrase"), material
        )
    for name, variable in SERVICE_SECRETS.items():
        if name in inputs:
            secrets[variable] = as_bytes(inputs.pop(name), material)
    if "certificate" in inputs:
        files["keys/certificate"] = as_bytes(inputs.pop("certificate"), material)
        secrets["QSJWT_CERTIFICATE_FILE"] = b"@ROOT@/keys/certificate"
    values = {
        name: value
        if isinstance(value, str)
        else as_bytes(value, material).decode("utf-8", "surrogateescape")
        for name, value in inputs.items()
    }
    job = _job(values)
    predefined = {"CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": f"@ROOT@/{WORK}"}
    env = job_environment(job, predefined)
    script = shell_script(job["script"])
    plan = _new_plan(f"{case.id}@{mode.name}", [b"sh", b"-c", script.encode()])
    plan.env.update({k: v.encode("utf-8", "surrogateescape") for k, v in env.items()})
    plan.env.update(secrets)
    plan.files.update(files)
    plan.dirs.append(f"{WORK}/{TOKEN_FILE.rpartition('/')[0]}")
    plan.intended = {f"{WORK}/{TOKEN_FILE}": "token", f"{WORK}/{DOTENV_FILE}": "dotenv"}
    return plan
