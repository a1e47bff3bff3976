"""Shared test material: keys are generated here, never committed (except tests/keys/)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwcrypto import jwk, jwt

from qsjwt.action import entry as action
from qsjwt.base import secret
from qsjwt.signing.keys import (
    certificate_pem,
    private_pem,
    public_pem,
    self_signed_certificate,
)
from scripts.render_action import read_action
from tests.action_runner import Result, Runner
from tests.qlik_local import LocalQlik

NOW = dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=dt.UTC)
NOW_S = int(NOW.timestamp())
"""``NOW`` in seconds since the epoch, the time the core takes (as a JWT writes it)."""
ENCRYPTED_KEY = Path(__file__).parent / "keys" / "encrypted-rsa-2048.pem"
ENCRYPTED_KEY_PASSPHRASE = "qs-jwt test passphrase"


@dataclass(frozen=True)
class KeyPair:
    """A generated key with every encoding a test may need."""

    key: Any
    private_pem: bytes
    public_pem: bytes
    certificate_pem: bytes

    def write(self, directory: Path) -> dict[str, Path]:
        paths = {
            "private": directory / "private-key.pem",
            "public": directory / "public-key.pem",
            "certificate": directory / "certificate.pem",
        }
        paths["private"].write_bytes(self.private_pem)
        paths["public"].write_bytes(self.public_pem)
        paths["certificate"].write_bytes(self.certificate_pem)
        return paths


def make_pair(key: Any) -> KeyPair:
    # valid from the fixed NOW until long after any real run: no test depends on the date
    cert = self_signed_certificate(key, common_name="qs-jwt tests", days=36500, now=NOW)
    return KeyPair(key, private_pem(key), public_pem(key), certificate_pem(cert))


@pytest.fixture(autouse=True)
def _one_run_holds_its_own_credentials() -> None:
    """A test is one run: what an earlier test's run held (``qsjwt.base.secret``, scrubbed from
    every printed line) is not held in this one, as no two processes share it."""
    secret._HELD.clear()


@pytest.fixture
def hangup_at_default() -> Iterator[None]:
    """SIGHUP at its default during the test, as a terminal session starts it. Under ``nohup``
    it is ignored, and qs-jwt rightly leaves an ignored signal alone, so a test that sends it
    would see nothing happen; the processes the test starts inherit the default too. (Only the
    tests that send SIGHUP use this: the rest of a ``nohup`` run still survives a hang-up.)"""
    hangup = getattr(signal, "SIGHUP", None)
    if hangup is None:  # Windows
        yield
        return
    previous = signal.signal(hangup, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(hangup, previous)


@pytest.fixture(scope="session")
def rsa_pair() -> KeyPair:
    return make_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="session")
def rsa3072_pair() -> KeyPair:
    return make_pair(rsa.generate_private_key(public_exponent=65537, key_size=3072))


@pytest.fixture(scope="session")
def other_rsa_pair() -> KeyPair:
    return make_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="session")
def ec_pair() -> KeyPair:
    return make_pair(ec.generate_private_key(ec.SECP256R1()))


def verify_independently(
    token: str, verifying_pem: bytes, algorithm: str, *, check_time: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a token with jwcrypto, a different JOSE implementation than the signer (PyJWT)."""
    if b"CERTIFICATE" in verifying_pem:
        key = jwk.JWK.from_pyca(x509.load_pem_x509_certificate(verifying_pem).public_key())
    else:
        key = jwk.JWK.from_pem(verifying_pem)
    checked = jwt.JWT(
        jwt=token,
        key=key,
        algs=[algorithm],
        check_claims={} if not check_time else None,
    )
    header = json.loads(checked.header)
    claims = json.loads(checked.claims)
    return header, claims


# --- CI=true: a skipped test is a failure ---------------------------------------------------

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") == "true" and _skipped and exitstatus == 0:
        session.exitstatus = 1
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"CI=true: {len(_skipped)} skipped test(s) count as failures: "
                + ", ".join(_skipped[:10]),
                red=True,
            )


# --- the action in this process, and a local Qlik (shared by the action tests) ---------------


@pytest.fixture(scope="module")
def declared() -> list[str]:
    return list(read_action()["inputs"])


@pytest.fixture
def runner(tmp_path: Path, declared: list[str]) -> Runner:
    return Runner(tmp_path / "runner", declared)


@pytest.fixture
def run(runner: Runner, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """``run(inputs, extra=None) -> Result``: the action in this process, output captured."""

    def capture() -> tuple[str, str]:
        captured = capsys.readouterr()
        return captured.out, captured.err

    def _run(inputs: dict[str, str], extra: dict[str, str | None] | None = None) -> Result:
        return runner.run_in_process(action.main, capture, inputs, extra)

    return _run


@pytest.fixture
def qlik(tmp_path: Path) -> Iterator[LocalQlik]:
    """A local Qlik Cloud on 127.0.0.1 over HTTPS; it knows no OAuth client yet."""
    (tmp_path / "qlik").mkdir()
    with LocalQlik(tmp_path / "qlik") as server:
        yield server
