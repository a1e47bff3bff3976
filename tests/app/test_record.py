"""``--record``: the transcript of every exchange with Qlik, its leak cases, and replays.

The transcripts in ``tests/transcripts/`` are replayed by the stand-in (``LocalQlik.replay``)
and ``check`` must reach the same outcome. Those committed here were recorded from the
stand-in's readings (``python -m tests.app.test_record --write`` makes them again); a transcript
from a real site, attached to an issue, goes next to them with its expected outcome in
``EXPECTED``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from qsjwt.app.call import call
from qsjwt.app.check import check_access_token, check_cloud, check_qseow, prove
from qsjwt.app.target import parse_settings
from qsjwt.base.errors import QlikRefusedError, QlikUnreachableError, QsjwtError
from qsjwt.base.inputs import Target
from qsjwt.login.claims import new_jti
from qsjwt.login.mint import mint
from qsjwt.net.record import FORMAT, VERSION, Exchange, Observed, Recorder, read_transcript
from qsjwt.net.transport import Transport
from qsjwt.oauth.assertion import OAuthSettings
from qsjwt.oauth.exchange import exchange, obtain_access_token
from qsjwt.signing.jwk import public_jwk
from qsjwt.signing.keys import LoadedKey, signing_key_from
from tests.conftest import KeyPair
from tests.qlik_local import LocalQlik, QlikClient, QlikIdp, QlikProxy

TRANSCRIPTS = Path(__file__).parent.parent / "transcripts"
ISSUER = "idp.example.com"
KID = "kid-2026"

# --- the model, with known secrets put through ---------------------------------------------

SECRETS = {
    "token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldA",
    "xrfkey": "Xr7kEy0123456789",
    "cookie": "c00kieValueSecret42",
    "set-cookie": "n3wSessionValueXYZ",
    "assertion": "eyJraWQiOiJrIn0.eyJpc3MiOiJjbGllbnQtMSJ9.YXNzZXJ0aW9uLXNpZw",
    "access-token": "acc3ssTokenValue-9f8e7d6c5b4a",
    "client-id": "client-b7c1d2e3",
    "user-id": "alice_w",
    "directory": "CORPDIR",
    "email": "alice.w@corp.example.com",
    "host": "qlik.secret-site.example.com",
    "target": "t4rgetIdSecret77",
    "user-guid": "6f1c2a9e-55aa-4c3b-9d2e-0a1b2c3d4e5f",
}


def _leaky_exchanges() -> list[Exchange]:
    s = SECRETS
    answer = Message()
    answer["Set-Cookie"] = f"X-Qlik-Session-jwt={s['set-cookie']}; Path=/; Secure"
    answer["Set-Cookie"] = f"_csrfToken={s['set-cookie']}2; Path=/"
    answer["Location"] = (
        f"https://{s['host']}/internal_forms_authentication/?targetId={s['target']}"
    )
    answer["Retry-After"] = "3"
    answer["Content-Type"] = "application/json; charset=utf-8"
    body = {
        "access_token": s["access-token"],
        "token_type": "bearer",
        "expires_in": 3600,
        "userId": s["user-id"],
        "userDirectory": s["directory"],
        "session": "inactive",
        "id": s["user-guid"],
        "email": s["email"],
        "errors": [
            {
                "code": "OAUTH-5",
                "title": "Unauthorized",
                "detail": f"user {s['user-id']} ({s['email']}) sent {s['token']} 'quoted'",
                "status": "401",
            }
        ],
        s["client-id"]: {"nested": [s["user-id"], 1, True, None, "x", "y"]},
    }
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": s["client-id"],
            "client_assertion": s["assertion"],
        }
    )
    first = Exchange(
        "POST",
        f"https://{s['host']}/jwt/qrs/about?xrfkey={s['xrfkey']}&filter=userId eq '{s['user-id']}'",
        401,
        answer,
        json.dumps(body).encode(),
        0.123,
        {
            "Authorization": f"Bearer {s['token']}",
            "X-qlik-xrfkey": s["xrfkey"],
            "Cookie": f"X-Qlik-Session-jwt={s['cookie']}; eas.sid={s['cookie']}",
            "Content-type": "application/x-www-form-urlencoded",
        },
        form.encode(),
    )
    second = Exchange(
        "GET",
        f"https://{s['host']}/api/v1/users/{s['user-guid']}/{s['user-id']}",
        200,
        Message(),
        b"<html>not json</html>",
        0.01,
    )
    return [first, second]


def test_no_secret_reaches_the_transcript(tmp_path: Path) -> None:
    path = tmp_path / "transcript.json"
    recorder = Recorder(path, command="check qseow")
    for seen in _leaky_exchanges():
        recorder(seen)
    text = path.read_text()
    for name, secret in SECRETS.items():
        assert secret.lower() not in text.lower(), name
    document = json.loads(text)
    assert document["format"] == FORMAT and document["version"] == VERSION
    assert document["hosts"] is False
    first, second = document["exchanges"]
    assert first["method"] == "POST" and first["status"] == 401
    assert first["path"] == "/jwt/qrs/about"
    assert first["query"] == ["filter", "xrfkey"]
    assert first["request"]["headers"] == [
        "authorization",
        "content-type",
        "cookie",
        "x-qlik-xrfkey",
    ]
    assert first["request"]["cookies"] == ["X-Qlik-Session-jwt", "eas.sid"]
    assert first["request"]["body"]["$form"] == {
        "grant_type": "client_credentials",
        "client_id": "string:15",
        "client_assertion": f"string:{len(SECRETS['assertion'])}",
    }
    response = first["response"]
    assert response["cookies"] == ["X-Qlik-Session-jwt", "_csrfToken"]
    assert response["retry_after"] == "3"
    assert response["content_type"] == "application/json"
    assert response["location"] == {
        "absolute": True,
        "path": "/internal_forms_authentication/",
        "query": ["targetId"],
    }
    assert response["errors"][0]["code"] == "OAUTH-5"
    assert response["errors"][0]["title"] == "Unauthorized"
    body = response["body"]
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["session"] == "inactive"
    assert body["userId"] == "string:7"
    assert body["{key:15}"]["nested"] == ["string:7", "number", "boolean", "... 3 more"]
    assert second["path"] == "/api/v1/users/{string:36}/{string:7}"
    assert second["response"]["body"] == {"$bytes": 21, "$type": "unknown"}


def test_host_names_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "transcript.json"
    recorder = Recorder(path, command="call", hosts=True)
    recorder(_leaky_exchanges()[0])
    document = json.loads(path.read_text())
    assert document["hosts"] is True
    assert document["exchanges"][0]["host"] == SECRETS["host"]
    assert SECRETS["token"] not in path.read_text()


def test_values_the_caller_names_are_redacted_everywhere(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "t.json", command="check", redact=["svc-deploy"])
    recorder(
        Exchange(
            "GET",
            "https://h/jwt/svc-deploy/x",
            403,
            Message(),
            b'{"errors": [{"title": "svc-deploy may not log in"}], "svc-deploy": 1}',
            0,
        )
    )
    text = (tmp_path / "t.json").read_text()
    assert "svc-deploy" not in text
    assert "may not log in" in text


def test_a_transcript_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"format": FORMAT, "version": 99, "exchanges": []}))
    with pytest.raises(ValueError, match="version 99"):
        read_transcript(path)
    path.write_text("{}")
    with pytest.raises(ValueError, match="not a qs-jwt transcript"):
        read_transcript(path)


# --- real runs against the stand-in, with every secret they handled looked for --------------


class Spy:
    """An observer between the client and the recorder: keeps every raw value that must not
    reach the transcript."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.secrets: set[str] = set()

    def __call__(self, seen: Observed) -> None:
        parts = urllib.parse.urlsplit(seen.url)
        self.secrets.add(parts.hostname or "")
        self.secrets.update(v for _, v in urllib.parse.parse_qsl(parts.query))
        for name, value in (getattr(seen, "request_headers", None) or {}).items():
            if name.lower() in ("authorization", "cookie", "x-qlik-xrfkey"):
                self.secrets.update(p.split("=", 1)[-1] for p in value.replace(";", " ").split())
        for name, value in seen.headers.items():
            if str(name).lower() == "set-cookie":
                self.secrets.add(str(value).split(";")[0].split("=", 1)[1])
        sent = getattr(seen, "request_body", None)
        if sent:
            form = urllib.parse.parse_qsl(sent.decode())
            self.secrets.update(
                v for k, v in form if k not in ("grant_type", "client_assertion_type")
            )
        try:
            document = json.loads(seen.body)
        except ValueError:
            document = None
        if isinstance(document, dict):
            for key in ("access_token", "userId", "userDirectory", "id", "subject", "email"):
                if isinstance(document.get(key), str):
                    self.secrets.add(document[key])
        self.recorder(seen)

    def assert_clean(self, path: Path) -> None:
        text = path.read_text()
        found = {s for s in self.secrets if len(s) >= 4 and s in text}
        assert not found, found
        assert json.loads(text)["exchanges"], "something was recorded"


