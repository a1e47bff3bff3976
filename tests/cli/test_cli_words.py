"""The command line speaks its own words: flags and ``QSJWT_*`` variables, never a bare action
input (``set private-key-passphrase``, ``give groups-claim``); and it shows its own vocabulary
(commands, options, known choices) while it still never repeats a value that may be a secret."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qsjwt.base.inputs import INPUTS, KEY_SERVICE_INPUTS, PKCS11_PIN, VAULT_TOKEN
from qsjwt.cli.parser import COMMANDS
from tests.cli.test_cli import CLOUD_ARGS, QSEOW_ARGS, qs_jwt
from tests.conftest import ENCRYPTED_KEY, KeyPair

ACTION_ONLY = sorted(
    {spec.name for spec in INPUTS if "-" in spec.name}
    | {"private-key", "private-key-passphrase", VAULT_TOKEN, PKCS11_PIN, "id-token", "export-env"},
    key=len,
    reverse=True,
)
"""Action inputs whose name is no English word: on the command line they are always spelled as a
flag (``--user-id``) or a variable (``QSJWT_USER_ID``), never bare."""
BARE = re.compile(
    r"(?<![-\w/])(" + "|".join(map(re.escape, ACTION_ONLY)) + r")(?![-\w]|\.\w|: write)"
)
"""A bare input name: not after ``--`` or inside a variable, a path or a file name
(``private-key.pem``), and not GitHub's ``id-token: write`` permission."""
LOOPBACK_VAULT = "https://127.0.0.1:9"
"""Port 9 (discard): nothing answers, and no message here needs an answer."""


