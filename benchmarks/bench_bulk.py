"""``qs-jwt bulk`` against OpenSSL's raw RSA signing rate on every core, in the same run.

Run: ``.venv/bin/python benchmarks/bench_bulk.py [--users N] [--runs R] [--target T]`` (``make
bench`` runs it). It runs what users run: the ``qs-jwt`` console script of a regular install
(``bench_cold.installed_venv``: the locked runtime dependencies and a wheel of this checkout,
``.pyc`` files compiled by pip, no editable hook). It writes N users (default 20,000, issue 23's
figure) as CSV for each target (Qlik Cloud, each token with its own ``jti``, and QSEoW;
``--target`` picks one), times R cold ``qs-jwt bulk`` processes a target (default 10, the targets
taking turns so that a shared machine's drift hits both, each first in every other round; the
median counts) from start to the 0600 file written, and checks every token of each target's last
run with PyJWT (the signer does not use PyJWT), input order and count. ``openssl speed -multi
CORES -seconds 3 rsa2048`` runs before the first run and after each run; each run's rate is
divided by the mean of the OpenSSL rates just before and just after it, and the median of those
ratios is printed (targets: at least 0.90 for QSEoW, 0.85 for Qlik Cloud). CORES are the cores
this process may use (``os.sched_getaffinity``), as ``qs-jwt bulk`` counts them.

The same rounds time a bare signer (``BARE_SIGNER``): the install's Python imports
``cryptography``, forks one process a core, and each loads the key and signs its share of N
short messages, with no per-token work at all. Its ratio to OpenSSL is the ceiling of any Python
implementation on this machine, measured beside the targets it bounds.

Each ratio is then split into two factors of the same run. ``openssl speed`` divides by CPU
time, so OpenSSL's CPU a signature is CORES / its rate; with the CPU time of the ``qs-jwt bulk``
process and of the workers it reaped (user + system, ``RUSAGE_CHILDREN``), a run's ratio =
(OpenSSL's CPU a signature / our CPU a token) x (our CPU / (CORES x its wall time)): what a token
costs beyond its signature, and how busy the cores were (the serial start and end idle them).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import jwt
from bench_cold import installed_venv
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLOUD_AUDIENCE = "qlik.api/login/jwt-session"
SHARED = {
    "qseow": ["--user-directory", "CORP"],
    "cloud": ["--issuer", "https://idp.example.com/", "--key-id", "kid-1"],
}
"""What every user of a target shares (the users file holds the rest)."""
TARGET_RATIO = {"qseow": 0.90, "cloud": 0.85}
"""Issue 23: the share of OpenSSL's raw rate each target must reach."""


BARE_SIGNER = """
import os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
path, count, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
size = max(64, -(-count // 8000))  # at most 8,000 tasks: all fit in the pipe (64 KiB)
tasks, given = os.pipe()
os.write(given, b"".join(b"%08d" % start for start in range(0, count, size)))
os.close(given)
for worker in range(cores):
    if os.fork() == 0:
        with open(path, "rb") as file:
            # qs-jwt's own check signs once; the library's (primality tests) takes ~50 ms
            key = serialization.load_pem_private_key(
                file.read(), None, unsafe_skip_rsa_key_validation=True
            )
        while task := os.read(tasks, 8):  # small tasks: the cores finish together
            for i in range(int(task), min(count, int(task) + size)):
                key.sign(b"u%06d" % i, pkcs1, sha256)
        os._exit(0)
for _ in range(cores):
    os.wait()
"""
"""The ceiling: Python, cryptography and a fork a core, signing and nothing else."""
BARE = "bare signer"


