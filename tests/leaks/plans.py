"""From a case and a mode to a plan for tests/leaks/driver.py: argv, environment, files.

Every entry point reads the table through here, so the CLI on the host, the action in this
process or as ``python entrypoint.py``, and both container modes run the same inputs.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from qsjwt.base.inputs import BY_NAME
from tests.leaks.cases import CLI_FILES, RUNNER_FILES, Case, Key, Place, Value
from tests.leaks.driver import b64
from tests.leaks.material import Material

REPO = Path(__file__).resolve().parents[2]
ARG_MAX_STRLEN = 128 * 1024
"""Linux's limit on one argument or one NAME=VALUE environment string (MAX_ARG_STRLEN)."""

Encoding = Literal["pem", "escaped", "base64", "file"]

WORK = "work"
OUT = "work/out"
ELSEWHERE = "elsewhere"
KEEP = "work/keep.txt"
KEEP_TEXT = b"keep me: a file the tool must not touch\n"
READ_ONLY_DIR = "/proc/sys"


# --- values -------------------------------------------------------------------------------------


def key_bytes(value: Key, material: Material) -> bytes:
    pair = material.pairs[value.name]
    pem = {"private": pair.private, "public": pair.public, "certificate": pair.certificate}[
        value.part
    ]
    return value.mangle(pem) if value.mangle else pem


def encode_key(pem: bytes, encoding: Encoding) -> bytes:
    if encoding == "escaped":
        return pem.replace(b"\n", b"\\n")
    if encoding == "base64":
        return base64.b64encode(pem)
    return pem


def as_bytes(value: Value, material: Material, encoding: Encoding = "pem") -> bytes:
    """A value as the bytes a variable or file holds; a private key in the mode's encoding."""
    if isinstance(value, Key):
        raw = key_bytes(value, material)
        if value.part == "private" and not value.verbatim:
            return encode_key(raw, encoding)
        return raw
    if isinstance(value, Place):
        raise TypeError(f"{value} is a place, not a value")
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


# --- plans --------------------------------------------------------------------------------------


@dataclass
class Plan:
    id: str
    argv: list[bytes]
    env: dict[str, bytes]
    files: dict[str, bytes]
    symlinks: dict[str, str]
    dirs: list[str]
    collect: list[str]
    cwd: str = WORK
    timeout: float = 120
    intended: dict[str, str] = field(default_factory=dict)
    """files a good run writes (path under the plan's root -> "token" or "dotenv")"""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "argv": [b64(a) for a in self.argv],
            "env": {k: b64(v) for k, v in self.env.items()},
            "files": {k: b64(v) for k, v in self.files.items()},
            "symlinks": self.symlinks,
            "dirs": self.dirs,
            "collect": self.collect,
            "cwd": self.cwd,
            "timeout": self.timeout,
        }

    def exec_problem(self) -> str | None:
        """Why no process could receive this plan (a NUL byte, a string over 128 KiB), or None.

        Those cases run only where nothing is exec'd: the action in this process.
        """
        for arg in self.argv:
            if b"\0" in arg:
                return "an argument holds a NUL byte"
            if len(arg) >= ARG_MAX_STRLEN:
                return "an argument is over 128 KiB"
        for name, value in self.env.items():
            if b"\0" in value:
                return f"{name} holds a NUL byte"
            if len(name) + len(value) + 1 >= ARG_MAX_STRLEN:
                return f"{name} is over 128 KiB"
        return None


def _new_plan(plan_id: str, argv: Sequence[bytes]) -> Plan:
    return Plan(
        plan_id,
        list(argv),
        {},
        {KEEP: KEEP_TEXT},
        {},
        [WORK, ELSEWHERE],
        [WORK, ELSEWHERE],
    )


def _place_path(plan: Plan, place: Place, name: str, *, output_path: str) -> str | None:
    """Create what ``place`` needs in the plan; the path (absolute, @ROOT@-based) to give."""
    root = "@ROOT@/"
    if place is Place.SYMLINK:
        plan.symlinks[f"{OUT}/{name}"] = f"@ROOT@/{KEEP}"
        plan.dirs.append(OUT)
        return root + f"{OUT}/{name}"
    if place is Place.DANGLING_SYMLINK:
        plan.symlinks[f"{OUT}/{name}"] = f"@ROOT@/{ELSEWHERE}/created-through-link"
        return root + f"{OUT}/{name}"
    if place is Place.DIRECTORY:
        plan.dirs.append(f"{OUT}/{name}")
        return root + f"{OUT}/{name}"
    if place is Place.MISSING_DIRECTORY:
        return root + f"{OUT}/no-such-dir/{name}"
    if place is Place.PARENT_IS_FILE:
        return root + f"{KEEP}/{name}"
    if place is Place.READ_ONLY:
        return f"{READ_ONLY_DIR}/qsjwt-leak-{name}"
    if place is Place.FULL:
        return "/dev/full"
    if place is Place.OUTSIDE:
        return f"../{ELSEWHERE}/{name}"
    if place is Place.SAME_AS_OUTPUT:
        return output_path
    if place is Place.UNSET:
        return None
    raise AssertionError(place)


