"""``qs-jwt oauth``: the OAuth target on the command line, against the local Qlik over HTTPS.

The exchange's own cases (every refusal, retries on fake time) are in test_exchange.py; here
the command's part: where each value comes from, what reaches stdout and files, exit codes 3 and
4, and that no assertion, access token or key shows in any message.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from qsjwt.signing.jwk import public_jwk
from qsjwt.signing.keys import signing_key_from
from tests.cli.test_cli import Run, assert_no_key, qs_jwt, qs_jwt_process
from tests.conftest import KeyPair
from tests.oauth.test_exchange import users_me
from tests.qlik_local import IMPERSONATION, LocalQlik, QlikClient, QlikUser

CLIENT = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def qlik(tmp_path: Path, rsa_pair: KeyPair) -> Iterator[LocalQlik]:
    (tmp_path / "qlik").mkdir()
    with LocalQlik(tmp_path / "qlik") as server:
        key = signing_key_from(rsa_pair.key, input_name="private-key")
        server.register(
            QlikClient(
                CLIENT,
                [public_jwk(key.key, input_name="private-key")],
                scopes=frozenset({"user_default", "admin.apps:read"}),
                grants=frozenset({"client_credentials", IMPERSONATION}),
            )
        )
        yield server


@pytest.fixture
def key_file(tmp_path: Path, rsa_pair: KeyPair) -> Path:
    path = tmp_path / "oauth-key.pem"
    path.write_bytes(rsa_pair.private_pem)
    path.chmod(0o600)
    return path


def oauth(qlik: LocalQlik, key_file: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    return qs_jwt(
        "oauth",
        "--tenant",
        qlik.host,
        "--client-id",
        CLIENT,
        "--ca-bundle",
        qlik.ca_bundle,
        "--private-key-file",
        key_file,
        *args,
        env=env,
    )


def assert_clean(run: Run, qlik: LocalQlik, rsa_pair: KeyPair, *secrets: str) -> None:
    """No key, no assertion sent, and none of ``secrets`` in what the run printed."""
    assert_no_key(run, rsa_pair)
    for seen in qlik.requests:
        assert str(seen.fields.get("client_assertion")) not in run.err
    for secret in secrets:
        assert secret not in run.err


def test_the_access_token_alone_goes_to_stdout_and_works(
    qlik: LocalQlik, key_file: Path, rsa_pair: KeyPair
) -> None:
    run = oauth(qlik, key_file)
    assert run.code == 0, run.err
    token = run.out.strip()
    assert run.out == token + "\n"
    assert users_me(qlik, token)[0] == 200
    # the key's warnings, as for every target (one flow), and nothing else
    assert run.err.splitlines() == [
        "qs-jwt: warning: --private-key-file: RSA key of 2048 bits; 3072 or more is recommended "
        "(Qlik's tutorial uses 4096)"
    ]
    assert_clean(run, qlik, rsa_pair, token)
    (seen,) = qlik.requests
    assert seen.fields["grant_type"] == "client_credentials"
    assert seen.header is not None and seen.header["alg"] == "RS256"


def test_json_format_holds_the_token_and_its_expiry(
    qlik: LocalQlik, key_file: Path, rsa_pair: KeyPair
) -> None:
    run = oauth(qlik, key_file, "--format", "json", "--scope", "user_default")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    assert set(document) == {"access_token", "token_type", "expires_at", "expires_in", "scope"}
    assert document["token_type"] == "Bearer"
    assert document["scope"] == "user_default"
    assert isinstance(document["expires_in"], int) and document["expires_in"] > 0
    assert document["expires_at"].endswith("Z")
    assert users_me(qlik, document["access_token"])[0] == 200


def test_settings_from_variables(qlik: LocalQlik, key_file: Path) -> None:
    env = {
        "QSJWT_TENANT": f"https://{qlik.host}/",
        "QSJWT_CLIENT_ID": CLIENT,
        "QSJWT_CA_BUNDLE": qlik.ca_bundle,
        "QSJWT_PRIVATE_KEY_FILE": str(key_file),
        "QSJWT_SCOPE": "user_default\nadmin.apps:read",
    }
    run = qs_jwt("oauth", "--format", "json", env=env)
    assert run.code == 0, run.err
    assert set(json.loads(run.out)["scope"].split()) == {"user_default", "admin.apps:read"}
    assert qlik.requests[0].fields["scope"] == "user_default admin.apps:read"


def test_output_file_and_dotenv(
    qlik: LocalQlik, key_file: Path, rsa_pair: KeyPair, tmp_path: Path
) -> None:
    output, dotenv = tmp_path / "access-token.txt", tmp_path / "qlik.env"
    run = oauth(qlik, key_file, "--output", str(output), "--dotenv", str(dotenv))
    assert run.code == 0, run.err
    assert run.out == ""
    token = output.read_text().strip()
    assert dotenv.read_text() == f"QLIK_ACCESS_TOKEN={token}\n"
    assert output.stat().st_mode & 0o777 == 0o600
    assert "access token expires at" in run.err
    assert_clean(run, qlik, rsa_pair, token)


def test_impersonation(qlik: LocalQlik, key_file: Path) -> None:
    qlik.add_user(QlikUser("u-1", "auth0|alice"))
    run = oauth(
        qlik, key_file, "--grant", "user-impersonation", "--user-lookup", "subject=auth0|alice"
    )
    assert run.code == 0, run.err
    status, me = users_me(qlik, run.out.strip())
    assert (status, me["id"]) == (200, "u-1")
    assert qlik.requests[0].content_type == "application/json"


def test_assertion_only_sends_nothing(qlik: LocalQlik, key_file: Path, rsa_pair: KeyPair) -> None:
    run = oauth(qlik, key_file, "--assertion-only", "--format", "json")
    assert run.code == 0, run.err
    assert qlik.requests == []
    document = json.loads(run.out)
    claims = jwt.decode(
        document["token"],
        rsa_pair.public_pem,
        algorithms=["RS256"],
        audience=qlik.token_url,
        issuer=CLIENT,
    )
    assert claims["sub"] == CLIENT
    assert claims["exp"] - claims["iat"] == 120
    assert document["header"]["kid"] == qlik.clients[CLIENT].public_keys[0]["kid"]
    # an assertion-only run warns about inputs only the exchange reads (ca-bundle here)
    assert "--ca-bundle" in run.err and "ignored" in run.err


def test_assertion_only_dotenv_is_qlik_jwt(qlik: LocalQlik, key_file: Path, tmp_path: Path) -> None:
    dotenv = tmp_path / "a.env"
    run = qs_jwt(
        "oauth",
        "--tenant",
        "tenant.eu.qlikcloud.com",
        "--client-id",
        CLIENT,
        "--private-key-file",
        key_file,
        "--assertion-only",
        "--dotenv",
        dotenv,
    )
    assert run.code == 0, run.err
    assert dotenv.read_text().startswith("QLIK_JWT=ey")
    assert "tenant.eu.qlikcloud.com" not in run.err


# --- refusals: exit 3 names what to change --------------------------------------------------


def test_a_client_id_qlik_does_not_know_is_exit_3(
    qlik: LocalQlik, key_file: Path, rsa_pair: KeyPair
) -> None:
    run = qs_jwt(
        "oauth",
        "--tenant",
        qlik.host,
        "--client-id",
        "not-registered",
        "--ca-bundle",
        qlik.ca_bundle,
        "--private-key-file",
        key_file,
    )
    assert run.code == 3, run.err
    assert run.out == ""
    assert "--client-id" in run.err
    assert_clean(run, qlik, rsa_pair)


def test_a_key_qlik_does_not_hold_is_exit_3(
    qlik: LocalQlik, tmp_path: Path, other_rsa_pair: KeyPair
) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(other_rsa_pair.private_pem)
    run = oauth(qlik, other)
    assert run.code == 3, run.err
    assert "--key-id" in run.err or "--private-key-file" in run.err
    assert_clean(run, qlik, other_rsa_pair)


def test_a_scope_the_client_lacks_is_exit_3(qlik: LocalQlik, key_file: Path) -> None:
    run = oauth(qlik, key_file, "--scope", "admin_classic")
    assert run.code == 3, run.err
    assert "--scope" in run.err
    assert "admin_classic" not in run.err


def test_nothing_listening_is_exit_4(key_file: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = qs_jwt(
        "oauth",
        "--tenant",
        f"127.0.0.1:{port}",
        "--client-id",
        CLIENT,
        "--private-key-file",
        key_file,
        "--timeout",
        "2s",
    )
    assert run.code == 4, run.err
    assert run.out == ""


def test_an_untrusted_certificate_is_exit_4_and_names_ca_bundle(
    qlik: LocalQlik, key_file: Path
) -> None:
    run = qs_jwt(
        "oauth", "--tenant", qlik.host, "--client-id", CLIENT, "--private-key-file", key_file
    )
    assert run.code == 4, run.err
    assert "--ca-bundle" in run.err
    assert qlik.requests == []


def test_insecure_works_and_warns(qlik: LocalQlik, key_file: Path) -> None:
    run = qs_jwt(
        "oauth",
        "--tenant",
        qlik.host,
        "--client-id",
        CLIENT,
        "--private-key-file",
        key_file,
        "--insecure",
    )
    assert run.code == 0, run.err
    assert "warning: --insecure: is on" in run.err
    assert users_me(qlik, run.out.strip())[0] == 200


# --- bad input: exit 2 before anything is signed or sent -------------------------------------


@pytest.mark.parametrize(
    ("args", "named", "fragment"),
    [
        (["--timeout", "11m"], "--timeout", "10m"),
        (["--expires-in", "6m"], "--expires-in", "300 s"),
        (["--grant", "user-impersonation"], "--user-lookup", "required"),
        (["--user-lookup", "subject=x"], "--user-lookup", "only read"),
        (["--algorithm", "PS256"], "--algorithm", ""),
        (["--insecure"], "--insecure", "--ca-bundle"),
        (["--scope", 'a"b'], "--scope", ""),
        (["--grant", "password"], "--grant", ""),
    ],
)
def test_bad_settings_are_exit_2(
    qlik: LocalQlik, key_file: Path, args: list[str], named: str, fragment: str
) -> None:
    run = oauth(qlik, key_file, *args)
    assert run.code == 2, run.err
    assert named in run.err and fragment in run.err
    assert qlik.requests == []


def test_tenant_and_client_id_missing_are_named_together(key_file: Path) -> None:
    run = qs_jwt("oauth", "--private-key-file", key_file)
    assert run.code == 2
    assert "--tenant" in run.err and "--client-id" in run.err


def test_a_tenant_with_a_path_is_refused(key_file: Path) -> None:
    run = qs_jwt(
        "oauth",
        "--tenant",
        "https://tenant.eu.qlikcloud.com/oauth/token",
        "--client-id",
        CLIENT,
        "--private-key-file",
        key_file,
    )
    assert run.code == 2
    assert "--tenant" in run.err and "path" in run.err


def test_a_p256_key_is_refused_before_any_request(
    qlik: LocalQlik, tmp_path: Path, ec_pair: KeyPair
) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(ec_pair.private_pem)
    run = oauth(qlik, path)
    assert run.code == 2, run.err
    assert "--private-key-file" in run.err
    assert qlik.requests == []


def test_a_missing_ca_bundle_is_exit_2(qlik: LocalQlik, key_file: Path, tmp_path: Path) -> None:
    run = qs_jwt(
        "oauth",
        "--tenant",
        qlik.host,
        "--client-id",
        CLIENT,
        "--private-key-file",
        key_file,
        "--ca-bundle",
        tmp_path / "nowhere.pem",
    )
    assert run.code == 2, run.err
    assert "--ca-bundle" in run.err
    assert qlik.requests == []


def test_an_output_over_the_ca_bundle_is_refused(qlik: LocalQlik, key_file: Path) -> None:
    run = oauth(qlik, key_file, "--output", qlik.ca_bundle)
    assert run.code == 2, run.err
    assert qlik.requests == []


def test_process_exit_code_and_streams(qlik: LocalQlik, key_file: Path) -> None:
    """The real entry point: exit 0, the token alone on stdout."""
    run = qs_jwt_process(
        "oauth",
        "--tenant",
        qlik.host,
        "--client-id",
        CLIENT,
        "--ca-bundle",
        qlik.ca_bundle,
        "--private-key-file",
        key_file,
    )
    assert run.code == 0, run.err
    assert users_me(qlik, run.out.strip())[0] == 200