def _scenarios(keys: dict[str, Path], tmp: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    key = ["--private-key-file", str(keys["private"])]
    return {
        "encrypted key, no passphrase": (
            [*QSEOW_ARGS, "--private-key-file", str(ENCRYPTED_KEY)],
            {},
        ),
        "groups without groups-claim": ([*QSEOW_ARGS, "--group", "Sales", *key], {}),
        "vault without role or token": (
            [*QSEOW_ARGS, "--key-service", "vault:transit/k", "--vault-address", LOOPBACK_VAULT],
            {},
        ),
        "vault from VAULT_ADDR": (
            [*QSEOW_ARGS, "--key-service", "vault:transit/k"],
            {"VAULT_ADDR": LOOPBACK_VAULT},
        ),
        "key service and key": ([*QSEOW_ARGS, *key, "--key-service", "vault:transit/k"], {}),
        "cloud missing": (["cloud", *key], {}),
        "cloud check without tenant": ([*CLOUD_ARGS, *key, "--check"], {}),
        "qseow check without proxy": ([*QSEOW_ARGS, *key, "--check"], {}),
        "impersonation without lookup": (
            [
                "oauth",
                "--tenant",
                "t.example.com",
                "--client-id",
                "c",
                "--grant",
                "user-impersonation",
                *key,
            ],
            {},
        ),
        "bad lifetime": ([*QSEOW_ARGS, *key, "--expires-in", "forever"], {}),
        "bad skew": ([*QSEOW_ARGS, *key, "--clock-skew", "ages"], {}),
        "insecure and ca-bundle": (
            [
                *QSEOW_ARGS,
                *key,
                "--check",
                "--virtual-proxy-url",
                "https://127.0.0.1:9/jwt",
                "--insecure",
                "--ca-bundle",
                str(keys["certificate"]),
            ],
            {},
        ),
        "dotenv variable alone": ([*QSEOW_ARGS, *key, "--dotenv-variable", "X"], {}),
        "assertion-only and check": (
            [
                "oauth",
                "--tenant",
                "t.example.com",
                "--client-id",
                "c",
                "--assertion-only",
                "--check",
                *key,
            ],
            {},
        ),
        "pkcs11 without module": ([*QSEOW_ARGS, "--key-service", "pkcs11:token=t;object=o"], {}),
        "azure without ids": (
            [*QSEOW_ARGS, "--key-service", "azurekv:https://v.vault.azure.net/keys/k"],
            {},
        ),
        "gcp without provider": (
            [
                *QSEOW_ARGS,
                "--key-service",
                "gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
            ],
            {},
        ),
        "keygen key service": (
            ["keygen", "--out-dir", str(tmp / "k"), "--key-service", "vault:t/k"],
            {},
        ),
        "jwk key service and key": (["jwk", *key, "--key-service", "vault:transit/k"], {}),
        "verify without key": (["verify", "a.b.c"], {}),
        "call without token": (["call", "https://127.0.0.1:9/x"], {}),
        "no private key": ([*QSEOW_ARGS], {}),
        "cloud email-verified": ([*CLOUD_ARGS, *key, "--email-verified", "maybe"], {}),
        "attributes": ([*QSEOW_ARGS, *key, "--attribute", "userId=x"], {}),
        "pin in a pkcs11 uri": (
            [*QSEOW_ARGS, "--key-service", "pkcs11:token=t;object=o?pin-value=1234"],
            {},
        ),
    }


def test_no_command_line_message_names_a_bare_action_input(
    rsa_pair: KeyPair, tmp_path: Path
) -> None:
    keys = rsa_pair.write(tmp_path)
    bare: dict[str, str] = {}
    for name, (argv, env) in _scenarios(keys, tmp_path).items():
        run = qs_jwt(*argv, env=env)
        assert "internal error" not in run.err, (name, run.err)
        assert run.err.strip(), f"{name}: said nothing"
        for line in run.err.splitlines():
            if BARE.search(line):
                bare[name] = line
    assert not bare, "\n".join(f"{name}: {line}" for name, line in bare.items())


def test_the_bare_name_check_sees_a_bare_name() -> None:
    assert BARE.search("is encrypted (set private-key-passphrase)")
    assert BARE.search("give groups-claim to say it does")
    assert not BARE.search("give --groups-claim or QSJWT_GROUPS_CLAIM; private-key.pem")
    assert not BARE.search("needs id-token: write")


def test_version_and_help_show_the_tools_own_words() -> None:
    version = qs_jwt("-V")
    assert version.code == 0
    assert version.out.startswith("qs-jwt ") and not version.err
    for argv in (["help", "qseow"], ["qseow", "--help"]):
        run = qs_jwt(*argv)
        assert run.code == 0, run.err
        assert run.out.startswith("usage: qs-jwt qseow")
        assert "not shown" not in run.out + run.err
    top = qs_jwt("help")
    assert top.code == 0
    assert all(command in top.out for command in COMMANDS)


def test_help_of_check_names_the_command_that_was_run() -> None:
    run = qs_jwt("check", "qseow", "--help")
    assert run.out.startswith("usage: qs-jwt check qseow")
    assert qs_jwt("help", "check", "qseow").out.startswith("usage: qs-jwt check qseow")


def test_help_for_an_unknown_command_shows_no_value() -> None:
    run = qs_jwt("help", "S3cretS3cret")
    assert run.code == 2
    assert "S3cret" not in run.err
    assert "qseow" in run.err


def test_an_unknown_command_is_counted_not_shown_and_a_close_one_suggested() -> None:
    run = qs_jwt("qsoew")
    assert run.code == 2
    assert "did you mean qseow?" in run.err
    assert "qsoew" not in run.err


def test_bulk_help_lists_only_the_options_it_uses() -> None:
    run = qs_jwt("bulk", "--help")
    assert run.code == 0
    for absent in ("--client-id", "--scope", "--grant", "--key-service", "--check", "--tenant"):
        assert absent not in run.out


def test_key_service_options_are_one_group_and_help_names_their_variables() -> None:
    short = qs_jwt("qseow", "--help").out
    full = qs_jwt("qseow", "--help-all").out
    for variable in ("QSJWT_VAULT_TOKEN", "VAULT_TOKEN", "QSJWT_PKCS11_PIN", "QSJWT_ID_TOKEN"):
        assert variable in short
    assert "--key-service" in short and "--vault-role" not in short
    for name in KEY_SERVICE_INPUTS:
        assert f"--{name} " in full
    assert len(short.splitlines()) < len(full.splitlines())
    assert "--vault-role" in qs_jwt("keygen", "--help-all").out


def test_keygen_into_a_missing_directory_reads_as_a_sentence(tmp_path: Path) -> None:
    run = qs_jwt("keygen", "--out-dir", "nonexist/deeper", cwd=tmp_path)
    assert run.code == 2
    assert "the path given" not in run.err
    assert run.err.startswith("qs-jwt: error: --out-dir: ")
    assert "mkdir -p" in run.err


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "check"])
def test_every_command_has_help(command: str) -> None:
    run = qs_jwt("help", command)
    assert run.code == 0
    assert run.out.startswith(f"usage: qs-jwt {command}")
