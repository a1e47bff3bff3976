"""The single-file executable (scripts/build-binary.sh, PyInstaller), built here and run.

Built once per session into a temporary directory from the hash-locked venv of
requirements/binary.txt (the venv, ``.venv-binary``, is kept between sessions; a fresh machine
makes it from PyPI). Every run below happens in an empty directory with an environment that
names no Python (PATH is /usr/bin:/bin, no PYTHONPATH or PYTHONHOME, no venv), so what runs is
the executable alone. Tokens are checked with jwcrypto, not with PyJWT, which the executable
signs with. The other four platforms are built and smoke-tested by the release workflow on
their own runners (.github/workflows/release.yml, job ``binaries``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from qsjwt._version import __version__
from qsjwt.signing.jwk import public_jwk
from qsjwt.signing.keys import signing_key_from
from scripts.binary_entry import CA_BUNDLES, use_system_ca_bundle
from tests.cli.test_cli_oauth import CLIENT
from tests.conftest import KeyPair, verify_independently
from tests.oauth.test_exchange import users_me
from tests.qlik_local import LocalQlik, QlikClient

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "build-binary.sh"
BUILD_VENV = REPO / ".venv-binary"

pytestmark = pytest.mark.skipif(
    sys.platform != "linux",
    reason="builds the Linux executable; the release workflow builds and runs the others",
)

QSEOW = ["qseow", "--user-id", "alice", "--user-directory", "CORP", "--group", "Deployers"]
CLOUD = [
    *("cloud", "--issuer", "idp.example.com", "--key-id", "kid-1", "--subject", "svc_ci"),
    *("--name", "CI Service", "--email", "ci@example.com"),
]
# Nothing of the dev venv, the build or the tests may be inside: top-level module names.
NOT_SHIPPED = (
    "tests",
    "scripts",
    "pytest",
    "_pytest",
    "hypothesis",
    "mypy",
    "ruff",
    "jwcrypto",
    "yaml",
    "moto",
    "boto3",
    "botocore",
    "setuptools",
    "pip",
    "PyInstaller",
    "actions_toolkit",
    "requests",
)


@pytest.fixture(scope="session")
def executable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("binary")
    env = {**os.environ, "PYTHON": sys.executable, "QSJWT_BINARY_VENV": str(BUILD_VENV)}
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, (
        f"exit {proc.returncode} (objdump missing? scripts/host-tools.sh install)\n"
        f"{proc.stdout}\n{proc.stderr[-5000:]}"
    )
    assert proc.stdout == f"{out / 'qs-jwt'}\n"  # the path, and nothing else on stdout
    return out / "qs-jwt"


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


class QsJwt(Protocol):
    def __call__(
        self, *args: str | Path, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> Ran: ...


@pytest.fixture
def qs_jwt(executable: Path, tmp_path: Path) -> QsJwt:
    """The executable, run in tmp_path/work with no Python anywhere in its environment."""
    work = tmp_path / "work"
    work.mkdir()

    def run(*args: str | Path, stdin: str | None = None, env: dict[str, str] | None = None) -> Ran:
        proc = subprocess.run(
            [str(executable), *map(str, args)],
            cwd=work,
            env={"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8", **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Ran(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def key(qs_jwt: QsJwt, tmp_path: Path) -> Path:
    """A key pair and certificate made by the executable's own ``keygen``."""
    ran = qs_jwt("keygen", "--out-dir", tmp_path / "key")
    assert ran.code == 0, ran.err
    return tmp_path / "key"


# --- the file itself ----------------------------------------------------------------------------


def test_the_checksum_file_is_sha256sum_format_and_matches(executable: Path) -> None:
    line = executable.with_name("qs-jwt.sha256").read_text(encoding="ascii")
    assert line == f"{hashlib.sha256(executable.read_bytes()).hexdigest()}  qs-jwt\n"
    proc = subprocess.run(
        ["sha256sum", "--check", "--strict", "qs-jwt.sha256"],
        cwd=executable.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, "qs-jwt: OK\n"), proc.stderr