# --- the CLI ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliMode:
    name: str
    key: Encoding
    settings: Literal["flags", "env"]
    files: bool
    """write --output and --dotenv instead of printing the token"""


CLI_MODES = (
    CliMode("cli-key-file", "file", "flags", files=False),
    CliMode("cli-env-pem", "pem", "env", files=True),
    CliMode("cli-env-escaped", "escaped", "flags", files=False),
    CliMode("cli-env-base64", "base64", "env", files=True),
)
DEFAULT_OUTPUT = f"{OUT}/token.jwt"
DEFAULT_DOTENV = f"{OUT}/qs-jwt.env"

_KEY_FLAGS = {
    "private-key": ("--private-key-file", "QSJWT_PRIVATE_KEY"),
    "private-key-passphrase": ("--passphrase-file", "QSJWT_PRIVATE_KEY_PASSPHRASE"),
    "certificate": ("--certificate-file", "QSJWT_CERTIFICATE"),
}


SERVICE_SECRETS = {
    "vault-token": "QSJWT_VAULT_TOKEN",
    "pkcs11-pin": "QSJWT_PKCS11_PIN",
    "id-token": "QSJWT_ID_TOKEN",
}
"""The key services' credentials: action inputs, and for the CLI and GitLab (an ``id_tokens``
entry, masked CI/CD variables) environment variables, never flags."""


def cli_plan(case: Case, mode: CliMode, material: Material, command: Sequence[str]) -> Plan:
    """The ``qs-jwt`` process for ``case``: ``command`` is how to start it."""
    plan = _new_plan(f"{case.id}@{mode.name}", [c.encode() for c in command])
    plan.dirs.append(OUT)
    inputs = dict(case.inputs)
    if "target" in inputs:
        plan.argv.append(as_bytes(inputs.pop("target"), material))
    flags: list[bytes] = []
    for name in ("private-key", "private-key-passphrase", "certificate"):
        if name not in inputs:
            continue
        data = as_bytes(inputs.pop(name), material, mode.key if name == "private-key" else "pem")
        flag, variable = _KEY_FLAGS[name]
        if mode.key == "file":
            plan.files[f"keys/{name}"] = data
            flags.append(f"{flag}=@ROOT@/keys/{name}".encode())
        else:
            plan.env[variable] = data
    for name, variable in SERVICE_SECRETS.items():  # the CLI reads these from variables only
        if name in inputs:
            plan.env[variable] = as_bytes(inputs.pop(name), material)
    if "private-key-file" in inputs:  # the key text given where a path belongs
        data = as_bytes(inputs.pop("private-key-file"), material, mode.key)
        if mode.settings == "flags":
            flags.append(b"--private-key-file=" + data)
        else:
            plan.env["QSJWT_PRIVATE_KEY_FILE"] = data
    output = inputs.pop("output", DEFAULT_OUTPUT if mode.files else None)
    dotenv = inputs.pop("dotenv", DEFAULT_DOTENV if mode.files else None)
    output_path = None
    if isinstance(output, Place):
        output_path = _place_path(plan, output, "token.jwt", output_path="")
    elif output is not None:
        output_path = "@ROOT@/" + _in_work(str(output))
    if output_path:
        flags.append(b"--output=" + output_path.encode())
    if isinstance(dotenv, Place):
        dotenv_path = _place_path(plan, dotenv, "qs-jwt.env", output_path=output_path or "")
    else:
        dotenv_path = "@ROOT@/" + _in_work(str(dotenv)) if dotenv is not None else None
    if dotenv_path:
        flags.append(b"--dotenv=" + dotenv_path.encode())
    for path, kind in ((output_path, "token"), (dotenv_path, "dotenv")):
        if path and path.startswith("@ROOT@/"):
            plan.intended[path.removeprefix("@ROOT@/")] = kind
        elif path and path.startswith("../"):
            plan.intended[path.removeprefix("../")] = kind
    if "dotenv-variable" in inputs:
        flags.append(b"--dotenv-variable=" + as_bytes(inputs.pop("dotenv-variable"), material))
    for name, value in inputs.items():
        assert name not in RUNNER_FILES and name not in CLI_FILES, (case.id, name)
        data = as_bytes(value, material)
        spec = BY_NAME.get(name)
        if spec is None:  # not an input: an unknown flag, as a user would type it
            flags.append(f"--{name}=".encode() + data)
        elif mode.settings == "env":
            plan.env[spec.env_var] = data
        elif spec.switch:  # a flag without a value when true; anything else in its variable
            if data.strip().lower() == b"true":
                flags.append(spec.cli_flag.encode())
            else:
                plan.env[spec.env_var] = data
        elif spec.is_list:
            flags += [spec.cli_flag.encode() + b"=" + part for part in data.split(b"\n")]
        else:
            flags.append(spec.cli_flag.encode() + b"=" + data)
    plan.argv += flags
    for extra in case.cli_args:
        plan.argv.append(key_bytes(extra, material) if isinstance(extra, Key) else extra.encode())
    return plan


