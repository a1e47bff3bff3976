"""``qs-jwt call``: one request with a token that stays off every command line, against the
local Qlik over real HTTPS."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from qsjwt.signing.jwk import public_jwk
from qsjwt.signing.keys import signing_key_from
from tests.cli.test_cli import Run, qs_jwt
from tests.conftest import KeyPair
from tests.qlik_local import Answer, LocalQlik, QlikClient, QlikProxy

CLIENT = "client-1"


@pytest.fixture
def server(tmp_path: Path, rsa_pair: KeyPair) -> Iterator[LocalQlik]:
    (tmp_path / "qlik").mkdir()
    with LocalQlik(tmp_path / "qlik") as qlik:
        key = signing_key_from(rsa_pair.key, input_name="private-key")
        qlik.register(QlikClient(CLIENT, [public_jwk(key.key, input_name="private-key")]))
        yield qlik


@pytest.fixture
def token_file(server: LocalQlik, rsa_pair: KeyPair, tmp_path: Path) -> Path:
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    path = tmp_path / "access-token.txt"
    run = qs_jwt(
        "oauth",
        "--tenant",
        server.host,
        "--client-id",
        CLIENT,
        "--ca-bundle",
        server.ca_bundle,
        "--private-key-file",
        key,
        "--output",
        path,
    )
    assert run.code == 0, run.err
    return path


def call(server: LocalQlik, *args: str | Path, env: dict[str, str] | None = None) -> Run:
    return qs_jwt(
        "call",
        f"https://{server.host}/api/v1/users/me",
        "--ca-bundle",
        server.ca_bundle,
        *args,
        env=env,
    )


def test_users_me_with_a_token_file(server: LocalQlik, token_file: Path) -> None:
    run = call(server, "--token-file", token_file)
    assert run.code == 0, run.err
    assert json.loads(run.out)["subject"]
    assert "200 OK" in run.err
    assert token_file.read_text().strip() not in run.everything


def test_the_token_from_a_variable(server: LocalQlik, token_file: Path) -> None:
    token = token_file.read_text().strip()
    run = call(server, env={"QSJWT_TOKEN": token})
    assert run.code == 0, run.err
    assert token not in run.everything
    run = call(server, env={"QSJWT_TOKEN_FILE": str(token_file)})
    assert run.code == 0, run.err


def test_output_file_keeps_the_body(server: LocalQlik, token_file: Path, tmp_path: Path) -> None:
    body = tmp_path / "me.json"
    run = call(server, "--token-file", token_file, "--output", body)
    assert run.code == 0, run.err
    assert run.out == ""
    assert json.loads(body.read_bytes())["subject"]
    assert body.stat().st_mode & 0o777 == 0o600


def test_a_token_qlik_does_not_know_is_exit_3(server: LocalQlik, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.txt"
    bogus.write_text("not-a-token-qlik-issued\n")
    run = call(server, "--token-file", bogus)
    assert run.code == 3, run.err
    assert "--token-file: Qlik did not accept the token: 401" in run.err
    assert "not-a-token-qlik-issued" not in run.everything


def test_a_missing_path_is_exit_3_naming_the_url(server: LocalQlik, token_file: Path) -> None:
    run = qs_jwt(
        "call",
        f"https://{server.host}/api/v1/nothing-here",
        "--ca-bundle",
        server.ca_bundle,
        "--token-file",
        token_file,
    )
    assert run.code == 3, run.err
    assert "URL: there is nothing at this path: 404" in run.err


def test_a_server_error_is_exit_4(server: LocalQlik, token_file: Path) -> None:
    server.routes[("GET", "/api/v1/broken")] = lambda *_: Answer(503, {"errors": []})
    run = qs_jwt(
        "call",
        f"https://{server.host}/api/v1/broken",
        "--ca-bundle",
        server.ca_bundle,
        "--token-file",
        token_file,
    )
    assert run.code == 4, run.err


def test_nothing_listening_is_exit_4(token_file: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = qs_jwt("call", f"https://127.0.0.1:{port}/x", "--token-file", token_file)
    assert run.code == 4, run.err
    assert "URL:" in run.err


def test_xrfkey_goes_in_query_and_header(server: LocalQlik, token_file: Path) -> None:
    seen: list[tuple[str, str | None]] = []

    def about(_qlik: LocalQlik, request: object, _body: bytes) -> Answer:
        seen.append(
            (getattr(request, "path", ""), getattr(request, "headers", {}).get("X-Qlik-Xrfkey"))
        )
        return Answer(200, {"buildVersion": "1"})

    server.routes[("GET", "/jwt/qrs/about")] = about
    run = qs_jwt(
        "call",
        f"https://{server.host}/jwt/qrs/about",
        "--xrfkey",
        "--ca-bundle",
        server.ca_bundle,
        "--token-file",
        token_file,
    )
    assert run.code == 0, run.err
    (path, header) = seen[0]
    assert header is not None and len(header) == 16 and header.isalnum()
    assert path.endswith(f"?Xrfkey={header}")


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["http://127.0.0.1/x"], {}, "URL"),
        (["https://user:pw@127.0.0.1/x"], {}, "URL"),
        (["https://127.0.0.1/x", "--method", "TRACE"], {}, "--method"),
        (["https://127.0.0.1/x"], {}, "--token-file"),
        (["https://127.0.0.1/x"], {"QSJWT_TOKEN": "a b"}, "QSJWT_TOKEN"),
        (["https://127.0.0.1/x", "--timeout", "1h"], {"QSJWT_TOKEN": "t"}, "--timeout"),
        (
            ["https://127.0.0.1/x", "--insecure", "--ca-bundle", "x.pem"],
            {"QSJWT_TOKEN": "t"},
            "--insecure",
        ),
    ],
)
def test_bad_input_is_exit_2(args: list[str], env: dict[str, str], named: str) -> None:
    run = qs_jwt("call", *args, env=env)
    assert run.code == 2, run.err
    assert f"error: {named}" in run.err
    assert "pw@" not in run.err


def test_a_qrs_call_without_xrfkey_says_to_add_it(
    server: LocalQlik, rsa_pair: KeyPair, tmp_path: Path
) -> None:
    server.add_proxy(QlikProxy("jwt", rsa_pair.certificate_pem))
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    token = tmp_path / "token.jwt"
    minted = qs_jwt(
        "qseow",
        "--user-id",
        "a",
        "--user-directory",
        "D",
        "--private-key-file",
        key,
        "--output",
        token,
    )
    assert minted.code == 0, minted.err
    url = f"{server.proxy_url('jwt')}/qrs/about"
    run = qs_jwt("call", url, "--ca-bundle", server.ca_bundle, "--token-file", token)
    assert run.code == 3, run.err
    assert "--xrfkey: the proxy refused a QRS or Personal API call without an Xrfkey" in run.err
    run = qs_jwt("call", url, "--xrfkey", "--ca-bundle", server.ca_bundle, "--token-file", token)
    assert run.code == 0, run.err
    assert json.loads(run.out)["buildVersion"]


def test_output_dash_is_standard_output_not_a_file(
    server: LocalQlik, token_file: Path, tmp_path: Path
) -> None:
    run = qs_jwt(
        "call",
        f"https://{server.host}/api/v1/users/me",
        "--ca-bundle",
        server.ca_bundle,
        "--token-file",
        token_file,
        "--output",
        "-",
        cwd=tmp_path,
    )
    assert run.code == 0, run.err
    assert json.loads(run.out)["subject"]
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_the_ca_bundle_of_python_and_curl_tools(
    server: LocalQlik, token_file: Path, variable: str
) -> None:
    run = qs_jwt(
        "call",
        f"https://{server.host}/api/v1/users/me",
        "--token-file",
        token_file,
        env={"REQUESTS_CA_BUNDLE": "", variable: server.ca_bundle, "SSL_CERT_FILE": ""},
    )
    assert run.code == 0, run.err
    untrusted = qs_jwt(
        "call",
        f"https://{server.host}/api/v1/users/me",
        "--token-file",
        token_file,
        env={"REQUESTS_CA_BUNDLE": "", variable: str(token_file.parent / "key.pem")},
    )
    assert untrusted.code in (2, 4)
    assert untrusted.err.startswith(f"qs-jwt: error: {variable}: ")