@pytest.fixture
def qlik(tmp_path: Path, rsa_pair: KeyPair) -> Iterator[LocalQlik]:
    (tmp_path / "qlik").mkdir()
    with LocalQlik(tmp_path / "qlik") as local:
        local.add_proxy(QlikProxy("jwt", rsa_pair.certificate_pem))
        local.idp = QlikIdp(ISSUER, KID, rsa_pair.certificate_pem)
        local.register(QlikClient("client-1", [public_jwk(_key(rsa_pair).key, input_name="k")]))
        yield local


def _key(pair: KeyPair) -> LoadedKey:
    return signing_key_from(pair.key, input_name="private-key")


def _qseow_token(pair: KeyPair, **values: str) -> str:
    settings = parse_settings(
        Target.QSEOW, {"user-id": "alice", "user-directory": "CORP", **values}
    )
    return mint(settings, _key(pair), now=int(time.time()), jti=new_jti()).token


def _transport(qlik: LocalQlik) -> Transport:
    return Transport(ca_bundle=qlik.ca_bundle, proxies={}, deadline=20.0)


def test_check_qseow_records_every_exchange_and_no_secret(
    qlik: LocalQlik, rsa_pair: KeyPair, tmp_path: Path
) -> None:
    path = tmp_path / "qseow.json"
    spy = Spy(Recorder(path, command="check qseow", redact=["alice", "CORP"]))
    proof = check_qseow(
        qlik.proxy_url("jwt"), _qseow_token(rsa_pair), transport=_transport(qlik), observe=spy
    )
    assert proof.user == "CORP\\alice"
    spy.assert_clean(path)
    text = path.read_text()
    assert "alice" not in text and "CORP" not in text and "127.0.0.1" not in text
    exchanges = json.loads(text)["exchanges"]
    assert [(e["method"], e["path"], e["status"]) for e in exchanges] == [
        ("GET", "/jwt/qrs/about", 200),
        ("GET", "/jwt/qps/user", 200),
        ("DELETE", "/jwt/qps/user", 200),
    ]
    assert exchanges[0]["response"]["cookies"] == ["X-Qlik-Session-jwt"]
    assert exchanges[1]["request"]["cookies"] == ["X-Qlik-Session-jwt"]
    assert exchanges[1]["response"]["body"]["userId"] == "string:5"