def _in_work(rel: str) -> str:
    return rel if rel.startswith(WORK + "/") else f"{OUT}/{rel}"


def qs_jwt_command() -> list[str]:
    return [sys.executable, "-m", "qsjwt"]


# --- the GitHub Action --------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionMode:
    name: str
    key: Encoding
    debug: bool


RUNNER_DIR = "file_commands"
RUNNER_STEMS = {
    "GITHUB_OUTPUT": "set_output",
    "GITHUB_ENV": "set_env",
    "GITHUB_STEP_SUMMARY": "step_summary",
}


def action_plan(
    case: Case,
    mode: ActionMode,
    material: Material,
    command: Sequence[str],
    declared: Sequence[str],
) -> Plan:
    """The container action as the runner starts it: every declared input as ``INPUT_*``
    (empty when not given, hyphens kept), the file commands, ``RUNNER_DEBUG`` in debug mode."""
    plan = _new_plan(f"{case.id}@{mode.name}", [c.encode() for c in command])
    plan.collect.append(RUNNER_DIR)
    plan.dirs.append(RUNNER_DIR)
    plan.env.update(
        {
            "GITHUB_ACTIONS": b"true",
            "CI": b"true",
            "GITHUB_WORKSPACE": f"@ROOT@/{WORK}".encode(),
            "HOME": f"@ROOT@/{WORK}".encode(),
        }
    )
    if mode.debug:
        plan.env["RUNNER_DEBUG"] = b"1"
    inputs = dict(case.inputs)
    for variable, stem in RUNNER_STEMS.items():
        place = inputs.pop(variable, None)
        if place is None:
            plan.files[f"{RUNNER_DIR}/{stem}"] = b""
            plan.env[variable] = f"@ROOT@/{RUNNER_DIR}/{stem}".encode()
            continue
        assert isinstance(place, Place)
        if place is Place.DIRECTORY:
            plan.dirs.append(f"{RUNNER_DIR}/{stem}")
            path: str | None = f"@ROOT@/{RUNNER_DIR}/{stem}"
        else:
            path = _place_path(plan, place, stem, output_path="")
        if path is not None:
            plan.env[variable] = path.encode()
    for name in declared:
        plan.env[_input_variable(name)] = b""
    for name, value in inputs.items():
        assert name not in CLI_FILES and name != "private-key-file", (case.id, name)
        encoding = mode.key if name == "private-key" else "pem"
        plan.env[_input_variable(name)] = as_bytes(value, material, encoding)
    return plan


def _input_variable(name: str) -> str:
    return "INPUT_" + name.upper()


def entrypoint_command() -> list[str]:
    return [sys.executable, str(REPO / "entrypoint.py")]


def in_process_environment(plan: Plan, root: Path) -> dict[str, str]:
    """The plan's environment as ``os.environ`` would show it (undecodable bytes as surrogates)."""
    rooted = {k: v.replace(b"@ROOT@", str(root).encode()) for k, v in plan.env.items()}
    return {k: v.decode("utf-8", "surrogateescape") for k, v in rooted.items()}


def prepare_in_process(plan: Plan, root: Path) -> None:
    from tests.leaks.driver import prepare

    prepare(plan.to_json(), root)


def runner_file(root: Path, variable: str) -> Path:
    return root / RUNNER_DIR / RUNNER_STEMS[variable]


def describe(plans: Mapping[str, Plan]) -> str:
    return ", ".join(sorted(plans))
