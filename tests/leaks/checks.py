"""What every run of the leak suite must show, whatever the entry point.

A run is judged on what a CI log and the job's files would keep: stdout, stderr, the step
summary, GITHUB_ENV, the annotations, and every file left in the working directories. The
only places a secret may appear are the ``::add-mask::`` lines and the intended outputs (the
``token`` output, ``--output``/``--dotenv`` files, GITHUB_ENV when ``export-env`` asks for it).
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qsjwt.action.schema import ERROR_CODES
from qsjwt.base.inputs import BY_NAME
from tests.action_runner import MASK, FileCommandError, parse_command, parse_file_command
from tests.conftest import verify_independently
from tests.leaks.cases import Case, Expect, Key
from tests.leaks.driver import collect, prepare, unb64
from tests.leaks.material import Material
from tests.leaks.plans import ELSEWHERE, RUNNER_DIR, RUNNER_STEMS, SERVICE_SECRETS, WORK, Plan

OUTPUT_NAMES = {"token", "expires-at", "expires-in", "header", "claims"}
ALLOWED_COMMANDS = {"add-mask", "error", "warning", "notice", "debug"}
_CLI_ERROR = re.compile(r"qs-jwt(?: [a-z]+)?: error: (.*)")
_CLI_OK_LINE = re.compile(
    r"qs-jwt: (warning:|wrote|(access )?token expires at|assertion expires at) .*"
)
_FENCED = re.compile(r"^(`{3,}).*?^\1$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+) .*? \1")
_RENDERED = re.compile(r"<[a-zA-Z]|\]\(|(?<![\w`])@\w|https?://|www\.")
"""What Markdown would render from a value outside code: HTML, a link or image, an @mention,
an autolink."""
_CELL_BORDER = re.compile(r"(?<!\\)\|")
"""Where GFM splits a table row: a ``|`` not escaped by a backslash."""
ERROR_OUTPUTS = {"error-code", "error-input"}
_ARMOR = re.compile(r"-----(BEGIN|END) [A-Z0-9 ]+-----")


@dataclass
class Outcome:
    """What one run left: exit code, output streams, and the entries of its directories."""

    code: int
    stdout: str
    stderr: str
    entries: dict[str, dict[str, Any]]
    seconds: float = 0.0

    @classmethod
    def from_driver(cls, result: dict[str, Any]) -> Outcome:
        entries = {
            path: {**entry, "data": unb64(entry["data"])} if "data" in entry else entry
            for path, entry in result["entries"].items()
        }
        return cls(
            result["code"],
            unb64(result["stdout"]).decode("utf-8", "replace"),
            unb64(result["stderr"]).decode("utf-8", "replace"),
            entries,
            result.get("seconds", 0.0),
        )

    @classmethod
    def from_directory(cls, code: int, out: str, err: str, root: Path, plan: Plan) -> Outcome:
        return cls.from_driver(
            {
                "code": code,
                "stdout": base64.b64encode(out.encode("utf-8", "surrogateescape")).decode(),
                "stderr": base64.b64encode(err.encode("utf-8", "surrogateescape")).decode(),
                "entries": collect(root, plan.collect),
            }
        )

    def text(self, rel: str) -> str:
        entry = self.entries.get(rel)
        if not entry or entry["kind"] != "file":
            return ""
        return bytes(entry["data"]).decode("utf-8", "replace")


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    token: str | None = None

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def scan(self, where: str, text: str, material: Material) -> None:
        tokens = [self.token] if self.token else []
        self.leaks += [f"{what} in {where}" for what in material.leaks(text, tokens=tokens)]

    def explain(self, outcome: Outcome) -> str:
        lines = [*(f"LEAK: {leak}" for leak in self.leaks), *self.problems]
        lines += [
            f"exit {outcome.code}",
            "stderr: " + outcome.stderr[-1500:].replace("\n", "\n        "),
            "stdout: " + outcome.stdout[-1500:].replace("\n", "\n        "),
        ]
        return "\n".join(lines)


def baseline(plan: Plan) -> dict[str, dict[str, Any]]:
    """The entries the plan itself creates: after a failure, the directories hold exactly these."""
    with tempfile.TemporaryDirectory(prefix="leak-baseline-") as scratch:
        prepare(plan.to_json(), Path(scratch))
        return Outcome.from_directory(0, "", "", Path(scratch), plan).entries


def _public_key(case: Case, material: Material) -> bytes:
    key = case.inputs.get("private-key")
    assert isinstance(key, Key), "a good case signs with generated key material"
    return material.pairs[key.name].public


def _verify(verdict: Verdict, case: Case, material: Material) -> tuple[dict[str, Any], ...]:
    assert verdict.token is not None
    try:
        header = json.loads(base64.urlsafe_b64decode(verdict.token.split(".")[0] + "=="))
        return verify_independently(
            verdict.token, _public_key(case, material), header["alg"], check_time=False
        )
    except Exception as err:  # the verdict says what failed; the test shows it
        verdict.fail(f"the token does not verify with jwcrypto: {type(err).__name__}: {err}")
        return ({}, {})


def _new_entries(outcome: Outcome, before: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {path: entry for path, entry in outcome.entries.items() if path not in before}


def _same_as_before(
    verdict: Verdict, outcome: Outcome, before: dict[str, dict[str, Any]], *, skip: str = ""
) -> None:
    for path, entry in outcome.entries.items():
        if skip and path.startswith(skip):
            continue
        if path not in before:
            verdict.fail(f"left behind: {path} ({entry['kind']})")
        elif entry.get("data") != before[path].get("data") or entry.get("target") != before[
            path
        ].get("target"):
            verdict.fail(f"changed: {path}")
    for path in before:
        if path not in outcome.entries and not (skip and path.startswith(skip)):
            verdict.fail(f"removed: {path}")


# --- the CLI ------------------------------------------------------------------------------------


def cli_spellings(name: str) -> set[str]:
    """How the CLI may name an input in a message: its flag, its variable, or as typed."""
    if name.startswith("-") or name.isupper():
        return {name}
    special = {
        "private-key": {"--private-key-file", "QSJWT_PRIVATE_KEY", "QSJWT_PRIVATE_KEY_FILE"},
        "private-key-passphrase": {"--passphrase-file", "QSJWT_PRIVATE_KEY_PASSPHRASE"},
        "certificate": {"--certificate-file", "QSJWT_CERTIFICATE", "QSJWT_CERTIFICATE_FILE"},
        "output": {"--output"},
        "dotenv": {"--dotenv"},
        "dotenv-variable": {"--dotenv-variable"},
        **{name: {variable} for name, variable in SERVICE_SECRETS.items()},
    }
    if name in special:
        return special[name]
    spec = BY_NAME[name]
    return {spec.cli_flag, spec.env_var}


def check_cli(
    case: Case,
    expect: Expect,
    outcome: Outcome,
    plan: Plan,
    *,
    before: dict[str, dict[str, Any]],
    material: Material,
) -> Verdict:
    """``plan.intended``: the files a good run writes, by path, each "token" or "dotenv"."""
    verdict = Verdict()
    lines = [line for line in outcome.stderr.split("\n") if line]
    errors = [m.group(1) for m in map(_CLI_ERROR.fullmatch, lines) if m]
    if "Traceback" in outcome.stderr or "internal error (" in outcome.stderr:
        verdict.fail("a traceback or an internal error: a crash, not one of our errors")
    if outcome.code != expect.exit:
        verdict.fail(f"exit {outcome.code}, expected {expect.exit}")
    if expect.exit == 0:
        _check_cli_good(
            verdict, case, outcome, lines=lines, before=before, plan=plan, material=material
        )
    else:
        _check_cli_bad(verdict, expect, outcome, lines, errors)
        _same_as_before(verdict, outcome, before)
        verdict.scan("stdout", outcome.stdout, material)
    verdict.scan("stderr", outcome.stderr, material)
    if expect.warning and not any(
        expect.warning in line for line in lines if line.startswith("qs-jwt: warning:")
    ):
        verdict.fail(f"no warning containing {expect.warning!r}")
    return verdict


def _check_cli_bad(
    verdict: Verdict, expect: Expect, outcome: Outcome, lines: list[str], errors: list[str]
) -> None:
    if outcome.stdout:
        verdict.fail("stdout is not empty after a failure")
    text = "\n".join(errors) if expect.one_line else outcome.stderr
    if expect.one_line:
        if len(errors) != 1:
            verdict.fail(f"{len(errors)} error lines, expected exactly one")
        others = [
            line
            for line in lines
            if not _CLI_ERROR.fullmatch(line) and not line.startswith("qs-jwt: warning:")
        ]
        if others:
            verdict.fail(f"stderr lines that are neither the error nor a warning: {others[:3]}")
    if expect.message and not any(fragment in text for fragment in expect.message):
        verdict.fail(f"the error says none of {expect.message}")
    if expect.names and not any(name in text for name in cli_spellings(expect.names)):
        verdict.fail(f"the error does not name {sorted(cli_spellings(expect.names))}")


def _check_cli_good(
    verdict: Verdict,
    case: Case,
    outcome: Outcome,
    *,
    lines: list[str],
    before: dict[str, dict[str, Any]],
    plan: Plan,
    material: Material,
) -> None:
    intended = plan.intended
    if outcome.code != 0:
        return
    odd = [line for line in lines if not _CLI_OK_LINE.fullmatch(line)]
    if odd:
        verdict.fail(f"unexpected stderr lines: {odd[:3]}")
    if not intended:
        verdict.token = outcome.stdout.strip()
        if outcome.stdout != verdict.token + "\n":
            verdict.fail("stdout holds more than the token and its newline")
    elif outcome.stdout:
        verdict.fail("stdout is not empty although the token went to files")
    for path, kind in intended.items():
        entry = outcome.entries.get(path)
        if not entry or entry["kind"] != "file":
            verdict.fail(f"{path} was not written")
            continue
        if entry["mode"] != 0o600:
            verdict.fail(f"{path} has mode {entry['mode']:o}, not 600")
        text = bytes(entry["data"]).decode()
        token = text.strip().partition("=")[2] if kind == "dotenv" else text.strip()
        expected = f"QLIK_JWT={token}\n" if kind == "dotenv" else f"{token}\n"
        if text != expected:
            verdict.fail(f"{path} holds more than {kind} format")
        if verdict.token and token != verdict.token:
            verdict.fail(f"{path} holds another token")
        verdict.token = verdict.token or token
    extra = set(_new_entries(outcome, before)) - set(intended)
    if extra:
        verdict.fail(f"left behind besides the intended files: {sorted(extra)}")
    if verdict.token:
        _verify(verdict, case, material)


# --- the GitHub Action --------------------------------------------------------------------------


def _runner_text(outcome: Outcome, variable: str) -> str:
    return outcome.text(f"{RUNNER_DIR}/{RUNNER_STEMS[variable]}")


def expected_masks(case: Case, plan: Plan) -> list[str]:
    """Every line of the key as given (and, for base64, as decoded), the passphrase, and the
    key services' credentials (vault-token, pkcs11-pin, id-token)."""
    # Bytes that are not UTF-8 are masked as U+FFFD: a log line cannot carry them either.
    raw = plan.env.get("INPUT_PRIVATE-KEY", b"").decode("utf-8", "replace")
    lines = raw.splitlines()
    compact = "".join(raw.split())
    if raw.strip() and "-----BEGIN" not in raw:
        try:
            decoded = base64.b64decode(compact, validate=True).decode()
        except ValueError:
            decoded = ""
        if "-----BEGIN" in decoded:
            lines += decoded.splitlines()
    wanted = [line.strip() for line in lines]
    for name in ("PRIVATE-KEY-PASSPHRASE", "VAULT-TOKEN", "PKCS11-PIN", "ID-TOKEN"):
        secret = plan.env.get(f"INPUT_{name}", b"").decode("utf-8", "replace")
        wanted += [line.strip() for line in secret.splitlines()]
    return [w for w in dict.fromkeys(wanted) if w and not _ARMOR.fullmatch(w) and "\\n" not in w]


