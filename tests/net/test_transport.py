"""The one HTTP client, against real servers on 127.0.0.1 (tests/net/rigs.py): the deadline
holds against servers that answer a byte a second, a name server that never answers and a
name whose addresses never accept, retries follow Retry-After (ASCII digits only), proxies are
never used for this machine or plain http, JSON is read within bounds, no redirect is
followed, and nothing a user gave shows in a message.

Only the deadline's tests measure time, as an upper bound with a generous margin."""

from __future__ import annotations

import email.message
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qsjwt._version import __version__
from qsjwt.app.call import call
from qsjwt.base.errors import (
    InputError,
    KeyServiceDeadlineError,
    KeyServiceUnreachableError,
    QlikDeadlineError,
    QlikUnreachableError,
)
from qsjwt.net.transport import (
    Clock,
    Exchange,
    MalformedAnswerError,
    Transport,
    UnreachableError,
    error_parts,
    header_value,
    read_json,
    request_json,
    retry_after,
)
from qsjwt.signing.remote import Context, Secrets
from qsjwt.signing.remote.identity import REQUEST_TOKEN, REQUEST_URL, identity_token
from qsjwt.signing.remote.registry import open_remote_key, parse_key_service
from tests.net.rigs import Connection, RawServer, answer, recorder, replies, unaccepting

DEADLINE = 3
MARGIN = 2.5
"""seconds past the deadline a request may take at most (thread start-up, a loaded runner)"""
DIRECT = Transport(deadline=DEADLINE, proxies={})


def slow_headers(connection: Connection) -> None:
    connection.read_request()
    connection.trickle(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 600, every=1.0)


def slow_body(connection: Connection) -> None:
    connection.read_request()
    if connection.send(b"HTTP/1.1 200 OK\r\nContent-Length: 600\r\n\r\n{"):
        connection.trickle(b" " * 600, every=1.0)


def continue_flood(connection: Connection) -> None:
    connection.read_request()
    while connection.send(b"HTTP/1.1 100 Continue\r\n\r\n"):
        if connection.stopping.wait(0.5):
            return


STALLERS = [slow_headers, slow_body, continue_flood]


@pytest.mark.parametrize("staller", STALLERS)
def test_a_key_service_that_trickles_meets_the_deadline(
    staller: Callable[[Connection], None],
) -> None:
    with RawServer([staller]) as server:
        started = time.monotonic()
        with pytest.raises(UnreachableError) as info:
            request_json("GET", f"{server.url}/v1/x", headers={}, transport=DIRECT)
        assert time.monotonic() - started < DEADLINE + MARGIN
    assert info.value.deadline and "deadline" in info.value.why
    assert len(server.seen) == 1  # a deadline is never retried
    error = info.value.error("Vault could not be reached", input_name="vault-address", hint="")
    assert isinstance(error, KeyServiceDeadlineError)
    assert isinstance(error, KeyServiceUnreachableError)
    assert (error.code, error.exit_code) == ("deadline-exceeded", 4)


@pytest.mark.parametrize("staller", STALLERS)
def test_qlik_that_trickles_over_tls_meets_the_deadline(
    staller: Callable[[Connection], None], tmp_path: Path
) -> None:
    with RawServer([staller], tmp_path) as server:
        transport = Transport(ca_bundle=server.ca_bundle, deadline=DEADLINE, proxies={})
        started = time.monotonic()
        with pytest.raises(QlikDeadlineError) as info:
            call("GET", f"{server.url}/api/v1/users/me", "secret-token", transport=transport)
        assert time.monotonic() - started < DEADLINE + MARGIN
    assert isinstance(info.value, QlikUnreachableError)
    assert (info.value.code, info.value.exit_code, info.value.input_name) == (
        "deadline-exceeded",
        4,
        "url",
    )
    assert "secret-token" not in info.value.render()


