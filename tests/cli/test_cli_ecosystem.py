"""The variables of the tools a Qlik admin already uses, read after qs-jwt's own: the vault CLI's
(``vault login``, hashicorp/vault-action) for a ``vault:`` key, and the CA bundles of Python's
and curl's tools. Their credentials are never shown."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from qsjwt.cli import gather
from qsjwt.cli.grammar import command_parser
from tests import keyless_rigs as rigs
from tests.cli.test_cli import QSEOW_ARGS, qs_jwt
from tests.conftest import verify_independently
from tests.signing.remote.test_keyless import bao

__all__ = ["bao"]  # the OpenBao fixture, used by this module's tests
SECRET = "hvs.CAESIJustALongVaultTokenThatMustNeverShow0123456789"


def parsed(*argv: str) -> SimpleNamespace:
    args, extras = command_parser(argv[0]).parse_command(list(argv[1:]))
    assert extras == []
    return args


def test_vault_cli_variables_fill_a_vault_key_after_qsjwt_s_own() -> None:
    args = parsed(*QSEOW_ARGS, "--key-service", "vault:transit/k")
    env = {
        "VAULT_ADDR": "https://vault.example.com:8200",
        "VAULT_NAMESPACE": "admin/qlik",
        "VAULT_CACERT": "/etc/vault/ca.pem",
        "VAULT_TOKEN": SECRET,
    }
    values = gather.settings_values(args, env, args.target)
    assert values["vault-address"] == "https://vault.example.com:8200"
    assert values["vault-namespace"] == "admin/qlik"
    assert values["key-service-ca-bundle"] == "/etc/vault/ca.pem"
    assert gather.key_source(args, env, values).credentials.vault_token == SECRET
    own = {**env, "QSJWT_VAULT_ADDRESS": "https://own:8200", "QSJWT_VAULT_TOKEN": "own-token"}
    values = gather.settings_values(args, own, args.target)
    assert values["vault-address"] == "https://own:8200"
    assert gather.key_source(args, own, values).credentials.vault_token == "own-token"


def test_vault_cli_variables_are_not_read_for_another_key_service() -> None:
    args = parsed(*QSEOW_ARGS, "--key-service", "kms:alias/qlik")
    env = {"VAULT_ADDR": "https://vault.example.com:8200", "VAULT_TOKEN": SECRET}
    values = gather.settings_values(args, env, args.target)
    assert "vault-address" not in values
    assert gather.key_source(args, env, values).credentials.vault_token is None


def test_a_machine_wide_ca_bundle_is_read_only_when_qlik_is_called() -> None:
    env = {"REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem", "CURL_CA_BUNDLE": "/etc/ssl/curl.pem"}
    args = parsed(*QSEOW_ARGS)
    values = gather.settings_values(args, env, args.target)
    gather.with_ca_variables(values, env, args.target)
    assert "ca-bundle" not in values  # no --check: nothing to warn about
    args = parsed(*QSEOW_ARGS, "--check")
    values = gather.settings_values(args, env, args.target)
    gather.with_ca_variables(values, env, args.target)
    assert values["ca-bundle"] == "/etc/ssl/corp.pem"
    for kept in ({"QSJWT_CA_BUNDLE": "/own.pem"}, {"QSJWT_INSECURE": "true"}):
        values = gather.settings_values(args, {**env, **kept}, args.target)
        gather.with_ca_variables(values, {**env, **kept}, args.target)
        assert values.get("ca-bundle") in (None, "/own.pem")


def test_a_vault_token_from_vault_login_signs_and_is_never_shown(
    bao: rigs.Bao, tmp_path: Path
) -> None:
    env = {"VAULT_ADDR": bao.address, "VAULT_TOKEN": rigs.ROOT_TOKEN}
    service = ["--key-service", "vault:transit/rsa"]
    made = qs_jwt("keygen", "--out-dir", tmp_path / "public", *service, env=env)
    assert made.code == 0, made.err
    run = qs_jwt(*QSEOW_ARGS, *service, env=env)
    assert run.code == 0, run.err
    verify_independently(
        run.out.strip(), (tmp_path / "public" / "certificate.pem").read_bytes(), "RS256"
    )
    assert rigs.ROOT_TOKEN not in run.everything + made.everything


def test_a_vault_token_is_not_shown_when_vault_cannot_be_reached() -> None:
    env = {"VAULT_ADDR": "https://127.0.0.1:9", "VAULT_TOKEN": SECRET, "VAULT_NAMESPACE": "ns"}
    run = qs_jwt(*QSEOW_ARGS, "--key-service", "vault:transit/rsa", env=env)
    assert run.code == 4, run.err
    assert "VAULT_ADDR" in run.err
    assert SECRET not in run.everything and SECRET[:16] not in run.everything
