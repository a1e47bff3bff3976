"""Start-up of the single-file executable against the one-folder build and ``python -m qsjwt``,
all measured in the same run, interleaved.

Run: ``.venv/bin/python benchmarks/bench_binary.py [--runs N]`` (``make bench`` runs it). It
builds both PyInstaller forms with ``scripts/build-binary.sh`` (the hash-locked venv
``.venv-binary``; about a minute the first time) into a temporary directory, then runs each
command round-robin: ``--version`` (start-up alone) and one QSEoW token (RS256, a 2048-bit RSA
key, start-up plus the work). ``python -m qsjwt`` runs from the same kind of plain venv as
``benchmarks/bench_cold.py`` (the checkout and the locked dependencies as plain paths, .pyc
written), so the three differ only in how Python and qs-jwt are packed.

The one-file executable unpacks its libraries and Python modules into a new temporary
directory at every start and deletes it at exit; the one-folder build has them unpacked beside
it. Printed: medians of wall time and of peak RSS, the sizes, and the ratios one-file / python,
one-folder / python and one-file / one-folder (docs/performance.md, docs/binaries.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_cold import measure, plain_venv
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build-binary.sh"


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
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="qsjwt-bench-binary-") as tmp:
        work = Path(tmp)
        onefile = build(work / "onefile", onedir=False)
        onedir = build(work / "onedir", onedir=True)
        key = work / "key.pem"
        key.write_bytes(
            rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key.chmod(0o600)
        python = str(plain_venv(work))
        token = ["qseow", "--user-id", "alice", "--user-directory", "CORP"]
        token += ["--private-key-file", str(key)]
        forms = {
            "one-file": [str(onefile)],
            "one-folder": [str(onedir)],
            "python -m qsjwt": [python, "-m", "qsjwt"],
        }
        commands = {f"{name} --version": [*argv, "--version"] for name, argv in forms.items()}
        commands |= {f"{name} qseow": [*argv, *token] for name, argv in forms.items()}
        results = measure(commands, runs)
        sizes = {"one-file": size_mib(onefile), "one-folder": size_mib(onedir.parent)}
    print(
        f"single-file executable start-up, {runs} runs each, medians (os.cpu_count()="
        f"{os.cpu_count()}, Python {sys.version.split()[0]})"
    )
    for name, (seconds, mib) in results.items():
        print(f"  {name:28} {seconds * 1e3:7.1f} ms  {mib:6.1f} MiB peak RSS")
    for name, mib in sizes.items():
        print(f"  size {name:23} {mib:7.1f} MiB")
    for what in ("--version", "qseow"):
        one = results[f"one-file {what}"][0]
        folder = results[f"one-folder {what}"][0]
        py = results[f"python -m qsjwt {what}"][0]
        print(
            f"  {what:10} ratio one-file / python {one / py:.2f}, one-folder / python "
            f"{folder / py:.2f}, one-file / one-folder {one / folder:.2f} "
            f"(unpacking: {(one - folder) * 1e3:.0f} ms)"
        )


if __name__ == "__main__":
    main()
