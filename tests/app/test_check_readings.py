"""``check`` under every reading of what Qlik does not document.

The stand-in's switches (``tests.qlik_local.READINGS``) are the plausible answers of a real site
to each unconfirmed behaviour (shared/reference/qlik-observed-behaviour.md); ``check`` must pass
under all of them, and fail naming the cause under all of them, for each refusal the reference
lists.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qsjwt.oauth.exchange import Said
from qsjwt.signing.jwk import public_jwk
from qsjwt.signing.keys import signing_key_from
from tests.app.test_check import CLOUD_CLAIMS, ISSUER, KID, check_cloud, check_qseow
from tests.cli.test_cli import Run, qs_jwt
from tests.conftest import KeyPair
from tests.qlik_local import READINGS, Answer, LocalQlik, QlikClient, QlikIdp, QlikProxy

PROXY_READINGS = [
    dict(zip(("qps_user_logs_in", "logout_status", "proxy_error_body"), values, strict=True))
    for values in itertools.product(
        READINGS["qps_user_logs_in"], READINGS["logout_status"], READINGS["proxy_error_body"]
    )
]
Starter = Callable[..., LocalQlik]
QSEOW_CALLS = "(GET /jwt/qrs/about, GET /jwt/qps/user, DELETE /jwt/qps/user)"


def _id(reading: dict[str, Any]) -> str:
    return "-".join(f"{k}={'body' if isinstance(v, dict) else v}" for k, v in reading.items())


@pytest.fixture
def key_file(tmp_path: Path, rsa_pair: KeyPair) -> Path:
    path = tmp_path / "key.pem"
    path.write_bytes(rsa_pair.private_pem)
    return path


@pytest.fixture
def local(tmp_path: Path, rsa_pair: KeyPair) -> Iterator[Starter]:
    """A factory: a started stand-in under one reading, with a proxy, an IdP and a client."""
    started: list[LocalQlik] = []

    def start(**reading: Any) -> LocalQlik:
        directory = tmp_path / f"qlik{len(started)}"
        directory.mkdir()
        proxy_options = {
            k: reading.pop(k)
            for k in ("audience", "checks_audience", "max_sessions")
            if k in reading
        }
        qlik = LocalQlik(directory, **reading).__enter__()
        started.append(qlik)
        qlik.add_proxy(QlikProxy("jwt", rsa_pair.certificate_pem, **proxy_options))
        qlik.idp = QlikIdp(ISSUER, KID, rsa_pair.certificate_pem)
        key = signing_key_from(rsa_pair.key, input_name="private-key")
        qlik.register(QlikClient("client-1", [public_jwk(key.key, input_name="private-key")]))
        return qlik

    yield start
    for qlik in started:
        qlik.__exit__()


# --- QSEoW ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reading", PROXY_READINGS, ids=_id)
def test_qseow_check_passes_under_every_reading(
    local: Starter, key_file: Path, reading: dict[str, Any]
) -> None:
    qlik = local(**reading)
    run = check_qseow(qlik, key_file)
    assert run.code == 0, run.err
    assert "check passed: Qlik logged in CORP\\alice" in run.err
    assert QSEOW_CALLS in run.err
    proxy = qlik.proxies["jwt"]
    assert proxy.logins == 1
    if reading["logout_status"] == 405:
        assert "did not end the probe's session (405)" in run.err
        assert len(proxy.sessions) == 1
    else:
        assert proxy.sessions == {}
        assert "did not end" not in run.err


def test_qseow_check_passes_when_the_personal_api_reports_no_user(
    local: Starter, key_file: Path
) -> None:
    """A proxy that sets no session cookie (or whose /qps/user answers otherwise) still took
    the token when the QRS answered: the check passes, and says whose word the user is."""
    qlik = local()
    qlik.routes[("GET", "/jwt/qps/user")] = lambda _q, _r, _b: Answer(200, {"session": "inactive"})
    run = check_qseow(qlik, key_file)
    assert run.code == 0, run.err
    assert "Personal API reported no user (200)" in run.err
    assert "not Qlik's word" in run.err


@pytest.mark.parametrize("body", READINGS["proxy_error_body"], ids=["bare", "body"])
@pytest.mark.parametrize("logs_in", READINGS["qps_user_logs_in"])
def test_qseow_wrong_key_is_refused_under_every_reading(
    local: Starter, tmp_path: Path, other_rsa_pair: KeyPair, body: Any, logs_in: bool
) -> None:
    qlik = local(proxy_error_body=body, qps_user_logs_in=logs_in)
    other = tmp_path / "other.pem"
    other.write_bytes(other_rsa_pair.private_pem)
    run = check_qseow(qlik, other)
    assert run.code == 3, run.err
    assert "the virtual proxy refused the token (401" in run.err
    assert "qs-jwt: error: the virtual proxy" in run.err, "no input blamed: Qlik gives no reason"
    assert "JWT certificate" in run.err and "--user-id-claim" in run.err
    assert "audience" in run.err and "unconfirmed" in run.err
    assert qlik.proxies["jwt"].sessions == {}


@pytest.mark.parametrize("checks", READINGS["checks_audience"])
def test_qseow_audience_under_both_readings(local: Starter, key_file: Path, checks: bool) -> None:
    """Whether a virtual proxy checks ``aud`` is disputed: with an audience that matches, the
    check passes either way; with none, a checking proxy refuses and the audience is named
    among the causes, marked unconfirmed."""
    qlik = local(audience="qlik", checks_audience=checks)
    assert check_qseow(qlik, key_file, "--audience", "qlik").code == 0
    run = check_qseow(qlik, key_file)
    if not checks:
        assert run.code == 0, run.err
        return
    assert run.code == 3, run.err
    assert "if the proxy expects an audience, give it in --audience" in run.err
    assert "(unconfirmed: Qlik documents no audience field)" in run.err


def test_qseow_audience_sent_is_named_when_refused(local: Starter, key_file: Path) -> None:
    qlik = local(audience="qlik", checks_audience=True)
    run = check_qseow(qlik, key_file, "--audience", "other")
    assert run.code == 3, run.err
    assert "the token carries an audience (aud)" in run.err
    assert "other" not in run.err.replace("another", ""), "the value is never echoed"


@pytest.mark.parametrize("hold", [300.0, 0.0], ids=["slot-held-5-min", "slot-freed-at-once"])
def test_qseow_session_cap_and_held_slots(local: Starter, key_file: Path, hold: float) -> None:
    """Five parallel sessions per user, and an ended session may hold its slot for 5 minutes
    (documented): the sixth check within minutes is refused, named; later it passes."""
    qlik = local(slot_hold=hold)
    for _ in range(5):
        assert check_qseow(qlik, key_file).code == 0
    sixth = check_qseow(qlik, key_file)
    if hold == 0:
        assert sixth.code == 0, sixth.err
        return
    assert sixth.code == 3, sixth.err
    assert "refused the login (403" in sixth.err
    assert "cap of 5 parallel sessions" in sixth.err and "5 minutes" in sixth.err
    qlik.pass_time(301)
    assert check_qseow(qlik, key_file).code == 0


def test_qseow_cap_with_a_body_that_says_so_is_named_first(local: Starter, key_file: Path) -> None:
    body = {"errors": [{"title": "Max parallel sessions exceeded"}]}
    qlik = local(proxy_error_body=body, max_sessions=1)
    qlik.proxies["jwt"].sessions["held"] = ("CORP", "alice")
    run = check_qseow(qlik, key_file)
    assert run.code == 3, run.err
    assert "(1) the user is at QSEoW's cap of 5 parallel sessions" in run.err


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize(
    ("method", "route"),
    [("GET", "/jwt/qrs/about"), ("GET", "/jwt/qps/user"), ("DELETE", "/jwt/qps/user")],
)
def test_qseow_every_call_is_retried(
    local: Starter, key_file: Path, status: int, route: str, method: str
) -> None:
    qlik = local()
    real = qlik.routes[(method, route)]
    seen: list[int] = []

    def busy_once(q: LocalQlik, request: Any, body: bytes) -> Answer:
        seen.append(1)
        if len(seen) == 1:
            return Answer(status, {"errors": [{"code": f"HTTP-{status}"}]}, {"Retry-After": "0"})
        return real(q, request, body)

    qlik.routes[(method, route)] = busy_once
    run = check_qseow(qlik, key_file)
    assert run.code == 0, run.err
    assert len(seen) == 2
    assert QSEOW_CALLS in run.err


def test_qseow_gives_up_within_the_timeout(local: Starter, key_file: Path) -> None:
    qlik = local()
    qlik.routes[("GET", "/jwt/qrs/about")] = lambda _q, _r, _b: Answer(
        429, {"errors": [{"code": "HTTP-429"}]}, {"Retry-After": "1"}
    )
    run = check_qseow(qlik, key_file, "--timeout", "3s")
    assert run.code == 4, run.err
    assert "--timeout: Qlik answered GET /jwt/qrs/about with 429" in run.err
    assert "run fewer checks at once" in run.err


def test_qseow_a_retry_after_past_the_timeout_is_said(local: Starter, key_file: Path) -> None:
    qlik = local()
    qlik.routes[("GET", "/jwt/qrs/about")] = lambda _q, _r, _b: Answer(
        429, {}, {"Retry-After": "120"}
    )
    run = check_qseow(qlik, key_file, "--timeout", "5s")
    assert run.code == 4, run.err
    assert "Qlik asked to wait 120 s, past the 5 s limit" in run.err


# --- Qlik Cloud -----------------------------------------------------------------------------


@pytest.mark.parametrize("style", READINGS["error_style"])
def test_cloud_check_passes_under_every_error_style(
    local: Starter, key_file: Path, style: str
) -> None:
    run = check_cloud(local(error_style=style), key_file)
    assert run.code == 0, run.err
    assert "check passed: Qlik logged in svc_ci" in run.err


@pytest.mark.parametrize("style", READINGS["error_style"])
def test_cloud_wrong_key_id_is_named_under_every_error_style(
    local: Starter, key_file: Path, style: str
) -> None:
    claims = list(CLOUD_CLAIMS)
    claims[claims.index("--key-id") + 1] = "kid-old"
    run = check_cloud(local(error_style=style), key_file, *claims)
    assert run.code == 3, run.err
    assert "Qlik refused the login with the token" in run.err
    assert "--key-id" in run.err
    assert "kid-old" not in run.err
    if style == "generic":
        assert "401, LOGIN-2" in run.err, "Qlik's own code leads"


def test_cloud_user_not_in_the_tenant_is_auth_5(local: Starter, key_file: Path) -> None:
    run = check_cloud(local(error_style="generic", known_users_only=True), key_file)
    assert run.code == 3, run.err
    assert "403, AUTH-5" in run.err
    assert "qs-jwt: error: --subject: Qlik refused the login" in run.err


def test_cloud_missing_claim_is_read_from_the_detail() -> None:
    """INTERNAL-TOKEN-1 names the claim only in ``detail`` (seen live)."""
    from qsjwt.app.check import _cloud_refusal

    body = b'{"errors": [{"code": "INTERNAL-TOKEN-1", "title": "Invalid token request", '
    body += b'"detail": "JWT_LOGIN_VALIDATIONS Missing required claim: nbf", "status": "400"}]}'
    error = _cloud_refusal(Said.of(400, body), None)
    text = error.render()
    assert text.startswith("expires-in: Qlik refused the login with the token: 400, ")
    assert "INTERNAL-TOKEN-1 'Invalid token request'" in text
    assert "Missing required claim: nbf" in text


def test_cloud_users_me_is_retried(local: Starter, key_file: Path) -> None:
    qlik = local()
    real = qlik.routes[("GET", "/api/v1/users/me")]
    seen: list[int] = []

    def busy_once(q: LocalQlik, request: Any, body: bytes) -> Answer:
        seen.append(1)
        return Answer(503, {}, {}) if len(seen) == 1 else real(q, request, body)

    qlik.routes[("GET", "/api/v1/users/me")] = busy_once
    assert check_cloud(qlik, key_file).code == 0
    assert len(seen) == 2


# --- OAuth ----------------------------------------------------------------------------------


def _oauth(qlik: LocalQlik, key_file: Path, *args: str, command: str = "oauth") -> Run:
    first = ("check", "oauth") if command == "check" else ("oauth",)
    return qs_jwt(
        *first,
        "--tenant",
        qlik.host,
        "--client-id",
        "client-1",
        "--ca-bundle",
        qlik.ca_bundle,
        "--private-key-file",
        key_file,
        *args,
    )


@pytest.mark.parametrize("style", READINGS["error_style"])
def test_oauth_check_passes_under_every_error_style(
    local: Starter, key_file: Path, style: str
) -> None:
    run = _oauth(local(error_style=style), key_file, command="check")
    assert run.code == 0, run.err
    assert "check passed: Qlik logged in qlikbot@client-1" in run.err


@pytest.mark.parametrize("style", READINGS["error_style"])
def test_oauth_signature_refused_with_a_kid_not_the_thumbprint_names_the_key_id_first(
    local: Starter, key_file: Path, other_rsa_pair: KeyPair, style: str
) -> None:
    """The client holds another key's JWK under kid-1; this key signs with kid-1. The tutorial's
    "Signature validation failed" (or Qlik's generic OAUTH-5) then has the key id as its most
    common cause, since the kid is not this key's thumbprint."""
    qlik = local(error_style=style)
    other = signing_key_from(other_rsa_pair.key, input_name="private-key")
    jwk = public_jwk(other.key, input_name="private-key") | {"kid": "kid-1"}
    qlik.register(QlikClient("client-1", [jwk]))
    run = _oauth(qlik, key_file, "--key-id", "kid-1")
    assert run.code == 3, run.err
    assert "qs-jwt: error: --key-id: Qlik refused the token request: HTTP 40" in run.err
    assert "(1) the kid sent (--key-id) is not this key's RFC 7638 thumbprint" in run.err
    if style == "generic":
        assert "HTTP 401, OAUTH-5 'Unauthorized'" in run.err
    if style == "qlik":
        assert "'Signature validation failed'" in run.err
    assert "kid-1" not in run.err


def test_oauth_unknown_client_is_oauth_14(local: Starter, key_file: Path) -> None:
    qlik = local(error_style="generic")
    run = qs_jwt(
        "oauth",
        "--tenant",
        qlik.host,
        "--client-id",
        "nobody-here",
        "--ca-bundle",
        qlik.ca_bundle,
        "--private-key-file",
        key_file,
    )
    assert run.code == 3, run.err
    assert "HTTP 400, OAUTH-14 'Invalid client_id'" in run.err
    assert "qs-jwt: error: --client-id:" in run.err
    assert "nobody-here" not in run.err


def test_qlik_words_cannot_steer_a_terminal_or_a_runner() -> None:
    """Qlik's title is shown as given, but it is network text: escaped, scrubbed, defused."""
    body = json.dumps(
        {
            "errors": [
                {
                    "code": "OAUTH-5",
                    "title": "\n::error::x \x1b[31mred\x1b[0m ##[command]run",
                    "detail": "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln for svc_secret",
                }
            ]
        }
    ).encode()
    shown = str(Said.of(401, body, known=["svc_secret"]))
    assert "\x1b" not in shown and "\n" not in shown and "##[" not in shown
    assert not shown.startswith("::")
    assert "eyJhbGciOiJSUzI1NiJ9" not in shown and "svc_secret" not in shown
    assert shown.startswith("401, OAUTH-5 '")


# --- call -----------------------------------------------------------------------------------


def _call(qlik: LocalQlik, token_file: Path, url: str) -> Run:
    return qs_jwt(
        "call", url, "--xrfkey", "--ca-bundle", qlik.ca_bundle, "--token-file", token_file
    )


@pytest.mark.parametrize(
    ("reading", "said"),
    [("login-redirect", "a redirect, which is never followed"), ("404", "nothing at this path")],
)
def test_call_at_an_unknown_prefix_under_both_readings(
    local: Starter, key_file: Path, tmp_path: Path, reading: str, said: str
) -> None:
    qlik = local(unknown_prefix=reading)
    token = tmp_path / "token.jwt"
    minted = qs_jwt(
        "qseow",
        "--user-id",
        "a",
        "--user-directory",
        "D",
        "--private-key-file",
        key_file,
        "--output",
        token,
    )
    assert minted.code == 0, minted.err
    run = _call(qlik, token, f"{qlik.proxy_url('nope')}/qrs/about")
    assert run.code == 3, run.err
    assert said in run.err


@pytest.mark.parametrize("body", READINGS["proxy_error_body"], ids=["bare", "body"])
def test_call_with_a_refused_token_under_both_body_readings(
    local: Starter, tmp_path: Path, other_rsa_pair: KeyPair, body: Any
) -> None:
    qlik = local(proxy_error_body=body)
    other = tmp_path / "other.pem"
    other.write_bytes(other_rsa_pair.private_pem)
    token = tmp_path / "token.jwt"
    minted = qs_jwt(
        "qseow",
        "--user-id",
        "a",
        "--user-directory",
        "D",
        "--private-key-file",
        other,
        "--output",
        token,
    )
    assert minted.code == 0, minted.err
    run = _call(qlik, token, f"{qlik.proxy_url('jwt')}/qrs/about")
    assert run.code == 3, run.err
    assert "Qlik did not accept the token: 401" in run.err
