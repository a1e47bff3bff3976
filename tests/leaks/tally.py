"""Counts for the leak suite's closing line: cases, modes, runs, leaks, seconds per mode."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import pytest


@dataclass
class Tally:
    runs: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    leaks: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def record(self, mode: str, case_id: str, *, leaks: int, failed: bool) -> None:
        self.runs[mode].add(case_id)
        self.leaks[mode] += leaks
        self.failed[mode] += int(failed)

    def timed(self, mode: str, seconds: float) -> None:
        self.seconds[mode] += seconds

    def lines(self) -> list[str]:
        if not self.runs:
            return []
        cases = set().union(*self.runs.values())
        total = sum(len(ids) for ids in self.runs.values())
        leaks = sum(self.leaks.values())
        failed = sum(self.failed.values())
        head = (
            f"leak suite: {len(cases)} cases x {len(self.runs)} modes = {total} runs, "
            f"{leaks} leaks, {failed} failed"
        )
        body = [
            f"  {mode}: {len(ids)} cases, {self.leaks[mode]} leaks"
            + (f", {self.seconds[mode]:.1f} s" if mode in self.seconds else "")
            for mode, ids in sorted(self.runs.items())
        ]
        body += [
            f"  {name}: {seconds:.1f} s"
            for name, seconds in sorted(self.seconds.items())
            if name not in self.runs
        ]
        return [head, *body]


TALLY = Tally()


class Timer:
    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __enter__(self) -> Timer:
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        TALLY.timed(self.mode, time.monotonic() - self.started)


class _Reporter:
    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        lines = TALLY.lines()
        if lines:
            terminalreporter.write_sep("-", "leak suite")
            for line in lines:
                terminalreporter.write_line(line)


def ensure_reporter(config: pytest.Config) -> None:
    """Print the tally once at the end of the session, from whichever module ran first."""
    if not config.pluginmanager.has_plugin("qsjwt-leak-tally"):
        config.pluginmanager.register(_Reporter(), "qsjwt-leak-tally")
