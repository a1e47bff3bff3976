"""One token from a cold process, as users run it: the ``qs-jwt`` console script of a regular
install against a bare ``cryptography`` signer, Node with jsonwebtoken and Node qs-jwt 1.14.1,
all measured in the same run, interleaved.

Run: ``.venv/bin/python benchmarks/bench_cold.py [--runs N] [--rss-runs M]`` (``make bench``
runs it). Once a run it builds a throw-away venv in a temporary directory: the hash-locked
``requirements/runtime.txt``, then qs-jwt from a copy of this checkout as ``pip install
--no-deps .`` installs it (a wheel built with the locked setuptools, installed by the locked
pip, ``.pyc`` files compiled; no ``.pth`` path, no editable hook). From that venv it runs the
``qs-jwt`` script that pip generated, ``python -m qsjwt``, the bare signer
(``benchmarks/bare_signer.py``: the same claims, ``cryptography`` alone, no checks) and
``python -c pass``. Node's references are installed with ``npm ci`` from their lock files when
``node`` and ``npm`` exist (``scripts/host-tools.sh install`` brings both), and skipped
otherwise: ``benchmarks/node`` (a minimal jsonwebtoken signer) beside ``node -e 0``. Node
qs-jwt 1.14.1 (ptarmiganlabs/qs-jwt) is not on the npm registry and its code is not ours to
commit: set ``QSJWT_BENCH_NODE_QSJWT`` to a checkout of its tag ``qs-jwt-v1.14.1`` (with its
``package-lock.json``; its lock file and entry point must have the SHA-256 of that tag's) and it
is installed with ``npm ci --omit=dev`` there and measured too.
Every signer signs QSEoW claims with the same 2048-bit RSA key (RS256); each token is verified
once before the clock starts (Node qs-jwt exits 0 even when it fails).

Printed: the load average before and after, the median wall time of every command over N
interleaved rounds, its median peak RSS over M rounds (``/usr/bin/time``'s maximum resident set
size; without it, ``ru_maxrss`` of the spawned child, an upper bound that counts this process's
own RSS), and the ratios of the console script to the bare signer (target at most 1.20), to the
Node signer and to Node qs-jwt 1.14.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
NODE_SIGNER_DIR = ROOT / "benchmarks" / "node"
NODE_QSJWT_VARIABLE = "QSJWT_BENCH_NODE_QSJWT"
"""a checkout of ptarmiganlabs/qs-jwt at tag qs-jwt-v1.14.1 (not on npm, not committed here)"""
NODE_QSJWT_PINNED = {
    "package-lock.json": "2c6207a0b68f3fcc995918813844d73f414c4c4b396c7f37a41562a9c1a84f3d",
    "src/qs-jwt.js": "bdb295d2625a0e609ecd0d1adef421b7efeeae0a255faee1995273ff5c0a0af8",
}
"""The SHA-256 of tag qs-jwt-v1.14.1's lock file and entry point: the checkout measured is that
release, with the packages its lock file pins (as ``benchmarks/node/package-lock.json`` pins the
minimal signer's)."""
BARE_SIGNER = ROOT / "benchmarks" / "bare_signer.py"
TARGET_RATIO = 1.20
TARGET_RSS_MIB = 30.0
GNU_TIME = Path("/usr/bin/time")
PIP = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check"]

CONSOLE = "qs-jwt (console script)"
MODULE = "python -m qsjwt"
BARE = "bare cryptography"
NODE_SIGNER = "node jsonwebtoken"
NODE_QSJWT = "node qs-jwt 1.14.1"
SIGNERS = (CONSOLE, MODULE, BARE, NODE_SIGNER, NODE_QSJWT)


def installed_venv(work: Path) -> Path:
    """The ``bin`` directory of a venv holding the locked runtime dependencies and qs-jwt,
    installed as a user's ``pip install --no-deps .`` would: pip builds a wheel and installs it.
    The wheel is built from a copy (no ``build/`` or ``egg-info`` in the checkout) with this
    venv's locked setuptools, so nothing unpinned is fetched."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    runtime = ROOT / "requirements" / "runtime.txt"
    subprocess.run(
        [*PIP, "--python", python, "install", "--require-hashes", "-r", str(runtime)], check=True
    )
    source = work / "src"
    shutil.copytree(
        ROOT / "qsjwt", source / "qsjwt", ignore=shutil.ignore_patterns("__pycache__", "*.py[co]")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    dist = work / "dist"
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dist), str(source)],
        check=True,
    )
    (wheel,) = dist.glob("qs_jwt-*.whl")
    subprocess.run(
        [*PIP, "--python", python, "install", "--no-deps", "--no-index", str(wheel)], check=True
    )
    return venv / "bin"


def npm_installed(directory: Path, npm: str, *options: str) -> bool:
    """``npm ci`` in ``directory`` unless its ``node_modules`` already matches the lock file
    (npm's own copy of it is at least as new); False when npm fails (no registry)."""
    installed = directory / "node_modules" / ".package-lock.json"
    lock = directory / "package-lock.json"
    if installed.is_file() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return True
    done = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--silent", *options],
        cwd=directory,
        check=False,
    )
    return done.returncode == 0


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def node_commands(key: Path) -> dict[str, list[str]]:
    """The Node references whose packages ``npm ci`` could install; none without Node."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return {}
    commands = {}
    if npm_installed(NODE_SIGNER_DIR, npm):
        commands[NODE_SIGNER] = [node, str(NODE_SIGNER_DIR / "sign.js"), str(key)]
    qs_jwt_dir = Path(os.environ.get(NODE_QSJWT_VARIABLE, "") or "/nonexistent")
    if not (qs_jwt_dir / "package-lock.json").is_file():
        print(f"{NODE_QSJWT}: not measured (set {NODE_QSJWT_VARIABLE} to a checkout of it)")
    elif unpinned := [
        name for name, digest in NODE_QSJWT_PINNED.items() if _sha256(qs_jwt_dir / name) != digest
    ]:
        differ = ", ".join(unpinned)
        print(f"{NODE_QSJWT}: not measured ({differ} differ from tag qs-jwt-v1.14.1's)")
    elif npm_installed(qs_jwt_dir, npm, "--omit=dev"):
        commands[NODE_QSJWT] = [
            node, str(qs_jwt_dir / "src" / "qs-jwt.js"), "create-qseow",
            "--userdir", "CORP", "--userid", "alice", "--audience", "qlik", "--expires", "1h",
            "--cert-privatekey-file", str(key), "--minimal-output", "--loglevel", "warn",
        ]  # fmt: skip
    commands["node -e 0"] = [node, "-e", "0"]
    return commands


def python_commands(bin_dir: Path, key: Path) -> dict[str, list[str]]:
    """The console script, ``python -m qsjwt``, the bare signer and ``python -c pass``."""
    python = str(bin_dir / "python")
    qseow = ["qseow", "--user-id", "alice", "--user-directory", "CORP"]
    qseow += ["--private-key-file", str(key)]
    return {
        CONSOLE: [str(bin_dir / "qs-jwt"), *qseow],
        MODULE: [python, "-m", "qsjwt", *qseow],
        BARE: [python, str(BARE_SIGNER), str(key)],
        "python -c pass": [python, "-c", "pass"],
    }


ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
"""As installed: ``pip install`` compiled the .pyc files; nothing may stop their use."""
_DEVNULL = os.open(os.devnull, os.O_WRONLY)
_QUIET = [(os.POSIX_SPAWN_DUP2, _DEVNULL, 1), (os.POSIX_SPAWN_DUP2, _DEVNULL, 2)]


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds from spawn to exit, and the child's ``ru_maxrss`` in MiB."""
    start = time.perf_counter()
    pid = os.posix_spawn(command[0], command, ENV, file_actions=_QUIET)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:3]} failed with exit code {status}")
    return seconds, usage.ru_maxrss / 1024