def test_prove_redacts_the_settings_values(
    qlik: LocalQlik, rsa_pair: KeyPair, tmp_path: Path
) -> None:
    values = {
        "user-id": "svc_ci_deploy",
        "user-directory": "CORP",
        "check": "true",
        "virtual-proxy-url": qlik.proxy_url("jwt"),
        "ca-bundle": qlik.ca_bundle,
    }
    settings = parse_settings(Target.QSEOW, values)
    token = mint(settings, _key(rsa_pair), now=int(time.time()), jti=new_jti()).token
    path = tmp_path / "prove.json"
    prove(settings, token, lambda: token, record=Recorder(path, command="check qseow"))
    text = path.read_text()
    assert "svc_ci_deploy" not in text and "CORP" not in text and "127.0.0.1" not in text
    assert token not in text


def test_check_cloud_and_oauth_record_no_secret(
    qlik: LocalQlik, rsa_pair: KeyPair, tmp_path: Path
) -> None:
    cloud = parse_settings(
        Target.CLOUD,
        {
            "issuer": ISSUER,
            "key-id": KID,
            "subject": "svc_ci",
            "name": "CI Service",
            "email": "ci@example.com",
        },
    )

    def probe() -> str:
        return mint(cloud, _key(rsa_pair), now=int(time.time()), jti=new_jti()).token

    path = tmp_path / "cloud.json"
    spy = Spy(Recorder(path, command="check cloud", redact=["svc_ci", "ci@example.com"]))
    check_cloud(qlik.tenant_url, probe, transport=_transport(qlik), observe=spy)
    spy.assert_clean(path)
    assert "eas.sid" in path.read_text()

    oauth = OAuthSettings(tenant=qlik.host, client_id="client-1", lifetime=120)
    path = tmp_path / "oauth.json"
    recorder = Recorder(path, command="check oauth")
    spy = Spy(recorder)
    access = exchange(
        oauth,
        lambda now: _assertion(oauth, rsa_pair, now),
        transport=_transport(qlik),
        observe=spy,
    )
    check_access_token(
        qlik.tenant_url, access.access_token, transport=_transport(qlik), observe=spy
    )
    spy.assert_clean(path)
    text = path.read_text()
    assert access.access_token not in text and "client-1" not in text
    assert (
        '"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"' in text
    )


