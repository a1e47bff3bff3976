"""The leak suite from the other side of the wire (issue 19): a hostile Qlik (tests/qlik_local.py)
and a hostile Vault (tests/fake_vault.py) answer OAuth, ``check``, ``call`` and the key service
wrongly, and the CLI (a real process) and the action (in this process) must keep every
credential out of every log, turn no answer into a workflow command, and exit with the
documented code: 4 for an answer that breaks the protocol, never an internal error.

A credential counts as leaked when any ``WINDOW`` characters in a row of it, raw or encoded
(base64 at each alignment, base64url, URL-encoded, JSON-escaped), appear anywhere but in the
intended outputs and the mask lines. The forms are computed here, not by the scrub under test.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from qsjwt.signing.jwk import public_jwk
from tests.action_runner import MASK, Result, parse_command
from tests.cli.test_cli import Run, qs_jwt_process
from tests.conftest import KeyPair
from tests.fake_vault import FETCHED_TOKEN, FakeVault, fake_vault
from tests.leaks.material import WINDOW
from tests.qlik_local import Answer, LocalQlik, QlikClient

CLIENT = "peer-leak-client"
ID_TOKEN = (
    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2NpLmV4YW1wbGUiLCJzdWIiOiJwZWVyLWxlYWtzIn0."
    "cGVlci1sZWFrLXN1aXRlLWlkZW50aXR5LXRva2VuLXNpZ25hdHVyZQ"
)
VAULT_TOKEN = "hvs.PeerLeakSuiteGivenVaultToken0123456789"


@dataclass
class Peers:
    """The hostile servers of one case, and every credential they were sent."""

    qlik: LocalQlik
    vault: FakeVault | None = None
    seen: list[str] = field(default_factory=list)

    def credentials(self) -> list[str]:
        sent = [token for token in self.qlik.issued if token]
        fetched = self.vault.seen_tokens if self.vault else []
        return [*sent, *self.seen, *fetched, ID_TOKEN, VAULT_TOKEN, FETCHED_TOKEN]


def _reflect(peers: Peers) -> Callable[[LocalQlik, Any, bytes], Answer]:
    """users/me that names the user after the bearer token it was sent, in several forms."""

    def users_me(_qlik: LocalQlik, request: Any, _body: bytes) -> Answer:
        bearer = str(request.headers.get("Authorization", "")).removeprefix("Bearer ")
        peers.seen.append(bearer)
        document = {
            "id": "u1",
            "subject": f"{bearer} ##[error]pwned",
            "name": base64.b64encode(bearer.encode()).decode(),
            "echo": urllib.parse.quote(bearer, safe=""),
            "status": "active",
        }
        return Answer(200, document)

    return users_me


@dataclass(frozen=True)
class PeerCase:
    id: str
    about: str
    """the class of issue 19 it covers"""
    command: tuple[str, ...]
    """the CLI's command and its own arguments (the tenant, key and CA are added)"""
    answer: Callable[[Peers], None] = lambda _peers: None
    """what the peers do wrongly"""
    vault: str | None = None
    """a fake Vault in this mode signs instead of the private key"""
    env: tuple[tuple[str, str], ...] = ()
    exit: int = 4
    code: str | None = "qlik-malformed-answer"
    """the action's error-code (None: the action does not run this command)"""


def _token(**changes: object) -> Callable[[Peers], None]:
    def answer(peers: Peers) -> None:
        peers.qlik.token_response = lambda document: {**document, **changes}

    return answer


def _reflecting(peers: Peers) -> None:
    peers.qlik.routes[("GET", "/api/v1/users/me")] = _reflect(peers)


OAUTH = ("oauth", "--client-id", CLIENT)
QSEOW = ("qseow", "--user-id", "svc", "--user-directory", "CORP")
CASES = (
    PeerCase("oauth-token-command", "command", OAUTH, _token(access_token="::error::pwned")),
    PeerCase("oauth-token-grammar", "command", OAUTH, _token(access_token="ab\u2028::warning::x")),
    PeerCase("oauth-token-type", "internal", OAUTH, _token(token_type="DPoP")),
    PeerCase("oauth-expires-in-huge", "internal", OAUTH, _token(expires_in=1_000_000_000)),
    PeerCase(
        "oauth-expires-at-9999", "internal", OAUTH, _token(expires_at="9999-12-31T23:59:59-14:00")
    ),
    PeerCase("oauth-scope-command", "command", OAUTH, _token(scope="a\n::error::pwned")),
    PeerCase(
        "check-oauth-user-echoes-bearer",
        "echo",
        ("check", "oauth", "--client-id", CLIENT),
        _reflecting,
        exit=0,
        code=None,
    ),
    PeerCase(
        "vault-signs-with-another-key",
        "signature",
        QSEOW,
        vault="other-key",
        env=(("QSJWT_VAULT_TOKEN", VAULT_TOKEN),),
        code="key-service-malformed-answer",
    ),
    PeerCase(
        "vault-random-signature",
        "signature",
        QSEOW,
        vault="garbage",
        env=(("QSJWT_VAULT_TOKEN", VAULT_TOKEN),),
        code="key-service-malformed-answer",
    ),
    PeerCase(
        "vault-version-not-a-number",
        "internal",
        QSEOW,
        vault="bad-version",
        env=(("QSJWT_VAULT_TOKEN", VAULT_TOKEN),),
        code="key-service-malformed-answer",
    ),
    PeerCase(
        "vault-echoes-fetched-token",
        "echo",
        QSEOW,
        vault="echo",
        env=(("QSJWT_VAULT_ROLE", "ci"), ("QSJWT_ID_TOKEN", ID_TOKEN)),
        exit=2,
        code="invalid-key",
    ),
    PeerCase(
        "vault-echoes-identity-token",
        "echo",
        QSEOW,
        vault="echo-login",
        env=(("QSJWT_VAULT_ROLE", "ci"), ("QSJWT_ID_TOKEN", ID_TOKEN)),
        exit=2,
        code="invalid-key",
    ),
)


