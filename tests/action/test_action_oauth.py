"""The action with ``target: oauth``, against the local Qlik Cloud over real HTTPS.

The access token is a credential as the JWT is: masked before any other line, in its output
(and ``export-env``) only, never in the log, the summary or another output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest

from qsjwt.signing.jwk import public_jwk
from qsjwt.signing.keys import signing_key_from
from tests.action.test_action import assert_masks_first, assert_no_leak, key_lines
from tests.action_runner import MASK, Result, Runner
from tests.conftest import KeyPair
from tests.oauth.test_exchange import users_me
from tests.qlik_local import IMPERSONATION, LocalQlik, QlikClient, QlikUser

CLIENT = "client-1"
ACCESS_OUTPUTS = {"access-token", "expires-at", "expires-in", "scope"}


@pytest.fixture
def oauth(qlik: LocalQlik, rsa_pair: KeyPair, run: Callable[..., Result]) -> Callable[..., Result]:
    """``oauth(**inputs)``: the action for a client the local Qlik knows, with this key."""
    key = signing_key_from(rsa_pair.key, input_name="private-key")
    qlik.register(
        QlikClient(
            CLIENT,
            [public_jwk(key.key, input_name="private-key")],
            scopes=frozenset({"user_default", "admin.apps:read"}),
            grants=frozenset({"client_credentials", IMPERSONATION}),
        )
    )

    def _run(extra: dict[str, str | None] | None = None, **inputs: str) -> Result:
        given = {
            "target": "oauth",
            "tenant": qlik.host,
            "client-id": CLIENT,
            "ca-bundle": qlik.ca_bundle,
            "private-key": rsa_pair.private_pem.decode(),
        }
        given.update({name.replace("_", "-"): value for name, value in inputs.items()})
        return run(given, extra)

    return _run


def test_access_token_is_masked_first_and_works(
    oauth: Callable[..., Result], qlik: LocalQlik, rsa_pair: KeyPair
) -> None:
    result = oauth()
    assert result.code == 0, result.stdout
    outputs = result.outputs
    assert set(outputs) == ACCESS_OUTPUTS
    token = outputs["access-token"]
    assert users_me(qlik, token)[0] == 200
    assert_masks_first(result, token)
    assert_no_leak(result, token, *key_lines(rsa_pair.private_pem))
    assert int(outputs["expires-in"]) > 0 and outputs["expires-at"].endswith("Z")
    assert set(outputs["scope"].split()) == {"user_default", "admin.apps:read"}
    assert "Qlik issued an access token" in result.stdout
    assert "`access-token` output" in result.summary and CLIENT in result.summary
    for seen in qlik.requests:  # the assertion itself is spent, and never shown
        assert str(seen.fields["client_assertion"]) not in result.stdout + result.summary


def test_export_env_carries_the_access_token(oauth: Callable[..., Result]) -> None:
    result = oauth(export_env="QLIK_ACCESS_TOKEN", scope="user_default")
    assert result.code == 0, result.stdout
    token = result.outputs["access-token"]
    assert result.exported == {"QLIK_ACCESS_TOKEN": token}
    assert result.outputs["scope"] == "user_default"
    assert_no_leak(result, token, exported=True)


def test_impersonation(oauth: Callable[..., Result], qlik: LocalQlik) -> None:
    qlik.add_user(QlikUser("u-7", "auth0|bob"))
    result = oauth(grant="user-impersonation", user_lookup="userId=u-7")
    assert result.code == 0, result.stdout
    status, me = users_me(qlik, result.outputs["access-token"])
    assert (status, me["id"]) == (200, "u-7")


def test_assertion_only_outputs_the_jwt_outputs(
    oauth: Callable[..., Result], qlik: LocalQlik, rsa_pair: KeyPair
) -> None:
    result = oauth(assertion_only="true", ca_bundle="")
    assert result.code == 0, result.stdout
    assert qlik.requests == []
    outputs = result.outputs
    assert set(outputs) == {"token", "expires-at", "expires-in", "header", "claims"}
    assert_masks_first(result, outputs["token"])
    claims = jwt.decode(
        outputs["token"], rsa_pair.public_pem, algorithms=["RS256"], audience=qlik.token_url
    )
    assert claims == json.loads(outputs["claims"])
    assert claims["iss"] == claims["sub"] == CLIENT
    assert outputs["expires-in"] == "120"


def test_insecure_warns_every_time(oauth: Callable[..., Result]) -> None:
    result = oauth(insecure="true", ca_bundle="")
    assert result.code == 0, result.stdout
    warned = result.annotations("warning")
    (insecure,) = [w for w in warned if w.properties["title"] == "Check insecure"]
    assert "not verified" in insecure.data


@pytest.mark.parametrize(
    ("inputs", "code", "input_name"),
    [
        pytest.param({"client_id": "other"}, "qlik-refused", "client-id", id="unknown-client"),
        pytest.param({"scope": "admin_classic"}, "qlik-refused", "scope", id="scope"),
        pytest.param({"tenant": ""}, "missing-input", "tenant", id="no-tenant"),
        pytest.param({"timeout": "1h"}, "invalid-input", "timeout", id="timeout"),
        pytest.param({"grant": "user-impersonation"}, "missing-input", "user-lookup", id="lookup"),
        pytest.param({"ca_bundle": "/nowhere.pem"}, "invalid-input", "ca-bundle", id="ca-bundle"),
    ],
)
def test_failures_name_the_input(
    oauth: Callable[..., Result], inputs: dict[str, str], code: str, input_name: str
) -> None:
    result = oauth(**inputs)
    assert result.code == 1, result.stdout
    assert result.outputs == {"error-code": code, "error-input": input_name}
    assert not [line for line in result.lines if line.startswith(MASK) and "." in line[12:40]]


def test_a_p256_key_is_refused_before_any_request(
    oauth: Callable[..., Result], qlik: LocalQlik, ec_pair: KeyPair
) -> None:
    result = oauth(private_key=ec_pair.private_pem.decode())
    assert result.code == 1
    assert result.outputs == {"error-code": "invalid-key", "error-input": "private-key"}
    assert qlik.requests == []


def test_process_through_the_entrypoint(
    qlik: LocalQlik, rsa_pair: KeyPair, tmp_path: Path, declared: list[str]
) -> None:
    """The entrypoint as the container starts it: a real process, pipes, the same outputs."""
    key = signing_key_from(rsa_pair.key, input_name="private-key")
    qlik.register(QlikClient(CLIENT, [public_jwk(key.key, input_name="private-key")]))
    result = Runner(tmp_path / "proc", declared).run_process(
        {
            "target": "oauth",
            "tenant": qlik.host,
            "client-id": CLIENT,
            "ca-bundle": qlik.ca_bundle,
            "private-key": rsa_pair.private_pem.decode(),
        }
    )
    assert result.code == 0, result.stdout + result.stderr
    token = result.outputs["access-token"]
    assert_masks_first(result, token)
    assert users_me(qlik, token)[0] == 200
