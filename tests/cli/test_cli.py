"""The ``qs-jwt`` command line: stdout, stderr, exit codes, files, and what must never show.

Most tests call ``main(argv, env)`` in this process (``qs_jwt``), with its own streams, working
directory and environment; a real process adds nothing there. The ones about what only a
process shows (the ``python -m qsjwt`` entry point, a full or closed stdout, bytes that are
not UTF-8 on stdin, a signal from outside) start one (``qs_jwt_process``, ``subprocess``) and
are named ``test_process_*``.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from qsjwt._version import __version__
from qsjwt.cli import main
from qsjwt.io import files
from tests.conftest import ENCRYPTED_KEY, ENCRYPTED_KEY_PASSPHRASE, KeyPair, verify_independently
from tests.platforms import (
    DEV_FULL,
    DEV_NULL_PATH,
    FIFOS,
    POSIX_MODES,
    POSIX_SIGNALS,
    SYMLINKS,
    UNNAMED_FILES,
    WINDOWS,
)

QSEOW_ARGS = ["qseow", "--user-id", "alice", "--user-directory", "CORP"]
AMBIENT = (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_NAMESPACE",
    "VAULT_CACERT",
    "GOOGLE_APPLICATION_CREDENTIALS",
)
"""Other tools' variables qs-jwt reads (a machine may set them): each test gives its own."""
CLOUD_ARGS = [
    "cloud",
    "--issuer",
    "idp.example.com",
    "--key-id",
    "kid-1",
    "--subject",
    "svc_ci",
    "--name",
    "CI Service",
    "--email",
    "ci@example.com",
]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def everything(self) -> str:
        return self.out + self.err


def qs_jwt(
    *args: str | Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> Run:
    """The command line in this process: its own streams, directory and environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("QSJWT_") and k not in AMBIENT}
    streams = sys.stdin, sys.stdout, sys.stderr
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    try:
        sys.stdin = io.TextIOWrapper(io.BytesIO((stdin or "").encode()), encoding="utf-8")
        sys.stdout, sys.stderr = out, err
        if cwd is not None:
            os.chdir(cwd)
        code = main([*map(str, args)], {**base, **(env or {})})
    finally:
        sys.stdin, sys.stdout, sys.stderr = streams
        os.chdir(here)
    return Run(code, out.getvalue(), err.getvalue())


def qs_jwt_process(
    *args: str | Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> Run:
    """``python -m qsjwt`` as a real process, for what only a process shows."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("QSJWT_") and k not in AMBIENT}
    proc = subprocess.run(
        [sys.executable, "-m", "qsjwt", *map(str, args)],
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=60,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def secret_lines(pair: KeyPair) -> list[str]:
    """Every line of the key's PEM body: none may ever be printed."""
    return [line for line in pair.private_pem.decode().splitlines() if "-----" not in line]


def assert_no_key(run: Run, pair: KeyPair) -> None:
    for line in secret_lines(pair):
        assert line not in run.everything


@pytest.fixture
def keyfiles(tmp_path: Path, rsa_pair: KeyPair) -> dict[str, Path]:
    return rsa_pair.write(tmp_path)


# --- minting --------------------------------------------------------------------------------


def test_process_python_m_qsjwt_prints_only_the_token_and_it_verifies(
    keyfiles: dict[str, Path], rsa_pair: KeyPair
) -> None:
    run = qs_jwt_process(*QSEOW_ARGS, "--group", "Sales", "--private-key-file", keyfiles["private"])
    assert run.code == 0, run.err
    token = run.out.strip()
    assert run.out == token + "\n"
    header, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert header["alg"] == "RS256"
    assert "kid" not in header
    assert (claims["userId"], claims["userDirectory"], claims["groups"]) == (
        "alice",
        "CORP",
        ["Sales"],
    )
    assert claims["exp"] - claims["iat"] == 3600
    assert token not in run.err
    assert_no_key(run, rsa_pair)


def test_cloud_token_has_qlik_cloud_claims(keyfiles: dict[str, Path], rsa_pair: KeyPair) -> None:
    run = qs_jwt(
        *CLOUD_ARGS,
        "--group",
        "A",
        "--group",
        "B",
        env={"QSJWT_PRIVATE_KEY_FILE": str(keyfiles["private"])},
    )
    assert run.code == 0, run.err
    header, claims = verify_independently(run.out.strip(), rsa_pair.public_pem, "RS256")
    assert header["kid"] == "kid-1"
    assert claims["aud"] == "qlik.api/login/jwt-session"
    assert claims["subType"] == "user"
    assert claims["email_verified"] is True
    assert claims["groups"] == ["A", "B"]
    assert claims["exp"] - claims["nbf"] == 300
    assert len(claims["jti"]) >= 22


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda pem: pem, id="pem"),
        pytest.param(lambda pem: pem.replace("\n", "\\n"), id="escaped-newlines"),
        pytest.param(lambda pem: base64.b64encode(pem.encode()).decode(), id="base64"),
    ],
)
def test_key_text_from_environment_in_every_encoding(
    rsa_pair: KeyPair, encode: Callable[[str], str]
) -> None:
    run = qs_jwt(*QSEOW_ARGS, env={"QSJWT_PRIVATE_KEY": encode(rsa_pair.private_pem.decode())})
    assert run.code == 0, run.err
    verify_independently(run.out.strip(), rsa_pair.public_pem, "RS256")
    assert_no_key(run, rsa_pair)


