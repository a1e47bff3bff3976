"""Start-up of the single-file executable against the one-folder build, the installed
``qs-jwt`` console script and ``python -m qsjwt``, all measured in the same run, interleaved.

Run: ``.venv/bin/python benchmarks/bench_binary.py [--runs N] [--rss-runs M]`` (``make bench``
runs it). It builds both PyInstaller forms with ``scripts/build-binary.sh`` (the hash-locked
venv ``.venv-binary``; about a minute the first time) into a temporary directory, and the same
regular install as ``benchmarks/bench_cold.py`` (``requirements/runtime.txt``, then qs-jwt as
``pip install --no-deps .`` installs it). Then each form runs round-robin: ``--version``
(start-up alone) and one QSEoW token (RS256, a 2048-bit RSA key: start-up plus the work), each
token verified once before the clock starts.

The one-file executable unpacks its libraries and Python modules into a new temporary
directory at every start and deletes it at exit; the one-folder build has them unpacked beside
it. Printed: the load average before and after, medians of wall time and of peak RSS, the sizes,
and the ratios one-file / one-folder (what unpacking costs), one-file / console script and
one-folder / console script (docs/performance.md, docs/binaries.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jwt
from bench_cold import ENV, installed_venv, machine, measure, write_key

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build-binary.sh"
FORMS = ("one-file", "one-folder", "qs-jwt (console script)", "python -m qsjwt")


def build(out: Path, *, onedir: bool) -> Path:
    """The executable that scripts/build-binary.sh made (it prints the path)."""
    args = ["bash", str(SCRIPT), "--out", str(out), *(["--onedir"] if onedir else [])]
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"build-binary.sh failed:\n{proc.stderr[-3000:]}")
    return Path(proc.stdout.strip())


def size_mib(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--rss-runs", type=int, default=5, help="peak-RSS rounds (default 5)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="qsjwt-bench-binary-") as tmp:
        work = Path(tmp)
        onefile = build(work / "onefile", onedir=False)
        onedir = build(work / "onedir", onedir=True)
        key, private = write_key(work)
        bin_dir = installed_venv(work)
        token = ["qseow", "--user-id", "alice", "--user-directory", "CORP"]
        token += ["--private-key-file", str(key)]
        argv = dict(
            zip(
                FORMS,
                (
                    [str(onefile)],
                    [str(onedir)],
                    [str(bin_dir / "qs-jwt")],
                    [str(bin_dir / "python"), "-m", "qsjwt"],
                ),
                strict=True,
            )
        )
        for name, command in argv.items():  # each form signs a token that verifies
            done = subprocess.run(
                [*command, *token], env=ENV, capture_output=True, text=True, check=True
            )
            claims = jwt.decode(done.stdout.strip(), private.public_key(), algorithms=["RS256"])
            assert claims["userId"] == "alice", name
        commands = {f"{name} --version": [*a, "--version"] for name, a in argv.items()}
        commands |= {f"{name} qseow": [*a, *token] for name, a in argv.items()}
        times, rss, rss_source = measure(commands, args.runs, args.rss_runs, work)
        sizes = {"one-file": size_mib(onefile), "one-folder": size_mib(onedir.parent)}
    load_after = os.getloadavg()[0]
    print(f"single-file executable start-up: {machine()}")
    print(f"  medians: wall time of {args.runs} rounds, peak RSS of {args.rss_runs} ({rss_source})")
    print(
        f"  load average {load_before:.2f} before, {load_after:.2f} after (near the CPU count "
        "or above it, the times are not comparable; the ratios hold better)"
    )
    for name in commands:
        print(f"  {name:34} {times[name] * 1e3:7.1f} ms  {rss[name]:6.1f} MiB")
    for name, mib in sizes.items():
        print(f"  size {name:29} {mib:7.1f} MiB")
    for what in ("--version", "qseow"):
        one, folder, script, module = (times[f"{name} {what}"] for name in FORMS)
        print(
            f"  {what:9} ratio one-file / one-folder {one / folder:.2f} (unpacking: "
            f"{(one - folder) * 1e3:.0f} ms), one-file / console script {one / script:.2f}, "
            f"one-folder / console script {folder / script:.2f}, python -m qsjwt / console "
            f"script {module / script:.2f}"
        )


if __name__ == "__main__":
    main()
