"""The GitLab CI/CD component (templates/qs-jwt.yml) and the example pipeline.

GitLab is not available here, so this module carries a small model of what GitLab does with a
component: it validates the inputs against ``spec:inputs`` (mandatory, unknown, ``options``,
``regex``, ``type: boolean``), interpolates ``$[[ inputs.NAME ]]`` in keys and values of the
parsed YAML (a whole-value reference keeps the input's type, a reference inside a longer string
becomes text), resolves ``extends``, and expands ``$VAR`` / ``${VAR}`` / ``$$`` in job variables
as the runner does, except in a variable written ``{value: ..., expand: false}``. The container
tests (tests/container/test_gitlab.py) use the same model to run the rendered job's script in
the image, so what is tested is the real template.
"""

from __future__ import annotations

import copy
import os
import re
import stat
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from qsjwt.action.entry import NOT_GITHUB
from qsjwt.base.formats import ENV_NAME
from qsjwt.base.inputs import BY_NAME, INPUTS
from qsjwt.cli import (
    ENV_CERTIFICATE,
    ENV_CERTIFICATE_FILE,
    ENV_PASSPHRASE,
    ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
)
from scripts.render_gitlab import render_template
from tests.conftest import KeyPair, verify_independently
from tests.platforms import WINDOWS

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "templates" / "qs-jwt.yml"
EXAMPLE = REPO / "examples" / "gitlab" / ".gitlab-ci.yml"

# What a GitLab component may ask of a project: the key material, as project CI/CD variables
# that the CLI reads itself. The template must not set these (a job variable would either
# override nothing, since project variables win, or put a secret into the configuration).
KEY_VARIABLES = frozenset(
    {ENV_PRIVATE_KEY, ENV_PRIVATE_KEY_FILE, ENV_PASSPHRASE, ENV_CERTIFICATE, ENV_CERTIFICATE_FILE}
)
# The template's own variables (not read by the CLI, so not in its QSJWT_* namespace).
JOB_VARIABLES = frozenset(
    {"QLIK_JWT_TARGET", "QLIK_JWT_FILE", "QLIK_JWT_VARIABLE", "QLIK_JWT_DOTENV_FILE"}
)
TOKEN_FILE = ".qs-jwt/token"  # relative to CI_PROJECT_DIR
DOTENV_FILE = ".qs-jwt/qs-jwt.env"

_INPUT_REF = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")
_WHOLE_REF = re.compile(r"\s*\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]\s*")
_VARIABLE_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


# --- a small model of GitLab -------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """GitLab's ``!reference [job, key]`` tag."""

    path: tuple[str, ...]


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no stubs here
    pass


def _reference(loader: yaml.SafeLoader, node: yaml.Node) -> Reference:
    assert isinstance(node, yaml.SequenceNode)
    return Reference(tuple(str(item) for item in loader.construct_sequence(node)))


_Loader.add_constructor("!reference", _reference)