def test_settings_come_from_environment_and_flags_win(
    keyfiles: dict[str, Path], rsa_pair: KeyPair
) -> None:
    env = {
        "QSJWT_PRIVATE_KEY_FILE": str(keyfiles["private"]),
        "QSJWT_USER_ID": "from-env",
        "QSJWT_USER_DIRECTORY": "ENVDIR",
        "QSJWT_GROUPS": "one\ntwo,three",
        "QSJWT_ATTRIBUTES": "dept=Sales\nregion=EMEA, North",
        "QSJWT_EXPIRES_IN": "2h",
    }
    run = qs_jwt("qseow", "--user-id", "from-flag", env=env)
    assert run.code == 0, run.err
    _, claims = verify_independently(run.out.strip(), rsa_pair.public_pem, "RS256")
    assert claims["userId"] == "from-flag"
    assert claims["userDirectory"] == "ENVDIR"
    assert claims["groups"] == ["one", "two,three"]  # one group a line; a comma never splits
    assert claims["dept"] == "Sales"
    assert claims["region"] == "EMEA, North"
    assert claims["exp"] - claims["iat"] == 7200


def test_encrypted_key_with_passphrase_file(tmp_path: Path, rsa_pair: KeyPair) -> None:
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(ENCRYPTED_KEY_PASSPHRASE + "\n")
    run = qs_jwt(*QSEOW_ARGS, "--private-key-file", ENCRYPTED_KEY, "--passphrase-file", passphrase)
    assert run.code == 0, run.err
    assert ENCRYPTED_KEY_PASSPHRASE not in run.everything


def test_json_format(keyfiles: dict[str, Path], rsa_pair: KeyPair) -> None:
    run = qs_jwt(*CLOUD_ARGS, "--format", "json", "--private-key-file", keyfiles["private"])
    assert run.code == 0, run.err
    document = json.loads(run.out)
    assert set(document) == {"token", "header", "claims", "expires_at"}
    _, claims = verify_independently(document["token"], rsa_pair.public_pem, "RS256")
    assert claims == document["claims"]
    assert document["expires_at"].endswith("Z")


@POSIX_MODES
def test_output_file_is_private_and_nothing_secret_is_printed(
    tmp_path: Path, keyfiles: dict[str, Path], rsa_pair: KeyPair
) -> None:
    target = tmp_path / "token.jwt"
    run = qs_jwt(*QSEOW_ARGS, "--private-key-file", keyfiles["private"], "--output", target)
    assert run.code == 0, run.err
    assert run.out == ""
    token = target.read_text().strip()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    verify_independently(token, rsa_pair.public_pem, "RS256")
    assert token not in run.everything
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@POSIX_MODES
def test_dotenv_file(tmp_path: Path, keyfiles: dict[str, Path], rsa_pair: KeyPair) -> None:
    dotenv = tmp_path / "jwt.env"
    run = qs_jwt(
        *CLOUD_ARGS,
        "--private-key-file",
        keyfiles["private"],
        "--dotenv",
        dotenv,
        "--dotenv-variable",
        "QLIK_TOKEN",
    )
    assert run.code == 0, run.err
    assert run.out == ""
    name, _, token = dotenv.read_text().strip().partition("=")
    assert name == "QLIK_TOKEN"
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    verify_independently(token, rsa_pair.public_pem, "RS256")


def test_certificate_match_is_checked(
    tmp_path: Path, keyfiles: dict[str, Path], other_rsa_pair: KeyPair
) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(other_rsa_pair.certificate_pem)
    out = tmp_path / "token.jwt"
    run = qs_jwt(
        *QSEOW_ARGS,
        "--private-key-file",
        keyfiles["private"],
        "--certificate-file",
        other,
        "--output",
        out,
    )
    assert run.code == 2
    assert "--certificate-file: does not belong to the private key" in run.err
    assert not out.exists()


