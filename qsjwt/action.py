"""The GitHub Action: ``INPUT_*`` variables in, a masked token out.

The only module that imports actions-toolkit, and only when ``GITHUB_ACTIONS`` is ``true``:
outside GitHub the toolkit prints outputs as ``::set-output`` lines, a token in clear text.

Order is the point of this module. Values derived from secrets are masked before anything else
is printed, the token as soon as it exists (each mask flushed at once), and only then come
warnings, debug detail, outputs, ``GITHUB_ENV`` and the step summary. Every failure is one
``::error`` naming the input as ``action.yml`` spells it, exit code 1, no traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qsjwt.claims import new_jti
from qsjwt.errors import InputError, KeyMaterialError, QsjwtError, quoted
from qsjwt.findings import Finding
from qsjwt.formats import ENV_NAME, is_reserved_env_name, iso_utc
from qsjwt.inputs import (
    CERTIFICATE,
    INPUTS,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
    InputSpec,
    Target,
)
from qsjwt.keys import as_bytes, pem_from_text
from qsjwt.mint import Minted, mint_from_text
from qsjwt.settings import QseowSettings, Settings, parse_settings, parse_target

TARGET = "target"
EXPORT_ENV = "export-env"

NOT_GITHUB = (
    "qs-jwt: this entrypoint is the GitHub Action and runs only where GITHUB_ACTIONS=true; "
    "no token was made. Elsewhere use the qs-jwt CLI, e.g. in GitLab CI set "
    '`entrypoint: [""]` and run `qs-jwt cloud ...` or `qs-jwt qseow ...` (see qs-jwt --help).\n'
)


@dataclass(frozen=True)
class ActionInput:
    """One input as ``action.yml`` declares it (``tests/test_action_docs.py`` renders the file)."""

    name: str
    description: str
    required: bool = False


_CLI_NOTE = re.compile(r"\s*\(a repeated --[a-z-]+ on the CLI\)")


def _from_spec(spec: InputSpec) -> ActionInput:
    text = _CLI_NOTE.sub("", spec.description)
    if spec.default and "default" not in text.lower():
        text += f" Default: {spec.default}."
    return ActionInput(spec.name, text)


ACTION_INPUTS: tuple[ActionInput, ...] = (
    ActionInput(TARGET, "Where the token is used: qseow (client-managed QSEoW) or cloud.", True),
    ActionInput(
        PRIVATE_KEY,
        "Private key that signs the token, from a secret: PEM, PEM on one line with literal \\n "
        "escapes, or base64 of the PEM. RSA; Qlik Cloud also accepts EC.",
        True,
    ),
    ActionInput(PRIVATE_KEY_PASSPHRASE, "Passphrase of an encrypted private key, from a secret."),
    ActionInput(
        CERTIFICATE,
        "Certificate configured in Qlik (PEM or base64); if given, the key must match it, "
        "checked before signing.",
    ),
    *(_from_spec(spec) for spec in INPUTS),
    ActionInput(
        EXPORT_ENV,
        "Name of an environment variable that receives the token for the later steps of this "
        "job (through GITHUB_ENV). Default: none; use the token output.",
    ),
)

OUTPUTS: dict[str, str] = {
    "token": "The signed JWT. Masked in logs. Use it in later steps of the same job: GitHub drops "
    "job outputs that contain a secret.",
    "expires-at": "When the token expires: ISO 8601 UTC, e.g. 2026-01-31T12:00:00Z.",
    "expires-in": "Lifetime of the token in seconds (exp - iat).",
    "header": "The token's header as compact JSON.",
    "claims": "The token's claims as compact JSON (no signature).",
}

_BY_VARIABLE = {"INPUT_" + item.name.upper(): item.name for item in ACTION_INPUTS}
_PEM_ARMOR = re.compile(r"-----(BEGIN|END) [A-Z0-9 ]+-----")
_TARGET_LABEL = {Target.QSEOW: "QSEoW virtual proxy", Target.CLOUD: "Qlik Cloud"}


Command = Callable[[str, dict[str, str], str], None]
"""``actions_toolkit.command.issue_command``: ``::kind key=value::message``, escaped"""


class _RunnerFileError(QsjwtError):
    """A file command the runner should have provided cannot be used."""


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the action; returns the exit code (0 made a token, 1 did not, 2 not on GitHub)."""
    environ = os.environ if env is None else env
    if environ.get("GITHUB_ACTIONS") != "true":
        sys.stderr.write(NOT_GITHUB)
        sys.stderr.flush()
        return 2
    from actions_toolkit.file_command import prepare_key_value_message  # noqa: PLC0415

    log = _github_log(debug=environ.get("RUNNER_DEBUG") == "1")
    return _Run(environ, log, prepare_key_value_message).run()


