"""Where the console script's start goes, counted in instructions, which the load of a shared
machine does not move the way it moves wall time.

Run: ``.venv/bin/python benchmarks/bench_cold_instructions.py [--runs N]`` (not part of ``make
bench``: it needs ``valgrind`` and takes a minute or two). In a venv installed as
``bench_cold.py`` installs it, ``valgrind --tool=callgrind`` counts the instructions of the
console script, ``python -m qsjwt``, the bare signer and ``python -c pass``, and of the bare
signer run after importing ``qsjwt.cli`` as the console script does (the collector off, so
cryptography's imports are spared its passes too). A mint imports no standard module the bare
signer does not (``tests/test_layers.py`` keeps ``argparse`` and ``datetime`` off its path), so
the difference against the bare signer run through the same driver is qs-jwt's own modules;
what is left of the console script's extra instructions is its run. Instructions are not time
(the ratio to the bare signer comes out higher in instructions than in ``bench_cold.py``'s wall
time), but a change that removes instructions from the mint path shows here on any machine,
busy or not.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench_cold import (
    BARE,
    BARE_SIGNER,
    CONSOLE,
    ENV,
    MODULE,
    installed_venv,
    python_commands,
    write_key,
)

_DRIVER = """import gc, runpy, sys
modules = list(filter(None, sys.argv[1].split(",")))
if modules:  # as qsjwt.__main__ imports the command line: the collector off, then frozen
    gc.disable()
    for name in modules:
        __import__(name)
    gc.freeze()
    gc.enable()
sys.argv = [sys.argv[2], sys.argv[3]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
"""``python -c _DRIVER MODULES BARE_SIGNER KEY``: the bare signer after importing MODULES the
way the console script imports the command line."""

AFTER_IMPORTS = "bare after importing qsjwt.cli"
OWN = "qs-jwt's own modules"
RUN = "the run, beyond the bare signer's"


def instructions(valgrind: str, command: list[str]) -> int:
    """The instructions one run of ``command`` executes, as callgrind counts them."""
    done = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise SystemExit(f"no instruction count from callgrind for {command[:3]}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="counts per command (median)")
    runs = parser.parse_args().runs
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("cold-start instructions: skipped (no valgrind)")
        return
    with tempfile.TemporaryDirectory(prefix="qsjwt-bench-") as tmp:
        work = Path(tmp)
        key, _ = write_key(work)
        bin_dir = installed_venv(work)
        commands = python_commands(bin_dir, key)
        python = commands["python -c pass"][0]
        driver = [python, "-c", _DRIVER]
        commands["bare, through the driver"] = [*driver, "", str(BARE_SIGNER), str(key)]
        commands[AFTER_IMPORTS] = [*driver, "qsjwt.cli", str(BARE_SIGNER), str(key)]
        for command in commands.values():  # each works; a .pyc not written yet is written
            subprocess.run(command, env=ENV, capture_output=True, check=True)
        counts = {
            name: float(statistics.median(instructions(valgrind, command) for _ in range(runs)))
            for name, command in commands.items()
        }
    print(f"cold start, one RS256 token: million instructions (callgrind, median of {runs})")
    for name, count in counts.items():
        print(f"  {name:50} {count / 1e6:7.1f}")
    extra = counts[CONSOLE] - counts[BARE]
    print(
        f"  ratio console script / bare cryptography: {counts[CONSOLE] / counts[BARE]:.2f} "
        f"(python -m qsjwt / bare: {counts[MODULE] / counts[BARE]:.2f}); "
        f"the console script's {extra / 1e6:.1f} M above the bare signer:"
    )
    own = counts[AFTER_IMPORTS] - counts["bare, through the driver"]
    print(f"    {OWN:46} {own / 1e6:7.1f} M")
    print(f"    {RUN:46} {(extra - own) / 1e6:7.1f} M")


if __name__ == "__main__":
    main()
