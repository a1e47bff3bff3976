"""The exchange at /oauth/token, against the local Qlik (tests/qlik_local.py) over real HTTPS.

Time is injected: sleeps are recorded, never waited, and the deadline runs on a fake monotonic
clock. Every refusal is checked for what the message must hold (the status, the input to
change) and must not (the assertion, the answer's words).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import re
import socket
import ssl
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from qsjwt.base.errors import InputError, QlikRefusedError, QlikUnreachableError, QsjwtError
from qsjwt.net.transport import Clock, Transport
from qsjwt.oauth.assertion import OAuthSettings, build_assertion, new_assertion_jti, parse_oauth
from qsjwt.oauth.exchange import CLIENT_ASSERTION_TYPE, AccessToken, exchange, token_request
from qsjwt.signing.jwk import public_jwk
from qsjwt.signing.keys import LoadedKey, signing_key_from
from tests.conftest import KeyPair
from tests.helpers import assert_error
from tests.net.rigs import RawServer, answer, recorder, replies
from tests.qlik_local import (
    IMPERSONATION,
    Answer,
    LocalQlik,
    QlikClient,
    QlikUser,
    Scripted,
)

CLIENT = "4f1c0a9e8d7b6c5a4f3e2d1c0b9a8f7e"
USER = QlikUser(id="6390b0bd", subject="auth0|alice")


class FakeTime:
    """A monotonic clock that moves only when the exchange sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> Clock:
        return Clock(monotonic=self.monotonic, sleep=self.sleep, jitter=lambda: 0.5)


@pytest.fixture
def qlik(tmp_path: Path) -> Iterator[LocalQlik]:
    with LocalQlik(tmp_path) as server:
        yield server


@pytest.fixture
def key(rsa_pair: KeyPair) -> LoadedKey:
    return signing_key_from(rsa_pair.key, input_name="private-key")


@pytest.fixture
def client(qlik: LocalQlik, key: LoadedKey) -> QlikClient:
    return qlik.register(
        QlikClient(
            CLIENT,
            [public_jwk(key.key, input_name="private-key")],
            scopes=frozenset({"user_default", "admin.apps:read"}),
            grants=frozenset({"client_credentials", IMPERSONATION}),
        )
    )


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def settings_for(qlik: LocalQlik, **values: str) -> OAuthSettings:
    given = {"client-id": CLIENT, "tenant": qlik.host}
    given.update({name.replace("_", "-"): value for name, value in values.items()})
    return parse_oauth(given)


def assertions(settings: OAuthSettings, key: LoadedKey) -> Callable[[dt.datetime], str]:
    """What a shell passes: a new assertion (new jti) at each attempt's time."""
    return lambda now: build_assertion(settings, key, now=now, jti=new_assertion_jti()).token


def run(
    qlik: LocalQlik,
    key: LoadedKey,
    fake: FakeTime,
    *,
    deadline: float = 60.0,
    **values: str,
) -> AccessToken:
    s = settings_for(qlik, **values)
    transport = Transport(ca_bundle=qlik.ca_bundle, proxies={}, deadline=deadline)
    return exchange(s, assertions(s, key), transport=transport, clock=fake.clock())


def refusal(
    qlik: LocalQlik, key: LoadedKey, fake: FakeTime, error: type[QsjwtError], **values: str
) -> QsjwtError:
    with pytest.raises(error) as info:
        run(qlik, key, fake, deadline=60.0, **values)
    text = info.value.render()
    for seen in qlik.requests:
        assert str(seen.fields.get("client_assertion")) not in text
    # Qlik's own title is shown quoted, as given; none of its words is passed off as ours
    ours = re.sub(r"'[^']*'", "", text)
    assert not ({"validation", "matching", "replay", "Invalid", "expired"} & set(ours.split()))
    return info.value


