"""``qs-jwt call`` against a peer that reflects the request, and with input that would break a
header or the host name (issue 19): the bearer token is never printed or saved back, and a
bad content type or DNS label is an input error, not an internal one."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import qs_jwt
from tests.cli.test_cli_call import call, server, token_file
from tests.qlik_local import Answer, LocalQlik

__all__ = ["server", "token_file"]  # fixtures, used by name below


def reflect(_qlik: LocalQlik, request: Any, _body: bytes) -> Answer:
    """An endpoint that echoes the Authorization header: raw, base64, URL-encoded, in part."""
    bearer = str(request.headers["Authorization"]).removeprefix("Bearer ")
    return Answer(
        200,
        {
            "you": request.headers["Authorization"],
            "b64": base64.b64encode(bearer.encode()).decode(),
            "url": urllib.parse.quote(bearer, safe=""),
            "part": bearer[10:40],
            "ok": "the rest of the answer stays",
        },
    )


@pytest.mark.parametrize("saved", [False, True])
def test_a_reflected_bearer_is_neither_printed_nor_saved(
    server: LocalQlik, token_file: Path, tmp_path: Path, saved: bool
) -> None:
    server.routes[("GET", "/api/v1/users/me")] = reflect
    output = tmp_path / "answer.json"
    extra: list[str | Path] = ["--output", output] if saved else []
    run = call(server, "--token-file", token_file, *extra)
    assert run.code == 0, run.err
    token = token_file.read_text().strip()
    shown = output.read_text() if saved else run.out
    document = json.loads(shown)
    assert document["ok"] == "the rest of the answer stays"
    assert document["you"] == "Bearer (hidden)"
    for form in (token, base64.b64encode(token.encode()).decode()[:-4], token[10:40]):
        assert form not in run.everything and form not in shown
    assert urllib.parse.quote(token, safe="") not in shown


@pytest.mark.parametrize("content_type", ["application/json\r\nX-Evil: 1", "text/plain\n", "tÿpe"])
def test_a_content_type_that_would_break_the_header(
    server: LocalQlik, token_file: Path, tmp_path: Path, content_type: str
) -> None:
    hits: list[str] = []

    def count(_qlik: LocalQlik, _request: Any, _body: bytes) -> Answer:
        hits.append("hit")
        return Answer(200, {})

    server.routes[("POST", "/api/v1/users/me")] = count
    body = tmp_path / "body.json"
    body.write_text("{}")
    run = call(
        server,
        "--token-file",
        token_file,
        "--method",
        "POST",
        "--data-file",
        body,
        "--content-type",
        content_type,
    )
    assert run.code == 2, run.err
    assert "--content-type: must be one line of printable ASCII" in run.err
    assert hits == []  # refused before any request


@pytest.mark.parametrize("host", ["a" * 64 + ".example.com", "a..example.com"])
def test_a_host_name_that_is_no_dns_name(token_file: Path, host: str) -> None:
    run = qs_jwt("call", f"https://{host}/api/v1/users/me", "--token-file", token_file)
    assert run.code == 2, run.err
    assert "--url" in run.err or "URL" in run.err
    assert "is no DNS name" in run.err and "internal error" not in run.err