@pytest.fixture
def peers(tmp_path: Path, rsa_pair: KeyPair) -> Iterator[Peers]:
    (tmp_path / "qlik").mkdir()
    with LocalQlik(tmp_path / "qlik") as qlik:
        qlik.register(QlikClient(CLIENT, [public_jwk(rsa_pair.key, input_name="private-key")]))
        yield Peers(qlik)


def forms(secret: str) -> list[str]:
    """Every way a log could carry ``secret``: raw, base64 at each of its three alignments,
    base64url, URL-encoded, JSON-escaped."""
    raw = secret.encode()
    found = [secret, urllib.parse.quote(secret, safe=""), json.dumps(secret)[1:-1]]
    for shift, skip in ((0, 0), (1, 2), (2, 3)):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()[skip:-4]
        found += [encoded, encoded.replace("+", "-").replace("/", "_")]
    return [form for form in found if len(form) >= WINDOW]


def leaks(text: str, secrets: list[str]) -> list[str]:
    """The secrets of which ``WINDOW`` characters in a row appear in ``text``."""
    return [
        secret[:8] + "..."
        for secret in dict.fromkeys(secrets)
        for form in forms(secret)
        if any(form[i : i + WINDOW] in text for i in range(len(form) - WINDOW + 1))
    ]


def no_command(lines: list[str], *, ours: frozenset[str] = frozenset()) -> None:
    """No line a runner would read as a command but the action's own (``ours``), and nothing
    a terminal reads as a control."""
    for line in lines:
        command = parse_command(line) if line.startswith("::") else None
        assert not line.startswith("::") or (command and command.name in ours), line
        assert "##[" not in line and "\x1b" not in line and "\u2028" not in line, line


def with_peers(case: PeerCase, peers: Peers, rsa_pair: KeyPair) -> Iterator[FakeVault | None]:
    case.answer(peers)
    if case.vault is None:
        yield None
        return
    with fake_vault(case.vault, rsa_pair.key) as vault:
        peers.vault = vault
        yield vault


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_cli_against_a_hostile_peer(
    case: PeerCase, peers: Peers, rsa_pair: KeyPair, tmp_path: Path
) -> None:
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    for vault in with_peers(case, peers, rsa_pair):
        args: list[str | Path] = [*case.command]
        env = dict(case.env)
        if vault is None:
            args += ["--private-key-file", key]
        else:
            env |= {"QSJWT_KEY_SERVICE": "vault:transit/qlik", "QSJWT_VAULT_ADDRESS": vault.address}
        if case.command[0] in ("oauth", "check"):
            args += ["--tenant", peers.qlik.host, "--ca-bundle", peers.qlik.ca_bundle]
        run: Run = qs_jwt_process(*args, env=env)
    assert run.code == case.exit, run.err
    assert "Traceback" not in run.err and "internal error" not in run.err
    shown = run.err if case.exit == 0 else run.everything
    assert not leaks(shown, peers.credentials()), run.err
    if case.exit:
        assert run.out == ""  # no token, no assertion, nothing of the answer
    no_command(run.everything.splitlines())


@pytest.mark.parametrize("case", [c for c in CASES if c.code], ids=[c.id for c in CASES if c.code])
def test_action_against_a_hostile_peer(
    case: PeerCase, peers: Peers, rsa_pair: KeyPair, run: Callable[..., Result]
) -> None:
    for vault in with_peers(case, peers, rsa_pair):
        inputs = {"target": case.command[0], "private-key": rsa_pair.private_pem.decode()}
        if case.command[0] == "oauth":
            inputs |= {"client-id": CLIENT, "tenant": peers.qlik.host}
            inputs["ca-bundle"] = peers.qlik.ca_bundle
        else:
            inputs |= {"user-id": "svc", "user-directory": "CORP"}
        if vault is not None:
            names = {"QSJWT_VAULT_TOKEN": "vault-token", "QSJWT_VAULT_ROLE": "vault-role"}
            names["QSJWT_ID_TOKEN"] = "id-token"
            inputs |= {names[variable]: value for variable, value in case.env}
            inputs |= {"private-key": "", "key-service": "vault:transit/qlik"}
            inputs["vault-address"] = vault.address
        result = run(inputs)
    assert result.code == 1, result.stdout
    assert result.outputs.get("error-code") == case.code, result.stdout
    logged = [line for line in result.lines if not line.startswith(MASK)]
    text = "\n".join(logged) + result.summary + result.output_file + result.env_file
    assert not leaks(text, peers.credentials()), text
    assert "access-token" not in result.outputs and "token" not in result.outputs
    no_command(result.lines, ours=frozenset({"add-mask", "error", "warning", "debug"}))
