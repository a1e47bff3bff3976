"""The GitHub runner's side of the action: log commands, masks, file commands, flushed lines.

The only module that imports actions-toolkit, and only when ``GITHUB_ACTIONS`` is ``true``
(``entry.main`` checks before calling ``github_runner``): outside GitHub the toolkit prints
outputs as ``::set-output`` lines, a token in clear text.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from qsjwt.action.schema import ACTION_INPUTS, BY_VARIABLE
from qsjwt.base.display import escape_controls, one_line
from qsjwt.base.errors import OutputError
from qsjwt.base.findings import Finding
from qsjwt.base.formats import as_bytes
from qsjwt.base.inputs import PRIVATE_KEY

Command = Callable[[str, dict[str, str], str], None]
"""``actions_toolkit.command.issue_command``: ``::kind key=value::message``, escaped"""


class LogGoneError(Exception):
    """stdout cannot take a line: a mask may not have reached the runner."""


@dataclass(frozen=True)
class Runner:
    """The GitHub runner's side: log commands through actions-toolkit, and its file format."""

    set_secret: Callable[[str], None]
    command: Command
    heredoc: Callable[[str, str], str]
    """``name<<DELIM`` / value / ``DELIM`` with a random delimiter"""
    debugging: bool


def github_runner(environ: Mapping[str, str]) -> Runner:
    """The runner through actions-toolkit: call only where ``GITHUB_ACTIONS`` is ``true``."""
    from actions_toolkit import core  # noqa: PLC0415 (only on GitHub: see the docstring)
    from actions_toolkit.command import issue_command  # noqa: PLC0415
    from actions_toolkit.file_command import prepare_key_value_message  # noqa: PLC0415

    return Runner(
        core.set_secret,
        issue_command,
        prepare_key_value_message,
        debugging=environ.get("RUNNER_DEBUG") == "1",
    )


def utf8_stdout() -> None:
    """The runner reads UTF-8 whatever PYTHONIOENCODING says; what UTF-8 cannot hold (bytes
    that were not UTF-8) is escaped, never a crash."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(OSError, ValueError):
            reconfigure(encoding="utf-8", errors="backslashreplace")


class Step:
    """What one run prints and writes, each line flushed at once."""

    def __init__(self, env: Mapping[str, str], runner: Runner) -> None:
        self.env = env
        self.runner = runner

    def _print(self, emit: Callable[[], object]) -> None:
        try:
            emit()
            sys.stdout.flush()
        except (OSError, ValueError, AttributeError) as err:  # closed, full, or no stdout
            raise LogGoneError from err

    def mask(self, value: str) -> None:
        if value.strip():
            # Bytes that are not UTF-8 arrive as surrogate escapes, which stdout cannot write.
            secret = as_bytes(value).decode("utf-8", "replace")
            self._print(lambda: self.runner.set_secret(secret))

    def annotate(self, kind: str, title: str, message: str) -> None:
        # The toolkit escapes only % CR LF: an ESC or "##[" (read anywhere) is ours to escape.
        text = escape_controls(message)
        self._print(lambda: self.runner.command(kind, {"title": escape_controls(title)}, text))

    def warn(self, finding: Finding) -> None:
        title = f"Check {finding.subject}" if finding.subject else "qs-jwt warning"
        self.annotate("warning", title, finding.render())

    def debug(self, message: str) -> None:
        if self.runner.debugging:
            self._print(lambda: self.runner.command("debug", {}, escape_controls(message)))

    def info(self, message: str) -> None:
        self._print(lambda: sys.stdout.write(message + "\n"))

    def notes(self, values: Mapping[str, str]) -> None:
        """What was given, after the masks: unknown input names, and (debug) which inputs."""
        unknown = sorted(
            var for var in self.env if var.startswith("INPUT_") and var not in BY_VARIABLE
        )
        if unknown:
            described = []
            for var in unknown:
                name = var.removeprefix("INPUT_").lower()
                guess = name.replace("_", "-")
                known = "INPUT_" + guess.upper() in BY_VARIABLE
                described.append(one_line(name) + (f" (did you mean {guess}?)" if known else ""))
            valid = ", ".join(item.name for item in ACTION_INPUTS)
            self.annotate(
                "warning",
                "Unknown input",
                f"Unexpected input(s) {', '.join(described)} are ignored; valid inputs are: "
                f"{valid}",
            )
        given = [item.name for item in ACTION_INPUTS if values[item.name].strip()]
        self.debug("inputs given: " + (", ".join(given) or "none"))
        if values[PRIVATE_KEY].strip():
            self.debug(f"private-key given as {_key_format(values[PRIVATE_KEY])}")

    def check_writable(self, variable: str, what: str) -> None:
        """Fail before signing when a file command cannot be written, so no token is wasted."""
        path = self.env.get(variable, "")
        if not path:
            raise OutputError(
                f"{variable} is not set, so {what} cannot be written",
                hint="run this action as a step of a GitHub Actions job; "
                "elsewhere use the qs-jwt CLI",
            )
        try:
            with open(path, "a", encoding="utf-8"):
                pass
        except OSError as err:
            raise OutputError(
                f"{variable} ({one_line(path)}) cannot be written: {err.strerror}",
                hint="the runner provides this file; check the job's container and mounts",
            ) from None

    def append(self, variable: str, pairs: Mapping[str, str]) -> None:
        path = self.env.get(variable, "")
        text = "".join(
            str(self.runner.heredoc(name, value)) + "\n" for name, value in pairs.items()
        )
        try:
            with open(path, "a", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as err:
            raise OutputError(
                f"{variable} ({one_line(path)}) cannot be written: {err.strerror}; "
                "the token was not passed on"
            ) from None

    def summary(self, markdown: str) -> None:
        """The summary is a courtesy: a failure to write it is a warning, not a failed step."""
        path = self.env.get("GITHUB_STEP_SUMMARY", "")
        if not path:
            self.debug("GITHUB_STEP_SUMMARY is not set: no step summary")
            return
        try:
            with open(path, "a", encoding="utf-8", newline="") as handle:
                handle.write(markdown)
        except OSError as err:
            self.annotate("warning", "No step summary", f"GITHUB_STEP_SUMMARY: {err.strerror}")

    def failed(self, code: str, input_name: str | None, title: str, message: str) -> int:
        """One ``::error`` and the error outputs (never a value); exit code 1."""
        failure = {"error-code": code}
        if input_name:
            failure["error-input"] = input_name
        with contextlib.suppress(OutputError, OSError):
            self.append("GITHUB_OUTPUT", failure)
        try:
            self.annotate("error", title, message)
        except LogGoneError:
            return self.log_gone()
        return 1

    def log_gone(self) -> int:
        """stdout is closed or full: stop, pass nothing on, and say so where it can be said."""
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stdout = sys.stdout.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, stdout)  # what Python flushes at exit goes nowhere: a quiet exit
            os.close(null)
        with contextlib.suppress(OutputError, OSError):
            self.append("GITHUB_OUTPUT", {"error-code": OutputError.code})
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.write(
                "qs-jwt: error: the log (stdout) cannot be written, so a mask may not have "
                "reached the runner; no token was passed on\n"
            )
            sys.stderr.flush()
        return 1


def _key_format(raw: str) -> str:
    """How the key text was encoded (not its content), for debug logs."""
    text = raw.strip()
    if "-----BEGIN" not in text:
        return "base64 (no PEM header)"
    return "PEM with \\n escapes" if "\n" not in text and "\\n" in text else "PEM"
