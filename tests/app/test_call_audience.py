"""``call`` sends the token to whatever host the URL names: a JWT whose audience names another
host gets a warning, which shows neither value; opaque tokens and host-less audiences none."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from qsjwt.app.call import audience_warning
from tests.cli.test_cli import qs_jwt
from tests.cli.test_cli_call import call, server, token_file  # noqa: F401 (fixtures)
from tests.qlik_local import LocalQlik


def jwt_with(claims: dict[str, object]) -> str:
    """An unsigned JWT-shaped token (the warning reads the claims, never the signature)."""

    def part(document: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


URL = "https://tenant.eu.qlikcloud.com/api/v1/users/me"


@pytest.mark.parametrize(
    "aud",
    [
        "https://other.example.com/oauth/token",
        "qlik.example.com",
        ["qlik.api", "https://attacker.example.net/"],
    ],
)
def test_an_audience_naming_another_host_warns(aud: object) -> None:
    found = audience_warning(jwt_with({"aud": aud}), URL)
    assert found is not None and found.subject == "url"
    text = found.render()
    assert "another host" in text
    assert "example" not in text and "qlikcloud" not in text, "no value is repeated"


@pytest.mark.parametrize(
    "token",
    [
        jwt_with({"aud": "https://TENANT.eu.qlikcloud.com/oauth/token"}),  # the same host
        jwt_with({"aud": "qlik.api"}),  # Qlik's audience names no host
        jwt_with({"aud": "qlik.api/login/jwt-session"}),
        jwt_with({"sub": "x"}),  # no audience
        jwt_with({"aud": 42}),
        "an-opaque-access-token",
        "a.b.c",  # not JSON
    ],
)
def test_no_warning_without_a_host_mismatch(token: str) -> None:
    assert audience_warning(token, URL) is None


def test_the_cli_warns_and_still_calls(server: LocalQlik, tmp_path: Path) -> None:  # noqa: F811
    """The user asked for this URL: the warning goes to stderr and the request is made (the
    local Qlik does not know this unsigned token: it refuses, exit 3)."""
    token = tmp_path / "token.jwt"
    token.write_text(jwt_with({"aud": "https://elsewhere.example.com/"}) + "\n")
    run = call(server, "--token-file", token)
    assert "audience (aud) names another host" in run.err
    assert "elsewhere" not in run.everything
    assert run.code == 3, run.err


def test_help_says_where_the_token_goes() -> None:
    run = qs_jwt("call", "--help")
    assert "the token is sent to this URL's host" in " ".join(run.out.split())