def _github_log(*, debug: bool) -> _Log:
    """Imported here, not at the top: only on GitHub (see the module docstring)."""
    from actions_toolkit import core  # noqa: PLC0415
    from actions_toolkit.command import issue_command  # noqa: PLC0415

    return _Log(core.set_secret, core.debug, issue_command, debug=debug)


class _Log:
    """Workflow commands through actions-toolkit (which escapes them), each flushed at once.

    Until ``release()``, everything but masks is held back: on success no line may come
    before the token's mask, and a warning may quote a value that is only masked later.
    """

    def __init__(
        self,
        set_secret: Callable[[str], None],
        debug_command: Callable[[str], None],
        command: Command,
        *,
        debug: bool,
    ) -> None:
        self._set_secret = set_secret
        self._debug = debug_command
        self._command = command
        self.debugging = debug
        self._held: list[Callable[[], None]] | None = []

    def mask(self, value: str) -> None:
        if value.strip():
            # Bytes that are not UTF-8 arrive as surrogate escapes, which stdout cannot write.
            self._set_secret(as_bytes(value).decode("utf-8", "replace"))
            sys.stdout.flush()

    def release(self) -> None:
        held, self._held = self._held or [], None
        for emit in held:
            emit()

    def annotate(self, kind: str, title: str, message: str) -> None:
        self._emit(lambda: self._command(kind, {"title": title}, message))

    def debug(self, message: str) -> None:
        if self.debugging:
            self._emit(lambda: self._debug(message))

    def info(self, message: str) -> None:
        self._emit(lambda: sys.stdout.write(message + "\n"))

    def _emit(self, emit: Callable[[], object]) -> None:
        if self._held is not None:
            self._held.append(lambda: self._emit_now(emit))
        else:
            self._emit_now(emit)

    @staticmethod
    def _emit_now(emit: Callable[[], object]) -> None:
        emit()
        sys.stdout.flush()


