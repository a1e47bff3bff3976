"""``check``: each target proved against the local Qlik over real HTTPS, through the CLI and
the action, and every refusal turned into the setting to change."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qsjwt.signing.jwk import public_jwk
from qsjwt.signing.keys import signing_key_from
from tests.action_runner import MASK, Result
from tests.cli.test_cli import Run, qs_jwt
from tests.conftest import KeyPair
from tests.qlik_local import LocalQlik, QlikClient, QlikIdp, QlikProxy

ISSUER = "idp.example.com"
KID = "kid-2026"
CLOUD_CLAIMS = ["--issuer", ISSUER, "--key-id", KID, "--subject", "svc_ci"]
CLOUD_CLAIMS += ["--name", "CI Service", "--email", "ci@example.com"]


def _certificate(pair: KeyPair) -> bytes:
    return pair.certificate_pem


@pytest.fixture
def server(tmp_path: Path, rsa_pair: KeyPair) -> Iterator[LocalQlik]:
    (tmp_path / "qlik").mkdir()
    with LocalQlik(tmp_path / "qlik") as qlik:
        qlik.add_proxy(QlikProxy("jwt", _certificate(rsa_pair)))
        qlik.idp = QlikIdp(ISSUER, KID, _certificate(rsa_pair))
        key = signing_key_from(rsa_pair.key, input_name="private-key")
        qlik.register(QlikClient("client-1", [public_jwk(key.key, input_name="private-key")]))
        yield qlik


@pytest.fixture
def key_file(tmp_path: Path, rsa_pair: KeyPair) -> Path:
    path = tmp_path / "key.pem"
    path.write_bytes(rsa_pair.private_pem)
    return path


def check_qseow(qlik: LocalQlik, key_file: Path, *args: str, prefix: str = "jwt") -> Run:
    return qs_jwt(
        "check",
        "qseow",
        "--user-id",
        "alice",
        "--user-directory",
        "CORP",
        "--virtual-proxy-url",
        qlik.proxy_url(prefix),
        "--ca-bundle",
        qlik.ca_bundle,
        "--private-key-file",
        key_file,
        *args,
    )


def check_cloud(qlik: LocalQlik, key_file: Path, *claims: str) -> Run:
    return qs_jwt(
        "check",
        "cloud",
        *(claims or CLOUD_CLAIMS),
        "--tenant",
        qlik.host,
        "--ca-bundle",
        qlik.ca_bundle,
        "--private-key-file",
        key_file,
    )


def _jti(token: str) -> str:
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


# --- QSEoW --------------------------------------------------------------------------------------


def test_qseow_check_logs_in_says_who_and_logs_out(server: LocalQlik, key_file: Path) -> None:
    run = check_qseow(server, key_file)
    assert run.code == 0, run.err
    assert run.out == ""
    assert "check passed: Qlik logged in CORP\\alice" in run.err
    assert "(GET /jwt/qrs/about, GET /jwt/qps/user, DELETE /jwt/qps/user)" in run.err
    proxy = server.proxies["jwt"]
    assert proxy.logins == 1 and proxy.sessions == {}, "the probe's session was ended"


def test_qseow_check_then_output(server: LocalQlik, key_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "token.jwt"
    run = qs_jwt(
        "qseow",
        "--user-id",
        "alice",
        "--user-directory",
        "CORP",
        "--check",
        "--virtual-proxy-url",
        server.proxy_url("jwt"),
        "--ca-bundle",
        server.ca_bundle,
        "--private-key-file",
        key_file,
        "--output",
        out,
    )
    assert run.code == 0, run.err
    assert out.read_text().startswith("ey")
    assert "check passed" in run.err


def test_qseow_wrong_certificate_is_exit_3_and_writes_nothing(
    server: LocalQlik, tmp_path: Path, other_rsa_pair: KeyPair
) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(other_rsa_pair.private_pem)
    out = tmp_path / "token.jwt"
    run = qs_jwt(
        "qseow",
        "--user-id",
        "alice",
        "--user-directory",
        "CORP",
        "--check",
        "--virtual-proxy-url",
        server.proxy_url("jwt"),
        "--ca-bundle",
        server.ca_bundle,
        "--private-key-file",
        other,
        "--output",
        out,
    )
    assert run.code == 3, run.err
    assert "refused the token (401)" in run.err
    assert "JWT certificate" in run.err and "--user-id-claim" in run.err
    assert not out.exists()


def test_qseow_claim_names_that_differ_are_exit_3(
    server: LocalQlik, key_file: Path, rsa_pair: KeyPair
) -> None:
    server.add_proxy(QlikProxy("uid", _certificate(rsa_pair), user_id_claim="uid"))
    run = check_qseow(server, key_file, prefix="uid")
    assert run.code == 3, run.err
    assert "--user-id-claim" in run.err
    assert check_qseow(server, key_file, "--user-id-claim", "uid", prefix="uid").code == 0


def test_qseow_clock_behind_is_named_with_the_difference(
    tmp_path: Path, rsa_pair: KeyPair, key_file: Path
) -> None:
    (tmp_path / "late").mkdir()
    with LocalQlik(tmp_path / "late", clock_offset=-300) as qlik:
        qlik.add_proxy(QlikProxy("jwt", _certificate(rsa_pair)))
        run = check_qseow(qlik, key_file)
    assert run.code == 3, run.err
    # the Date header has whole seconds and the request takes a moment: 300 s, give or take 2
    assert re.search(r"Qlik's clock is (29[89]|30[0-2]) s behind", run.err), run.err
    assert "--clock-skew" in run.err


@pytest.mark.parametrize(
    ("reading", "said"),
    [
        (
            "login-redirect",
            "--virtual-proxy-url: the virtual proxy answered 302, a redirect to a login",
        ),
        ("404", "--virtual-proxy-url: there is no virtual proxy at this prefix (404"),
    ],
)
def test_qseow_unknown_prefix_is_named(
    tmp_path: Path, rsa_pair: KeyPair, key_file: Path, reading: str, said: str
) -> None:
    """A prefix with no virtual proxy reaches Qlik's default proxy, which sends a client
    without "Windows" in its User-Agent to its login form (documented); or a 404."""
    (tmp_path / "q").mkdir()
    with LocalQlik(tmp_path / "q", unknown_prefix=reading) as qlik:
        qlik.add_proxy(QlikProxy("jwt", _certificate(rsa_pair)))
        run = check_qseow(qlik, key_file, prefix="nope")
    assert run.code == 3, run.err
    assert said in run.err, run.err
    assert "prefix" in run.err


def test_qseow_session_limit(server: LocalQlik, key_file: Path, rsa_pair: KeyPair) -> None:
    proxy = server.add_proxy(QlikProxy("one", _certificate(rsa_pair), max_sessions=1))
    proxy.sessions["held"] = ("CORP", "alice")
    run = check_qseow(server, key_file, prefix="one")
    assert run.code == 3, run.err
    assert "cap of 5 parallel sessions" in run.err and "5 minutes" in run.err
    assert "its own service user" in run.err


def test_check_needs_where_qlik_is(key_file: Path) -> None:
    run = qs_jwt(
        "check", "qseow", "--user-id", "a", "--user-directory", "D", "--private-key-file", key_file
    )
    assert run.code == 2
    assert "--virtual-proxy-url" in run.err and "required" in run.err


def test_check_outputs_no_token(server: LocalQlik, key_file: Path) -> None:
    run = check_qseow(server, key_file, "--output", "x.jwt")
    assert run.code == 2
    assert "check makes no token for output" in run.err


def test_connection_inputs_without_check_warn(key_file: Path) -> None:
    run = qs_jwt(
        "qseow",
        "--user-id",
        "a",
        "--user-directory",
        "D",
        "--virtual-proxy-url",
        "https://qlik.example.com/jwt",
        "--private-key-file",
        key_file,
    )
    assert run.code == 0
    assert "--virtual-proxy-url: is only read with --check" in run.err


def test_a_target_in_capitals(key_file: Path) -> None:
    run = qs_jwt("check", "QSEOW")
    assert run.code == 2
    assert "lower case" in run.err


# --- Qlik Cloud JWT identity provider -----------------------------------------------------------


def test_cloud_check_spends_a_probe_token_not_the_output(
    server: LocalQlik, key_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "token.jwt"
    run = qs_jwt(
        "cloud",
        *CLOUD_CLAIMS,
        "--check",
        "--tenant",
        server.host,
        "--ca-bundle",
        server.ca_bundle,
        "--private-key-file",
        key_file,
        "--output",
        out,
    )
    assert run.code == 0, run.err
    assert "check passed: Qlik logged in svc_ci" in run.err
    assert "POST /login/jwt-session, GET /api/v1/users/me" in run.err
    assert len(server.login_jtis) == 1
    assert _jti(out.read_text().strip()) not in server.login_jtis, "the output token is unspent"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (["--issuer", "other-idp.example.com"], "--issuer"),
        (["--key-id", "kid-old"], "--key-id"),
    ],
)
def test_cloud_refusals_name_the_input(
    server: LocalQlik, key_file: Path, change: list[str], named: str
) -> None:
    claims = list(CLOUD_CLAIMS)
    index = claims.index(change[0])
    claims[index + 1] = change[1]
    run = check_cloud(server, key_file, *claims)
    assert run.code == 3, run.err
    assert f"qs-jwt: error: {named}: Qlik refused the login" in run.err, run.err
    assert "other-idp" not in run.err and "kid-old" not in run.err


def test_cloud_wrong_key_names_the_key(
    server: LocalQlik, tmp_path: Path, other_rsa_pair: KeyPair
) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(other_rsa_pair.private_pem)
    run = check_cloud(server, other)
    assert run.code == 3, run.err
    assert "--private-key-file: Qlik refused the login" in run.err
    assert "certificate is not this key's" in run.err


def test_cloud_clock_behind(tmp_path: Path, rsa_pair: KeyPair, key_file: Path) -> None:
    (tmp_path / "late").mkdir()
    with LocalQlik(tmp_path / "late", clock_offset=-600) as qlik:
        qlik.idp = QlikIdp(ISSUER, KID, _certificate(rsa_pair))
        run = check_cloud(qlik, key_file)
    assert run.code == 3, run.err
    assert "--clock-skew" in run.err and "behind this machine's" in run.err


def test_cloud_check_unreachable_is_exit_4(key_file: Path) -> None:
    run = qs_jwt(
        "check",
        "cloud",
        *CLOUD_CLAIMS,
        "--tenant",
        "127.0.0.1:1",
        "--timeout",
        "2s",
        "--private-key-file",
        key_file,
    )
    assert run.code == 4, run.err


# --- OAuth --------------------------------------------------------------------------------------


def test_oauth_check(server: LocalQlik, key_file: Path) -> None:
    run = qs_jwt(
        "check",
        "oauth",
        "--tenant",
        server.host,
        "--client-id",
        "client-1",
        "--ca-bundle",
        server.ca_bundle,
        "--private-key-file",
        key_file,
    )
    assert run.code == 0, run.err
    assert run.out == ""
    assert "check passed: Qlik logged in qlikbot@client-1" in run.err


# --- the action -----------------------------------------------------------------------------


def test_action_check_qseow(
    server: LocalQlik, rsa_pair: KeyPair, run: Callable[..., Result]
) -> None:
    result = run(
        {
            "target": "qseow",
            "user-id": "alice",
            "user-directory": "CORP",
            "check": "true",
            "virtual-proxy-url": server.proxy_url("jwt"),
            "ca-bundle": server.ca_bundle,
            "private-key": rsa_pair.private_pem.decode(),
        }
    )
    assert result.code == 0, result.stdout
    assert "token" in result.outputs
    assert "qs-jwt: check passed: Qlik logged in CORP\\alice" in result.stdout


def test_action_check_refused_sets_no_token(
    server: LocalQlik, other_rsa_pair: KeyPair, run: Callable[..., Result]
) -> None:
    result = run(
        {
            "target": "qseow",
            "user-id": "alice",
            "user-directory": "CORP",
            "check": "true",
            "virtual-proxy-url": server.proxy_url("jwt"),
            "ca-bundle": server.ca_bundle,
            "private-key": other_rsa_pair.private_pem.decode(),
        }
    )
    assert result.code == 1
    assert result.outputs == {"error-code": "qlik-refused"}


def test_action_check_cloud_masks_each_probe_token(
    server: LocalQlik, rsa_pair: KeyPair, run: Callable[..., Result]
) -> None:
    result = run(
        {
            "target": "cloud",
            "issuer": ISSUER,
            "key-id": KID,
            "subject": "svc_ci",
            "name": "CI Service",
            "email": "ci@example.com",
            "check": "true",
            "tenant": server.host,
            "ca-bundle": server.ca_bundle,
            "private-key": rsa_pair.private_pem.decode(),
        }
    )
    assert result.code == 0, result.stdout
    masks = [line[len(MASK) :] for line in result.lines if line.startswith(MASK)]
    probes = [m for m in masks if m.startswith("ey") and m != result.outputs["token"]]
    # one probe per login attempt (a time-out on a loaded machine is retried with a new one)
    assert probes and _jti(probes[-1]) in server.login_jtis
    assert len(probes) == 1 or len({_jti(p) for p in probes}) == len(probes)
    rest = "\n".join(line for line in result.lines if not line.startswith(MASK))
    assert not any(probe in rest + result.summary for probe in probes)


def test_cloud_check_retries_a_429_with_a_new_probe_token(
    server: LocalQlik, key_file: Path
) -> None:
    from tests.qlik_local import Answer, _jwt_session

    seen: list[str] = []

    def busy_once(qlik: LocalQlik, request: Any, body: bytes) -> Answer:
        seen.append(_jti(request.headers["Authorization"].split(" ", 1)[1]))
        if len(seen) == 1:
            return Answer(429, {"errors": [{"code": "HTTP-429"}]}, {"Retry-After": "0"})
        return _jwt_session(qlik, request, body)

    server.routes[("POST", "/login/jwt-session")] = busy_once
    run = check_cloud(server, key_file)
    assert run.code == 0, run.err
    assert len(seen) == 2 and seen[0] != seen[1], "each attempt spends its own probe token"


def test_action_check_qseow_records_the_exchanges(
    server: LocalQlik, rsa_pair: KeyPair, run: Callable[..., Result], tmp_path: Path
) -> None:
    """The action's record input: a transcript under RUNNER_TEMP, its path the output
    record-path; the token and the user id are not in it."""
    result = run(
        {
            "target": "qseow",
            "user-id": "alice",
            "user-directory": "CORP",
            "check": "true",
            "record": "qlik-transcript.json",
            "virtual-proxy-url": server.proxy_url("jwt"),
            "ca-bundle": server.ca_bundle,
            "private-key": rsa_pair.private_pem.decode(),
        },
        {"RUNNER_TEMP": str(tmp_path)},
    )
    assert result.code == 0, result.stdout
    path = Path(result.outputs["record-path"])
    assert path == tmp_path / "qlik-transcript.json"
    text = path.read_text()
    transcript = json.loads(text)
    assert transcript["exchanges"], "every call to Qlik is in the transcript"
    assert result.outputs["token"] not in text
    assert "alice" not in text


def test_action_check_refused_keeps_the_transcript(
    server: LocalQlik, other_rsa_pair: KeyPair, run: Callable[..., Result], tmp_path: Path
) -> None:
    result = run(
        {
            "target": "qseow",
            "user-id": "alice",
            "user-directory": "CORP",
            "check": "true",
            "record": "refused.json",
            "virtual-proxy-url": server.proxy_url("jwt"),
            "ca-bundle": server.ca_bundle,
            "private-key": other_rsa_pair.private_pem.decode(),
        },
        {"RUNNER_TEMP": str(tmp_path)},
    )
    assert result.code == 1
    assert set(result.outputs) == {"error-code", "record-path"}
    assert json.loads(Path(result.outputs["record-path"]).read_text())["exchanges"]


def test_action_record_is_a_file_name(
    rsa_pair: KeyPair, run: Callable[..., Result], tmp_path: Path
) -> None:
    result = run(
        {
            "target": "qseow",
            "user-id": "alice",
            "user-directory": "CORP",
            "record": "../elsewhere.json",
            "private-key": rsa_pair.private_pem.decode(),
        },
        {"RUNNER_TEMP": str(tmp_path)},
    )
    assert result.code == 1
    assert result.outputs == {"error-code": "invalid-input", "error-input": "record"}
