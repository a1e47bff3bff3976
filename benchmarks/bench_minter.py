"""Minter (load the key once, mint many: what a Locust user calls) per token, against a bare
``cryptography`` signature of the same bytes, measured in the same process.

Run: ``.venv/bin/python benchmarks/bench_minter.py`` (``make bench`` runs it). Prints the
median of each over ROUNDS calls and the ratio Minter / bare signature; the difference is what
qs-jwt's checks (settings, claims, the lint guard on every token) cost per token.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from qsjwt import Minter

ROUNDS = 2000


def median_us(action: Callable[[], object]) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def main() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    minter = Minter(pem)
    qseow = minter.qseow(user_id="u1", user_directory="CORP", groups=["Readers"]).token
    signing_input = qseow.rsplit(".", 1)[0].encode()
    bare = median_us(lambda: key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()))
    timings = {
        "Minter.qseow": median_us(
            lambda: minter.qseow(user_id="u1", user_directory="CORP", groups=["Readers"])
        ),
        "Minter.cloud": median_us(
            lambda: minter.cloud(
                issuer="idp.example.com",
                key_id="k1",
                subject="u1",
                name="User One",
                email="u1@example.com",
                groups=["Readers"],
            )
        ),
    }
    print(f"Minter per token, RS256-2048, median of {ROUNDS}")
    print(f"  bare key.sign() of the same bytes: {bare:7.1f} us  (ratio 1.00)")
    for name, micros in timings.items():
        print(f"  {name:33}: {micros:7.1f} us  (ratio {micros / bare:.2f})")


if __name__ == "__main__":
    main()