class _Run:
    def __init__(
        self, env: Mapping[str, str], log: _Log, heredoc: Callable[[str, str], str]
    ) -> None:
        self.env = env
        self.log = log
        self._heredoc = heredoc
        self.values = {name: env.get(var, "") for var, name in _BY_VARIABLE.items()}
        self.settings: Settings | None = None

    def run(self) -> int:
        try:
            for secret in _secret_fragments(
                self.values[PRIVATE_KEY], self.values[PRIVATE_KEY_PASSPHRASE]
            ):
                self.log.mask(secret)
            self._note_unknown_inputs()
            target, settings, minted, export_name = self._mint()
            self.log.mask(minted.token)
            self.log.release()
            self._after_mint(target, settings, minted, export_name)
        except QsjwtError as err:
            self.log.release()
            for finding in self.settings.warnings if self.settings else ():
                self._warn(finding)
            self.log.annotate("error", _title(err), err.render())
            return 1
        except Exception as err:  # a bug of ours: no traceback, which could carry a secret
            self.log.release()
            self.log.annotate(
                "error",
                "Internal error",
                f"qs-jwt failed unexpectedly ({type(err).__name__}); the step failed and its "
                "outputs are not set. Please report it at the project's issue tracker.",
            )
            return 1
        return 0

    # --- before the token exists: only masks are printed, the rest is held back ----------

    def _note_unknown_inputs(self) -> None:
        unknown = sorted(
            var for var in self.env if var.startswith("INPUT_") and var not in _BY_VARIABLE
        )
        if not unknown:
            return
        described = []
        for var in unknown:
            name = var.removeprefix("INPUT_").lower()
            guess = name.replace("_", "-")
            hint = f" (did you mean {guess}?)" if "INPUT_" + guess.upper() in _BY_VARIABLE else ""
            described.append(quoted(name) + hint)
        valid = ", ".join(item.name for item in ACTION_INPUTS)
        self.log.annotate(
            "warning",
            "Unknown input",
            f"Unexpected input(s) {', '.join(described)} are ignored; valid inputs are: {valid}",
        )

    def _mint(self) -> tuple[Target, Settings, Minted, str | None]:
        self.log.debug("inputs given: " + (", ".join(self._given()) or "none"))
        target = parse_target(self.values[TARGET], input_name=TARGET)
        settings = parse_settings(target, {spec.name: self.values[spec.name] for spec in INPUTS})
        self.settings = settings
        export_name = self._export_name()
        self._check_appendable("GITHUB_OUTPUT", "the outputs")
        raw_key = self.values[PRIVATE_KEY]
        if not raw_key.strip():
            raise InputError(
                "is required and was empty or not given",
                input_name=PRIVATE_KEY,
                hint="pass it from a secret, e.g. "
                "private-key: ${{ secrets.QLIK_JWT_PRIVATE_KEY }}; secrets are empty in "
                "workflows run from forks and by Dependabot",
            )
        self.log.debug(f"private-key given as {_key_format(raw_key)}")
        passphrase = self.values[PRIVATE_KEY_PASSPHRASE].strip("\r\n")
        minted = mint_from_text(
            settings,
            private_key=raw_key,
            passphrase=passphrase or None,
            certificate=self.values[CERTIFICATE].strip() or None,
            now=dt.datetime.now(dt.UTC),
            jti=new_jti(),
        )
        return target, settings, minted, export_name

    def _given(self) -> list[str]:
        return [item.name for item in ACTION_INPUTS if self.values[item.name].strip()]

    def _export_name(self) -> str | None:
        name = self.values[EXPORT_ENV].strip()
        if not name:
            return None
        if not ENV_NAME.fullmatch(name):
            raise InputError(
                f"{quoted(name)} is not an environment variable name",
                input_name=EXPORT_ENV,
                hint="use letters, digits and _, not starting with a digit, e.g. QLIK_JWT",
            )
        if is_reserved_env_name(name):
            raise InputError(
                f"{name!r} changes how later steps run (the runner's, the loader's, a shell's "
                "or an interpreter's own variable)",
                input_name=EXPORT_ENV,
                hint="PATH, BASH_ENV, LD_*, GITHUB_*, RUNNER_*, ACTIONS_*, NODE_OPTIONS and "
                "the like cannot be set; use e.g. QLIK_JWT",
            )
        self._check_appendable("GITHUB_ENV", f"the {EXPORT_ENV} variable")
        return name

    def _check_appendable(self, variable: str, what: str) -> None:
        """Fail before signing when a file command cannot be written, so no token is wasted."""
        path = self.env.get(variable, "")
        if not path:
            raise _RunnerFileError(
                f"{variable} is not set, so {what} cannot be written",
                hint="run this action as a step of a GitHub Actions job; "
                "elsewhere use the qs-jwt CLI",
            )
        try:
            with open(path, "a", encoding="utf-8"):
                pass
        except OSError as err:
            raise _RunnerFileError(
                f"{variable} ({path!r}) cannot be written: {err.strerror}",
                hint="the runner provides this file; check the job's container and mounts",
            ) from None

    # --- after the token is masked ---------------------------------------------------------

    def _after_mint(
        self, target: Target, settings: Settings, minted: Minted, export_name: str | None
    ) -> None:
        for finding in minted.warnings:
            self._warn(finding)
        self.log.debug(
            f"target {target.value}, algorithm {minted.header['alg']}, lifetime "
            f"{minted.expires_in} s, header fields {', '.join(minted.header)}, "
            f"claims {', '.join(minted.claims)}"
        )
        outputs = {
            "token": minted.token,
            "expires-at": iso_utc(minted.expires_at),
            "expires-in": str(minted.expires_in),
            "header": _compact(minted.header),
            "claims": _compact(minted.claims),
        }
        self._append("GITHUB_OUTPUT", "".join(self._pair(k, v) for k, v in outputs.items()))
        if export_name:
            self._append("GITHUB_ENV", self._pair(export_name, minted.token))
        self._write_summary(_summary(target, settings, minted))
        exported = f"; also in ${export_name} for the next steps" if export_name else ""
        # No user value in a plain line: the runner also reads "##[command]" anywhere in one.
        self.log.info(
            f"qs-jwt: minted a {_TARGET_LABEL[target]} token ({minted.header['alg']}), expires "
            f"at {outputs['expires-at']} (in {minted.expires_in} s). Outputs: "
            f"{', '.join(OUTPUTS)}{exported}; details in the step summary."
        )

    def _warn(self, finding: Finding) -> None:
        title = f"Check {finding.subject}" if finding.subject else "qs-jwt warning"
        self.log.annotate("warning", title, finding.render())

    def _pair(self, name: str, value: str) -> str:
        """``name<<DELIM`` / value / ``DELIM`` with a random delimiter, the runner's format."""
        return str(self._heredoc(name, value)) + "\n"

    def _append(self, variable: str, text: str) -> None:
        path = self.env.get(variable, "")
        try:
            with open(path, "a", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as err:
            raise _RunnerFileError(
                f"{variable} ({path!r}) cannot be written: {err.strerror}; "
                "the token was not passed on"
            ) from None

    def _write_summary(self, markdown: str) -> None:
        """The summary is a courtesy: a failure to write it is a warning, not a failed step."""
        path = self.env.get("GITHUB_STEP_SUMMARY", "")
        if not path:
            self.log.debug("GITHUB_STEP_SUMMARY is not set: no step summary")
            return
        try:
            with open(path, "a", encoding="utf-8", newline="") as handle:
                handle.write(markdown)
        except OSError as err:
            self.log.annotate("warning", "No step summary", f"GITHUB_STEP_SUMMARY: {err.strerror}")


def _secret_fragments(raw_key: str, passphrase: str) -> list[str]:
    """What to mask: each line of the key as given and as decoded, and the passphrase.

    The ``-----BEGIN/END ...-----`` lines are not secret; masking them would only garble
    unrelated log lines (for example a certificate printed by a later step).
    """
    lines = raw_key.splitlines()
    if raw_key.strip():
        with contextlib.suppress(QsjwtError):  # not a key at all: its raw lines are masked
            lines += (
                pem_from_text(raw_key, input_name=PRIVATE_KEY)
                .decode("utf-8", "replace")
                .splitlines()
            )
    fragments = [line.strip() for line in lines]
    fragments = [f for f in fragments if f and not _PEM_ARMOR.fullmatch(f)]
    fragments += [line.strip() for line in passphrase.splitlines()]
    return [f for f in dict.fromkeys(fragments) if f]


def _key_format(raw: str) -> str:
    """How the key text was encoded (not its content), for debug logs."""
    text = raw.strip()
    if "-----BEGIN" not in text:
        return "base64 (no PEM header)"
    return "PEM with \\n escapes" if "\n" not in text and "\\n" in text else "PEM"


def _title(err: QsjwtError) -> str:
    if isinstance(err, _RunnerFileError):
        return "Cannot write step outputs"
    if isinstance(err, KeyMaterialError):
        return f"Unusable {err.input_name or 'key material'}"
    if isinstance(err, InputError):
        return f"Invalid input {err.input_name}" if err.input_name else "Invalid input"
    return "No token was made"


def _compact(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _who(settings: Settings) -> str:
    if isinstance(settings, QseowSettings):
        return f"{settings.user_directory}\\{settings.user_id}"
    return settings.subject


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~])")