def _assertion(settings: OAuthSettings, pair: KeyPair, now: dt.datetime) -> str:
    from qsjwt.oauth.assertion import build_assertion
    from qsjwt.oauth.assertion import new_assertion_jti as uuid_jti

    return build_assertion(settings, _key(pair), now=now, jti=uuid_jti()).token


def test_obtain_access_token_redacts_the_client_id(
    qlik: LocalQlik, rsa_pair: KeyPair, tmp_path: Path
) -> None:
    path = tmp_path / "oauth.json"
    settings = OAuthSettings(
        tenant=qlik.host, client_id="client-1", lifetime=120, ca_bundle=qlik.ca_bundle
    )
    access = obtain_access_token(settings, _key(rsa_pair), record=Recorder(path, command="oauth"))
    text = path.read_text()
    assert access.access_token not in text
    assert "client-1" not in text and qlik.host not in text


def test_call_records_its_one_exchange(qlik: LocalQlik, rsa_pair: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "call.json"
    token = _qseow_token(rsa_pair)
    spy = Spy(Recorder(path, command="call"))
    answer = call(
        "GET",
        f"{qlik.proxy_url('jwt')}/qrs/about",
        token,
        xrfkey="abcdefgh12345678",
        transport=_transport(qlik),
        record=spy.recorder,
    )
    assert answer.status == 200
    text = path.read_text()
    assert token not in text and "abcdefgh12345678" not in text
    assert json.loads(text)["exchanges"][0]["query"] == ["Xrfkey"]


def test_a_refused_run_still_leaves_its_transcript(
    qlik: LocalQlik, other_rsa_pair: KeyPair, tmp_path: Path
) -> None:
    path = tmp_path / "refused.json"
    with pytest.raises(QlikRefusedError):
        check_qseow(
            qlik.proxy_url("jwt"),
            _qseow_token(other_rsa_pair),
            transport=_transport(qlik),
            observe=Recorder(path, command="check qseow"),
        )
    exchanges = json.loads(path.read_text())["exchanges"]
    assert [(e["path"], e["status"], e["response"]["body"]) for e in exchanges] == [
        ("/jwt/qrs/about", 401, None)
    ]


# --- the command line (the shells pass ``record=``: wired by the use-case rewrite) -----------


def test_cli_check_qseow_record(qlik: LocalQlik, rsa_pair: KeyPair, tmp_path: Path) -> None:
    from tests.app.test_check import check_qseow as cli_check_qseow

    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    path = tmp_path / "check.json"
    run = cli_check_qseow(qlik, key, "--record", str(path))
    assert run.code == 0, run.err
    document = read_transcript(path)
    assert [e["path"] for e in document["exchanges"]] == [
        "/jwt/qrs/about",
        "/jwt/qps/user",
        "/jwt/qps/user",
    ]
    assert "alice" not in path.read_text() and "127.0.0.1" not in path.read_text()


def test_cli_oauth_record_and_hosts(qlik: LocalQlik, rsa_pair: KeyPair, tmp_path: Path) -> None:
    from tests.cli.test_cli import qs_jwt

    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    path = tmp_path / "oauth.json"
    run = qs_jwt(
        "check",
        "oauth",
        "--tenant",
        qlik.host,
        "--client-id",
        "client-1",
        "--ca-bundle",
        qlik.ca_bundle,
        "--private-key-file",
        key,
        "--record",
        path,
        "--record-hosts",
    )
    assert run.code == 0, run.err
    exchanges = read_transcript(path)["exchanges"]
    assert [e["path"] for e in exchanges] == ["/oauth/token", "/api/v1/users/me"]
    assert exchanges[0]["host"] == qlik.host
    assert "client-1" not in path.read_text()


def test_cli_call_record(qlik: LocalQlik, rsa_pair: KeyPair, tmp_path: Path) -> None:
    from tests.cli.test_cli import qs_jwt

    token = tmp_path / "token.jwt"
    token.write_text(_qseow_token(rsa_pair))
    path = tmp_path / "call.json"
    url = f"{qlik.proxy_url('jwt')}/qrs/about"
    run = qs_jwt(
        "call",
        url,
        "--xrfkey",
        "--ca-bundle",
        qlik.ca_bundle,
        "--token-file",
        token,
        "--record",
        path,
    )
    assert run.code == 0, run.err
    assert read_transcript(path)["exchanges"][0]["status"] == 200


# --- replays ----------------------------------------------------------------------------------

Replay = Callable[[LocalQlik], str]


def _replay_qseow(qlik: LocalQlik) -> str:
    proof = check_qseow(qlik.proxy_url("jwt"), "a.b.c", transport=_transport(qlik))
    return f"passed {proof.user} " + "; ".join(proof.notes)


def _replay_cloud(qlik: LocalQlik) -> str:
    return (
        "passed " + check_cloud(qlik.tenant_url, lambda: "a.b.c", transport=_transport(qlik)).user
    )


def _replay_oauth(qlik: LocalQlik) -> str:
    settings = OAuthSettings(tenant=qlik.host, client_id="c", lifetime=120)
    access = exchange(settings, lambda _now: "a.b.c", transport=_transport(qlik))
    proof = check_access_token(qlik.tenant_url, access.access_token, transport=_transport(qlik))
    return "passed " + proof.user


EXPECTED: dict[str, tuple[Replay, str]] = {
    "qseow-pass.json": (_replay_qseow, "passed xxxx\\xxxxx"),
    "qseow-logout-405-qps-user-reports-only.json": (
        _replay_qseow,
        "did not end the probe's session (405)",
    ),
    "qseow-429-then-pass.json": (_replay_qseow, "passed xxxx\\xxxxx"),
    "qseow-session-cap-403.json": (_replay_qseow, "cap of 5 parallel sessions"),
    "qseow-unknown-prefix-302.json": (
        _replay_qseow,
        "the URL's prefix must be the JWT virtual proxy's",
    ),
    "cloud-pass.json": (_replay_cloud, "passed xxxxxx"),
    "cloud-login-2.json": (_replay_cloud, "401, LOGIN-2"),
    "oauth-pass.json": (_replay_oauth, "passed xxxxxxxxxxxxxxxx"),
    "oauth-5-unauthorized.json": (_replay_oauth, "401, OAUTH-5 'Unauthorized'"),
}


def test_every_transcript_has_an_expected_outcome() -> None:
    assert sorted(p.name for p in TRANSCRIPTS.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_replay(name: str, tmp_path: Path) -> None:
    transcript = read_transcript(TRANSCRIPTS / name)
    replay, outcome = EXPECTED[name]
    with LocalQlik(tmp_path) as qlik:
        qlik.replay(transcript)
        try:
            said = replay(qlik)
        except (QlikRefusedError, QlikUnreachableError) as err:
            said = err.render()
        assert qlik.replaying == [], "every recorded exchange was asked for"
    assert outcome in said, said


# --- making the transcripts from the stand-in's readings ---------------------------------------


def _make(directory: Path, pair: KeyPair, other: KeyPair) -> None:  # pragma: no cover
    """Record each committed transcript from the stand-in (``--write``)."""
    work = directory / "work"

    def run(name: str, body: Callable[[LocalQlik, Recorder], object], **reading: Any) -> None:
        place = work / name
        place.mkdir(parents=True)
        with LocalQlik(place, **reading) as local:
            local.add_proxy(QlikProxy("jwt", pair.certificate_pem))
            local.idp = QlikIdp(ISSUER, KID, pair.certificate_pem)
            local.register(QlikClient("client-1", [public_jwk(_key(pair).key, input_name="k")]))
            command = "check " + name.split("-", maxsplit=1)[0]
            recorder = Recorder(directory / name, command=command, redact=["alice", "CORP"])
            with contextlib.suppress(QsjwtError):
                body(local, recorder)

    def qseow(token: str, prefix: str = "jwt") -> Callable[[LocalQlik, Recorder], object]:
        return lambda q, r: check_qseow(
            q.proxy_url(prefix), token, transport=_transport(q), observe=r
        )

    good, bad = _qseow_token(pair), _qseow_token(other)
    run("qseow-pass.json", qseow(good))
    run("qseow-logout-405-qps-user-reports-only.json", qseow(good), logout_status=405)

    def busy_then(q: LocalQlik, r: Recorder) -> object:
        real = q.routes[("GET", "/jwt/qrs/about")]
        calls: list[int] = []

        def once(qq: LocalQlik, request: Any, body: bytes) -> Any:
            calls.append(1)
            if len(calls) == 1:
                from tests.qlik_local import Answer

                return Answer(429, {"errors": [{"code": "HTTP-429"}]}, {"Retry-After": "0"})
            return real(qq, request, body)

        q.routes[("GET", "/jwt/qrs/about")] = once
        return qseow(good)(q, r)

    run("qseow-429-then-pass.json", busy_then)

    def capped(q: LocalQlik, r: Recorder) -> object:
        q.proxies["jwt"].sessions.update({str(n): ("CORP", "alice") for n in range(5)})
        return qseow(good)(q, r)

    run("qseow-session-cap-403.json", capped)
    run("qseow-unknown-prefix-302.json", qseow(good, "nope"))
    del bad
    cloud = parse_settings(
        Target.CLOUD,
        {
            "issuer": ISSUER,
            "key-id": KID,
            "subject": "svc_ci",
            "name": "CI",
            "email": "ci@example.com",
        },
    )
    wrong_kid = parse_settings(
        Target.CLOUD,
        {
            "issuer": ISSUER,
            "key-id": "kid-old",
            "subject": "svc_ci",
            "name": "CI",
            "email": "ci@example.com",
        },
    )

    def cloud_check(settings: Any) -> Callable[[LocalQlik, Recorder], object]:
        def probe() -> str:
            return mint(settings, _key(pair), now=int(time.time()), jti=new_jti()).token

        return lambda q, r: check_cloud(q.tenant_url, probe, transport=_transport(q), observe=r)

    run("cloud-pass.json", cloud_check(cloud), error_style="generic")
    run("cloud-login-2.json", cloud_check(wrong_kid), error_style="generic")

    def oauth_check(key: KeyPair) -> Callable[[LocalQlik, Recorder], object]:
        def body(q: LocalQlik, r: Recorder) -> object:
            settings = OAuthSettings(tenant=q.host, client_id="client-1", lifetime=120)
            access = exchange(
                settings,
                lambda now: _assertion(settings, key, now),
                transport=_transport(q),
                observe=r,
            )
            return check_access_token(
                q.tenant_url, access.access_token, transport=_transport(q), observe=r
            )

        return body

    run("oauth-pass.json", oauth_check(pair), error_style="generic")
    run("oauth-5-unauthorized.json", oauth_check(other), error_style="generic")


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.app.test_record --write")
    import shutil
    import tempfile

    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.conftest import make_pair

    def fresh() -> KeyPair:
        return make_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch)
        _make(target, fresh(), fresh())
        for made in target.glob("*.json"):
            shutil.copy(made, TRANSCRIPTS / made.name)
    print(f"wrote {TRANSCRIPTS}")


def test_a_destination_that_cannot_be_written_is_refused_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    from qsjwt.base.errors import InputError

    with pytest.raises(InputError) as info:
        Recorder(tmp_path / "no-such-dir" / "t.json", command="check")
    assert info.value.input_name == "record"
    with pytest.raises(InputError):
        Recorder(tmp_path, command="check")


def test_open_recorder_from_the_inputs(tmp_path: Path) -> None:
    from qsjwt.base.errors import InputError
    from qsjwt.net.record import open_recorder

    assert open_recorder({}, command="check") is None
    assert open_recorder({"record": "  "}, command="check") is None
    made = open_recorder(
        {"record": str(tmp_path / "t.json"), "record-hosts": "true"}, command="check qseow"
    )
    assert made is not None and made.hosts and made.path == tmp_path / "t.json"
    under = open_recorder({"record": "t.json"}, command="oauth", under=str(tmp_path))
    assert under is not None and under.path == tmp_path / "t.json" and not under.hosts
    for bad in ("../t.json", "sub/t.json", ".."):
        with pytest.raises(InputError) as info:
            open_recorder({"record": bad}, command="oauth", under=str(tmp_path))
        assert info.value.input_name == "record"
        assert bad not in info.value.render(), "never echoed"
    with pytest.raises(InputError) as info:
        open_recorder({"record": "t.json", "record-hosts": "maybe"}, command="check")
    assert info.value.input_name == "record-hosts"


def test_a_credential_qlik_echoes_is_masked(tmp_path: Path) -> None:
    """A token, cookie or Xrfkey the request carried, echoed in Qlik's words, is masked."""
    token, xrfkey, cookie = "t0ken.short", "Abcdefgh12345678", "sess10n"
    recorder = Recorder(tmp_path / "t.json", command="call")
    recorder(
        Exchange(
            "GET",
            f"https://h/jwt/qrs/about?xrfkey={xrfkey}",
            400,
            Message(),
            json.dumps(
                {"errors": [{"title": f"bad {token} {xrfkey} {cookie}", "detail": xrfkey}]}
            ).encode(),
            0,
            {
                "Authorization": f"Bearer {token}",
                "X-Qlik-Xrfkey": xrfkey,
                "Cookie": f"X-Qlik-Session-jwt={cookie}",
            },
        )
    )
    text = (tmp_path / "t.json").read_text()
    assert token not in text and xrfkey not in text and cookie not in text
    assert '"bad {string:11} {string:16} {string:7}"' in text
