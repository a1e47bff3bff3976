"""Load-test a QSEoW virtual proxy (or Qlik Cloud) with one JWT per simulated user.

The key is loaded and checked once, when Locust imports this file; every simulated user then
mints its own token in ``on_start`` (about 0.3 ms for RS256-2048: benchmarks/bench_minter.py),
so thousands of users cost no key loading and no subprocess. Nothing here prints a token.

    pip install qs-jwt locust
    export QSJWT_PRIVATE_KEY_FILE=./qlik-key/private-key.pem   # never on the command line
    export QLIK_USER_DIRECTORY=LOADTEST  QLIK_PROXY_PREFIX=jwt
    locust -f examples/locust/locustfile.py --host https://qlik.example.com

For Qlik Cloud, set QLIK_TARGET=cloud, QLIK_ISSUER and QLIK_KEY_ID (the JWT identity provider's
issuer and key id) and use the tenant URL as --host: each user starts a session with
``POST /login/jwt-session`` and its own single-use token.
"""

from __future__ import annotations

import os
from pathlib import Path

from locust import HttpUser, between, task

from qsjwt import Minter

MINTER = Minter(Path(os.environ["QSJWT_PRIVATE_KEY_FILE"]).read_bytes())
TARGET = os.environ.get("QLIK_TARGET", "qseow")
PREFIX = os.environ.get("QLIK_PROXY_PREFIX", "jwt")
XRFKEY = "0123456789abcdef"  # QRS wants the same 16 characters as header and query parameter


class QlikUser(HttpUser):
    wait_time = between(1, 5)

    def on_start(self) -> None:
        # a different user id per simulated user (the greenlet's id is unique in the run)
        user = f"loadtest-{id(self):x}"
        if TARGET == "cloud":
            token = MINTER.cloud(
                issuer=os.environ["QLIK_ISSUER"],
                key_id=os.environ["QLIK_KEY_ID"],
                subject=user,
                name=user,
                email=f"{user}@example.com",
                groups=["LoadTest"],
            ).token
            self.client.post(
                "/login/jwt-session",
                headers={"Authorization": f"Bearer {token}"},
                name="/login/jwt-session",
            )
            self.headers: dict[str, str] = {}  # the session cookies carry on from here
        else:
            token = MINTER.qseow(
                user_id=user,
                user_directory=os.environ.get("QLIK_USER_DIRECTORY", "LOADTEST"),
                groups=["LoadTest"],
                expires_in="1h",
            ).token
            self.headers = {"Authorization": f"Bearer {token}", "X-Qlik-Xrfkey": XRFKEY}

    @task
    def about(self) -> None:
        if TARGET == "cloud":
            self.client.get("/api/v1/users/me", headers=self.headers, name="/api/v1/users/me")
        else:
            self.client.get(
                f"/{PREFIX}/qrs/about?Xrfkey={XRFKEY}", headers=self.headers, name="/qrs/about"
            )