def check_action(
    case: Case,
    expect: Expect,
    outcome: Outcome,
    plan: Plan,
    *,
    before: dict[str, dict[str, Any]],
    material: Material,
) -> Verdict:
    verdict = Verdict()
    lines = outcome.stdout.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    commands = []
    for number, line in enumerate(lines):
        if line.startswith("::"):
            command = parse_command(line)
            if command is None or command.name not in ALLOWED_COMMANDS:
                verdict.fail(f"line {number} is a workflow command we never issue: {line[:60]}")
            else:
                commands.append((number, command))
        elif "##[" in line:
            verdict.fail(f"line {number} carries a `##[` runner command: {line[:60]}")
    masks = [(n, c.data) for n, c in commands if c.name == "add-mask"]
    errors = [c.data for _, c in commands if c.name == "error"]
    warnings = [c.data for _, c in commands if c.name == "warning"]
    mask_values = {value for _, value in masks}
    if outcome.stderr:
        verdict.fail(f"stderr is not empty: {outcome.stderr[:200]!r}")
    if "Traceback" in outcome.stdout or "Internal error" in outcome.stdout:
        verdict.fail("a traceback or an internal error: a crash, not one of our errors")
    if outcome.code != expect.exit:
        verdict.fail(f"exit {outcome.code}, expected {expect.exit}")
    missing = [m for m in expected_masks(case, plan) if m not in mask_values]
    if missing:
        verdict.fail(f"{len(missing)} secret line(s) not masked")
    if expected_masks(case, plan) and (not lines or not lines[0].startswith(MASK)):
        verdict.fail("the log does not start with the masks")
    outputs_text = _runner_text(outcome, "GITHUB_OUTPUT")
    env_text = _runner_text(outcome, "GITHUB_ENV")
    summary = _runner_text(outcome, "GITHUB_STEP_SUMMARY")
    try:
        outputs = parse_file_command(outputs_text)
    except FileCommandError as err:
        verdict.fail(f"GITHUB_OUTPUT would fail the step: {err}")
        outputs = {}
    exported = "export-env" in case.inputs and expect.exit == 0
    if expect.exit == 0:
        if errors:
            verdict.fail(f"error annotations on success: {errors}")
        verdict.token = outputs.get("token")
        if set(outputs) != OUTPUT_NAMES:
            verdict.fail(f"outputs {sorted(outputs)}, expected {sorted(OUTPUT_NAMES)}")
        if verdict.token:
            _check_action_token(
                verdict, case, lines=lines, masks=masks, outputs=outputs, material=material
            )
        env_expected = {str(case.inputs["export-env"]): verdict.token} if exported else {}
        try:
            if parse_file_command(env_text) != env_expected:
                verdict.fail("GITHUB_ENV does not hold exactly the exported token")
        except FileCommandError as err:
            verdict.fail(f"GITHUB_ENV would fail the step: {err}")
        if "GITHUB_STEP_SUMMARY" not in case.inputs and "## Qlik Sense JWT" not in summary:
            verdict.fail("no step summary")
        outside_code = _CODE_SPAN.sub("", _FENCED.sub("", summary))
        if _RENDERED.search(outside_code):
            verdict.fail("the step summary renders HTML, a link or a mention from an input")
        rows = [line for line in summary.splitlines() if line.startswith("| ")]
        if any(len(_CELL_BORDER.split(row)) != 4 for row in rows):
            verdict.fail("a value splits a row of the step summary's table")
        if not summary.replace("\n", "").isprintable():
            verdict.fail("the step summary holds a control or bidi character from an input")
    else:
        if len(errors) != 1:
            verdict.fail(f"{len(errors)} error annotations, expected exactly one")
        text = "\n".join(errors)
        if expect.message and not any(fragment in text for fragment in expect.message):
            verdict.fail(f"the error says none of {expect.message}: {text[:200]!r}")
        if expect.names and expect.names not in text:
            verdict.fail(f"the error does not name {expect.names!r}: {text[:200]!r}")
        writable = "GITHUB_OUTPUT" not in case.inputs  # else the case breaks the file itself
        if (outputs or writable) and outputs.get("error-code") not in ERROR_CODES:
            verdict.fail(
                f"error-code output {outputs.get('error-code')!r} is not one of {ERROR_CODES}"
            )
        results = set(outputs) - ERROR_OUTPUTS
        if results and results != OUTPUT_NAMES:
            verdict.fail(f"half-written outputs: {sorted(outputs)}")
        if expect.names and outputs.get("error-input", expect.names) != expect.names:
            verdict.fail(f"error-input {outputs['error-input']!r}, expected {expect.names!r}")
        if env_text:
            verdict.fail("GITHUB_ENV was written although the step failed")
        if summary:
            verdict.fail("a step summary was written although the step failed")
    if expect.warning and not any(expect.warning in w for w in warnings):
        verdict.fail(f"no warning containing {expect.warning!r}")
    log = "\n".join(line for line in lines if not line.startswith(MASK))
    verdict.scan("the log (mask lines aside)", log, material)
    verdict.scan("stderr", outcome.stderr, material)
    verdict.scan("the step summary", summary, material)
    if not exported:
        verdict.scan("GITHUB_ENV", env_text, material)
    for name, value in outputs.items():
        if name != "token":
            verdict.scan(f"the {name} output", value, material)
    _same_as_before(verdict, outcome, before, skip=RUNNER_DIR)
    for area in (WORK, ELSEWHERE):
        stray = [p for p in _new_entries(outcome, before) if p.startswith(area)]
        if stray:
            verdict.fail(f"files left in {area}: {stray}")
    return verdict


def _check_action_token(
    verdict: Verdict,
    case: Case,
    *,
    lines: list[str],
    masks: list[tuple[int, str]],
    outputs: dict[str, str],
    material: Material,
) -> None:
    assert verdict.token is not None
    token_mask = next((n for n, value in masks if value == verdict.token), None)
    if token_mask is None:
        verdict.fail("the token is not masked")
        return
    first_plain = next((n for n, line in enumerate(lines) if not line.startswith(MASK)), len(lines))
    if token_mask > first_plain:
        verdict.fail("a line was printed before the token's mask")
    header, claims = _verify(verdict, case, material)
    if claims and json.loads(outputs["claims"]) != claims:
        verdict.fail("the claims output differs from the token's claims")
    if header and json.loads(outputs["header"]) != header:
        verdict.fail("the header output differs from the token's header")