def test_warnings_go_to_stderr(keyfiles: dict[str, Path]) -> None:
    run = qs_jwt(*CLOUD_ARGS, "--algorithm", "PS256", "--private-key-file", keyfiles["private"])
    assert run.code == 0
    assert "qs-jwt: warning: --algorithm: PS256 is not what Qlik's tutorials show" in run.err
    assert run.out.count(".") == 2


# --- bad input: exit 2, one clear line naming the option, nothing written ------------------


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["qseow", "--user-directory", "D"], {}, "--user-id (or QSJWT_USER_ID): is required"),
        ([*QSEOW_ARGS, "--expires-in", "0"], {}, "--expires-in: must be longer than zero"),
        ([*QSEOW_ARGS, "--expires-in=-5m"], {}, "--expires-in: is not a duration"),
        (
            QSEOW_ARGS,
            {"QSJWT_EXPIRES_IN": "1 hour"},
            "QSJWT_EXPIRES_IN: is not a duration",
        ),
        ([*CLOUD_ARGS, "--expires-in", "2h"], {}, "--expires-in: 2h is longer than the 1h"),
        (
            [*CLOUD_ARGS, "--expires-in", "30s", "--clock-skew", "30s"],
            {},
            "--clock-skew: 30s is not shorter than --expires-in, 30s",
        ),
        ([*QSEOW_ARGS, "--algorithm", "HS256"], {}, "--algorithm: 'HS256' is refused"),
        ([*QSEOW_ARGS, "--algorithm", "none"], {}, "--algorithm: 'none' is refused"),
        ([*QSEOW_ARGS, "--algorithm", "ES256"], {}, "not accepted by a QSEoW virtual proxy"),
        (
            [*QSEOW_ARGS, "--user-id-claim", "sub"],
            {},
            "--user-id-claim: names the registered JWT claim 'sub'",
        ),
        ([*QSEOW_ARGS, "--attribute", "exp=1"], {}, "--attribute: 'exp' would overwrite"),
        ([*QSEOW_ARGS, "--attribute", "novalue"], {}, "--attribute: item 1 is not KEY=VALUE"),
        (["qseow", "--user-id", "CORP\\alice", "--user-directory", "CORP"], {}, "backslash"),
        ([*CLOUD_ARGS, "--email-verified", "maybe"], {}, "--email-verified: is not true or false"),
    ],
)
def test_bad_settings(
    keyfiles: dict[str, Path],
    rsa_pair: KeyPair,
    args: list[str],
    env: dict[str, str],
    expected: str,
) -> None:
    run = qs_jwt(*args, "--private-key-file", keyfiles["private"], env=env)
    assert run.code == 2
    assert run.out == ""
    assert expected in run.err
    assert len(run.err.strip().splitlines()) == 1, run.err
    assert "Traceback" not in run.err
    assert_no_key(run, rsa_pair)


def test_no_key_source() -> None:
    run = qs_jwt(*QSEOW_ARGS)
    assert run.code == 2
    assert "no private key: give --private-key-file PATH" in run.err


def test_two_key_sources_is_an_error(keyfiles: dict[str, Path], rsa_pair: KeyPair) -> None:
    run = qs_jwt(
        *QSEOW_ARGS,
        env={
            "QSJWT_PRIVATE_KEY": rsa_pair.private_pem.decode(),
            "QSJWT_PRIVATE_KEY_FILE": str(keyfiles["private"]),
        },
    )
    assert run.code == 2
    assert "both QSJWT_PRIVATE_KEY and QSJWT_PRIVATE_KEY_FILE are set" in run.err
    assert_no_key(run, rsa_pair)


def test_missing_key_file(tmp_path: Path) -> None:
    run = qs_jwt(*QSEOW_ARGS, "--private-key-file", tmp_path / "nope.pem")
    assert run.code == 2
    assert "--private-key-file: cannot read" in run.err
    assert "No such file" in run.err


@pytest.mark.parametrize(
    ("variable", "pem", "text_variable"),
    [
        ("QSJWT_PRIVATE_KEY_FILE", "private", "QSJWT_PRIVATE_KEY"),
        ("QSJWT_CERTIFICATE_FILE", "certificate", "QSJWT_CERTIFICATE"),
    ],
)
def test_pem_text_in_a_file_variable_points_to_the_text_variable(
    keyfiles: dict[str, Path], rsa_pair: KeyPair, variable: str, pem: str, text_variable: str
) -> None:
    env = {"QSJWT_PRIVATE_KEY_FILE": str(keyfiles["private"])}
    env[variable] = keyfiles[pem].read_text()
    run = qs_jwt(*QSEOW_ARGS, env=env)
    assert run.code == 2
    assert f"{variable}: cannot read the file it names" in run.err
    assert f"give that in {text_variable})" in run.err
    assert "-----BEGIN" not in run.everything
    assert_no_key(run, rsa_pair)


