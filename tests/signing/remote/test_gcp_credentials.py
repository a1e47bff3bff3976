"""google-github-actions/auth's ``external_account`` credential file: a job that ran it needs no
provider or service account input, and a ``credential_source.file`` token is used as the CI's
identity token. Against the Google fake of tests/cloud_fakes.py, as real processes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from qsjwt.base.errors import InputError
from qsjwt.signing.remote.gcp_credentials import read_external_account
from tests import cloud_fakes as fakes
from tests.cli.test_cli import qs_jwt_process
from tests.conftest import verify_independently
from tests.signing.remote.test_keyless_clouds import QSEOW, google, google_env, no_credential

__all__ = ["google"]  # the fixture, imported for this module's tests

IMPERSONATION = (
    "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
    f"{fakes.SERVICE_ACCOUNT}:generateAccessToken"
)


def credential_file(tmp_path: Path, source: Mapping[str, object], *, impersonate: bool) -> Path:
    """The file as google-github-actions/auth writes it (its fields, in its shape)."""
    document: dict[str, object] = {
        "type": "external_account",
        "audience": f"//iam.googleapis.com/{fakes.PROVIDER}",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": source,
    }
    if impersonate:
        document["service_account_impersonation_url"] = IMPERSONATION
    path = tmp_path / "gha-creds-0123456789abcdef.json"
    path.write_text(json.dumps(document))
    return path


def env_with_credentials(google: fakes.Google, path: Path) -> dict[str, str]:
    env = google_env(google)
    del env["QSJWT_GCP_WORKLOAD_IDENTITY_PROVIDER"], env["QSJWT_GCP_SERVICE_ACCOUNT"]
    return {**env, "GOOGLE_APPLICATION_CREDENTIALS": str(path)}


def mint(env: dict[str, str], tmp_path: Path) -> str:
    out = tmp_path / "public"
    made = qs_jwt_process("keygen", "--out-dir", str(out), env=env)
    assert made.code == 0, made.err
    run = qs_jwt_process(*QSEOW, "--certificate-file", str(out / "certificate.pem"), env=env)
    assert run.code == 0, run.err
    verify_independently(run.out.strip(), (out / "certificate.pem").read_bytes(), "RS256")
    return run.everything


def test_the_auth_actions_file_gives_provider_and_service_account(
    google: fakes.Google, tmp_path: Path
) -> None:
    source = {"url": "https://pipelines.actions.githubusercontent.com/x", "headers": {}}
    path = credential_file(tmp_path, source, impersonate=True)
    mint(env_with_credentials(google, path), tmp_path)
    assert google.impersonated, "the service account named in the file was impersonated"


def test_a_credential_source_file_is_the_identity_token_and_is_never_shown(
    google: fakes.Google, tmp_path: Path
) -> None:
    token = fakes.id_token(f"https://iam.googleapis.com/{fakes.PROVIDER}")
    (tmp_path / "token.json").write_text(json.dumps({"value": token}))
    source = {
        "file": str(tmp_path / "token.json"),
        "format": {"type": "json", "subject_token_field_name": "value"},
    }
    env = env_with_credentials(google, credential_file(tmp_path, source, impersonate=False))
    del env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
    shown = mint(env, tmp_path)
    assert token not in shown
    assert google.server is not None
    assert any(r.json().get("subjectToken") == token for r in google.server.seen)


def test_a_service_account_key_file_is_not_federation(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"type": "service_account", "private_key": "-----BEGIN"}))
    assert read_external_account(str(path), "googleapis.com") is None


@pytest.mark.parametrize(
    "content", ["not json", json.dumps({"type": "external_account", "audience": "x"})]
)
def test_a_broken_file_names_the_variable_and_shows_nothing(tmp_path: Path, content: str) -> None:
    path = tmp_path / "creds.json"
    path.write_text(content)
    with pytest.raises(InputError) as raised:
        read_external_account(str(path), "googleapis.com")
    assert raised.value.input_name == "GOOGLE_APPLICATION_CREDENTIALS"
    assert content not in raised.value.render()


def test_without_provider_or_file_the_message_names_both(google: fakes.Google) -> None:
    env = google_env(google)
    del env["QSJWT_GCP_WORKLOAD_IDENTITY_PROVIDER"]
    run = qs_jwt_process(*QSEOW, env=env)
    assert run.code == 2
    assert "GOOGLE_APPLICATION_CREDENTIALS" in run.err
    no_credential(run, google)