def load_documents(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as handle:
        return list(yaml.load_all(handle, Loader=_Loader))


class InputsError(ValueError):
    """What GitLab would refuse at pipeline creation."""


def spec_inputs(path: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    header = load_documents(path)[0]
    return dict(header["spec"]["inputs"])


def resolve_inputs(
    spec: Mapping[str, Mapping[str, Any]], given: Mapping[str, Any]
) -> dict[str, Any]:
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise InputsError(f"unknown input(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, rules in spec.items():
        if name in given:
            value = given[name]
        elif "default" in rules:
            value = rules["default"]
        else:
            raise InputsError(f"`{name}` input: required value has not been provided")
        kind = rules.get("type", "string")
        if kind == "boolean" and not isinstance(value, bool):
            raise InputsError(f"`{name}` input: provided value is not a boolean")
        if kind == "string" and not isinstance(value, str):
            raise InputsError(f"`{name}` input: provided value is not a string")
        if "options" in rules and value not in rules["options"]:
            raise InputsError(f"`{name}` input: `{value}` cannot be used because it is not in")
        if "regex" in rules and not re.search(rules["regex"], value):
            raise InputsError(f"`{name}` input: provided value does not match required RegEx")
        values[name] = value
    return values


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def interpolate(node: Any, values: Mapping[str, Any]) -> Any:
    """``$[[ inputs.x ]]`` in keys and values, as GitLab does on the parsed configuration."""
    if isinstance(node, dict):
        return {interpolate(k, values): interpolate(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(item, values) for item in node]
    if isinstance(node, str):
        whole = _WHOLE_REF.fullmatch(node)
        if whole:
            return values[whole.group(1)]
        return _INPUT_REF.sub(lambda m: _as_text(values[m.group(1)]), node)
    return node


def render(given: Mapping[str, Any], path: Path = TEMPLATE) -> dict[str, Any]:
    """The jobs that including the component with ``given`` inputs adds to a pipeline."""
    header, jobs = load_documents(path)
    values = resolve_inputs(header["spec"]["inputs"], given)
    rendered = interpolate(jobs, values)
    assert isinstance(rendered, dict)
    return rendered


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_job(jobs: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A job with its ``extends`` chain merged in (hashes deep-merged, the job wins)."""
    job = jobs[name]
    parents = job.get("extends", [])
    parents = [parents] if isinstance(parents, str) else parents
    merged: dict[str, Any] = {}
    for parent in parents:
        if parent not in jobs:
            raise InputsError(f"{name}: unknown key in `extends` ({parent})")
        merged = _deep_merge(merged, resolve_job(jobs, parent))
    own = {k: v for k, v in job.items() if k != "extends"}
    return _deep_merge(merged, own)


def expand(value: str, env: Mapping[str, str]) -> str:
    """The runner's expansion of job variables: ``$X``, ``${X}``, ``$$``; unknown is empty."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1) or match.group(2), "")

    return _VARIABLE_REF.sub(one, value)


def job_environment(job: Mapping[str, Any], predefined: Mapping[str, str]) -> dict[str, str]:
    """The environment the runner gives the job: predefined variables, then job variables;
    a variable with ``expand: false`` (GitLab 15.8+) is passed as written."""
    env = dict(predefined)
    for name, value in job.get("variables", {}).items():
        if isinstance(value, dict):
            text = _as_text(value["value"])
            env[name] = text if value.get("expand") is False else expand(text, env)
        else:
            env[name] = expand(_as_text(value), env)
    return env


def shell_script(lines: list[Any]) -> str:
    """The lines of ``script`` or ``after_script`` as one shell program, stopping at a failure
    (the runner's generated script uses ``set -e`` as well)."""
    assert all(isinstance(line, str) for line in lines), lines
    return "set -e\n" + "\n".join(lines) + "\n"


# --- the component ------------------------------------------------------------------------

CLOUD_INPUTS: dict[str, Any] = {
    "image": "registry.example.com/qs-jwt:1.0.0",
    "target": "cloud",
    "issuer": "my-idp.example.com",
    "key-id": "kid-2026",
    "subject": "svc_gitlab",
    "name": "GitLab CI",
    "email": "ci@example.com",
    "groups": "Deployers\nReaders\n",  # as YAML's `groups: |` block gives it
}
QSEOW_INPUTS: dict[str, Any] = {
    "image": "registry.example.com/qs-jwt:1.0.0",
    "target": "qseow",
    "user-id": "svc_gitlab",
    "user-directory": "CORP",
    "groups": "Deployers",
    "audience": "qlik",
}


def _walk_strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_walk_strings(k), *_walk_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in _walk_strings(item)]
    return [node] if isinstance(node, str) else []


def _raw_jobs() -> dict[str, Any]:
    documents = load_documents(TEMPLATE)
    assert len(documents) == 2
    jobs = documents[1]
    assert isinstance(jobs, dict)
    return jobs


def _main_job_key() -> str:
    (key,) = [k for k in _raw_jobs() if not k.startswith(".")]
    return key


def test_template_is_a_spec_header_and_one_job_document() -> None:
    header, jobs = load_documents(TEMPLATE)
    assert list(header) == ["spec"]
    assert list(header["spec"]) == ["inputs"]
    assert _main_job_key() == "$[[ inputs.job-name ]]"
    # A component must not change the including pipeline's globals.
    assert not {"default", "variables", "stages", "workflow", "include", "image"} & set(jobs)
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "\n---\n" in text
    assert "\t" not in text


def test_every_input_used_is_declared_and_every_declared_input_is_used() -> None:
    declared = set(spec_inputs())
    used = {m.group(1) for s in _walk_strings(_raw_jobs()) for m in _INPUT_REF.finditer(s)}
    assert used - declared == set(), "used but not declared"
    assert declared - used == set(), "declared but not used"


def test_the_table_derived_blocks_are_rendered() -> None:
    """``python scripts/render_gitlab.py --write`` after a change to the input table."""
    assert render_template(TEMPLATE.read_text(encoding="utf-8")) == TEMPLATE.read_text(
        encoding="utf-8"
    )


def test_inputs_have_descriptions_and_the_claim_inputs_match_the_cli() -> None:
    spec = spec_inputs()
    for name, rules in spec.items():
        assert rules.get("description", "").strip(), name
        assert set(rules) <= {"description", "default", "options", "regex", "type"}, name
    for input_spec in INPUTS:
        rules = spec[input_spec.name]
        # The CLI owns the defaults: an empty input lets it choose (per target for expires-in).
        assert rules["default"] == "", input_spec.name
        assert " ".join(rules["description"].split()) == input_spec.description
    assert set(spec) - set(BY_NAME) == {
        "image",
        "target",
        "stage",
        "job-name",
        "output-variable",
        "dotenv",
    }
    assert spec["target"]["options"] == ["qseow", "cloud", "oauth"]
    assert "default" not in spec["target"]
    assert "default" not in spec["image"]  # no image is trusted by default: pin yours
    assert spec["dotenv"] == {**spec["dotenv"], "type": "boolean", "default": False}
    assert spec["output-variable"]["default"] == "QLIK_JWT"


def test_output_variable_regex_agrees_with_the_cli() -> None:
    pattern = spec_inputs()["output-variable"]["regex"]
    samples = ["QLIK_JWT", "_x", "a1", "1A", "QLIK-JWT", "", "A B", "A\nB", "Ä", "A=B"]
    for sample in samples:
        assert bool(re.search(pattern, sample)) == bool(re.fullmatch(ENV_NAME, sample)), sample


def test_the_claim_inputs_reach_the_job_as_the_variables_the_cli_reads() -> None:
    variables = _raw_jobs()[_main_job_key()]["variables"]
    env_vars = {spec.env_var: spec.name for spec in INPUTS}
    qsjwt_names = {name for name in variables if name.startswith("QSJWT_")}
    assert qsjwt_names == set(env_vars), "every QSJWT_* variable is one the CLI reads"
    for name, input_name in env_vars.items():
        # Raw: GitLab must not expand $NAME in a claim value (R&D $TEAM would become "R&D ").
        assert variables[name] == {"value": f"$[[ inputs.{input_name} ]]", "expand": False}
    assert not KEY_VARIABLES & set(variables)
    assert set(variables) - qsjwt_names == JOB_VARIABLES - {"QLIK_JWT_DOTENV_FILE"}


def test_inputs_are_never_interpolated_into_shell_text() -> None:
    for key, job in _raw_jobs().items():
        for part in ("before_script", "script", "after_script"):
            for line in job.get(part, []):
                assert "$[[" not in line, (key, part, line)


def _commands(lines: list[str]) -> list[str]:
    """Shell lines, continuation lines joined."""
    text = "\n".join(lines).replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip()]


# A command that prints (or traces) at the start of a line, after ; & | or ( but not in $(...).
_PRINTS = re.compile(
    r"(^|[;&|]\s*|(?<!\$)\(\s*)(echo|printf|cat|tee|env|printenv|set\s+-\w*x|set\s+-o\s+xtrace)\b"
)
_INTO_A_FILE = re.compile(r"printf '[^']*' \"\$\w+\" > \S+")
"""printf into a file (a curl header file): nothing reaches the log, nor curl's command line."""


def _prints(command: str) -> bool:
    return bool(_PRINTS.search(command)) and not _INTO_A_FILE.fullmatch(command.strip())


def test_the_job_never_prints_the_token() -> None:
    for job in _raw_jobs().values():
        for part in ("before_script", "script", "after_script"):
            for command in _commands(job.get(part, [])):
                assert not _prints(command), command
                assert "CI_DEBUG_TRACE" not in command
                if re.search(r"\bqs-jwt\b", command):
                    # Without --output the CLI prints the token on stdout, into the job log.
                    assert "--output" in command, command
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "set -x" not in text.replace("No `set -x`", "")


def test_image_is_the_input_with_an_empty_entrypoint() -> None:
    job = _raw_jobs()[_main_job_key()]
    assert job["image"] == {"name": "$[[ inputs.image ]]", "entrypoint": [""]}
    assert job["stage"] == "$[[ inputs.stage ]]"


@pytest.mark.parametrize("dotenv", [False, True])
def test_rendered_job_files_and_artifacts(dotenv: bool) -> None:
    jobs = render({**CLOUD_INPUTS, "dotenv": dotenv})
    assert set(jobs) == {"qs-jwt", ".qs-jwt-dotenv-false", ".qs-jwt-dotenv-true"}
    job = resolve_job(jobs, "qs-jwt")
    env = job_environment(job, {"CI_PROJECT_DIR": "/builds/group/project"})
    assert env["QLIK_JWT_FILE"] == f"/builds/group/project/{TOKEN_FILE}"
    assert env["QLIK_JWT_TARGET"] == "cloud"
    assert env["QLIK_JWT_VARIABLE"] == "QLIK_JWT"
    assert env["QSJWT_ISSUER"] == "my-idp.example.com"
    assert env["QSJWT_USER_ID"] == ""
    assert job["after_script"] == ['rm -f "$QLIK_JWT_FILE"']
    if dotenv:
        assert env["QLIK_JWT_DOTENV_FILE"] == DOTENV_FILE
        artifacts = job["artifacts"]
        assert artifacts["reports"] == {"dotenv": DOTENV_FILE}
        assert artifacts["access"] == "developer"
        assert "paths" not in artifacts and "untracked" not in artifacts
    else:
        assert env["QLIK_JWT_DOTENV_FILE"] == ""
        assert "artifacts" not in job


def test_rendering_keeps_types_and_names_the_job() -> None:
    jobs = render({**QSEOW_INPUTS, "job-name": ".qlik-jwt", "stage": "build"})
    job = resolve_job(jobs, ".qlik-jwt")
    assert job["stage"] == "build"
    assert job["image"] == {"name": QSEOW_INPUTS["image"], "entrypoint": [""]}
    assert jobs[".qlik-jwt"]["extends"] == ".qs-jwt-dotenv-false"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"target": "cloud"}, "`image` input: required"),
        ({"image": "x"}, "`target` input: required"),
        ({"image": "x", "target": "cloud-eu"}, "not in"),
        ({"image": "x", "target": "qseow", "output-variable": "QLIK-JWT"}, "RegEx"),
        ({"image": "x", "target": "qseow", "dotenv": "yes"}, "not a boolean"),
        ({"image": "x", "target": "qseow", "private-key": "..."}, "unknown input(s): private-key"),
    ],
)
def test_gitlab_would_refuse_bad_inputs(given: dict[str, Any], message: str) -> None:
    with pytest.raises(InputsError, match=re.escape(message)):
        render(given)