def openssl_rate(cores: int) -> float | None:
    """RSA-2048 signatures per second on ``cores`` processes, as ``openssl speed`` reports."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    done = subprocess.run(
        [openssl, "speed", "-multi", str(cores), "-seconds", "3", "rsa2048"],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)", done.stdout, re.MULTILINE)
    return float(match.group(1)) if match else None


def users_file(work: Path, target: str, count: int) -> None:
    """``count`` users as CSV for ``target`` (its shared values are in ``SHARED``)."""
    users = work / f"{target}.csv"
    with users.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["user-id" if target == "qseow" else "subject", "name", "email", "groups"])
        for i in range(count):
            writer.writerow([f"u{i:06d}", f"User {i}", f"u{i}@example.com", "Readers"])


def bulk_run(qs_jwt: Path, work: Path, target: str, count: int, cores: int) -> tuple[float, float]:
    """The wall time of one cold ``qs-jwt bulk`` process (or of the ``BARE`` signer), from its
    start to the 0600 file written, and the CPU time (user + system) of it and of the workers
    it reaped."""
    if target == BARE:
        python = qs_jwt.with_name("python")
        command = [str(python), "-c", BARE_SIGNER, str(work / "key.pem"), str(count), str(cores)]
    else:
        users, output = work / f"{target}.csv", work / f"{target}.jsonl"
        output.unlink(missing_ok=True)
        command = [
            str(qs_jwt), "bulk", "--target", target, "--users-file", str(users), *SHARED[target],
            "--private-key-file", str(work / "key.pem"), "--output", str(output),
        ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def check_tokens(work: Path, key: rsa.RSAPrivateKey, target: str, count: int) -> None:
    """Every token of the last run verifies (PyJWT), in input order; Qlik Cloud's ``jti``s are
    all distinct; the file is 0600."""
    output = work / f"{target}.jsonl"
    public = key.public_key()
    lines = output.read_text().splitlines()
    assert len(lines) == count, "every user has a token"
    jtis = set()
    for i, line in enumerate(lines):
        document = json.loads(line)
        if target == "qseow":
            claims = jwt.decode(document["token"], public, algorithms=["RS256"])
            assert claims["userId"] == f"u{i:06d}" == document["user"].split("\\")[1]
        else:
            claims = jwt.decode(
                document["token"], public, algorithms=["RS256"], audience=CLOUD_AUDIENCE
            )
            assert claims["sub"] == f"u{i:06d}" == document["user"]
            jtis.add(claims["jti"])
    assert target == "qseow" or len(jtis) == count, "every Qlik Cloud token has its own jti"
    assert (output.stat().st_mode & 0o777) == 0o600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--target", choices=["cloud", "qseow", "both"], default="both")
    args = parser.parse_args()
    count = args.users
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    targets = ["cloud", "qseow"] if args.target == "both" else [args.target]
    targets.append(BARE)
    seconds: dict[str, list[float]] = {target: [] for target in targets}
    cpu: dict[str, list[float]] = {target: [] for target in targets}
    with tempfile.TemporaryDirectory(prefix="qsjwt-bench-") as tmp:
        work = Path(tmp)
        qs_jwt = installed_venv(work) / "qs-jwt"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_file = work / "key.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        for target in targets[:-1]:
            users_file(work, target, count)
        print(
            f"bulk, {count} users, RS256-2048, {cores} cores (os.sched_getaffinity), "
            "the console script of a regular install"
        )
        # Each bulk run sits between two OpenSSL runs and is compared with their mean: a shared
        # machine's speed drifts by more than the margins measured here within a minute, so a
        # run is held to the raw rate of the seconds around it. The targets take turns, each
        # first in every other round (A B B A ...): neither always follows the other.
        openssl = [openssl_rate(cores)]
        ratios: dict[str, list[float]] = {target: [] for target in targets}
        efficiency: dict[str, list[float]] = {target: [] for target in targets}
        for round_number in range(args.runs):
            for target in targets if round_number % 2 == 0 else targets[::-1]:
                wall, used = bulk_run(qs_jwt, work, target, count, cores)
                seconds[target].append(wall)
                cpu[target].append(used)
                openssl.append(openssl_rate(cores))
                around = [rate for rate in openssl[-2:] if rate is not None]
                if around:
                    rate = statistics.mean(around)
                    ratios[target].append(count / wall / rate)
                    efficiency[target].append(count * cores / rate / used)
        for target in targets[:-1]:
            check_tokens(work, key, target, count)
    for target in targets:
        median = statistics.median(seconds[target])
        shown = ", ".join(f"{s:.2f}" for s in seconds[target])
        what = (
            f"{BARE} (python -c, cold, signing only)"
            if target == BARE
            else f"qs-jwt bulk --target {target} (console script, cold, file written)"
        )
        print(f"  {what}: median {median:.2f} s = {count / median:.0f} tokens/s (runs: {shown} s)")
    print("  every token verified with PyJWT; order and count kept; file mode 0600")
    measured = [rate for rate in openssl if rate is not None]
    if not measured:
        print("  openssl speed: skipped (no openssl binary)")
        return
    print(
        f"  openssl speed -multi {cores} rsa2048, before and after each run: "
        f"{statistics.mean(measured):.0f} signatures/s on average ({min(measured):.0f} to "
        f"{max(measured):.0f})"
    )
    report_ratios(count, cores, Runs(seconds, cpu, ratios, efficiency))


class Runs(NamedTuple):
    """Each target's runs, in order: wall and CPU seconds, the ratio to OpenSSL, and OpenSSL's
    CPU a signature / ours a token."""

    seconds: dict[str, list[float]]
    cpu: dict[str, list[float]]
    ratios: dict[str, list[float]]
    efficiency: dict[str, list[float]]


def report_ratios(count: int, cores: int, runs: Runs) -> None:
    """Each target's median ratio to OpenSSL, split into its two factors."""
    seconds, cpu, ratios, efficiency = runs
    for target in seconds:
        ratio = statistics.median(ratios[target])
        shown = ", ".join(f"{r:.3f}" for r in ratios[target])
        if target == BARE:
            verdict = "the ceiling of any Python implementation"
            what = BARE
        else:
            goal = TARGET_RATIO[target]
            # three decimals: at two, a median of 0.845 would read as a met 0.85
            verdict = f"target >= {goal:.2f}: {'met' if ratio >= goal else 'NOT met'}"
            what = f"qs-jwt bulk --target {target}"
        print(
            f"  ratio {what} / openssl raw rate around it: median {ratio:.3f} (runs: {shown}; "
            f"{verdict})"
        )
        busy = [
            used / (cores * wall) for used, wall in zip(cpu[target], seconds[target], strict=True)
        ]
        print(
            f"    = OpenSSL's CPU a signature / ours a token (median "
            f"{statistics.median(efficiency[target]):.3f}; a token: "
            f"{statistics.median(cpu[target]) / count * 1e6:.0f} us of CPU) x the cores busy "
            f"(median {statistics.median(busy):.3f})"
        )
        if target != BARE and BARE in seconds:
            # against the same round's bare signer (its wall time over ours): what our own work
            # costs, less tied to the host than the ratio to OpenSSL (issue 23 changed host)
            paired = [
                bare / ours for ours, bare in zip(seconds[target], seconds[BARE], strict=True)
            ]
            median = statistics.median(paired)
            print(f"    / the bare signer of the same round: median {median:.3f}")


if __name__ == "__main__":
    main()