def test_certificate_given_as_key(keyfiles: dict[str, Path]) -> None:
    run = qs_jwt(*QSEOW_ARGS, "--private-key-file", keyfiles["certificate"])
    assert run.code == 2
    assert "--private-key-file: is a certificate, not a private key" in run.err


def test_wrong_passphrase_is_not_echoed(tmp_path: Path) -> None:
    run = qs_jwt(
        *QSEOW_ARGS,
        "--private-key-file",
        ENCRYPTED_KEY,
        env={"QSJWT_PRIVATE_KEY_PASSPHRASE": "wrong horse battery"},
    )
    assert run.code == 2
    assert "QSJWT_PRIVATE_KEY_PASSPHRASE: does not decrypt the private key" in run.err
    assert "wrong horse battery" not in run.everything


def test_unreadable_output_directory_writes_nothing(
    tmp_path: Path, keyfiles: dict[str, Path]
) -> None:
    run = qs_jwt(
        *QSEOW_ARGS,
        "--private-key-file",
        keyfiles["private"],
        "--output",
        tmp_path / "missing" / "token.jwt",
    )
    assert run.code == 2
    assert "--output: directory" in run.err
    assert run.out == ""


@SYMLINKS
def test_symlink_output_is_refused(tmp_path: Path, keyfiles: dict[str, Path]) -> None:
    real = tmp_path / "real.txt"
    real.write_text("keep me")
    link = tmp_path / "link.jwt"
    link.symlink_to(real)
    run = qs_jwt(*QSEOW_ARGS, "--private-key-file", keyfiles["private"], "--output", link)
    assert run.code == 2
    assert "symbolic link" in run.err
    assert real.read_text() == "keep me"


def test_usage_error_is_one_line_exit_2() -> None:
    run = qs_jwt("qseow", "--format", "xml")
    assert run.code == 2
    assert len(run.err.strip().splitlines()) == 1
    assert "--format" in run.err


# --- decode, verify, lint -------------------------------------------------------------------


@pytest.fixture
def cloud_token(keyfiles: dict[str, Path]) -> str:
    run = qs_jwt(*CLOUD_ARGS, "--private-key-file", keyfiles["private"])
    assert run.code == 0, run.err
    return run.out.strip()


def test_decode_marks_not_verified(cloud_token: str) -> None:
    run = qs_jwt("decode", "-", stdin=cloud_token)
    assert run.code == 0
    document = json.loads(run.out)
    assert document["verified"] is False
    assert document["header"]["kid"] == "kid-1"
    assert document["claims"]["sub"] == "svc_ci"
    assert "NOT verified" in run.err
    assert cloud_token not in run.everything


def test_decode_garbage() -> None:
    run = qs_jwt("decode", "not-a-token")
    assert run.code == 1
    assert "TOKEN: is not a JWT" in run.err


@pytest.mark.parametrize("stdin_errors", ["strict", "surrogateescape"])
def test_process_stdin_bytes_that_are_not_utf8_are_bad_input(stdin_errors: str) -> None:
    """Whatever the locale makes of stdin, bytes that are not UTF-8 are an error, not a crash."""
    proc = subprocess.run(
        [sys.executable, "-m", "qsjwt", "decode", "-"],
        env={**os.environ, "PYTHONIOENCODING": f"utf-8:{stdin_errors}"},
        input=b"eyJ\xff.eyJ.c2ln",
        capture_output=True,
        check=False,
        timeout=60,
    )
    err = proc.stderr.decode()
    assert proc.returncode in (1, 2), err
    assert "error: standard input: is not UTF-8" in err and "internal error" not in err


def test_verify_good_and_bad(
    cloud_token: str, keyfiles: dict[str, Path], other_rsa_pair: KeyPair, tmp_path: Path
) -> None:
    good = qs_jwt(
        "verify",
        "--certificate-file",
        keyfiles["certificate"],
        "--audience",
        "qlik.api/login/jwt-session",
        stdin=cloud_token,
    )
    assert good.code == 0, good.err
    assert json.loads(good.out)["verified"] is True
    other = tmp_path / "other-public.pem"
    other.write_bytes(other_rsa_pair.public_pem)
    bad = qs_jwt("verify", "--public-key-file", other, stdin=cloud_token)
    assert bad.code == 1
    assert "standard input: is not valid: its RS256 signature does not match" in bad.err
    assert bad.out == ""
    wrong_aud = qs_jwt(
        "verify",
        "--certificate-file",
        keyfiles["certificate"],
        "--audience",
        "x",
        stdin=cloud_token,
    )
    assert wrong_aud.code == 1
    assert 'aud "qlik.api/login/jwt-session", and "x" was expected' in wrong_aud.err


