"""A simulated GitHub runner for the action's tests: environment, file commands, log parsing.

It follows what actions/runner does for a container action (see
shared/reference/github-actions-and-gitlab.md §2): every input declared in ``action.yml`` is
sent, as an empty string when not given, named ``INPUT_`` + the upper-cased name with its
hyphens kept; ``GITHUB_OUTPUT``, ``GITHUB_ENV`` and ``GITHUB_STEP_SUMMARY`` are files; the file
commands are parsed after the step with the rules of ``FileCommandManager.EnvFileKeyValuePairs``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "entrypoint.py"
MASK = "::add-mask::"


class FileCommandError(ValueError):
    """The runner would fail the step: ``Unable to process file command ... successfully``."""


def _read_line(text: str, index: int) -> tuple[str | None, str | None, int]:
    """(line, its newline or None at end of file, next index): the runner's ReadLine."""
    if index >= len(text):
        return None, None, index
    end = text.find("\n", index)
    if end < 0:
        return text[index:], None, len(text)
    if end > index and text[end - 1] == "\r":
        return text[index : end - 1], "\r\n", end + 1
    return text[index:end], "\n", end + 1


def parse_file_command(text: str) -> dict[str, str]:
    """``NAME=VALUE`` and ``NAME<<DELIM`` / lines / ``DELIM`` pairs, read as the runner reads them
    (a port of ``FileCommandManager.EnvFileKeyValuePairs``), raising where the step would fail."""
    pairs: dict[str, str] = {}
    line, _, index = _read_line(text, 0)
    while line is not None:
        if line:
            equals, heredoc = line.find("="), line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                pairs[line[:equals]] = line[equals + 1 :]
            elif heredoc >= 0:
                name, delimiter = line[:heredoc], line[heredoc + 2 :]
                if not name or not delimiter:
                    raise FileCommandError(
                        f"Invalid format '{line}'. Name must not be empty and delimiter must "
                        "not be empty"
                    )
                start = end = index
                current, newline, index = _read_line(text, index)
                while current != delimiter:
                    if current is None:
                        raise FileCommandError(
                            f"Invalid value. Matching delimiter not found '{delimiter}'"
                        )
                    if newline is None:
                        raise FileCommandError("Invalid value. EOF marker missing new line.")
                    end = index - len(newline)
                    current, newline, index = _read_line(text, index)
                pairs[name] = text[start:end] if end > start else ""
            else:
                raise FileCommandError(f"Invalid format '{line}'")
        line, _, index = _read_line(text, index)
    return pairs


# --- workflow commands on stdout ------------------------------------------------------------

_COMMAND = re.compile(r"::([A-Za-z-]+)(?: ([^:]*))?::(.*)")


@dataclass(frozen=True)
class Command:
    name: str
    properties: dict[str, str]
    data: str


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def parse_command(line: str) -> Command | None:
    """A workflow command the runner would act on, or None for a plain log line."""
    match = _COMMAND.fullmatch(line.strip())
    if match is None:
        return None
    properties: dict[str, str] = {}
    for item in (match.group(2) or "").split(","):
        if item:
            key, _, value = item.partition("=")
            properties[key] = unescape_property(value)
    return Command(match.group(1), properties, unescape_data(match.group(3)))


# --- one run of the action ------------------------------------------------------------------


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    output_file: str
    env_file: str
    summary: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def masks(self) -> list[str]:
        return [unescape_data(line[len(MASK) :]) for line in self.lines if line.startswith(MASK)]

    @property
    def commands(self) -> list[Command]:
        return [c for c in map(parse_command, self.lines) if c is not None]

    def annotations(self, kind: str) -> list[Command]:
        return [c for c in self.commands if c.name == kind]

    @property
    def outputs(self) -> dict[str, str]:
        return parse_file_command(self.output_file)

    @property
    def exported(self) -> dict[str, str]:
        return parse_file_command(self.env_file)

    def everything_but_masks(self, *, exported: bool = False) -> str:
        """Every place a secret must not show: the log (mask lines aside), summary, files."""
        log = "\n".join(line for line in self.lines if not line.startswith(MASK))
        outputs = parse_file_command(self.output_file) if self.output_file else {}
        outputs.pop("token", None)
        outputs.pop("access-token", None)
        env_file = "" if exported else self.env_file  # the caller checks the exported pair
        return "\n".join([log, self.stderr, self.summary, env_file, *outputs.values()])


@dataclass
class Runner:
    """A fresh runner directory with the file commands of one step."""

    root: Path
    declared: Iterable[str]
    files: dict[str, Path] = field(init=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.files = {
            "GITHUB_OUTPUT": self.root / "set_output",
            "GITHUB_ENV": self.root / "set_env",
            "GITHUB_STEP_SUMMARY": self.root / "step_summary",
        }
        for path in self.files.values():
            path.touch()

    def environment(
        self, inputs: Mapping[str, str], extra: Mapping[str, str | None] | None = None
    ) -> dict[str, str]:
        """The container environment for ``inputs`` (action.yml names), as the runner sets it."""
        env = {
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "HOME": str(self.root),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # Windows: a process without SYSTEMROOT cannot start Python's sockets or crypto
            **{k: os.environ[k] for k in ("SYSTEMROOT",) if k in os.environ},
            **{var: str(path) for var, path in self.files.items()},
        }
        for name in self.declared:
            env["INPUT_" + name.upper()] = ""
        for name, value in inputs.items():
            env["INPUT_" + name.upper()] = value
        for key, extra_value in (extra or {}).items():
            if extra_value is None:
                env.pop(key, None)
            else:
                env[key] = extra_value
        return env

    def collect(self, code: int, stdout: str, stderr: str, env: dict[str, str]) -> Result:
        def read(var: str) -> str:
            path = env.get(var)
            return Path(path).read_text(encoding="utf-8") if path and Path(path).is_file() else ""

        return Result(
            code,
            stdout,
            stderr,
            read("GITHUB_OUTPUT"),
            read("GITHUB_ENV"),
            read("GITHUB_STEP_SUMMARY"),
            env,
        )

    def run_in_process(
        self,
        main: Callable[[Mapping[str, str]], int],
        capture: Callable[[], tuple[str, str]],
        inputs: Mapping[str, str],
        extra: Mapping[str, str | None] | None = None,
    ) -> Result:
        env = self.environment(inputs, extra)
        capture()  # drop what came before
        code = main(env)
        out, err = capture()
        return self.collect(code, out, err, env)

    def run_process(
        self,
        inputs: Mapping[str, str],
        extra: Mapping[str, str | None] | None = None,
        *,
        merge_stderr: bool = False,
        argv: list[str] | None = None,
    ) -> Result:
        """``python entrypoint.py`` with pipes, as the container runs it (no PYTHONUNBUFFERED:
        the action must flush on its own)."""
        env = self.environment(inputs, extra)
        proc = subprocess.run(
            argv or [sys.executable, str(ENTRYPOINT)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            text=True,
            check=False,
            timeout=60,
            cwd=self.root,
        )
        return self.collect(proc.returncode, proc.stdout, proc.stderr or "", env)