def users_me(qlik: LocalQlik, token: str) -> tuple[int, dict[str, Any]]:
    context = ssl.create_default_context(cafile=qlik.ca_bundle)
    connection = http.client.HTTPSConnection("127.0.0.1", qlik.port, context=context, timeout=10)
    try:
        connection.request("GET", "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


# --- success ----------------------------------------------------------------------------------


def test_client_credentials(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    token = run(qlik, key, fake)
    assert token.token_type == "Bearer" and token.attempts == 1 and fake.sleeps == []
    assert token.expires_in == 21600 and token.expires_at is not None
    assert token.scope == "admin.apps:read user_default"
    assert token.access_token not in repr(token)
    assert users_me(qlik, token.access_token)[1]["assignedRoles"] == [{"name": "TenantAdmin"}]
    (seen,) = qlik.requests
    assert seen.content_type == "application/x-www-form-urlencoded"
    assert set(seen.fields) == {
        "grant_type",
        "client_id",
        "client_assertion_type",
        "client_assertion",
    }
    assert seen.fields["grant_type"] == "client_credentials"
    assert seen.fields["client_assertion_type"] == CLIENT_ASSERTION_TYPE


def test_scope_is_sent(qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime) -> None:
    token = run(qlik, key, fake, scope="user_default")
    assert token.scope == "user_default"
    assert qlik.requests[0].fields["scope"] == "user_default"


def test_es384(qlik: LocalQlik, fake: FakeTime) -> None:
    key = signing_key_from(ec.generate_private_key(ec.SECP384R1()), input_name="private-key")
    qlik.register(QlikClient(CLIENT, [public_jwk(key.key, input_name="private-key")]))
    assert run(qlik, key, fake).access_token
    assert qlik.requests[0].header == {"alg": "ES384", "kid": key_kid(key), "typ": "JWT"}


def key_kid(key: LoadedKey) -> str:
    return public_jwk(key.key, input_name="private-key")["kid"]


def test_impersonation_sends_json_and_acts_as_the_user(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    qlik.add_user(USER)
    token = run(qlik, key, fake, grant="user-impersonation", user_lookup="subject=auth0|alice")
    (seen,) = qlik.requests
    assert seen.content_type == "application/json"
    assert seen.fields["grant_type"] == IMPERSONATION
    assert seen.fields["user_lookup"] == {"field": "subject", "value": "auth0|alice"}
    status, me = users_me(qlik, token.access_token)
    assert status == 200 and me["id"] == USER.id and me["subject"] == USER.subject


def test_expires_at_alone(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    """The /oauth/token schema lists expires_at and no expires_in: derive one from the other."""
    qlik.token_response = lambda d: {k: v for k, v in d.items() if k != "expires_in"}
    token = run(qlik, key, fake)
    assert token.expires_in is not None and 21590 <= token.expires_in <= 21600
    assert token.expires_at is not None and token.expires_at.tzinfo is not None


def test_neither_expiry(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    qlik.token_response = lambda d: {k: v for k, v in d.items() if not k.startswith("expires")}
    token = run(qlik, key, fake)
    assert token.expires_in is None and token.expires_at is None


def test_clock_skew_is_reported(tmp_path: Path, key: LoadedKey, fake: FakeTime) -> None:
    with LocalQlik(tmp_path, clock_offset=30) as qlik:
        qlik.register(QlikClient(CLIENT, [public_jwk(key.key, input_name="private-key")]))
        token = run(qlik, key, fake)
    assert token.clock_skew is not None and 28 <= token.clock_skew <= 32


# --- retries ----------------------------------------------------------------------------------


def test_5xx_then_success_with_a_new_assertion_each_time(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    qlik.queue(Scripted(503, consume_jti=True), Scripted(500, consume_jti=True))
    token = run(qlik, key, fake)
    assert token.attempts == 3
    assert fake.sleeps == [0.75, 1.5]  # equal jitter at 0.5: 3/4 of 1 s, then of 2 s
    jtis = [seen.claims["jti"] for seen in qlik.requests if seen.claims]
    assert len(jtis) == 3 and len(set(jtis)) == 3


@pytest.mark.parametrize("retry_after", ["7", "date"])
def test_429_honours_retry_after(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime, retry_after: str
) -> None:
    if retry_after == "date":
        when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=9)
        retry_after = email.utils.format_datetime(when, usegmt=True)
    qlik.queue(Scripted(429, {"Retry-After": retry_after}))
    assert run(qlik, key, fake).attempts == 2
    (wait,) = fake.sleeps
    assert 6.5 <= wait <= 9.5


def test_retry_after_past_the_deadline_gives_up_at_once(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    qlik.queue(Scripted(429, {"Retry-After": "120"}))
    err = refusal(qlik, key, fake, QlikRefusedError)
    assert_error(err, None, "HTTP 429", "wait 120 s", "100 requests a minute")
    assert err.exit_code == 3 and fake.sleeps == []


def test_5xx_until_the_deadline(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    qlik.queue(*[Scripted(503)] * 50)
    err = refusal(qlik, key, fake, QlikUnreachableError)
    assert_error(err, None, "HTTP 503", "gave up after")
    assert err.exit_code == 4
    assert 0 < sum(fake.sleeps) <= 60 - 1
    assert len(qlik.requests) == len(fake.sleeps) + 1
    assert max(fake.sleeps) <= 10  # the back-off's cap


def test_a_shorter_deadline(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    qlik.queue(*[Scripted(502)] * 10)
    with pytest.raises(QlikUnreachableError):
        run(qlik, key, fake, deadline=5)
    assert sum(fake.sleeps) <= 4 and len(qlik.requests) == 3


def test_refusals_are_not_retried(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    refusal(qlik, key, fake, QlikRefusedError, client_id="unknown-client")
    assert len(qlik.requests) == 1 and fake.sleeps == []


def test_a_refused_connection_is_retried_within_the_deadline(
    key: LoadedKey, fake: FakeTime
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    s = parse_oauth({"client-id": CLIENT, "tenant": f"127.0.0.1:{port}"})
    with pytest.raises(QlikUnreachableError) as info:
        exchange(
            s,
            assertions(s, key),
            transport=Transport(proxies={}, deadline=10),
            clock=fake.clock(),
        )
    assert_error(info.value, "tenant", "refused", "gave up after")
    assert len(fake.sleeps) >= 2 and sum(fake.sleeps) <= 9


# --- refusals ---------------------------------------------------------------------------------


def test_unknown_client(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    err = refusal(qlik, key, fake, QlikRefusedError, client_id="another-client")
    assert_error(err, "client-id", "HTTP 401, invalid_client", "client's ID", "Public key")
    assert err.exit_code == 3


def test_disabled_client(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    client.enabled = False
    err = refusal(qlik, key, fake, QlikRefusedError)
    assert_error(err, "client-id", "unauthorized_client", "disabled", "machine-to-machine")


def test_client_without_private_key_jwt(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    client.private_key_jwt = False
    err = refusal(qlik, key, fake, QlikRefusedError)
    assert_error(err, "client-id", "does not accept Private key JWT", "private_key_jwt")


def test_grant_the_client_may_not_use(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    client.grants = frozenset({"client_credentials"})
    qlik.add_user(USER)
    err = refusal(
        qlik, key, fake, QlikRefusedError, grant="user-impersonation", user_lookup="userId=6390b0bd"
    )
    assert_error(err, "client-id", "M2M impersonation client")


def test_another_key_signed(
    qlik: LocalQlik, client: QlikClient, fake: FakeTime, other_rsa_pair: KeyPair, key: LoadedKey
) -> None:
    other = signing_key_from(other_rsa_pair.key, input_name="private-key")
    err = refusal(qlik, other, fake, QlikRefusedError, key_id=key_kid(key))
    assert_error(err, "private-key", "signature did not verify", "JWK is registered")


def test_algorithm_other_than_the_jwk_says(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    err = refusal(qlik, key, fake, QlikRefusedError, algorithm="RS512")
    assert_error(err, "private-key", "signature", "JWK's alg")


def test_unknown_kid(qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime) -> None:
    err = refusal(qlik, key, fake, QlikRefusedError, key_id="not-registered")
    assert_error(err, "key-id", "no key registered", "qs-jwt jwk")


def test_audience_of_another_host(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    """Posting to localhost while the tenant calls itself 127.0.0.1: aud is another URL."""
    err = refusal(qlik, key, fake, QlikRefusedError, tenant=f"localhost:{qlik.port}")
    assert_error(err, "tenant", "audience", "region included")


def test_scope_not_allowed(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    err = refusal(qlik, key, fake, QlikRefusedError, scope="admin_classic")
    assert_error(err, "scope", "HTTP 400, invalid_scope", "leave scope empty")


def test_user_not_found(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    err = refusal(
        qlik, key, fake, QlikRefusedError, grant="user-impersonation", user_lookup="userId=nobody"
    )
    assert_error(err, "user-lookup", "invalid_grant", "must already exist")


def test_disabled_user(qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime) -> None:
    qlik.add_user(QlikUser(id="u2", subject="bob", status="disabled"))
    err = refusal(
        qlik, key, fake, QlikRefusedError, grant="user-impersonation", user_lookup="subject=bob"
    )
    assert_error(err, "client-id", "HTTP 403", "disabled")


def test_replayed_assertion(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    """A shell that reused one assertion would be refused: the stand-in rejects a seen jti."""
    s = settings_for(qlik)
    once = build_assertion(s, key, now=dt.datetime.now(dt.UTC), jti=new_assertion_jti()).token
    transport = Transport(ca_bundle=qlik.ca_bundle, proxies={})
    exchange(s, lambda _now: once, transport=transport, clock=fake.clock())
    with pytest.raises(QlikRefusedError) as info:
        exchange(s, lambda _now: once, transport=transport, clock=fake.clock())
    assert_error(info.value, None, "jti was seen before", "new assertion")


@pytest.mark.parametrize(("offset", "direction"), [(600, "behind"), (-600, "ahead of")])
def test_clock_far_off(
    tmp_path: Path, key: LoadedKey, fake: FakeTime, offset: int, direction: str
) -> None:
    with LocalQlik(tmp_path, clock_offset=offset) as qlik:
        qlik.register(QlikClient(CLIENT, [public_jwk(key.key, input_name="private-key")]))
        err = refusal(qlik, key, fake, QlikRefusedError)
    assert_error(err, None, "clock is", direction, "NTP")


def test_a_refusal_the_clock_cannot_cause_is_named_even_when_clocks_differ(
    tmp_path: Path, key: LoadedKey, fake: FakeTime
) -> None:
    with LocalQlik(tmp_path, clock_offset=600) as qlik:
        qlik.register(QlikClient(CLIENT, [public_jwk(key.key, input_name="private-key")]))
        err = refusal(qlik, key, fake, QlikRefusedError, tenant=f"localhost:{qlik.port}")
    assert_error(err, "tenant", "audience")


def test_rfc6749_error_bodies_map_the_same(tmp_path: Path, key: LoadedKey, fake: FakeTime) -> None:
    with LocalQlik(tmp_path, error_style="rfc6749") as qlik:
        qlik.register(QlikClient(CLIENT, [public_jwk(key.key, input_name="private-key")]))
        err = refusal(qlik, key, fake, QlikRefusedError, key_id="not-registered")
        assert_error(err, "key-id", "HTTP 401, invalid_client")
        err = refusal(qlik, key, fake, QlikRefusedError, scope="admin_classic")
        assert_error(err, "scope", "invalid_scope")


def test_unknown_words_and_codes_are_never_shown(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    marker = "eyJhbGciOi.leaked.value"
    body = {"errors": [{"code": marker, "title": f"echo {marker}", "detail": marker}]}
    qlik.queue(Scripted(400, body=body))
    err = refusal(qlik, key, fake, QlikRefusedError)
    assert marker not in err.render(), "a token-like run in Qlik's words is masked"
    assert "'echo {string:23}'" in err.render(), "Qlik's title, as given, scrubbed"
    assert_error(err, "key-id", "HTTP 400 ")


def test_qlik_style_codes_are_shown(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    qlik.queue(Scripted(401, body={"errors": [{"code": "OAUTH-12", "title": "x"}]}))
    assert_error(refusal(qlik, key, fake, QlikRefusedError), "key-id", "HTTP 401, OAUTH-12 'x'")


def test_no_token_endpoint(qlik: LocalQlik, key: LoadedKey, fake: FakeTime) -> None:
    del qlik.routes[("POST", "/oauth/token")]
    err = refusal(qlik, key, fake, QlikRefusedError)
    assert_error(err, "tenant", "HTTP 404", "no OAuth token endpoint")


def test_redirects_are_not_followed(qlik: LocalQlik, key: LoadedKey, fake: FakeTime) -> None:
    hits: list[str] = []

    def elsewhere(_q: LocalQlik, _r: Any, _b: bytes) -> Answer:
        hits.append("elsewhere")
        return Answer(200, {})

    qlik.routes[("POST", "/oauth/token")] = lambda _q, _r, _b: Answer(
        307, {}, {"Location": f"https://{qlik.host}/elsewhere"}
    )
    qlik.routes[("POST", "/elsewhere")] = elsewhere
    err = refusal(qlik, key, fake, QlikRefusedError)
    assert_error(err, "tenant", "HTTP 307", "redirect")
    assert hits == []


def test_an_answer_that_is_not_qlik(qlik: LocalQlik, key: LoadedKey, fake: FakeTime) -> None:
    qlik.routes[("POST", "/oauth/token")] = lambda _q, _r, _b: Answer(200, {"hello": "proxy"})
    err = refusal(qlik, key, fake, QlikUnreachableError)
    assert_error(err, "tenant", "not Qlik's token response", "proxy")


# --- TLS, proxies and what is checked before any request ---------------------------------------


def test_tls_is_verified(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    s = settings_for(qlik)
    with pytest.raises(QlikUnreachableError) as info:
        exchange(s, assertions(s, key), transport=Transport(proxies={}), clock=fake.clock())
    assert_error(info.value, "ca-bundle", "not trusted", "CA certificate in ca-bundle")
    assert qlik.requests == [] and fake.sleeps == []


@pytest.mark.parametrize("content", [None, b"not a certificate\n"])
def test_ca_bundle_unusable(tmp_path: Path, key: LoadedKey, content: bytes | None) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_bytes(content)
    s = parse_oauth({"client-id": CLIENT, "tenant": "acme.eu.qlikcloud.com"})
    made: list[dt.datetime] = []

    def make(now: dt.datetime) -> str:
        made.append(now)
        return "x"

    with pytest.raises(InputError) as info:
        exchange(s, make, transport=Transport(ca_bundle=str(path)))
    assert info.value.input_name == "ca-bundle" and made == []
    if content is None:
        assert str(path) not in info.value.render()  # a path that does not exist is not shown


def test_proxies_come_from_the_environment(
    key: LoadedKey, fake: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """https_proxy carries the request to a tenant (never to this machine: see
    tests/net/test_transport.py); the proxy here notes what it is asked and hangs up."""
    with RawServer([recorder]) as proxy:
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("https_proxy", proxy.url)
        s = parse_oauth({"client-id": CLIENT, "tenant": "acme.eu.qlikcloud.com"})
        with pytest.raises(QlikUnreachableError):
            exchange(s, assertions(s, key), transport=Transport(deadline=3), clock=fake.clock())
    asked = {seen.head.split(b"\r\n")[0] for seen in proxy.seen}
    assert asked == {b"CONNECT acme.eu.qlikcloud.com:443 HTTP/1.0"}


def test_a_key_qlik_would_not_take_fails_before_any_request(
    qlik: LocalQlik, key: LoadedKey, client: QlikClient, fake: FakeTime
) -> None:
    with pytest.raises(QsjwtError) as info:
        run(qlik, key, fake, algorithm="ES384")
    assert info.value.input_name == "private-key" and qlik.requests == []


def test_token_request_bodies() -> None:
    s = parse_oauth({"client-id": CLIENT, "tenant": "acme.eu.qlikcloud.com", "scope": "a b"})
    body, content_type = token_request(s, "ASSERTION")
    assert content_type == "application/x-www-form-urlencoded"
    assert urllib.parse.parse_qs(body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT],
        "client_assertion_type": [CLIENT_ASSERTION_TYPE],
        "client_assertion": ["ASSERTION"],
        "scope": ["a b"],
    }
    s = parse_oauth(
        {
            "client-id": CLIENT,
            "tenant": "acme.eu.qlikcloud.com",
            "grant": "user-impersonation",
            "user-lookup": "userId=42",
        }
    )
    body, content_type = token_request(s, "ASSERTION")
    assert content_type == "application/json"
    assert json.loads(body) == {
        "grant_type": IMPERSONATION,
        "client_id": CLIENT,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": "ASSERTION",
        "user_lookup": {"field": "userId", "value": "42"},
    }


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 60_000 + b"]" * 60_000,
        b'{"access_token": "a", "token_type": "Bearer", "expires_in": 300000000000}',
        b'{"access_token": "a", "token_type": "Bearer", "expires_in": 1e400}',
    ],
)
def test_an_answer_out_of_bounds_is_not_a_token_response(
    tmp_path: Path, key: LoadedKey, fake: FakeTime, body: bytes
) -> None:
    """Nested past the parser's recursion, or a lifetime that would overflow a date: a clean
    refusal, never a RecursionError or an OverflowError."""
    with RawServer(replies(answer(200, body)), tmp_path) as server:
        s = parse_oauth({"client-id": CLIENT, "tenant": f"127.0.0.1:{server.port}"})
        transport = Transport(ca_bundle=server.ca_bundle, proxies={})
        with pytest.raises(QlikUnreachableError) as info:
            exchange(s, assertions(s, key), transport=transport, clock=fake.clock())
    assert_error(info.value, "tenant", "not Qlik's token response")
