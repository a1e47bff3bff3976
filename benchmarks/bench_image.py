"""The action's image: its size over the base, its compressed size (what a runner pulls), and a
warm ``docker run`` from start to the outputs written. Skipped cleanly without a Docker engine.

Run: ``.venv/bin/python benchmarks/bench_image.py [--image TAG]`` (``make bench`` runs it).
Without ``--image`` it builds one with ``scripts/build-image.sh`` (see
docs/container.md for an engine on a machine without one).
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE = os.environ.get("BASE_IMAGE", "python:3.13-slim")
RUNS = 10


def docker(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, env=env
    ).stdout


def engine_ready() -> bool:
    if shutil.which("docker") is None:
        return False
    done = subprocess.run(["docker", "info"], capture_output=True, check=False)
    return done.returncode == 0


def size(image: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", image))


def compressed_size(image: str) -> int:
    """``docker save`` through gzip: about what a registry serves (layers are gzipped)."""
    with subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE) as save:
        assert save.stdout is not None
        return len(gzip.compress(save.stdout.read(), compresslevel=6))


def warm_run(image: str, work: Path) -> float:
    """Median seconds of a ``docker run`` of the action that mints one QSEoW token."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    commands = work / "file_commands"
    commands.mkdir()
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": "/github/file_commands/output",
        "INPUT_TARGET": "qseow",
        "INPUT_USER-ID": "alice",
        "INPUT_USER-DIRECTORY": "CORP",
        "INPUT_PRIVATE-KEY": pem,
    }
    names = ["GITHUB_ACTIONS", "GITHUB_OUTPUT", "INPUT_TARGET", "INPUT_USER-ID",
             "INPUT_USER-DIRECTORY", "INPUT_PRIVATE-KEY"]  # fmt: skip
    flags = [part for name in names for part in ("-e", name)]
    command = ["run", "--rm", "--network", "none", *flags, "-v",
               f"{commands}:/github/file_commands", image]  # fmt: skip
    samples = []
    for attempt in range(RUNS + 1):
        (commands / "output").write_text("")
        start = time.perf_counter()
        docker(*command, env=env)
        if attempt:  # the first run warms the page cache
            samples.append(time.perf_counter() - start)
        assert "token<<" in (commands / "output").read_text(), "the output was written"
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image")
    image = parser.parse_args().image
    if not engine_ready():
        print("image: skipped (no Docker engine answers `docker info`)")
        return
    if image is None:
        image = "qs-jwt-action:bench"
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "build-image.sh"), "--quiet", "--tag", image],
            check=True,
        )
    ours, base = size(image), size(BASE_IMAGE)
    mib = 1024 * 1024
    print(f"image {image} over base {BASE_IMAGE}")
    print(f"  size {ours / mib:.1f} MiB, base {base / mib:.1f} MiB: +{(ours - base) / mib:.1f} MiB")
    print(f"  compressed (docker save | gzip): {compressed_size(image) / mib:.1f} MiB")
    with tempfile.TemporaryDirectory(prefix="qsjwt-bench-") as tmp:
        seconds = warm_run(image, Path(tmp))
    print(f"  warm docker run to outputs written: {seconds * 1e3:.0f} ms (median of {RUNS})")


if __name__ == "__main__":
    main()
