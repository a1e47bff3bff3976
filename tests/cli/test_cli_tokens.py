"""decode, verify and lint as a user runs them: the token from --token-file (or
QSJWT_TOKEN_FILE), an argument, or standard input; qs-jwt's own words for what is wrong; and
--output /dev/stdout and call --output - write to standard output."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from qsjwt.app import tokens
from qsjwt.base.errors import TokenError
from qsjwt.cli import parser
from tests.cli.test_cli import QSEOW_ARGS, qs_jwt
from tests.conftest import KeyPair


@pytest.fixture
def keys(tmp_path: Path, rsa_pair: KeyPair) -> dict[str, Path]:
    return rsa_pair.write(tmp_path)


def mint(keys: dict[str, Path], *more: str) -> str:
    run = qs_jwt(*QSEOW_ARGS, "--audience", "qlik", "--private-key-file", keys["private"], *more)
    assert run.code == 0, run.err
    return run.out.strip()


@pytest.fixture
def token_file(keys: dict[str, Path], tmp_path: Path) -> Path:
    path = tmp_path / "token.jwt"
    path.write_text(mint(keys) + "\n")
    return path


@pytest.mark.parametrize("command", ["decode", "verify", "lint"])
def test_token_file_and_its_variable(command: str, keys: dict[str, Path], token_file: Path) -> None:
    extra = {
        "decode": [],
        "verify": ["--certificate-file", str(keys["certificate"])],
        "lint": ["--target", "qseow"],
    }[command]
    token = token_file.read_text().strip()
    for run in (
        qs_jwt(command, "--token-file", token_file, *extra),
        qs_jwt(command, *extra, env={"QSJWT_TOKEN_FILE": str(token_file)}),
    ):
        assert run.code == 0, run.err
        assert token not in run.err


def test_a_file_given_as_the_token_says_to_use_token_file(token_file: Path) -> None:
    run = qs_jwt("decode", token_file)
    assert run.code == 2
    assert "names a file" in run.err and f"--token-file '{token_file}'" in run.err


def test_the_argument_wins_over_the_variable_and_both_flags_are_refused(
    keys: dict[str, Path], token_file: Path
) -> None:
    token = token_file.read_text().strip()
    run = qs_jwt("decode", token, env={"QSJWT_TOKEN_FILE": "/nonexistent"})
    assert run.code == 0, run.err
    both = qs_jwt("decode", token, "--token-file", token_file)
    assert both.code == 2
    assert token not in both.err


def test_a_missing_token_file_does_not_show_its_name_and_a_token_there_is_hinted() -> None:
    secretish = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    run = qs_jwt("decode", "--token-file", secretish)
    assert run.code == 2
    assert secretish not in run.err


def test_decode_says_whether_the_token_is_in_date(keys: dict[str, Path]) -> None:
    fresh = qs_jwt("decode", stdin=mint(keys))
    assert "in date: expires in 59 minutes" in fresh.err
    assert json.loads(fresh.out)["in_date"] is True


def later(minutes: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)


def test_an_expired_or_early_token_is_said_so(keys: dict[str, Path]) -> None:
    """The clock is the core's argument: a token checked as if an hour and a half later."""
    claims = tokens.decode(mint(keys))[1]
    in_date, said = tokens.validity(claims, now=later(90))
    assert not in_date and said.startswith("expired 30 minutes ago (")
    early, said = tokens.validity(claims, now=later(-10))
    assert not early and said.startswith("not valid yet: its nbf is in 9 minutes")


def test_verify_says_how_long_ago_it_expired_in_its_own_words(keys: dict[str, Path]) -> None:
    with pytest.raises(TokenError, match=r"expired 30 minutes ago \(") as raised:
        tokens.verify(mint(keys), keys["certificate"].read_bytes(), now=later(90))
    assert "Signature has expired" not in str(raised.value)
    with pytest.raises(TokenError, match="is not valid yet: its nbf is in 9 minutes"):
        tokens.verify(mint(keys), keys["certificate"].read_bytes(), now=later(-10))


def test_verify_names_the_aud_found_and_expected(keys: dict[str, Path]) -> None:
    run = qs_jwt(
        "verify", "--certificate-file", keys["certificate"], "--audience", "other", stdin=mint(keys)
    )
    assert run.code == 1
    assert 'is for another audience: it has aud "qlik", and "other" was expected' in run.err


def _expired_certificate(pair: KeyPair, path: Path) -> Path:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pair.key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now - dt.timedelta(days=1))
        .sign(pair.key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_verify_warns_about_an_expired_certificate(
    keys: dict[str, Path], rsa_pair: KeyPair, tmp_path: Path
) -> None:
    old = _expired_certificate(rsa_pair, tmp_path / "old.pem")
    run = qs_jwt("verify", "--certificate-file", old, stdin=mint(keys))
    assert run.code == 0, run.err
    assert "qs-jwt: warning: --certificate-file: expired on" in run.err


def test_lint_json(keys: dict[str, Path]) -> None:
    run = qs_jwt("lint", "--target", "cloud", "--format", "json", stdin=mint(keys))
    assert run.code == 1
    document = json.loads(run.out)
    assert document["target"] == "cloud" and document["errors"] >= 1
    assert {"severity", "claim", "message"} == set(document["findings"][0])
    bad = qs_jwt("lint", "--target", "qseow", "--format", "xml", stdin=mint(keys))
    assert bad.code == 2 and "--format: must be one of text, json" in bad.err


@pytest.mark.parametrize("stdout", ["-", "/dev/stdout"])
def test_output_to_standard_output(keys: dict[str, Path], stdout: str) -> None:
    run = qs_jwt(*QSEOW_ARGS, "--private-key-file", keys["private"], "--output", stdout)
    assert run.code == 0, run.err
    assert run.out.count(".") == 2 and "wrote" not in run.err


def test_version_names_the_commit_recorded_at_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = tmp_path / "COMMIT"
    recorded.write_text("0123456789ab\n")
    monkeypatch.setattr(parser, "COMMIT_FILE", str(recorded))
    assert qs_jwt("-V").out.endswith(" (commit 0123456789ab)\n")
    recorded.write_text("not a commit; a secret?\n")
    assert "commit" not in qs_jwt("-V").out
    recorded.unlink()
    assert "commit" not in qs_jwt("--version").out
