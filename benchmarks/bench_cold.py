"""One token from a cold process: ``qs-jwt qseow`` against a minimal Node ``jsonwebtoken`` script
and a bare ``cryptography`` signer, all measured in the same run, interleaved.

Run: ``.venv/bin/python benchmarks/bench_cold.py [--runs N]`` (``make bench`` runs it). Each
command signs the same QSEoW claims with the same 2048-bit RSA key (RS256) and prints the token.
The Python commands run from a throw-away venv whose ``.pth`` puts this checkout and the locked
dependencies on ``sys.path`` as plain paths, as a regular (not editable) install would: the
editable install's import hook alone costs several milliseconds at every start. The Node script
(``benchmarks/node``) is installed with ``npm ci`` from its lock file when ``node`` and ``npm``
exist, and skipped otherwise.

Printed: the median wall time and the median peak RSS (``ru_maxrss`` of each child) of every
command, and the ratios ``qs-jwt / node`` (target at most 0.65) and ``qs-jwt / bare``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "benchmarks" / "node"
TARGET_RATIO = 0.65
TARGET_RSS_MIB = 30.0


def plain_venv(work: Path) -> Path:
    """A venv without pip whose site-packages holds one ``.pth``: the checkout, then the
    current interpreter's site-packages (its own ``.pth`` files, the editable hook among them,
    are not read from there)."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    here = sysconfig.get_paths()["purelib"]
    Path(purelib, "qsjwt-bench.pth").write_text(f"{ROOT}\n{here}\n")
    return python


def node_command(key: Path) -> list[str] | None:
    """``node sign.js KEY`` once ``npm ci`` has installed the pinned jsonwebtoken; None when
    Node is not installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None
    if not (NODE_DIR / "node_modules" / "jsonwebtoken").is_dir():
        subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--silent"],
            cwd=NODE_DIR,
            check=True,
        )
    return [node, str(NODE_DIR / "sign.js"), str(key)]


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds from spawn to exit, and the child's peak RSS in MiB."""
    start = time.perf_counter()
    pid = os.posix_spawn(command[0], command, _ENV, file_actions=_QUIET)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:3]} failed with exit code {status}")
    return seconds, usage.ru_maxrss / 1024


_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
"""As installed: the warm-up runs write the .pyc files that ``pip install`` would have made."""
_DEVNULL = os.open(os.devnull, os.O_WRONLY)
_QUIET = [(os.POSIX_SPAWN_DUP2, _DEVNULL, 1), (os.POSIX_SPAWN_DUP2, _DEVNULL, 2)]


def measure(commands: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """Median (seconds, MiB) of each command, run round-robin so drift hits all alike."""
    for command in commands.values():  # warm the page cache and write the .pyc files
        for _ in range(3):
            run_once(command)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(run_once(command))
    return {
        name: (
            statistics.median(s for s, _ in values),
            statistics.median(m for _, m in values),
        )
        for name, values in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="qsjwt-bench-") as tmp:
        work = Path(tmp)
        key = work / "key.pem"
        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        key.write_bytes(pem)
        key.chmod(0o600)
        python = str(plain_venv(work))
        commands = {
            "qs-jwt qseow": [
                python,
                "-m",
                "qsjwt",
                "qseow",
                "--user-id",
                "alice",
                "--user-directory",
                "CORP",
                "--private-key-file",
                str(key),
            ],
            "bare cryptography": [python, str(ROOT / "benchmarks" / "bare_signer.py"), str(key)],
            "python -c pass": [python, "-c", "pass"],
        }
        node = node_command(key)
        if node is not None:
            commands["node jsonwebtoken"] = node
            commands["node -e 0"] = [node[0], "-e", "0"]
        results = measure(commands, runs)
    print(
        f"cold start, one RS256-2048 token, {runs} runs each, medians (os.cpu_count()="
        f"{os.cpu_count()})"
    )
    for name, (seconds, mib) in results.items():
        print(f"  {name:20} {seconds * 1e3:7.1f} ms  {mib:6.1f} MiB peak RSS")
    ours, ours_mib = results["qs-jwt qseow"]
    bare = results["bare cryptography"][0]
    print(f"  ratio qs-jwt / bare cryptography: {ours / bare:.2f}")
    if "node jsonwebtoken" in results:
        node_seconds = results["node jsonwebtoken"][0]
        verdict = "met" if ours / node_seconds <= TARGET_RATIO else "NOT met"
        print(
            f"  ratio qs-jwt / node jsonwebtoken: {ours / node_seconds:.2f} "
            f"(target <= {TARGET_RATIO}: {verdict}); bare / node: {bare / node_seconds:.2f}"
        )
    else:
        print("  node jsonwebtoken: skipped (node or npm not installed)")
    verdict = "met" if ours_mib <= TARGET_RSS_MIB else "NOT met"
    print(f"  qs-jwt peak RSS {ours_mib:.1f} MiB (target <= {TARGET_RSS_MIB:.0f}: {verdict})")


if __name__ == "__main__":
    main()
