"""The Azure Pipelines and Jenkins examples: their shape, and their shell steps run here.

No agent runs here, so each example is read (YAML for Azure Pipelines, a light structural read
for the Jenkinsfile) and its shell steps are run in order, as the agent would run them: Azure's
`bash:` steps with `bash`, Jenkins' `sh` steps with `sh -xe` (Jenkins' default, whose trace must
not show the token). The install step is the one left out: `qs-jwt` is this checkout, and `curl`
is a stand-in that checks the request it is given (the header file, the Xrfkey) instead of
calling Qlik. The token must be valid for the key, and appear in no output.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import KeyPair, verify_independently

REPO = Path(__file__).resolve().parents[1]
AZURE = REPO / "examples" / "azure-pipelines.yml"
JENKINSFILE = REPO / "examples" / "jenkins" / "Jenkinsfile"
JWT_SHAPE = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")

FAKE_CURL = """\
#!/bin/sh
# Stand-in for curl: check the request, record it, answer like QRS /about.
header= url= xrf=
while [ "$#" -gt 0 ]; do
  case "$1" in
    -H)
      case "$2" in @*) header=${2#@} ;; X-Qlik-Xrfkey:*) xrf=${2#X-Qlik-Xrfkey: } ;; esac
      shift 2 ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
[ -n "$header" ] || { echo "curl stand-in: no -H @file" >&2; exit 2; }
[ "$(stat -c %a "$header")" = 600 ] || { echo "curl stand-in: header file not 0600" >&2; exit 2; }
printf '%s\\n' "$xrf" | grep -Eqx '[0-9a-f]{16}' || { echo "curl stand-in: Xrfkey" >&2; exit 2; }
case "$url" in *"?Xrfkey=$xrf") ;; *) echo "curl stand-in: Xrfkey differs" >&2; exit 2 ;; esac
cp "$header" "$CURL_RECORD.header"
printf '%s\\n' "$url" > "$CURL_RECORD.url"
echo '{"buildVersion": "stand-in"}'
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """A bin directory with `qs-jwt` (this checkout) and the `curl` stand-in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _executable(
        bin_dir / "qs-jwt",
        f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m qsjwt "$@"\n',
    )
    _executable(bin_dir / "curl", FAKE_CURL)
    return bin_dir


def _run_steps(
    scripts: list[tuple[str, list[str]]], env: dict[str, str], cwd: Path
) -> tuple[str, str]:
    """Run each (name, argv) with ``env``; every one must pass. Returns all stdout, all stderr."""
    out, err = [], []
    for name, argv in scripts:
        proc = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        out.append(proc.stdout)
        err.append(proc.stderr)
        assert proc.returncode == 0, f"step {name!r} failed:\n{proc.stderr}"
    return "".join(out), "".join(err)


def _base_env(tools: Path, tmp_path: Path) -> dict[str, str]:
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PATH"] = f"{tools}{os.pathsep}/usr/bin{os.pathsep}/bin"
    env["CURL_RECORD"] = str(tmp_path / "curl")
    return env


def _check_the_call(tmp_path: Path, rsa_pair: KeyPair, out: str, err: str) -> None:
    header = (tmp_path / "curl.header").read_text(encoding="utf-8")
    match = re.fullmatch(r"Authorization: Bearer (\S+)\n", header)
    assert match, "the header file holds one Authorization line"
    token = match.group(1)
    _, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert claims["aud"] == "qlik"
    assert claims["groups"] == ["Deployers"]
    url = (tmp_path / "curl.url").read_text(encoding="utf-8").strip()
    assert url.startswith("https://qlik.example.com/jwt/qrs/about?Xrfkey=")
    assert token not in out + err
    assert not JWT_SHAPE.search(out + err)


# --- Azure Pipelines ----------------------------------------------------------------------------


def _azure() -> dict[str, Any]:
    data = yaml.safe_load(AZURE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_azure_pipeline_shape() -> None:
    pipeline = _azure()
    assert {"trigger", "pool", "variables", "steps"} <= set(pipeline)
    assert pipeline["pool"] == {"vmImage": "ubuntu-latest"}
    for step in pipeline["steps"]:
        kinds = {"task", "bash", "script", "checkout"} & set(step)
        assert len(kinds) == 1, step
        assert step.get("displayName"), step
        if "task" in step:
            assert re.fullmatch(r"\w+@\d+", step["task"]), step["task"]
        if "bash" in step:
            script = step["bash"]
            # values reach scripts through env: only; a $(macro) is pasted into the script text
            assert not re.search(r"\$\([A-Za-z_][\w.]*\)", script), step["displayName"]
            assert "set -x" not in script
            assert not re.search(r"echo .*(jwt|token|KEY)", script, re.IGNORECASE)
    tasks = [step["task"] for step in pipeline["steps"] if "task" in step]
    assert tasks == ["UsePythonVersion@0", "DownloadSecureFile@1"]


def test_azure_pipeline_pins_the_package_and_names_no_invented_version() -> None:
    text = AZURE.read_text(encoding="utf-8")
    install = next(s for s in _azure()["steps"] if s.get("displayName") == "Install qs-jwt")
    assert '"qs-jwt==$QS_JWT_VERSION"' in install["bash"]
    assert not re.search(r"\b1\.0\.0\b", text)


def test_azure_pipeline_steps_run(tools: Path, tmp_path: Path, rsa_pair: KeyPair) -> None:
    paths = rsa_pair.write(tmp_path)
    agent_temp = tmp_path / "agent-temp"
    agent_temp.mkdir()
    macros = {
        "qlikKey.secureFilePath": str(paths["private"]),
        "QLIK_HOST": "qlik.example.com",
        "QLIK_PREFIX": "jwt",
        "QS_JWT_VERSION": "0.0.0",
    }
    steps = []
    for step in _azure()["steps"]:
        if "bash" not in step or step["displayName"] == "Install qs-jwt":
            continue
        env = _base_env(tools, tmp_path)
        env["AGENT_TEMPDIRECTORY"] = str(agent_temp)
        for name, value in (step.get("env") or {}).items():
            env[name] = re.sub(r"\$\(([\w.]+)\)", lambda m: macros[m.group(1)], str(value))
        steps.append((step["displayName"], env, step["bash"]))
    out, err = [], []
    for name, env, script in steps:  # as the agent runs a bash step: bash, no profile, no -x
        o, e = _run_steps([(name, ["bash", "--noprofile", "--norc", "-c", script])], env, tmp_path)
        out.append(o)
        err.append(e)
    _check_the_call(tmp_path, rsa_pair, "".join(out), "".join(err))
    assert list(agent_temp.iterdir()) == []  # the last step removed the token and header


# --- Jenkins --------------------------------------------------------------------------------------


def _jenkinsfile() -> str:
    return JENKINSFILE.read_text(encoding="utf-8")


def _code(text: str) -> str:
    """The Jenkinsfile without comments and string contents (for the structural checks)."""
    text = re.sub(r"'''.*?'''", "''", text, flags=re.DOTALL)
    text = re.sub(r"'(?:[^'\\\n]|\\.)*'", "''", text)
    text = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', text)
    return re.sub(r"//[^\n]*", "", text)


def test_jenkinsfile_structure() -> None:
    code = _code(_jenkinsfile())
    for opening, closing in ("{}", "()", "[]"):
        depth = 0
        for char in code:
            depth += (char == opening) - (char == closing)
            assert depth >= 0, f"unbalanced {opening}{closing}"
        assert depth == 0, f"unbalanced {opening}{closing}"
    assert code.lstrip().startswith("pipeline {")
    for block in ("agent", "options {", "environment {", "stages {", "stage(", "steps {", "post {"):
        assert block in code, block
    text = _jenkinsfile()
    assert "withCredentials([file(credentialsId: 'qlik-jwt-private-key', variable: " in text
    assert "QSJWT_PRIVATE_KEY_FILE" in text
    # no Groovy interpolation of anything: every sh step is single-quoted
    assert not re.search(r'\bsh\s*\(?\s*"', text)
    assert "${" not in code
    assert not re.search(r"\b1\.0\.0\b", text)


def _sh_steps(text: str) -> list[str]:
    """The scripts of the `sh '''...'''` and `sh '...'` steps, as Groovy hands them to sh."""
    scripts = []
    for match in re.finditer(r"\bsh\s+(?:'''(.*?)'''|'((?:[^'\\\n]|\\.)*)')", text, re.DOTALL):
        body = match.group(1) if match.group(1) is not None else match.group(2)
        body = re.sub(r"\\\n", "", body)  # a backslash at a line's end continues the line
        scripts.append(re.sub(r"\\(.)", r"\1", body))  # \\ -> \, \' -> '
    return scripts


def test_every_jenkins_sh_step_stops_the_trace_first() -> None:
    scripts = _sh_steps(_jenkinsfile())
    assert len(scripts) == 4
    for script in scripts:
        assert script.lstrip().startswith("set +x"), script[:40]


def test_jenkins_steps_run_under_sh_xe(tools: Path, tmp_path: Path, rsa_pair: KeyPair) -> None:
    paths = rsa_pair.write(tmp_path)
    workspace_tmp = tmp_path / "workspace@tmp"
    (workspace_tmp / "qs-jwt" / "bin").mkdir(parents=True)
    (workspace_tmp / "qs-jwt" / "bin" / "qs-jwt").symlink_to(tools / "qs-jwt")
    text = _jenkinsfile()
    environment = dict(re.findall(r"^\s+(\w+) = '([^']*)'$", text, re.MULTILINE))
    assert environment["QLIK_HOST"] == "qlik.example.com"
    env = _base_env(tools, tmp_path) | environment
    env["WORKSPACE_TMP"] = str(workspace_tmp)
    env["QSJWT_PRIVATE_KEY_FILE"] = str(paths["private"])  # what withCredentials binds
    scripts = _sh_steps(text)
    install, *rest = scripts
    assert '"qs-jwt==$QS_JWT_VERSION"' in install
    # Jenkins runs every sh step with `sh -xe` unless the script starts with #!
    steps = [(f"sh step {i}", ["sh", "-xe", "-c", script]) for i, script in enumerate(rest, 2)]
    out, err = _run_steps(steps, env, tmp_path)
    _check_the_call(tmp_path, rsa_pair, out, err)
    assert sorted(p.name for p in workspace_tmp.iterdir()) == ["qs-jwt"]  # post: token removed
