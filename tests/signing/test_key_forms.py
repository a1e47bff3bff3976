"""Keys and certificates as people have them, through the command line and the action: a
PKCS#12 dump (certificate first), a key in a legacy cipher, a certificate chain, an expired
certificate. The core's side is in tests/signing/test_keys.py."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from qsjwt.cli import main
from qsjwt.signing.keys import certificate_pem, self_signed_certificate
from scripts.render_action import read_action
from tests.action_runner import Runner
from tests.conftest import KeyPair

QSEOW = ["qseow", "--user-id", "alice", "--user-directory", "CORP"]
BAG = b"Bag Attributes\n    localKeyID: 01 02 03 04\n    friendlyName: qlik\n"


def _cli(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    code = main([*argv, "--output", str(tmp_path / "token.jwt")], {})
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _action(inputs: dict[str, str], tmp_path: Path) -> tuple[int, str, dict[str, str]]:
    runner = Runner(tmp_path / "runner", list(read_action()["inputs"]))
    result = runner.run_process(
        {"target": "qseow", "user-id": "a", "user-directory": "d", **inputs}
    )
    return result.code, result.stdout, result.outputs


def test_a_pkcs12_dump_signs(
    rsa3072_pair: KeyPair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = BAG + rsa3072_pair.certificate_pem + BAG + rsa3072_pair.private_pem
    (tmp_path / "dump.pem").write_bytes(dump)
    code, _, err = _cli(
        [*QSEOW, "--private-key-file", str(tmp_path / "dump.pem")], tmp_path, capsys
    )
    assert code == 0, err
    code, log, outputs = _action({"private-key": dump.decode()}, tmp_path)
    assert code == 0, log
    assert outputs["token"].count(".") == 2


def test_a_legacy_cipher_says_how_to_convert(
    rsa_pair: KeyPair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = subprocess.run(
        [
            "openssl",
            "pkcs8",
            "-topk8",
            "-v2",
            "des",
            "-provider",
            "legacy",
            "-provider",
            "default",
            "-passout",
            "pass:right",
        ],
        input=rsa_pair.private_pem,
        capture_output=True,
        check=True,
    ).stdout
    (tmp_path / "old.pem").write_bytes(old)
    (tmp_path / "pass").write_text("right\n")
    argv = [*QSEOW, "--private-key-file", str(tmp_path / "old.pem")]
    code, out, err = _cli([*argv, "--passphrase-file", str(tmp_path / "pass")], tmp_path, capsys)
    assert code == 2 and out == ""
    assert "legacy cipher" in err and "openssl pkcs8 -topk8 -v2 aes-256-cbc" in err
    code, log, outputs = _action(
        {"private-key": old.decode(), "private-key-passphrase": "right"}, tmp_path
    )
    assert code == 1 and outputs == {"error-code": "invalid-key", "error-input": "private-key"}
    assert "legacy cipher" in log


def test_an_expired_certificate_warns_and_a_chain_is_searched(
    rsa3072_pair: KeyPair,
    other_rsa_pair: KeyPair,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    expired = certificate_pem(
        self_signed_certificate(rsa3072_pair.key, common_name="old", days=30, now=long_ago)
    )
    chain = other_rsa_pair.certificate_pem + expired  # the key's own is not the first
    (tmp_path / "key.pem").write_bytes(rsa3072_pair.private_pem)
    (tmp_path / "chain.pem").write_bytes(chain)
    argv = [*QSEOW, "--private-key-file", str(tmp_path / "key.pem")]
    code, _, err = _cli(
        [*argv, "--certificate-file", str(tmp_path / "chain.pem")], tmp_path, capsys
    )
    assert code == 0, err
    assert "qs-jwt: warning: --certificate-file: expired on" in err
    code, log, outputs = _action(
        {"private-key": rsa3072_pair.private_pem.decode(), "certificate": chain.decode()}, tmp_path
    )
    assert code == 0 and "token" in outputs
    assert "::warning title=Check certificate::certificate: expired on" in log
