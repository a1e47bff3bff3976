"""How much qs-jwt's checks cost on top of a bare PyJWT signature, measured in one process.

Run: ``.venv/bin/python benchmarks/bench_mint.py``. It prints the median time of a bare
``jwt.encode`` (the reference) and of each qs-jwt step, and their ratio to the reference, so
the numbers compare across machines. Measured here (2 cores, RSA 3072): the checks of settings
and claims cost about 2% of one signature; loading the key costs over 100 signatures, because
cryptography validates the RSA key (primality checks). That is paid once per run and kept:
skipping validation is only safe for keys one fully trusts.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from qsjwt.app.flow import KeySource, Request, issue
from qsjwt.app.target import parse_settings
from qsjwt.base.inputs import PRIVATE_KEY, PRIVATE_KEY_PASSPHRASE, Target
from qsjwt.login.claims import build_claims, build_header, new_jti
from qsjwt.login.lint import lint_token
from qsjwt.login.mint import mint
from qsjwt.signing.keys import load_signing_key, private_pem

ROUNDS = 200
VALUES = {
    "issuer": "idp.example.com",
    "key-id": "k1",
    "subject": "svc_ci",
    "name": "CI Service",
    "email": "ci@example.com",
    "groups": "Deployers,Developers",
}


def median_seconds(action: Callable[[], object]) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    pem = private_pem(key)
    now = dt.datetime.now(dt.UTC)
    at = int(now.timestamp())
    settings = parse_settings(Target.CLOUD, VALUES)
    loaded = load_signing_key(pem, input_name=PRIVATE_KEY, passphrase_name=PRIVATE_KEY_PASSPHRASE)
    claims = build_claims(settings, now=at, jti=new_jti())
    header = build_header(settings)

    reference = median_seconds(lambda: jwt.encode(claims, key, algorithm="RS256"))
    steps = {
        "parse_settings": lambda: parse_settings(Target.CLOUD, VALUES),
        "load_signing_key": lambda: load_signing_key(
            pem, input_name=PRIVATE_KEY, passphrase_name=PRIVATE_KEY_PASSPHRASE
        ),
        "lint_token": lambda: lint_token(header, claims, Target.CLOUD, now=at),
        "mint (loaded key)": lambda: mint(settings, loaded, now=at, jti=new_jti()),
        "flow.issue (all)": lambda: issue(
            Request(settings, KeySource(private_key=pem), now=now, jti=new_jti())
        ),
    }
    print(f"reference jwt.encode RS256-3072: {reference * 1e3:8.3f} ms  (ratio 1.00)")
    for name, action in steps.items():
        seconds = median_seconds(action)
        print(f"{name:31}: {seconds * 1e3:8.3f} ms  (ratio {seconds / reference:5.2f})")


if __name__ == "__main__":
    main()
