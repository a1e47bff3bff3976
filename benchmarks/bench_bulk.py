"""``qs-jwt bulk`` against OpenSSL's raw RSA signing rate on every core, in the same run.

Run: ``.venv/bin/python benchmarks/bench_bulk.py [--users N] [--runs R] [--target T]``
(``make bench`` runs it). For each target (Qlik Cloud, each token with its own ``jti``, and
QSEoW; ``--target`` picks one) it writes N users (default 20,000, issue 23's figure) as CSV,
times R cold ``python -m qsjwt bulk`` processes (default 3; the median counts) from start to the
0600 file written, checks every token of the last run with PyJWT (the signer does not use PyJWT)
and that input order and count are kept, then runs ``openssl speed -multi CORES -seconds 5
rsa2048`` twice and prints the ratio of the two rates (targets: at least 0.90 for QSEoW, 0.85
for Qlik Cloud). CORES are the cores this process may use (``os.sched_getaffinity``), as
``qs-jwt bulk`` counts them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
CLOUD_AUDIENCE = "qlik.api/login/jwt-session"
TARGET_RATIO = {"qseow": 0.90, "cloud": 0.85}
"""Issue 23: the share of OpenSSL's raw rate each target must reach."""


def openssl_rate(cores: int) -> float | None:
    """RSA-2048 signatures per second on ``cores`` processes, as ``openssl speed`` reports."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    done = subprocess.run(
        [openssl, "speed", "-multi", str(cores), "-seconds", "5", "rsa2048"],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)", done.stdout, re.MULTILINE)
    return float(match.group(1)) if match else None


def bulk_seconds(
    work: Path, key: rsa.RSAPrivateKey, target: str, count: int, runs: int
) -> list[float]:
    """The times of ``runs`` cold ``qs-jwt bulk`` processes; the tokens of the last checked."""
    key_file = work / "key.pem"
    users = work / f"{target}.csv"
    with users.open("w", newline="") as file:
        writer = csv.writer(file)
        if target == "qseow":
            writer.writerow(["user-id", "name", "email", "groups"])
            shared = ["--user-directory", "CORP"]
        else:
            writer.writerow(["subject", "name", "email", "groups"])
            shared = ["--issuer", "https://idp.example.com/", "--key-id", "kid-1"]
        for i in range(count):
            writer.writerow([f"u{i:06d}", f"User {i}", f"u{i}@example.com", "Readers"])
    output = work / f"{target}.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "qsjwt", "bulk", "--target", target, "--users-file", str(users),
        *shared, "--private-key-file", str(key_file), "--output", str(output),
    ]  # fmt: skip
    seconds = []
    for _ in range(runs):
        output.unlink(missing_ok=True)
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        seconds.append(time.perf_counter() - start)
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
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target", choices=["cloud", "qseow", "both"], default="both")
    args = parser.parse_args()
    count = args.users
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    targets = ["cloud", "qseow"] if args.target == "both" else [args.target]
    rates = {}
    with tempfile.TemporaryDirectory(prefix="qsjwt-bench-") as tmp:
        work = Path(tmp)
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
        print(f"bulk, {count} users, RS256-2048, {cores} cores (os.sched_getaffinity)")
        for target in targets:
            seconds = bulk_seconds(work, key, target, count, args.runs)
            median = statistics.median(seconds)
            rates[target] = count / median
            shown = ", ".join(f"{s:.2f}" for s in seconds)
            print(
                f"  qs-jwt bulk --target {target} (cold process, file written): median "
                f"{median:.2f} s = {rates[target]:.0f} tokens/s (runs: {shown} s)"
            )
        print("  every token verified with PyJWT; order and count kept; file mode 0600")
    before, after = openssl_rate(cores), openssl_rate(cores)  # a shared machine drifts: twice
    if before is None or after is None:
        print("  openssl speed: skipped (no openssl binary)")
        return
    raw = (before + after) / 2
    print(
        f"  openssl speed -multi {cores} rsa2048: {raw:.0f} signatures/s "
        f"(mean of {before:.0f} and {after:.0f})"
    )
    for target, rate in rates.items():
        goal = TARGET_RATIO[target]
        verdict = "met" if rate / raw >= goal else "NOT met"
        print(
            f"  ratio qs-jwt bulk --target {target} / openssl raw rate: {rate / raw:.2f} "
            f"(target >= {goal:.2f}: {verdict})"
        )


if __name__ == "__main__":
    main()