def peak_rss_mib(command: list[str], report: Path) -> float:
    """The maximum resident set size of one run, as GNU time reports it. Measured through
    ``/usr/bin/time`` because a child spawned from this process starts with this process's
    high-water mark (Linux keeps it across ``exec``), which would hide anything smaller."""
    subprocess.run(
        [str(GNU_TIME), "-f", "%M", "-o", str(report), *command],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return int(report.read_text().split()[-1]) / 1024


def verify_tokens(commands: dict[str, list[str]], key: rsa.RSAPrivateKey) -> None:
    """Each signer prints one RS256 token that the key's public half verifies."""
    public = key.public_key()
    for name in SIGNERS:
        if name not in commands:
            continue
        done = subprocess.run(commands[name], env=ENV, capture_output=True, text=True, check=True)
        token = done.stdout.strip().splitlines()[-1]
        claims = jwt.decode(
            token, public, algorithms=["RS256"], options={"verify_aud": False, "require": ["exp"]}
        )
        assert (claims["userId"], claims["userDirectory"]) == ("alice", "CORP"), name


def rounds(
    commands: dict[str, list[str]], count: int, sample: Callable[[list[str]], float]
) -> dict[str, float]:
    """The median of ``count`` samples of each command, taken round-robin so that drift on a
    shared machine hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(count):
        for name, command in commands.items():
            samples[name].append(sample(command))
    return {name: statistics.median(values) for name, values in samples.items()}


def machine() -> str:
    """Cores, CPU model, Python, cryptography and Node versions, for the record."""
    model = "?"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    node = shutil.which("node")
    node_version = "no node"
    if node is not None:
        node_version = "Node " + subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip().removeprefix("v")
    return (
        f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}, "
        f"Python {platform.python_version()}, cryptography {version('cryptography')}, "
        f"{node_version}"
    )


def write_key(work: Path) -> tuple[Path, rsa.RSAPrivateKey]:
    """A new 2048-bit RSA key in ``work/key.pem`` (PKCS#8, mode 0600), and the key."""
    key = work / "key.pem"
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)
    return key, private


def measure(
    commands: dict[str, list[str]], runs: int, rss_runs: int, work: Path
) -> tuple[dict[str, float], dict[str, float], str]:
    """The page cache warmed, then each command's median wall time over ``runs`` interleaved rounds
    and its peak RSS (MiB) over ``rss_runs``, and where the RSS figure comes from."""
    for command in commands.values():  # warm the page cache
        for _ in range(3):
            run_once(command)
    times = rounds(commands, runs, lambda command: run_once(command)[0])
    if GNU_TIME.is_file():
        report = work / "rss.txt"
        rss = rounds(commands, rss_runs, lambda command: peak_rss_mib(command, report))
        return times, rss, "/usr/bin/time"
    rss = rounds(commands, rss_runs, lambda command: run_once(command)[1])
    return times, rss, "ru_maxrss, an upper bound: no /usr/bin/time"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--rss-runs", type=int, default=5, help="peak-RSS rounds (default 5)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="qsjwt-bench-") as tmp:
        work = Path(tmp)
        key, private = write_key(work)
        bin_dir = installed_venv(work)
        commands = {**python_commands(bin_dir, key), **node_commands(key)}
        verify_tokens(commands, private)
        times, rss, rss_source = measure(commands, args.runs, args.rss_runs, work)
    load_after = os.getloadavg()[0]
    print(f"cold start, one RS256-2048 QSEoW token, {dt.date.today()}: {machine()}")
    print(f"  medians: wall time of {args.runs} rounds, peak RSS of {args.rss_runs} ({rss_source})")
    print(
        f"  load average {load_before:.2f} before, {load_after:.2f} after (other work on the "
        "machine: near the CPU count or above it, the times and ratios are not comparable)"
    )
    for name in commands:
        print(f"  {name:24} {times[name] * 1e3:7.1f} ms  {rss[name]:6.1f} MiB")
    ours = times[CONSOLE]
    verdict = "met" if ours / times[BARE] <= TARGET_RATIO else "NOT met"
    print(
        f"  ratio console script / bare cryptography: {ours / times[BARE]:.2f} "
        f"(target <= {TARGET_RATIO:.2f}: {verdict}); python -m qsjwt / bare: "
        f"{times[MODULE] / times[BARE]:.2f}"
    )
    for reference in (NODE_SIGNER, NODE_QSJWT):
        if reference in times:
            print(f"  ratio console script / {reference}: {ours / times[reference]:.2f}")
        else:
            print(f"  {reference}: skipped (no node or npm, or npm ci failed)")
    verdict = "met" if rss[CONSOLE] <= TARGET_RSS_MIB else "NOT met"
    print(
        f"  console script peak RSS {rss[CONSOLE]:.1f} MiB "
        f"(target <= {TARGET_RSS_MIB:.0f}: {verdict})"
    )


if __name__ == "__main__":
    main()
