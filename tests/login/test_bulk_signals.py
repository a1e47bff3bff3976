"""``qs-jwt bulk`` under signals (issue 19), as a real process with a pool of workers: a worker
killed outright ends the run (exit 1, no output, a message that says so) instead of a wait for
ever; SIGTERM, SIGHUP or Ctrl-C to the process group stops every worker at once, with the
documented exit code and no traceback; the output file is whole or absent, never a part."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import KeyPair

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="reads a process's children from /proc"
)

USERS = 40_000
"""Enough rows that two workers sign for several seconds: the signal comes mid-run."""


@dataclass
class Bulk:
    process: subprocess.Popen[str]
    output: Path

    def workers(self) -> list[int]:
        """The pool's worker processes (the children of the run)."""
        found: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            children = (task / "children").read_text().split()
            found.extend(int(pid) for pid in children)
        return found

    def wait_for_workers(self, count: int) -> list[int]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(pids := self.workers()) >= count:
                time.sleep(0.5)  # each has loaded the key and is signing
                return pids
            time.sleep(0.05)
        pytest.fail("the workers never started")

    def finish(self) -> tuple[int, str, str, float]:
        started = time.monotonic()
        out, err = self.process.communicate(timeout=30)
        return self.process.returncode, out, err, time.monotonic() - started


@pytest.fixture
def bulk(tmp_path: Path, rsa_pair: KeyPair) -> Iterator[Bulk]:
    users = tmp_path / "users.csv"
    users.write_text("user-id\n" + "".join(f"user{n}\n" for n in range(USERS)))
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    output = tmp_path / "tokens.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSJWT_")}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "qsjwt", "bulk", "--target", "qseow"),
            *("--users-file", str(users), "--user-directory", "LOAD"),
            *("--private-key-file", str(key), "--jobs", "2", "--output", str(output)),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, for the Ctrl-C case
    )
    try:
        yield Bulk(process, output)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def gone(pids: list[int]) -> bool:
    """Whether each of ``pids`` has ended (a zombie waiting for its parent counts as ended)."""
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        if state != "Z":
            return False
    return True


def test_a_killed_worker_ends_the_run_with_no_output(bulk: Bulk) -> None:
    workers = bulk.wait_for_workers(2)
    os.kill(workers[0], signal.SIGKILL)
    code, out, err, took = bulk.finish()
    assert code == 1, err
    assert "a worker process died" in err and "no token was output" in err
    assert out == "" and not bulk.output.exists()
    assert "Traceback" not in err and took < 20


@pytest.mark.usefixtures("hangup_at_default")
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)]
)
def test_a_signal_stops_every_worker_at_once(bulk: Bulk, signum: int, code: int) -> None:
    workers = bulk.wait_for_workers(2)
    if signum == signal.SIGINT:
        os.killpg(bulk.process.pid, signum)  # Ctrl-C: the whole group, workers included
    else:
        os.kill(bulk.process.pid, signum)
    exit_code, out, err, took = bulk.finish()
    assert exit_code == code, err
    assert took < 5 and gone(workers)
    assert out == "" and not bulk.output.exists()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "BrokenPipeError" not in err
    assert f"stopped by {signal.Signals(signum).name}" in err