def test_a_slow_tls_handshake_meets_the_deadline() -> None:
    """A server that accepts and never speaks TLS: the handshake waits only what is left."""

    def silent(connection: Connection) -> None:
        connection.stopping.wait(DEADLINE + 5)

    with RawServer([silent]) as server:
        url = server.url.replace("http://", "https://") + "/x"
        started = time.monotonic()
        with pytest.raises(QlikDeadlineError):
            call("GET", url, "t", transport=Transport(deadline=DEADLINE, proxies={}))
        assert time.monotonic() - started < DEADLINE + MARGIN


# --- the name lookup and each address, in a mount namespace of their own ------------------------

RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n"
"""127.0.0.1 the only name server: the resolver gives up on a name after 10 s (5 s a try)"""
LOOKUP_GIVES_UP = 10
NSSWITCH_CONF = "hosts: files dns\n"
"""/etc/hosts, then the name servers of resolv.conf: no systemd-resolved, mDNS or cache between
(Ubuntu's may list them), so the name server asked is the test's"""
OWN_FILES = (
    'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts && '
    'mount --bind "$3" /etc/nsswitch.conf && shift 3 && exec "$@"'
)


def as_root() -> list[str] | None:
    """What runs a command as root: nothing for root (``.ci/run``), ``sudo`` where it needs no
    password (GitHub's runners, whose tests run as a user), else None."""
    if os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo is None:
        return None
    if subprocess.run([sudo, "-n", "true"], capture_output=True, check=False).returncode:
        return None  # it asks for a password
    return [sudo, "-n", "-E"]  # -E: this environment, less what sudo drops