def test_verify_needs_a_key() -> None:
    run = qs_jwt("verify", "-", stdin="a.b.c")
    assert run.code == 2
    assert "--certificate-file" in run.err


def test_lint_clean_token_and_cross_target(cloud_token: str) -> None:
    clean = qs_jwt("lint", "--target", "cloud", stdin=cloud_token)
    assert clean.code == 0
    assert "0 error(s)" in clean.out
    crossed = qs_jwt("lint", "--target", "qseow", stdin=cloud_token)
    assert crossed.code == 1
    assert "error: userId: is missing" in crossed.out


def test_lint_reports_every_broken_rule(keyfiles: dict[str, Path]) -> None:
    run = qs_jwt(*QSEOW_ARGS, "--private-key-file", keyfiles["private"])
    qseow_token = run.out.strip()
    result = qs_jwt("lint", "-", "--target", "cloud", stdin=qseow_token)
    assert result.code == 1
    for claim in ("kid", "iss", "sub", "aud", "subType", "email_verified"):
        assert f"error: {claim}:" in result.out


# --- keygen, help, version ------------------------------------------------------------------


@POSIX_MODES
def test_keygen_writes_usable_files_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    run = qs_jwt("keygen", "--out-dir", out, "--bits", "2048", "--common-name", "my-idp")
    assert run.code == 0, run.err
    private = out / "private-key.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    one_line = run.out.strip()
    assert one_line.startswith("-----BEGIN CERTIFICATE-----")
    assert "\n" not in one_line
    key_text = private.read_text()
    assert "PRIVATE KEY" not in run.everything
    # The key's lines that carry only public bytes (its modulus) can appear in the printed
    # certificate when the two encodings line up (about 1 key pair in 200): those are public.
    # Every other line of the key must be absent.
    certificate = "".join((out / "certificate.pem").read_text().splitlines()[1:-1])
    private_lines = [line for line in key_text.splitlines()[1:-1] if line not in certificate]
    assert len(private_lines) > 10  # the private exponent and primes: most of the key
    assert all(line not in run.everything for line in private_lines)
    minted = qs_jwt(
        *QSEOW_ARGS,
        "--private-key-file",
        private,
        "--certificate-file",
        out / "certificate.pem",
    )
    assert minted.code == 0, minted.err
    verify_independently(minted.out.strip(), (out / "certificate.pem").read_bytes(), "RS256")
    again = qs_jwt("keygen", "--out-dir", out)
    assert again.code == 2
    assert "exists" in again.err
    assert private.read_text() == key_text
    forced = qs_jwt("keygen", "--out-dir", out, "--bits", "2048", "--force")
    assert forced.code == 0
    assert private.read_text() != key_text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--common-name", "x" * 65], "--common-name: must be 1 to 64 printable characters"),
        (["--common-name", ""], "--common-name: must be 1 to 64 printable characters"),
        (["--common-name", "a\udcff"], "--common-name: must be 1 to 64 printable characters"),
        (["--days", "3000000"], "--days: puts the certificate's end after the year 9999"),
        (["--days", "9" * 20], "--days: puts the certificate's end after the year 9999"),
    ],
)
def test_keygen_bad_certificate_arguments_leave_nothing(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    out = tmp_path / "new" / "keys"
    run = qs_jwt("keygen", "--out-dir", out, *args)
    assert (run.code, run.out) == (2, "")
    assert expected in run.err and "internal error" not in run.err
    assert not (tmp_path / "new").exists()


def test_keygen_ec_key_signs_es256_for_cloud(tmp_path: Path) -> None:
    out = tmp_path / "ec"
    assert qs_jwt("keygen", "--out-dir", out, "--key-type", "ec").code == 0
    run = qs_jwt(*CLOUD_ARGS, "--algorithm", "ES256", "--private-key-file", out / "private-key.pem")
    assert run.code == 0, run.err
    verify_independently(run.out.strip(), (out / "certificate.pem").read_bytes(), "ES256")
    refused = qs_jwt(*QSEOW_ARGS, "--private-key-file", out / "private-key.pem")
    assert refused.code == 2
    assert "an EC key cannot sign RS256" in refused.err


@pytest.mark.parametrize("command", ["qseow", "cloud", "decode", "verify", "lint", "keygen"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    run = qs_jwt(command, "--help")
    assert run.code == 0
    assert "example:" in run.out
    assert "exit codes:" in run.out


def test_help_names_the_environment_variables() -> None:
    run = qs_jwt("cloud", "--help")
    for variable in ("QSJWT_ISSUER", "QSJWT_KEY_ID", "QSJWT_PRIVATE_KEY", "QSJWT_CLOCK_SKEW"):
        assert variable in run.out


def test_version() -> None:
    for flag in ("--version", "-V"):
        run = qs_jwt(flag)
        assert run.code == 0
        assert re.fullmatch(rf"qs-jwt {re.escape(__version__)}( \(commit [0-9a-f]+\))?\n", run.out)


def test_no_command_shows_help_and_fails() -> None:
    run = qs_jwt()
    assert run.code == 2
    assert "qseow" in run.err


def test_every_missing_required_setting_is_named_in_one_line(keyfiles: dict[str, Path]) -> None:
    run = qs_jwt("cloud", "--issuer", "idp", "--private-key-file", keyfiles["private"])
    assert run.code == 2
    assert run.err.strip() == (
        "qs-jwt: error: --key-id (or QSJWT_KEY_ID): is required and was empty or not given "
        "(also missing: --subject (or QSJWT_SUBJECT), --name (or QSJWT_NAME), "
        "--email (or QSJWT_EMAIL))"
    )


@DEV_FULL
def test_process_a_full_stdout_is_a_failure_not_a_crash(
    keyfiles: dict[str, Path],
) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "qsjwt", *QSEOW_ARGS, "--private-key-file", keyfiles["private"]],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=60,
        )
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == "qs-jwt: error: output failed (No space left on device)"
    assert "Traceback" not in proc.stderr


# --- files: what an output may replace, and interruptions (qsjwt/io/files.py) ------------------

STAGES = ["opened", "written", "chmodded", "synced", "linked", "replaced"]
SIGNALS = [
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
]
EXIT_BY_SIGNAL = {signum: 128 + signum for signum in SIGNALS}  # 130, 143, 129


def _mint_in_process(
    capsys: pytest.CaptureFixture[str], *args: str | Path, env: dict[str, str] | None = None
) -> Run:
    code = main([*map(str, args)], env or {})
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


@pytest.mark.parametrize(
    "place",
    [
        pytest.param("/dev/null", marks=DEV_NULL_PATH),
        pytest.param("fifo", marks=FIFOS),
        "key",
        "key-by-variable",
        "hard-link",
    ],
)
def test_output_never_replaces_a_device_a_fifo_or_an_input(
    tmp_path: Path, keyfiles: dict[str, Path], capsys: pytest.CaptureFixture[str], place: str
) -> None:
    key = keyfiles["private"]
    env = {}
    if place == "fifo":
        target = tmp_path / "pipe"
        os.mkfifo(target)
    elif place == "hard-link":
        target = tmp_path / "same-key.pem"
        os.link(key, target)
    else:
        target = key if place.startswith("key") else Path(place)
    key_args: list[str | Path] = ["--private-key-file", key]
    if place == "key-by-variable":
        key_args, env = [], {"QSJWT_PRIVATE_KEY_FILE": str(key)}
    before = os.lstat(target)
    key_text = key.read_bytes()
    run = _mint_in_process(capsys, *QSEOW_ARGS, *key_args, "--output", target, env=env)
    assert (run.code, run.out) == (2, "")
    expected = {
        "/dev/null": "--output: '/dev/null' is a character device, not a regular file",
        "fifo": "is a FIFO (named pipe), not a regular file",
        "key": "--output: names the same file as --private-key-file",
        "key-by-variable": "--output: names the same file as QSJWT_PRIVATE_KEY_FILE",
        "hard-link": "--output: names the same file as --private-key-file",
    }[place]
    assert expected in run.err and len(run.err.splitlines()) == 1
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode, after.st_size) == (
        before.st_ino,
        before.st_mode,
        before.st_size,
    )
    assert key.read_bytes() == key_text