def _md(text: str) -> str:
    """Plain text for Markdown: user values must not turn into links, images or HTML.

    Values are single lines (settings reject line breaks) and never start a line here, so
    escaping inline syntax and the table's ``|`` is enough.
    """
    return _MD_SPECIAL.sub(r"\\\1", text)


def _summary(target: Target, settings: Settings, minted: Minted) -> str:
    """Markdown for the run's page: what was minted for whom, never the token."""
    rows = [("Target", f"{_TARGET_LABEL[target]} (`{target.value}`)")]
    if isinstance(settings, QseowSettings):
        rows += [("User", _md(_who(settings)))]
    else:
        rows += [
            ("Subject", _md(settings.subject)),
            ("User", _md(f"{settings.name} <{settings.email}>")),
            ("Issuer", _md(settings.issuer)),
            ("Key id", _md(settings.key_id)),
        ]
    rows += [
        ("Algorithm", _md(minted.header["alg"])),
        ("Expires at", f"{iso_utc(minted.expires_at)} (in {minted.expires_in} s)"),
    ]
    lines = ["## Qlik Sense JWT", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += [
        "",
        "Claims (the token itself is in the `token` output and is never shown):",
        "",
        "```json",
        json.dumps(minted.claims, indent=2, ensure_ascii=False),
        "```",
        "",
    ]
    if minted.warnings:
        lines += ["Warnings:", ""]
        lines += [f"- {_md(finding.render())}" for finding in minted.warnings]
        lines += [""]
    return "\n".join(lines) + "\n"