class OwnResolver:
    """``python -m qsjwt`` in a mount namespace of its own, where /etc/resolv.conf names only
    127.0.0.1 as name server and /etc/hosts is the test's: a name server that never answers,
    or a name with several addresses, with no change to this machine. (Root, or sudo, makes the
    namespace; the run itself is only a client.)"""

    def __init__(self, root: list[str], unshare: str, directory: Path) -> None:
        self.root = root
        self.unshare = unshare
        self.resolv_conf = directory / "resolv.conf"
        self.resolv_conf.write_text(RESOLV_CONF)
        self.hosts = directory / "hosts"
        self.hosts.write_text("127.0.0.1 localhost\n")
        self.nsswitch_conf = directory / "nsswitch.conf"
        self.nsswitch_conf.write_text(NSSWITCH_CONF)

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        """``command`` in the namespace, with no proxy and no qs-jwt setting of this machine."""
        return subprocess.run(
            [
                *self.root,
                self.unshare,
                "-m",
                "sh",
                "-c",
                OWN_FILES,
                "sh",
                self.resolv_conf,
                self.hosts,
                self.nsswitch_conf,
                *command,
            ],
            env={
                **{
                    k: v
                    for k, v in os.environ.items()
                    if not k.lower().endswith("_proxy") and not k.startswith("QSJWT_")
                },
                "QSJWT_TOKEN": "t",
            },
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    def qs_jwt(self, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
        """The run, and the seconds it took."""
        started = time.monotonic()
        done = self.run(sys.executable, "-m", "qsjwt", *args)
        return done, time.monotonic() - started


@pytest.fixture
def own_resolver(tmp_path: Path) -> OwnResolver:
    unshare = shutil.which("unshare")
    if not sys.platform.startswith("linux") or unshare is None or shutil.which("mount") is None:
        pytest.skip("needs Linux's unshare and mount (util-linux, mount)")
    root = as_root()
    if root is None:
        pytest.skip("unshare -m and mount --bind need root, or sudo without a password")
    resolver = OwnResolver(root, unshare, tmp_path)
    probe = resolver.run("cat", "/etc/resolv.conf")
    if probe.stdout != RESOLV_CONF:
        pytest.skip(f"unshare -m and mount --bind need root: {probe.stderr.strip()}")
    return resolver


SILENT_NAME_SERVER = """
import socket
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
    server.bind(("127.0.0.1", 53))
    print("listening", flush=True)
    server.recv(512)
    print("asked", flush=True)
    server.recv(512)  # and never answers, until the test ends it
"""


@pytest.fixture
def silent_name_server(own_resolver: OwnResolver) -> Iterator[Callable[[], bool]]:
    """A name server on 127.0.0.1:53 that takes every query and never answers (a process of
    its own: the port needs root, as the namespace does); gives whether it was asked."""
    server = subprocess.Popen(
        [*own_resolver.root, sys.executable, "-c", SILENT_NAME_SERVER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = server.stdout, server.stderr
    assert out is not None and err is not None
    try:
        if out.readline() != "listening\n":
            server.wait(timeout=30)
            pytest.skip(f"no name server on 127.0.0.1:53 (a free port?): {err.read()[-300:]}")
        # asked by now, or never: not a wait for a line that may not come
        yield lambda: bool(select.select([out], [], [], 5)[0]) and out.readline() == "asked\n"
    finally:
        server.kill()
        server.communicate(timeout=30)


def test_a_name_server_that_never_answers_meets_the_deadline(
    own_resolver: OwnResolver, silent_name_server: Callable[[], bool]
) -> None:
    """getaddrinfo cannot be interrupted, and the resolver would wait 10 s for qlik.test."""
    url = "https://qlik.test/api/v1/users/me"  # .test: never a real name (RFC 6761)
    run, took = own_resolver.qs_jwt("call", url, "--timeout", f"{DEADLINE}s")
    assert (run.returncode, "the deadline passed" in run.stderr) == (4, True), run.stderr
    assert took < DEADLINE + MARGIN < LOOKUP_GIVES_UP
    assert silent_name_server()  # it was asked


def test_a_name_whose_addresses_never_accept_meets_the_deadline(own_resolver: OwnResolver) -> None:
    """socket.create_connection gives the whole wait to each address in turn: three times
    the deadline for three addresses."""
    addresses = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    own_resolver.hosts.write_text("".join(f"{address} qlik.test\n" for address in addresses))
    with unaccepting(addresses) as port:
        run, took = own_resolver.qs_jwt(
            "call", f"https://qlik.test:{port}/x", "--timeout", f"{DEADLINE}s"
        )
    assert (run.returncode, "the deadline passed" in run.stderr) == (4, True), run.stderr
    assert took < DEADLINE + MARGIN


# --- retries -----------------------------------------------------------------------------------


class Sleeps:
    """Waits recorded, never waited; the jitter is 0 (the back-off's lower half)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def clock(self) -> Clock:
        return Clock(sleep=self.waits.append, jitter=lambda: 0.0)


def test_429_waits_as_retry_after_says() -> None:
    sleeps = Sleeps()
    handlers = replies(answer(429, headers={"Retry-After": "1"}), answer(200, b'{"ok": 1}'))
    with RawServer(handlers) as server:
        got = request_json("GET", server.url, headers={}, transport=DIRECT, clock=sleeps.clock())
    assert (got.status, got.document) == (200, {"ok": 1})
    assert sleeps.waits == [1.0] and len(server.seen) == 2


@pytest.mark.parametrize("value", ["\N{SUPERSCRIPT TWO}", "\N{ARABIC-INDIC DIGIT THREE}", "1e3"])
def test_a_retry_after_of_other_digits_is_ignored(value: str) -> None:
    """``"²".isdigit()`` is true in Python: such a value must not be taken as a number."""
    sleeps = Sleeps()
    raw = answer(429).replace(b"\r\n\r\n", f"\r\nRetry-After: {value}\r\n\r\n".encode(), 1)
    with RawServer(replies(raw, answer(200))) as server:
        got = request_json("GET", server.url, headers={}, transport=DIRECT, clock=sleeps.clock())
    assert got.status == 200
    assert sleeps.waits == [0.5]  # the back-off alone


def test_retry_after_reads_ascii_digits_and_dates_only() -> None:
    def of(value: str) -> float | None:
        headers = email.message.Message()
        headers["Retry-After"] = value
        return retry_after(headers, Clock().wall())

    assert of("7") == 7.0
    assert of("\N{SUPERSCRIPT TWO}") is None and of("-1") is None and of("soon") is None
    assert of("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait


def test_a_post_is_not_retried_unless_the_caller_opts_in() -> None:
    sleeps = Sleeps()
    with RawServer(replies(answer(503), answer(503), answer(200))) as server:
        got = request_json("POST", server.url, headers={}, transport=DIRECT, clock=sleeps.clock())
        assert got.status == 503 and sleeps.waits == []
        again = request_json(
            "POST", server.url, headers={}, transport=DIRECT, clock=sleeps.clock(), retry=True
        )
    assert again.status == 200 and sleeps.waits == [0.5]


def test_a_dropped_connection_is_retried() -> None:
    def hang_up(connection: Connection) -> None:
        connection.read_request()

    sleeps = Sleeps()
    with RawServer([hang_up, *replies(answer(200))]) as server:
        got = request_json("GET", server.url, headers={}, transport=DIRECT, clock=sleeps.clock())
    assert got.status == 200 and len(sleeps.waits) == 1


# --- proxies, redirects, what is sent ------------------------------------------------------------


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RawServer]:
    """A proxy in every proxy variable that notes what it is asked and hangs up."""
    with RawServer([recorder]) as server:
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, server.url)
        yield server


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_no_proxy_for_this_machine(proxy: RawServer, tmp_path: Path, host: str) -> None:
    with RawServer(replies(answer(200)), tmp_path) as server:
        url = server.url.replace("127.0.0.1", host)
        got = request_json("GET", url, headers={}, transport=Transport(ca_bundle=server.ca_bundle))
    assert got.status == 200 and proxy.seen == []


def test_no_proxy_for_plain_http(proxy: RawServer) -> None:
    """A Vault token on http://127.0.0.1 must never go through a proxy in clear; nor may any
    request to another machine in plain http."""
    with RawServer(replies(answer(200))) as server:
        assert request_json("GET", server.url, headers={}).status == 200
    with pytest.raises(UnreachableError) as info:
        request_json("GET", "http://vault.qs-jwt.invalid/v1/x", headers={})
    assert proxy.seen == [] and "DNS" in info.value.why


def test_the_environment_proxy_carries_https_to_other_hosts(proxy: RawServer) -> None:
    url = "https://vault.qs-jwt.invalid/v1/x"
    with pytest.raises(UnreachableError):
        request_json("GET", url, headers={}, transport=Transport(deadline=DEADLINE))
    asked = {c.head.split(b"\r\n")[0] for c in proxy.seen}
    assert asked == {b"CONNECT vault.qs-jwt.invalid:443 HTTP/1.0"}


def test_no_redirect_is_followed() -> None:
    moved = answer(302, headers={"Location": "/elsewhere"})
    with RawServer(replies(moved, answer(200))) as server:
        got = request_json("GET", f"{server.url}/here", headers={}, transport=DIRECT)
    assert got.status == 302 and len(server.seen) == 1


def test_the_user_agent_and_the_observer() -> None:
    seen: list[Exchange] = []
    with RawServer(replies(answer(201, b'{"a": [1]}', {"X-Id": "7"}))) as server:
        transport = Transport(deadline=DEADLINE, proxies={}, observer=seen.append)
        request_json(
            "POST",
            f"{server.url}/p?q=1",
            headers={"X-Secret": "s"},
            body={"b": 2},
            transport=transport,
        )
    assert server.seen[0].header("User-Agent") == f"qs-jwt/{__version__}"
    assert server.seen[0].body == b'{"b": 2}'
    (exchange,) = seen
    assert (exchange.method, exchange.url, exchange.status) == ("POST", f"{server.url}/p?q=1", 201)
    assert ("X-Id", "7") in exchange.headers and exchange.body == b'{"a": [1]}'
    assert 0 <= exchange.elapsed < DEADLINE
    assert all(value != "s" for _, value in exchange.headers)  # the request's headers: never


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\x00b"])
def test_a_header_value_with_a_line_break_is_refused_before_sending(value: str) -> None:
    with RawServer(replies(answer(200))) as server, pytest.raises(InputError) as info:
        request_json("GET", server.url, headers={"X-Vault-Namespace": value})
    assert info.value.input_name == "x-vault-namespace" and server.seen == []
    assert value not in info.value.render()
    with pytest.raises(InputError) as named:
        header_value(value, input_name="vault-namespace")
    assert named.value.input_name == "vault-namespace"


# --- JSON within bounds ---------------------------------------------------------------------


DEEP = b"[" * 60_000 + b"]" * 60_000


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        b'{"a": ' + DEEP + b"}",
        b'{"expires_in": 1e400}',
        b'{"expires_in": 3e11}',
        b'{"expires_in": 300000000000}',
        b'{"expires_in": ' + b"9" * 5000 + b"}",
        b'{"a": NaN}',
        b'{"a": -Infinity}',
        b"[]",
        b'"text"',
        b"not json",
        b"{}" + b" " * 100,
    ],
)
def test_read_json_refuses_what_it_cannot_bound(body: bytes) -> None:
    with pytest.raises(MalformedAnswerError) as info:
        read_json(body, limit=100)
    assert str(info.value) == "the answer is not a JSON object within bounds"


def test_read_json_takes_ordinary_answers() -> None:
    text = b'{"s": "[[[[{{{{", "n": [1, -2.5, 1700000000], "t": true, "o": {"x": null}}'
    assert read_json(text, limit=1000) == {
        "s": "[[[[{{{{",
        "n": [1, -2.5, 1700000000],
        "t": True,
        "o": {"x": None},
    }


def test_a_deep_answer_is_a_clean_empty_document() -> None:
    with RawServer(replies(answer(200, DEEP))) as server:
        got = request_json("GET", server.url, headers={}, transport=DIRECT)
    assert (got.status, got.document, got.errors) == (200, {}, "")
    assert error_parts(DEEP) == ([], "")


# --- the key services' seams -------------------------------------------------------------------


def github(url: str, ca_bundle: str | None = None) -> Context:
    return Context(
        {"id-token-audience": "https://vault.example"},
        Secrets(),
        {REQUEST_URL: url, REQUEST_TOKEN: "request-token-value"},
        ca_bundle=ca_bundle,
    )


def test_github_token_url_must_be_https() -> None:
    with pytest.raises(InputError) as info:
        identity_token(github("http://127.0.0.1:1/token?api-version=2.0&run=secret-run-id"))
    text = info.value.render()
    assert info.value.input_name == REQUEST_URL and "https" in text
    assert "secret-run-id" not in text and "127.0.0.1" not in text


def test_the_ca_bundle_seam_of_the_key_services(tmp_path: Path) -> None:
    handlers = replies(answer(200, b'{"value": "oidc-token"}'))
    with RawServer(handlers, tmp_path) as server:
        url = f"{server.url}/token?api-version=2.0"
        assert identity_token(github(url, server.ca_bundle)) == "oidc-token"
        with pytest.raises(KeyServiceUnreachableError) as info:
            identity_token(github(url))  # the system's CAs do not know the test CA
    assert "TLS" in info.value.render() and len(server.seen) >= 1
    assert server.seen[0].header("Authorization") == "Bearer request-token-value"


@pytest.mark.parametrize(
    ("values", "secrets", "named"),
    [
        ({}, Secrets(vault_token="hvs.abc\r\nX-Evil: 1"), "vault-token"),
        (
            {"vault-namespace": "team\r\nX-Evil: 1"},
            Secrets(vault_token="hvs.abc"),
            "vault-namespace",
        ),
    ],
)
def test_vault_refuses_a_header_value_with_a_line_break_before_sending(
    values: dict[str, str], secrets: Secrets, named: str
) -> None:
    with RawServer(replies(answer(200))) as server:
        context = Context({"vault-address": server.url, **values}, secrets)
        with pytest.raises(InputError) as info:
            open_remote_key(parse_key_service("vault:transit/rsa"), context)
    assert info.value.input_name == named and server.seen == []
    assert "X-Evil" not in info.value.render()