def test_dotenv_may_not_be_the_certificate_or_the_passphrase(
    tmp_path: Path, keyfiles: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    passphrase = tmp_path / "pass.txt"
    passphrase.write_text("not used")
    for flag, path in [
        ("--certificate-file", keyfiles["certificate"]),
        ("--passphrase-file", passphrase),
    ]:
        run = _mint_in_process(
            capsys,
            *QSEOW_ARGS,
            "--private-key-file",
            keyfiles["private"],
            flag,
            path,
            "--dotenv",
            path,
        )
        assert run.code == 2
        assert f"--dotenv: names the same file as {flag}" in run.err


@SYMLINKS
def test_output_through_a_symlinked_directory_is_refused(
    tmp_path: Path, keyfiles: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    run = _mint_in_process(
        capsys,
        *QSEOW_ARGS,
        "--private-key-file",
        keyfiles["private"],
        "--output",
        tmp_path / "alias" / "token.jwt",
    )
    assert run.code == 2
    assert "--output: directory" in run.err and "goes through a symbolic link" in run.err
    assert list((tmp_path / "real").iterdir()) == []


def test_dotenv_keeps_the_other_variables_of_the_file(
    tmp_path: Path, keyfiles: dict[str, Path], rsa_pair: KeyPair
) -> None:
    """GitLab jobs often build one dotenv report from several steps."""
    dotenv = tmp_path / "build.env"
    dotenv.write_text("VERSION=1.2.3\nQLIK_JWT=eyJ.stale.token\nDEPLOY_ENV=prod\n")
    run = qs_jwt(*QSEOW_ARGS, "--private-key-file", keyfiles["private"], "--dotenv", dotenv)
    assert run.code == 0, run.err
    lines = dotenv.read_text().splitlines()
    assert lines[0] == "VERSION=1.2.3" and lines[2] == "DEPLOY_ENV=prod" and len(lines) == 3
    name, _, token = lines[1].partition("=")
    assert name == "QLIK_JWT"
    verify_independently(token, rsa_pair.public_pem, "RS256")
    if not WINDOWS:
        assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@FIFOS
def test_keygen_refuses_a_fifo_and_existing_files_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "keys"
    out.mkdir()
    os.mkfifo(out / "certificate.pem")
    run = _mint_in_process(capsys, "keygen", "--out-dir", out, "--key-type", "ec", "--force")
    assert run.code == 2
    assert "--out-dir:" in run.err and "is a FIFO (named pipe)" in run.err
    assert sorted(p.name for p in out.iterdir()) == ["certificate.pem"]
    (out / "certificate.pem").unlink()
    (out / "public-key.pem").write_text("old")
    run = _mint_in_process(capsys, "keygen", "--out-dir", out, "--key-type", "ec")
    assert run.code == 2 and "exists (use --force to replace it)" in run.err
    assert sorted(p.name for p in out.iterdir()) == ["public-key.pem"]


def _assert_clean(run: Run, pair: KeyPair | None = None) -> None:
    assert "Traceback" not in run.everything
    assert "eyJ" not in run.everything  # no token, nor a piece of one
    assert "PRIVATE KEY" not in run.everything
    if pair is not None:
        assert_no_key(run, pair)


def _signal_at(monkeypatch: pytest.MonkeyPatch, stage: str, signum: int) -> None:
    sent: list[str] = []

    def hook(reached: str) -> None:
        if reached == stage and not sent:
            sent.append(reached)
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(files, "stage_hook", hook)


@pytest.mark.usefixtures("hangup_at_default")
@UNNAMED_FILES
@POSIX_SIGNALS
@pytest.mark.parametrize(
    "at",
    list(itertools.product(STAGES, SIGNALS)),
    ids=lambda at: f"{at[0]}-{signal.Signals(at[1]).name}",
)
def test_mint_interrupted_at_any_stage_exits_128_plus_n_and_leaves_nothing(
    tmp_path: Path,
    rsa_pair: KeyPair,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    at: tuple[str, signal.Signals],
) -> None:
    stage, signum = at
    keyfiles = rsa_pair.write(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "build.env").write_text("VERSION=1\n")
    _signal_at(monkeypatch, stage, signum)
    args: list[str | Path] = [
        "--private-key-file",
        keyfiles["private"],
        "--output",
        out / "token.jwt",
    ]
    run = _mint_in_process(capsys, *QSEOW_ARGS, *args, "--dotenv", out / "build.env")
    assert run.code == EXIT_BY_SIGNAL[signum]
    name = signal.Signals(signum).name
    names = sorted(p.name for p in out.iterdir())
    if stage == "replaced":
        assert run.err.endswith(f"\nqs-jwt: interrupted by {name}; every file was written\n")
        assert names == ["build.env", "token.jwt"]
        verify_independently((out / "token.jwt").read_text().strip(), rsa_pair.public_pem, "RS256")
        assert (out / "build.env").read_text().startswith("VERSION=1\nQLIK_JWT=eyJ")
    else:
        assert run.err.endswith(
            f"\nqs-jwt: interrupted by {name}; no file was written or changed\n"
        )
        assert names == ["build.env"]
        assert (out / "build.env").read_text() == "VERSION=1\n"
    assert run.out == ""
    _assert_clean(run, rsa_pair)


@pytest.mark.usefixtures("hangup_at_default")
@UNNAMED_FILES
@POSIX_SIGNALS
@pytest.mark.parametrize(
    "at",
    list(itertools.product(STAGES, SIGNALS)),
    ids=lambda at: f"{at[0]}-{signal.Signals(at[1]).name}",
)
def test_keygen_interrupted_at_any_stage_leaves_no_key(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    at: tuple[str, signal.Signals],
) -> None:
    stage, signum = at
    out = tmp_path / "keys"
    _signal_at(monkeypatch, stage, signum)
    run = _mint_in_process(capsys, "keygen", "--out-dir", out, "--key-type", "ec")
    assert (run.code, run.out) == (EXIT_BY_SIGNAL[signum], "")
    names = sorted(p.name for p in out.iterdir())
    if stage == "replaced":
        assert names == ["certificate.pem", "private-key.pem", "public-key.pem"]
        assert stat.S_IMODE((out / "private-key.pem").stat().st_mode) == 0o600
    else:
        assert names == []
    _assert_clean(run)


CHILD = """
import sys
from qsjwt import cli
from qsjwt.io import files

def pause(stage, paused=[]):
    # test only: stop once at the stage named by the test, until the test says go on
    if stage == sys.argv[1] and not paused:
        paused.append(stage)
        sys.stderr.write("PAUSED\\n")
        sys.stderr.flush()
        sys.stdin.readline()

files.stage_hook = pause
sys.exit(cli.main(sys.argv[2:]))
"""


@pytest.mark.usefixtures("hangup_at_default")
@UNNAMED_FILES
@POSIX_SIGNALS
@pytest.mark.parametrize(
    ("stage", "signum"),
    [
        (stage, getattr(signal, name))
        for stage, name in [
            ("opened", "SIGTERM"),
            ("synced", "SIGINT"),
            ("linked", "SIGHUP"),
            ("written", "SIGPIPE"),
            ("replaced", "SIGTERM"),
        ]
        if hasattr(signal, name)  # SIGHUP and SIGPIPE: not on Windows
    ],
    ids=lambda v: v if isinstance(v, str) else signal.Signals(v).name,
)
def test_process_a_real_signal_from_outside_during_a_write(
    tmp_path: Path,
    keyfiles: dict[str, Path],
    rsa_pair: KeyPair,
    stage: str,
    signum: signal.Signals,
) -> None:
    """The real process, signalled by another one while it is paused inside a write."""
    out = tmp_path / "out"
    out.mkdir()
    args = [*QSEOW_ARGS, "--private-key-file", str(keyfiles["private"])]
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, stage, *args, "--output", str(out / "token.jwt")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("QSJWT_")},
    )
    assert proc.stdin is not None and proc.stderr is not None
    before = [proc.stderr.readline() for _ in range(1)]
    while before[-1] not in ("PAUSED\n", ""):
        before.append(proc.stderr.readline())
    assert before[-1] == "PAUSED\n", before
    proc.send_signal(signum)
    out_text, err_text = proc.communicate("go\n", timeout=60)
    run = Run(proc.returncode, out_text, "".join(before) + err_text)
    _assert_clean(run, rsa_pair)
    names = [p.name for p in out.iterdir()]
    if signum == getattr(signal, "SIGPIPE", None):  # ignored by Python: the write completes
        assert (run.code, names) == (0, ["token.jwt"])
        return
    assert run.code == 128 + signum
    assert err_text.startswith(f"qs-jwt: interrupted by {signal.Signals(signum).name}")
    assert names == (["token.jwt"] if stage == "replaced" else [])


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("/", "'/': Permission denied"),
        ("eyJhbGciOiJSUzI1NiJ9.s3cr3t", "the path given (27 characters, not shown"),
    ],
)
def test_an_oserror_about_a_file_is_not_called_output_failed(
    monkeypatch: pytest.MonkeyPatch, filename: str, shown: str
) -> None:
    """An OSError about a named file that no command turned into its own error says which file
    (never a value given where a path belongs), not that stdout failed."""
    from qsjwt.cli import commands

    def failing(*_: object) -> int:
        raise PermissionError(13, "Permission denied", filename)

    monkeypatch.setitem(commands.HANDLERS, "decode", failing)
    run = qs_jwt("decode", "-")
    assert run.code == 1
    assert run.err.startswith(f"qs-jwt: error: {shown}")
    assert "output failed" not in run.err and "s3cr3t" not in run.everything
