"""``qs-jwt bulk`` against OpenSSL's raw RSA signing rate on every core, in the same run.

Run: ``.venv/bin/python benchmarks/bench_bulk.py [--users N]`` (``make bench`` runs it). It
writes N QSEoW users (default 10,000) as CSV, times one cold ``python -m qsjwt bulk`` process
from start to the 0600 file written, checks every token with PyJWT (the signer does not use
PyJWT) and that input order and count are kept, then runs ``openssl speed -multi CORES
-seconds 5 rsa2048`` and prints the ratio of the two rates (target at least 0.85).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.85


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    count = parser.parse_args().users
    cores = os.cpu_count() or 1
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
        users = work / "users.csv"
        with users.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["user-id", "name", "email", "groups"])
            for i in range(count):
                writer.writerow([f"u{i:06d}", f"User {i}", f"u{i}@example.com", "Readers"])
        output = work / "tokens.jsonl"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [
            sys.executable, "-m", "qsjwt", "bulk", "--target", "qseow", "--users-file",
            str(users), "--user-directory", "CORP", "--private-key-file", str(key_file),
            "--output", str(output),
        ]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        public = key.public_key()
        lines = output.read_text().splitlines()
        assert len(lines) == count, "every user has a token"
        for i, line in enumerate(lines):
            document = json.loads(line)
            claims = jwt.decode(document["token"], public, algorithms=["RS256"])
            assert claims["userId"] == f"u{i:06d}" == document["user"].split("\\")[1]
        assert (output.stat().st_mode & 0o777) == 0o600
    rate = count / seconds
    print(f"bulk, {count} QSEoW users, RS256-2048, {cores} cores (os.cpu_count())")
    print(f"  qs-jwt bulk (cold process, file written): {seconds:.2f} s = {rate:.0f} tokens/s")
    print("  every token verified with PyJWT; order and count kept; file mode 0600")
    before, after = openssl_rate(cores), openssl_rate(cores)  # a shared machine drifts: twice
    if before is None or after is None:
        print("  openssl speed: skipped (no openssl binary)")
        return
    raw = (before + after) / 2
    verdict = "met" if rate / raw >= TARGET_RATIO else "NOT met"
    print(
        f"  openssl speed -multi {cores} rsa2048: {raw:.0f} signatures/s "
        f"(mean of {before:.0f} and {after:.0f})"
    )
    print(
        f"  ratio qs-jwt bulk / openssl raw rate: {rate / raw:.2f} (target >= {TARGET_RATIO}: "
        f"{verdict})"
    )


if __name__ == "__main__":
    main()