def test_it_is_one_executable_file(executable: Path) -> None:
    assert sorted(p.name for p in executable.parent.iterdir()) == ["qs-jwt", "qs-jwt.sha256"]
    assert executable.stat().st_mode & stat.S_IXUSR
    assert executable.read_bytes()[:4] == b"\x7fELF"


def _archive(executable: Path) -> list[str]:
    """Every entry of the executable's archives (the C archive and the PYZ of modules)."""
    viewer = BUILD_VENV / "bin" / "pyi-archive_viewer"
    proc = subprocess.run(
        [str(viewer), "--list", "--recursive", "--brief", str(executable)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return [line.strip() for line in proc.stdout.splitlines() if line.startswith(" ")]


def _qsjwt_modules() -> set[str]:
    """Every module of the qsjwt package in the source tree, wherever the refactor puts it."""
    names = set()
    for path in (REPO / "qsjwt").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_qsjwt_module_is_inside_even_those_imported_in_functions(executable: Path) -> None:
    entries = set(_archive(executable))
    modules = _qsjwt_modules()
    assert {"qsjwt.signing.remote.aws", "qsjwt.cli"} <= modules  # the walk found the package
    assert modules - entries == set()
    # and nothing of qsjwt that the source tree does not have (a stale build)
    assert {e for e in entries if e == "qsjwt" or e.startswith("qsjwt.")} == modules


def test_no_test_build_or_dev_tool_is_inside(executable: Path) -> None:
    entries = _archive(executable)
    assert "jwt" in entries and "cryptography" in entries  # the listing has module names
    top = {re.split(r"[./]", entry, maxsplit=1)[0] for entry in entries}
    assert top & set(NOT_SHIPPED) == set()


# --- running it ---------------------------------------------------------------------------------


def test_version(qs_jwt: QsJwt) -> None:
    ran = qs_jwt("--version")
    assert (ran.code, ran.out, ran.err) == (0, f"qs-jwt {__version__}\n", "")


def test_keygen_writes_a_private_key_and_its_certificate(qs_jwt: QsJwt, tmp_path: Path) -> None:
    ran = qs_jwt("keygen", "--out-dir", tmp_path / "key")
    assert ran.code == 0, ran.err
    files = {p.name: p for p in (tmp_path / "key").iterdir()}
    assert {"private-key.pem", "certificate.pem", "public-key.pem"} <= set(files)
    assert stat.S_IMODE(files["private-key.pem"].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "key").stat().st_mode) == 0o700
    private = files["private-key.pem"].read_text()
    assert private.startswith("-----BEGIN PRIVATE KEY-----")
    body = [line for line in private.splitlines() if "-----" not in line]
    assert not [line for line in body if line in ran.out + ran.err]  # never printed


def test_qseow_mint_verifies_with_jwcrypto(qs_jwt: QsJwt, key: Path) -> None:
    ran = qs_jwt(*QSEOW, "--private-key-file", key / "private-key.pem")
    assert ran.code == 0, ran.err
    token = ran.out.strip()
    assert ran.out == token + "\n"
    header, claims = verify_independently(token, (key / "certificate.pem").read_bytes(), "RS256")
    assert header["alg"] == "RS256"
    assert (claims["userId"], claims["userDirectory"], claims["groups"]) == (
        "alice",
        "CORP",
        ["Deployers"],
    )
    assert claims["exp"] - claims["iat"] == 3600
    assert token not in ran.err


def test_cloud_mint_from_the_environment_verifies_with_jwcrypto(qs_jwt: QsJwt, key: Path) -> None:
    ran = qs_jwt(
        *CLOUD,
        "--output",
        "token.jwt",
        env={"QSJWT_PRIVATE_KEY_FILE": str(key / "private-key.pem")},
    )
    assert (ran.code, ran.out) == (0, ""), ran.err
    written = next(key.parent.glob("work/token.jwt"))
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    token = written.read_text().strip()
    header, claims = verify_independently(token, (key / "public-key.pem").read_bytes(), "RS256")
    assert header["kid"] == "kid-1"
    assert claims["aud"] == "qlik.api/login/jwt-session"
    assert (claims["sub"], claims["subType"], claims["email_verified"]) == ("svc_ci", "user", True)
    assert claims["exp"] - claims["nbf"] == 300
    assert len(claims["jti"]) >= 22


def test_verify_accepts_its_token_and_refuses_another_key(
    qs_jwt: QsJwt, key: Path, tmp_path: Path
) -> None:
    token = qs_jwt(*QSEOW, "--audience", "qlik", "--private-key-file", key / "private-key.pem")
    assert token.code == 0, token.err
    ran = qs_jwt(
        "verify", "-", "--certificate-file", key / "certificate.pem", "--audience", "qlik",
        stdin=token.out,
    )  # fmt: skip
    assert ran.code == 0, ran.err
    document = json.loads(ran.out)
    assert document["verified"] is True
    assert document["claims"]["userId"] == "alice"
    other = qs_jwt("keygen", "--out-dir", tmp_path / "other")
    assert other.code == 0, other.err
    refused = qs_jwt(
        "verify", "-", "--certificate-file", tmp_path / "other" / "certificate.pem",
        stdin=token.out,
    )  # fmt: skip
    assert refused.code == 1
    assert "verified" not in refused.out


def test_a_refused_input_exits_2_naming_the_option_and_writes_nothing(
    qs_jwt: QsJwt, key: Path
) -> None:
    ran = qs_jwt(*CLOUD, "--expires-in", "2h", "--private-key-file", key / "private-key.pem",
                 "--output", "token.jwt")  # fmt: skip
    assert ran.code == 2
    assert ran.out == ""
    assert ran.err.startswith("qs-jwt: error: --expires-in: 2h is longer than the 1h")
    assert len(ran.err.splitlines()) == 1
    assert list(key.parent.glob("work/*")) == []


def test_lazily_imported_back_ends_run_in_the_executable(qs_jwt: QsJwt, key: Path) -> None:
    # OAuth (qsjwt.oauth), the Vault back end (qsjwt.signing.remote.vault) and the KMS one
    # (qsjwt.signing.remote.aws) are imported inside functions.
    assertion = qs_jwt(
        "oauth", "--tenant", "tenant.eu.qlikcloud.com", "--client-id", "0123456789abcdef",
        "--private-key-file", key / "private-key.pem", "--assertion-only",
    )  # fmt: skip
    assert assertion.code == 0, assertion.err
    _, claims = verify_independently(
        assertion.out.strip(), (key / "public-key.pem").read_bytes(), "RS256"
    )
    assert claims["aud"] == "https://tenant.eu.qlikcloud.com/oauth/token"
    # nothing listens on port 1: the key service cannot be reached (exit 4)
    vault = qs_jwt(
        *QSEOW, "--key-service", "vault:transit/qlik", "--vault-address", "http://127.0.0.1:1",
        env={"QSJWT_VAULT_TOKEN": "hvs.not-a-real-token"},
    )  # fmt: skip
    assert vault.code == 4, vault.err
    assert "--vault-address: Vault could not be reached" in vault.err
    kms = qs_jwt(*QSEOW, "--key-service", "kms:alias/qlik", env={"AWS_REGION": "eu-west-1"})
    assert kms.code == 2
    assert "the single-file executable has no AWS client" in kms.err


def test_bulk_runs_worker_processes(qs_jwt: QsJwt, key: Path, tmp_path: Path) -> None:
    # 300 rows: above the in-process limit, so a pool of worker processes does the signing
    users = tmp_path / "users.csv"
    users.write_text("user-id\n" + "".join(f"u{i}\n" for i in range(300)), encoding="utf-8")
    ran = qs_jwt(
        "bulk", "--target", "qseow", "--users-file", users, "--user-directory", "CORP",
        "--jobs", "2", "--private-key-file", key / "private-key.pem",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    lines = [json.loads(line) for line in ran.out.splitlines()]
    assert [line["user"] for line in lines] == [f"CORP\\u{i}" for i in range(300)]
    certificate = (key / "certificate.pem").read_bytes()
    for line in lines[::37]:
        _, claims = verify_independently(line["token"], certificate, "RS256")
        assert claims["userId"] == line["user"].split("\\", 1)[1]


# --- TLS: the system's CA certificates, SSL_CERT_FILE, --ca-bundle ------------------------------


def test_the_entry_point_picks_the_first_system_ca_bundle_that_exists() -> None:
    environ: dict[str, str] = {"PATH": "/usr/bin"}
    here = {CA_BUNDLES[1], CA_BUNDLES[3]}
    assert use_system_ca_bundle(environ, "linux", here.__contains__) == CA_BUNDLES[1]
    assert environ == {"PATH": "/usr/bin", "SSL_CERT_FILE": CA_BUNDLES[1]}
    assert "/etc/ssl/cert.pem" in CA_BUNDLES  # macOS


@pytest.mark.parametrize(
    ("environ", "platform"),
    [
        ({"SSL_CERT_FILE": "/mine.pem"}, "linux"),  # the user's choice stays
        ({"SSL_CERT_DIR": "/my/certs"}, "darwin"),
        ({}, "win32"),  # Python reads the Windows certificate store
    ],
)
def test_the_entry_point_leaves_a_chosen_bundle_and_windows_alone(
    environ: dict[str, str], platform: str
) -> None:
    before = dict(environ)
    assert use_system_ca_bundle(environ, platform, lambda _path: True) is None
    assert environ == before


def test_the_entry_point_sets_nothing_where_no_bundle_exists() -> None:
    environ: dict[str, str] = {}
    assert use_system_ca_bundle(environ, "linux", lambda _path: False) is None
    assert environ == {}


@pytest.fixture
def oauth_qlik(tmp_path: Path, rsa_pair: KeyPair) -> Iterator[LocalQlik]:
    """The local Qlik Cloud on 127.0.0.1 over HTTPS (its own CA), with CLIENT registered."""
    (tmp_path / "qlik").mkdir()
    with LocalQlik(tmp_path / "qlik") as server:
        key = signing_key_from(rsa_pair.key, input_name="private-key")
        server.register(QlikClient(CLIENT, [public_jwk(key.key, input_name="private-key")]))
        yield server


@pytest.fixture
def oauth_key(tmp_path: Path, rsa_pair: KeyPair) -> Path:
    path = tmp_path / "oauth-key.pem"
    path.write_bytes(rsa_pair.private_pem)
    path.chmod(0o600)
    return path


def test_oauth_over_https_trusts_ca_bundle_then_ssl_cert_file_and_nothing_else(
    qs_jwt: QsJwt, oauth_qlik: LocalQlik, oauth_key: Path
) -> None:
    qlik = oauth_qlik
    base: list[str | Path] = [
        "oauth",
        "--tenant",
        qlik.host,
        "--client-id",
        CLIENT,
        "--private-key-file",
        oauth_key,
    ]
    given = qs_jwt(*base, "--ca-bundle", qlik.ca_bundle)
    assert given.code == 0, given.err
    assert users_me(qlik, given.out.strip())[0] == 200
    from_env = qs_jwt(*base, env={"SSL_CERT_FILE": str(qlik.ca_bundle)})
    assert from_env.code == 0, from_env.err
    assert users_me(qlik, from_env.out.strip())[0] == 200
    # the system's bundle (set by the entry point) does not hold the local Qlik's CA
    untrusted = qs_jwt(*base)
    assert untrusted.code == 4, untrusted.err
    assert "--ca-bundle" in untrusted.err
    assert untrusted.out == ""