# --- the rendered script, run here with the development install of the CLI --------------
# (tests/container/test_gitlab.py runs it in the image, as a GitLab runner would.)


def _run_rendered(
    tmp_path: Path, given: dict[str, Any], secrets: dict[str, str], part: str = "script"
) -> subprocess.CompletedProcess[str]:
    if WINDOWS:
        pytest.skip(
            "runs the job's script with sh and checks POSIX modes (GitLab runs it on Linux)"
        )
    jobs = render(given)
    job = resolve_job(jobs, str(given.get("job-name", "qs-jwt")))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("QSJWT_", "QLIK_JWT"))}
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    predefined = {**base, "CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": str(tmp_path)}
    env = {**job_environment(job, predefined), **secrets}
    return subprocess.run(
        ["sh", "-c", shell_script(job[part])],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_rendered_script_mints_into_files_without_printing(
    tmp_path: Path, rsa_pair: KeyPair
) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(rsa_pair.private_pem)
    given = {**CLOUD_INPUTS, "dotenv": True, "output-variable": "QLIK_CLOUD_JWT"}
    proc = _run_rendered(tmp_path, given, {ENV_PRIVATE_KEY_FILE: str(key_file)})
    assert proc.returncode == 0, proc.stderr
    token_file, dotenv_file = tmp_path / TOKEN_FILE, tmp_path / DOTENV_FILE
    token = token_file.read_text(encoding="ascii").strip()
    assert dotenv_file.read_text(encoding="ascii") == f"QLIK_CLOUD_JWT={token}\n"
    for path in (token_file, dotenv_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    header, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert header["kid"] == "kid-2026"
    assert claims["groups"] == ["Deployers", "Readers"]
    log = proc.stdout + proc.stderr
    assert token not in log and token.split(".")[2] not in log
    assert proc.stdout == ""

    after = _run_rendered(tmp_path, given, {}, part="after_script")
    assert after.returncode == 0, after.stderr
    assert not token_file.exists()
    assert dotenv_file.exists()  # the runner uploads the report after after_script


def test_input_values_are_data_not_shell(tmp_path: Path, rsa_pair: KeyPair) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(rsa_pair.private_pem)
    hostile = 'x" ; touch pwned1 ; echo "`touch pwned2`$(touch pwned3)\'; touch pwned4 #'
    given = {**CLOUD_INPUTS, "name": hostile}
    proc = _run_rendered(tmp_path, given, {ENV_PRIVATE_KEY_FILE: str(key_file)})
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.glob("pwned*"))
    token = (tmp_path / TOKEN_FILE).read_text(encoding="ascii").strip()
    _, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert claims["name"] == hostile


# Values as a user writes them in `inputs:`; each must reach the token exactly.
DOLLARS = {
    "name": "R&D $TEAM",
    "email": "ops$$@example.com",
    "subject": "svc_${X}_ci",
}
GROUPS = [
    "CN=Admins,OU=Groups,DC=corp",  # an LDAP DN: commas stay inside the group
    "R&D $TEAM",
    "cost $$ center ${X}",
    """it's "quoted", with spaces""",
    "[not json]",
]


def test_expand_false_is_what_keeps_the_dollars() -> None:
    # The model is honest: the same values as plain job variables lose their $ parts.
    job = resolve_job(render({**CLOUD_INPUTS, **DOLLARS}), "qs-jwt")
    env = job_environment(job, {"TEAM": "", "X": "x"})
    assert [env[BY_NAME[k].env_var] for k in DOLLARS] == list(DOLLARS.values())
    plain = {
        "variables": {
            k: v["value"] if isinstance(v, dict) else v for k, v in job["variables"].items()
        }
    }
    mangled = job_environment(plain, {"TEAM": "", "X": "x"})
    assert mangled["QSJWT_NAME"] == "R&D "
    assert mangled["QSJWT_EMAIL"] == "ops$@example.com"
    assert mangled["QSJWT_SUBJECT"] == "svc_x_ci"


def test_dollars_and_any_group_name_reach_the_token_as_written(
    tmp_path: Path, rsa_pair: KeyPair
) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(rsa_pair.private_pem)
    # `groups: |` in the including pipeline: one group per line, a final newline.
    given = {**CLOUD_INPUTS, **DOLLARS, "groups": "\n".join(GROUPS) + "\n"}
    # TEAM and X exist in the job, as CI/CD variables would: they must not leak into claims.
    proc = _run_rendered(
        tmp_path, given, {ENV_PRIVATE_KEY_FILE: str(key_file), "TEAM": "ops", "X": "1"}
    )
    assert proc.returncode == 0, proc.stderr
    token = (tmp_path / TOKEN_FILE).read_text(encoding="ascii").strip()
    _, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert (claims["name"], claims["email"], claims["sub"]) == (
        "R&D $TEAM",
        "ops$$@example.com",
        "svc_${X}_ci",
    )
    assert claims["groups"] == GROUPS
    assert claims["iat"] == claims["nbf"] and claims["exp"] - claims["nbf"] == 300


def test_a_qseow_ldap_group_and_attribute_reach_the_token_whole(
    tmp_path: Path, rsa_pair: KeyPair
) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(rsa_pair.private_pem)
    given = {
        **QSEOW_INPUTS,
        "groups": "CN=Qlik Admins,OU=Groups,DC=corp,DC=example\n  Readers  \n\n",
        "attributes": "dn=CN=svc,OU=Service Accounts,DC=corp\ncost=$$100\n",
    }
    proc = _run_rendered(tmp_path, given, {ENV_PRIVATE_KEY_FILE: str(key_file)})
    assert proc.returncode == 0, proc.stderr
    token = (tmp_path / TOKEN_FILE).read_text(encoding="ascii").strip()
    _, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert claims["groups"] == ["CN=Qlik Admins,OU=Groups,DC=corp,DC=example", "Readers"]
    assert (claims["dn"], claims["cost"]) == ("CN=svc,OU=Service Accounts,DC=corp", "$$100")


def test_a_failed_mint_writes_nothing(tmp_path: Path, rsa_pair: KeyPair) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(rsa_pair.private_pem)
    given = {**CLOUD_INPUTS, "dotenv": True, "expires-in": "2h"}
    proc = _run_rendered(tmp_path, given, {ENV_PRIVATE_KEY_FILE: str(key_file)})
    assert proc.returncode == 2
    assert "QSJWT_EXPIRES_IN" in proc.stderr
    assert not (tmp_path / TOKEN_FILE).exists()
    assert not (tmp_path / DOTENV_FILE).exists()


# --- the example pipeline -----------------------------------------------------------------


def _example() -> dict[str, Any]:
    (pipeline,) = load_documents(EXAMPLE)
    assert isinstance(pipeline, dict)
    return pipeline


def test_example_includes_the_template_both_ways_with_valid_inputs() -> None:
    includes = _example()["include"]
    kinds = {next(iter(entry)) for entry in includes}
    assert kinds == {"component", "remote"}
    spec = spec_inputs()
    for entry in includes:
        if "component" in entry:
            # <fqdn>/<project path>/<component name>@<version>: the name is the file's stem.
            assert re.fullmatch(r"\$CI_SERVER_FQDN/.+/qs-jwt@[\w.]+", entry["component"])
        else:
            assert entry["remote"].startswith("https://")
            assert entry["remote"].endswith("/templates/qs-jwt.yml")
        resolve_inputs(spec, entry["inputs"])  # raises on what GitLab would refuse


def _example_jobs() -> dict[str, Any]:
    """The example's own jobs plus the jobs its includes add."""
    pipeline = _example()
    jobs: dict[str, Any] = {}
    for entry in pipeline["include"]:
        jobs.update(render(entry["inputs"]))
    reserved = {"variables", "stages", "include", "default", "workflow"}
    jobs.update({k: v for k, v in pipeline.items() if k not in reserved})
    return jobs


def _expand_references(lines: list[Any], jobs: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if isinstance(line, Reference):
            target: Any = jobs
            for part in line.path:
                target = target[part]  # KeyError: a !reference to nothing
            out.extend(target)
        else:
            out.append(line)
    return out


def test_example_jobs_resolve_and_never_print_the_token() -> None:
    jobs = _example_jobs()
    stages = set(_example()["stages"]) | {".pre", ".post"}
    for name in jobs:
        if name.startswith("."):
            continue
        job = resolve_job(jobs, name)
        assert job["stage"] in stages, name
        for part in ("before_script", "script", "after_script"):
            for command in _commands(_expand_references(job.get(part, []), jobs)):
                assert not _prints(command), (name, command)
                assert not re.search(r"\bset\b.*-\w*x", command), (name, command)
                calls = re.findall(r"\bqs-jwt\b[^)]*", command)
                for call in calls:
                    # A token goes into a file or a command substitution; `qs-jwt call` prints
                    # only Qlik's answer, and takes the token from a file or variable.
                    assert (
                        "--output" in call
                        or f"$({call}" in command
                        or call.startswith("qs-jwt call")
                    ), (name, command)
                # no token on a command line: no Authorization header given as an argument
                assert "Authorization: Bearer $" not in command, (name, command)
                assert "apt-get install" not in command, (name, command)
        for variable in job.get("variables", {}):
            if variable.startswith("QSJWT_"):
                assert variable in {s.env_var for s in INPUTS}, (name, variable)


def test_example_plain_job_uses_the_image_as_gitlab_needs_it() -> None:
    jobs = _example_jobs()
    plain = jobs["qlik-cloud-oauth"]
    assert plain["image"] == {"name": "$QS_JWT_IMAGE", "entrypoint": [""]}
    assert 'qs-jwt oauth --check --output "$QSJWT_TOKEN_FILE"' in plain["script"]
    user = jobs["qlik-cloud-use"]
    assert user["needs"] == [{"job": "qlik-cloud-jwt", "artifacts": True}]
    extended = resolve_job(jobs, "qseow-deploy")
    assert extended["after_script"] == ['rm -f "$QLIK_JWT_FILE"']
    assert extended["image"]["entrypoint"] == [""]


def test_the_docs_show_commands_that_match_the_template() -> None:
    docs = (REPO / "docs" / "gitlab.md").read_text(encoding="utf-8")
    for needle in ("QSJWT_PRIVATE_KEY_FILE", "QSJWT_PRIVATE_KEY", "entrypoint", "dotenv"):
        assert needle in docs
    spec = spec_inputs()
    for name in spec:
        assert f"`{name}`" in docs, f"docs/gitlab.md does not describe the input {name}"
    for name in JOB_VARIABLES:
        assert f"`{name}`" in docs, name
    # The message of the image's default entrypoint outside GitHub, as the docs quote it.
    assert NOT_GITHUB.strip() in docs


def _yaml_blocks(text: str) -> list[Any]:
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    return [yaml.load(block, Loader=_Loader) for block in blocks]  # noqa: S506 (a SafeLoader)


def _readme_gitlab_section() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = readme.index("<!-- gitlab:start -->"), readme.index("<!-- gitlab:end -->")
    return readme[start:end]


@pytest.mark.parametrize("where", ["README.md", "docs/gitlab.md"])
def test_the_yaml_the_docs_show_is_valid_and_safe(where: str) -> None:
    text = (REPO / where).read_text(encoding="utf-8")
    blocks = _yaml_blocks(_readme_gitlab_section() if where == "README.md" else text)
    assert len(blocks) >= 2
    spec = spec_inputs()
    cli_variables = {s.env_var for s in INPUTS}
    for block in blocks:
        assert isinstance(block, dict)
        for entry in block.get("include", []):
            resolve_inputs(spec, entry["inputs"])
        for name, job in block.items():
            if name == "include" or not isinstance(job, dict):
                continue
            if isinstance(job.get("image"), dict):
                assert job["image"]["entrypoint"] == [""], name
            for variable in job.get("variables", {}):
                assert variable in cli_variables, (where, name, variable)
            for part in ("before_script", "script", "after_script"):
                lines = [line for line in job.get(part, []) if isinstance(line, str)]
                for command in _commands(lines):
                    assert not _prints(command), (where, command)
