"""``qs-jwt bulk`` and qsjwt.login.bulk: every token verifies with jwcrypto (the signer uses neither
jwcrypto nor PyJWT), input order and count are kept, bad rows are named by line only, and an
empty input gives no token."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from qsjwt.app.target import parse_settings
from qsjwt.base.errors import InputError, KeyMaterialError, QsjwtError
from qsjwt.base.findings import Finding, Severity
from qsjwt.base.inputs import Target
from qsjwt.base.rules import CLOUD_AUDIENCE
from qsjwt.base.values import RawValue
from qsjwt.login import bulk
from qsjwt.login import mint as mint_module
from qsjwt.login.bulk import (
    IN_PROCESS_BELOW,
    MAX_CHUNK,
    MIN_CHUNK,
    BulkResult,
    KeyText,
    _bounds,
    mint_bulk,
    read_rows,
    usable_cores,
    worker_count,
)
from qsjwt.login.claims import build_claims, build_header
from qsjwt.login.lint import lint_token, lint_user_claims
from qsjwt.login.mint import RunGuard, RunMinter, mint
from qsjwt.login.settings import RowSettings
from tests.cli.test_cli import qs_jwt, qs_jwt_process
from tests.conftest import NOW_S, KeyPair, verify_independently

CLOUD_SHARED = {"issuer": "idp.example.com", "key-id": "kid-1"}


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def qseow_users(count: int) -> str:
    return csv_text(
        ["user-id", "name", "groups"],
        [[f"user{i:05d}", f"User {i}", f"Readers\nTeam {i % 3}"] for i in range(count)],
    )


def cloud_users(count: int) -> str:
    return "".join(
        json.dumps({"subject": f"s{i}", "name": f"N {i}", "email": f"u{i}@example.com"}) + "\n"
        for i in range(count)
    )


def rows_of(
    text: str, target: Target, users_format: str
) -> list[tuple[int, dict[str, RawValue], str | None]]:
    """Each row as a worker reads it: its line, its values, what is wrong with it."""
    layout, rows = read_rows(text, target, users_format)
    return [(row[0], *layout.values(row)) for row in rows]


def minted(
    pair: KeyPair, text: str, target: Target, users_format: str, **kwargs: Any
) -> BulkResult:
    shared = {"user-directory": "CORP"} if target is Target.QSEOW else CLOUD_SHARED
    layout, rows = read_rows(text, target, users_format)
    return mint_bulk(
        list(rows),
        layout=layout,
        shared={**shared, "clock-skew": "0s", **kwargs.pop("shared", {})},
        key=KeyText(pair.private_pem),
        now=NOW_S,
        **kwargs,
    )


def documents(result: BulkResult) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.lines]


# --- reading ---------------------------------------------------------------------------------


def test_csv_rows_keep_their_lines_and_split_lists() -> None:
    text = 'User_ID,Name,groups\nalice,Alice,"A\nB"\n\nbob,,C\n'
    rows = rows_of(text, Target.QSEOW, "csv")
    assert rows == [
        (2, {"user-id": "alice", "name": "Alice", "groups": ["A", "B"]}, None),
        (5, {"user-id": "bob", "groups": ["C"]}, None),
    ]


def test_csv_row_with_the_wrong_number_of_fields_is_a_bad_row() -> None:
    rows = rows_of("user-id,name\nalice\nbob,Bob\n", Target.QSEOW, "csv")
    assert rows[0] == (2, {}, "has 1 fields; the header has 2")
    assert rows[1] == (3, {"user-id": "bob", "name": "Bob"}, None)


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("user-id,subject", "'subject' is not a per-user value for target qseow"),
        ("user-id,s3cr3t-column", "column 2 is not a per-user value"),
        ("user-id,user_id", "a column appears twice"),
    ],
)
def test_a_bad_header_stops_before_any_row(header: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        rows_of(header + "\nalice,x\n", Target.QSEOW, "csv")
    assert info.value.input_name == "users-file"
    assert fragment in info.value.message and info.value.message.startswith("line 1:")
    assert "s3cr3t" not in info.value.render()


def test_json_lines_take_arrays_objects_and_booleans() -> None:
    text = (
        '{"subject": "s1", "groups": ["A", "B,C"], "email_verified": false}\n'
        "\n"
        '{"subject": "s2", "name": null}\n'
    )
    assert rows_of(text, Target.CLOUD, "jsonl") == [
        (1, {"subject": "s1", "groups": ["A", "B,C"], "email-verified": "false"}, None),
        (3, {"subject": "s2"}, None),
    ]
    qseow = rows_of('{"user-id": "a", "attributes": {"dept": "Sales"}}', Target.QSEOW, "jsonl")
    assert qseow == [(1, {"user-id": "a", "attributes": ["dept=Sales"]}, None)]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("not json at all", "is not a JSON document"),
        ('["a"]', "is not a JSON object"),
        ('{"subject": "s", "password": "hunter2"}', "holds a field that is not a per-user"),
        ('{"subject": "s", "groups": [1]}', "groups: must be an array of strings"),
        ('{"subject": "s", "email-verified": 1}', "email-verified: must be true or false"),
    ],
)
def test_json_lines_bad_rows(line: str, fragment: str) -> None:
    ((number, values, problem),) = rows_of(line + "\n", Target.CLOUD, "jsonl")
    assert number == 1 and values == {}
    assert problem is not None and fragment in problem
    assert "hunter2" not in problem


# --- minting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_qseow_token_verifies_in_input_order(rsa_pair: KeyPair, jobs: int) -> None:
    count = IN_PROCESS_BELOW + 37  # over the in-process limit: with jobs=2 a pool signs
    result = minted(rsa_pair, qseow_users(count), Target.QSEOW, "csv", jobs=jobs)
    assert result.count == count and result.skipped == ()
    for i, document in enumerate(documents(result)):
        assert document["user"] == f"CORP\\user{i:05d}"
        header, claims = verify_independently(
            document["token"], rsa_pair.public_pem, "RS256", check_time=False
        )
        assert header == {"alg": "RS256", "typ": "JWT"}
        assert claims["userId"] == f"user{i:05d}" and claims["userDirectory"] == "CORP"
        assert claims["groups"] == ["Readers", f"Team {i % 3}"]
        assert document["expires_at"] == "2026-11-28T13:00:00Z"


def test_every_cloud_token_verifies_and_has_its_own_jti(rsa_pair: KeyPair) -> None:
    result = minted(rsa_pair, cloud_users(300), Target.CLOUD, "jsonl", jobs=2)
    jtis = set()
    for i, document in enumerate(documents(result)):
        header, claims = verify_independently(
            document["token"], rsa_pair.public_pem, "RS256", check_time=False
        )
        assert header["kid"] == "kid-1" and claims["aud"] == CLOUD_AUDIENCE
        assert claims["sub"] == document["user"] == f"s{i}"
        jtis.add(claims["jti"])
    assert len(jtis) == 300


def test_ec_keys_sign_cloud_tokens(ec_pair: KeyPair) -> None:
    result = minted(ec_pair, cloud_users(3), Target.CLOUD, "jsonl", shared={"algorithm": "ES256"})
    for document in documents(result):
        verify_independently(document["token"], ec_pair.public_pem, "ES256", check_time=False)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_bad_row_stops_the_run_by_its_line_only(rsa_pair: KeyPair, jobs: int) -> None:
    rows = [[f"user{i}"] for i in range(400)]
    rows[299] = ["CORP\\secret-value"]  # a backslash: Qlik would split the user there
    text = csv_text(["user-id"], rows)
    with pytest.raises(InputError) as info:
        minted(rsa_pair, text, Target.QSEOW, "csv", jobs=jobs)
    rendered = info.value.render()
    assert info.value.input_name == "users-file"
    assert rendered.startswith("users-file: line 301: user-id: ")
    assert "secret-value" not in rendered


def test_bad_rows_are_skipped_and_counted(rsa_pair: KeyPair) -> None:
    text = csv_text(["user-id", "email"], [["a", ""], ["b\\x", ""], ["c", ""], ["d"], ["e", ""]])
    result = minted(rsa_pair, text, Target.QSEOW, "csv", skip_bad_rows=True)
    assert [d["user"] for d in documents(result)] == ["CORP\\a", "CORP\\c", "CORP\\e"]
    assert result.skipped == (3, 5)


def test_a_key_that_does_not_fit_is_never_a_skipped_row(ec_pair: KeyPair) -> None:
    with pytest.raises(KeyMaterialError) as info:
        minted(ec_pair, qseow_users(2), Target.QSEOW, "csv", skip_bad_rows=True)
    assert "an EC key cannot sign RS256" in info.value.message


@pytest.mark.parametrize(
    ("text", "users_format"),
    [("", "csv"), ("user-id,name\n", "csv"), ("\n\n", "csv"), ("", "jsonl"), ("\n", "jsonl")],
)
def test_empty_input_gives_no_token(rsa_pair: KeyPair, text: str, users_format: str) -> None:
    result = minted(rsa_pair, text, Target.QSEOW, users_format)
    assert result.count == 0 and result.lines == [] and result.skipped == ()


def test_progress_is_reported_to_the_end(rsa_pair: KeyPair) -> None:
    seen: list[tuple[int, int]] = []
    minted(
        rsa_pair, qseow_users(130), Target.QSEOW, "csv", progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (130, 130) and [d for d, _ in seen] == sorted(d for d, _ in seen)


# --- the command line ------------------------------------------------------------------------


def test_cli_bulk_writes_a_private_file(tmp_path: Path, rsa_pair: KeyPair) -> None:
    users = tmp_path / "users.csv"
    users.write_text(qseow_users(5))
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    output = tmp_path / "tokens.jsonl"
    run = qs_jwt(
        "bulk", "--target", "qseow", "--users-file", users, "--user-directory", "CORP",
        "--private-key-file", key, "--output", output,
    )  # fmt: skip
    assert run.code == 0, run.err
    assert run.out == ""
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    lines = output.read_text().splitlines()
    assert [json.loads(line)["user"] for line in lines] == [f"CORP\\user{i:05d}" for i in range(5)]
    assert "5 token(s)" in run.err and "eyJ" not in run.err


def test_cli_bulk_cloud_from_stdin_to_stdout(tmp_path: Path, rsa_pair: KeyPair) -> None:
    run = qs_jwt(
        "bulk", "--target", "cloud", "--users-file", "-", "--issuer", "idp.example.com",
        "--key-id", "k1",
        env={"QSJWT_PRIVATE_KEY": rsa_pair.private_pem.decode()},
        stdin=cloud_users(3),
    )  # fmt: skip
    assert run.code == 0, run.err
    users = [json.loads(line)["user"] for line in run.out.splitlines()]
    assert users == ["s0", "s1", "s2"]


def test_process_cli_bulk_bad_row_exits_2_naming_the_line(
    tmp_path: Path, rsa_pair: KeyPair
) -> None:
    users = tmp_path / "users.jsonl"
    users.write_text('{"subject": "s1"}\n{"subject": "s2", "email": "secret\\u0007value-xyz"}\n')
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    run = qs_jwt_process(
        "bulk", "--target", "cloud", "--users-file", users, "--issuer", "i", "--key-id", "k",
        "--name", "N", "--email", "ci@example.com", "--private-key-file", key,
    )  # fmt: skip
    assert run.code == 2
    assert run.out == ""
    assert "--users-file: line 2: email:" in run.err
    assert "value-xyz" not in run.err


def _outcome(parse: Callable[[], Any]) -> object:
    """What a parse gives, comparable: the settings with their warnings as a multiset (their
    order differs between the paths), or the error's class, input, message and hint."""
    try:
        settings = parse()
    except InputError as err:
        return (type(err), err.input_name, err.message, err.hint, err.also_missing)
    return settings._replace(warnings=()), sorted(f.render() for f in settings.warnings)


ROW_SHARES: dict[Target, list[dict[str, Any]]] = {
    Target.QSEOW: [
        {"user-directory": "CORP"},
        {"user-directory": "CORP", "groups-claim": "roles", "issuer": "https://idp/"},
        {"user-id-claim": "name", "expires-in": "30h", "groups": "A,B\nC"},
        {"expires-in": "400d"},  # every row fails, as in a full parse
        {"user-directory": "A\\B"},  # a shared per-user value that fails: only rows with their own
        {"user-directory": "CORP", "email": "bad", "groups": "x,y\nz", "name": " "},  # warns
        {"user-directory": "CORP", "user-id-claim": "email"},  # a row's e-mail clashes with it
        {"user-directory": "CORP", "groups-claim": "name", "name": "N"},  # every row clashes
        {"user-id": "shared", "user-directory": "CORP", "groups-claim": " "},
        {"user-directory": "CORP", "attributes": ["dept=Sales"], "email": "not-an-email"},
        {  # every shared field away from its default: each row keeps them all
            "user-directory": "CORP",
            "user-directory-claim": "dir",
            "audience": "qlik",
            "issuer": "https://idp.example.com",
            "clock-skew": "5s",
            "expires-in": "20m",
            "algorithm": "PS384",
            "check": "true",
            "virtual-proxy-url": "https://qlik.example.com/jwt",
        },
    ],
    Target.CLOUD: [
        CLOUD_SHARED,
        {**CLOUD_SHARED, "email-verified": "true", "groups": ["G"], "algorithm": "RS512"},
        {"key-id": "k"},  # no issuer: every row fails
        {**CLOUD_SHARED, "subject": "shared", "email": "bad", "email-verified": "no", "name": "S"},
        {  # every shared field away from its default
            **CLOUD_SHARED,
            "clock-skew": "0s",
            "expires-in": "2m",
            "algorithm": "ES384",
            "check": "true",
            "tenant": "example.eu.qlikcloud.com",
        },
    ],
}
ROWS: dict[Target, list[dict[str, Any]]] = {
    Target.QSEOW: [
        {"user-id": "alice", "name": "Alice", "email": "a@example.com", "groups": ["R", "W"]},
        {"user-id": "bob", "email": "bob", "groups": ["a,b"]},
        {"user-id": "c\\d"},
        {"user-id": "carol", "user-directory": "OTHER", "attributes": ["team=x", "iat=1"]},
        {},
        {"user-id": "dave", "name": "line\nbreak"},
        {"user-id": "erin", "attributes": ["k=v", "k=w"]},
        {"user-id": "frank", "name": "Frank", "attributes": ["dept=HR"]},
        {"user-id": "gina", "user-directory": ""},
        {"user-id": "x" * 2000},
        {"user-id": "hank", "groups": ["\ud800"]},
        {"user-id": "ivan", "email": "i@example.com", "groups": "a,b\nc", "name": "  "},
        {"user-directory": "D", "email": ""},
        {"user-id": "jo", "attributes": "", "groups": []},
        {"user-id": "kim", "issuer": "https://other/", "expires-in": "2m"},  # not per-user values
    ],
    Target.CLOUD: [
        {"subject": "s1", "name": "N", "email": "n@example.com"},
        {"subject": "s2", "name": "M", "email": "m", "email-verified": "maybe"},
        {"subject": "s3", "name": "O", "email": "o@example.com", "email-verified": "yes"},
        {"subject": "", "name": "", "email": ""},
        {"subject": "s4", "name": "P", "email": "p@example.com", "groups": ["G1", "G1", "G2"]},
        {"name": "Q", "email": "q@example.com"},
        {"email": "r@example.com", "groups": "a,b"},
        {"subject": "s5", "email-verified": "  "},
    ],
}


@pytest.mark.parametrize(
    ("target", "shared"), [(t, s) for t, shares in ROW_SHARES.items() for s in shares]
)
def test_row_settings_are_exactly_a_full_parse(target: Any, shared: dict[str, Any]) -> None:
    """Bulk checks the shared values once and each row's own values only: each row's result,
    or its error, is exactly what parse_settings makes of the row with the shared values, in
    any order of good and bad rows."""
    rows = ROWS[target]
    for order in (rows, rows[::-1], rows[1:] + rows[:1]):
        row_settings = RowSettings(target, shared)
        for row in order:
            fast = _outcome(partial(row_settings.settings_for, row))
            full = _outcome(partial(parse_settings, target, {**shared, **row}))
            assert fast == full


# --- the run's minter: the same tokens as mint, cheaper ----------------------------------------

RUN_ROWS: dict[Target, list[dict[str, Any]]] = {
    Target.QSEOW: [
        {"user-id": "alice", "name": "Alice", "email": "a@example.com", "groups": ["R", "W"]},
        {"user-id": "bob", "name": 'Bo "the" Ø', "attributes": ["team=x", "dept=Ünits"]},
        {"user-id": "carol", "user-directory": "OTHER", "email": "carol"},
        {"user-id": "dave", "groups": [f"g{i}," + "x" * 1000 for i in range(8)]},  # big: warns
    ],
    Target.CLOUD: [
        {"subject": "s1", "name": "N", "email": "n@example.com"},
        {"subject": "s2", "name": "Ünïcode \\ name", "email": "m", "email-verified": "false"},
        {"subject": "s3", "name": "O", "email": "o@example.com", "groups": ["G1", "G2"]},
    ],
}


@pytest.mark.parametrize(
    ("target", "shared"), [(t, s) for t, shares in ROW_SHARES.items() for s in shares[:2]]
)
def test_run_minter_makes_exactly_the_tokens_of_mint(
    rsa_pair: KeyPair, target: Any, shared: dict[str, Any]
) -> None:
    """RS256 signatures are deterministic: byte for byte the token mint makes for the same
    settings and jti, with the same exp and warnings, whatever the order of the rows."""
    key = KeyText(rsa_pair.private_pem).load()
    rows = RUN_ROWS[target]
    for order in (rows, rows[::-1]):
        run = RunMinter(key, NOW_S)
        every = [parse_settings(target, {**shared, **row}) for row in order]
        jtis = [f"jti-{number:040d}" for number in range(len(order))]
        batch = [run.prepare(settings, jti) for settings, jti in zip(every, jtis, strict=True)]
        signatures = run.sign(batch)
        for settings, jti, unsigned, signed in zip(every, jtis, batch, signatures, strict=True):
            token, warnings = run.finish(unsigned, signed)
            expected = mint(settings, key, now=NOW_S, jti=jti)
            assert token == expected.token
            assert dt.datetime.fromtimestamp(unsigned.exp, tz=dt.UTC) == expected.expires_at
            assert warnings == expected.warnings


def test_bulk_lines_are_what_json_dumps_writes(rsa_pair: KeyPair) -> None:
    rows = [{"subject": s, "name": "N", "email": "n@example.com"} for s in SUBJECTS]
    text = "".join(json.dumps(row) + "\n" for row in rows)
    result = minted(rsa_pair, text, Target.CLOUD, "jsonl")
    for line, subject in zip(result.lines, SUBJECTS, strict=True):
        document = json.loads(line)
        assert document["user"] == subject
        assert line == json.dumps(document, ensure_ascii=False, separators=(",", ":"))


SUBJECTS = ['a"b', "ünï ☃ 𝄞", "back\\slash", "</script>", "\u00e9\u0301"]


def _guard_inputs(target: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    shared = {"user-directory": "CORP"} if target is Target.QSEOW else CLOUD_SHARED
    settings = RowSettings(target, shared).settings_for(RUN_ROWS[target][0])
    return settings, build_header(settings), build_claims(settings, now=NOW_S, jti="j" * 43)


@pytest.mark.parametrize("target", [Target.QSEOW, Target.CLOUD])
def test_run_guard_still_refuses_a_broken_shared_part(target: Target) -> None:
    """After a good token, a token whose shared part differs (a bug that changed the times, the
    audience or the algorithm) is linted in full again, and refused."""
    settings, header, claims = _guard_inputs(target)
    broken: list[tuple[dict[str, Any], dict[str, Any]]] = [
        (header, {**claims, "exp": claims["iat"]}),  # never valid
        (header, {**claims, "exp": claims["iat"] + 400 * 86400}),  # far too long
        ({**header, "alg": "HS256"}, claims),
        ({**header, "alg": "none"}, claims),
    ]
    if target is Target.CLOUD:
        broken += [(header, {**claims, "aud": "other"}), ({"alg": "RS256"}, claims)]
    for bad_header, bad_claims in broken:
        guard = RunGuard(NOW_S)
        guard.check(settings, header, claims)  # the first token: in full, and fine
        guard.check(settings, header, {**claims, "jti": "k" * 43})  # only its own claims
        with pytest.raises(QsjwtError, match="internal check failed"):
            guard.check(settings, bad_header, bad_claims)


@pytest.mark.parametrize("target", [Target.QSEOW, Target.CLOUD])
def test_run_guard_still_refuses_a_broken_user_claim(target: Target) -> None:
    settings, header, claims = _guard_inputs(target)
    bad: list[dict[str, Any]]
    if target is Target.QSEOW:
        bad = [{"userId": "CORP\\x"}, {"userId": " "}, {"userDirectory": ""}]
    else:
        bad = [{"sub": ""}, {"name": 3}, {"email_verified": "true"}, {"jti": ""}]
        bad += [{"groups": ["ok", ""]}, {"email": None}]
    for change in bad:
        guard = RunGuard(NOW_S)
        guard.check(settings, header, claims)
        with pytest.raises(QsjwtError, match="internal check failed"):
            guard.check(settings, header, {**claims, **change})


def test_run_guard_refuses_a_broken_first_token() -> None:
    settings, header, claims = _guard_inputs(Target.CLOUD)
    with pytest.raises(QsjwtError, match="internal check failed"):
        RunGuard(NOW_S).check(settings, header, {**claims, "exp": claims["iat"]})


@pytest.mark.parametrize("target", [Target.QSEOW, Target.CLOUD])
def test_user_claim_rules_are_those_of_lint_token(target: Target) -> None:
    """lint_user_claims finds exactly what lint_token finds about a user's own claims."""
    _, header, claims = _guard_inputs(target)
    changes: list[dict[str, Any]] = [{}, {"userId": "a\\b"}, {"sub": ""}, {"name": 1}]
    changes += [{"email_verified": 1}, {"jti": "short"}, {"groups": [""]}, {"userDirectory": 2}]
    mine = {"userId", "userDirectory", "sub", "name", "email", "email_verified", "jti", "groups"}
    for change in changes:
        token_claims = {**claims, **change}
        full = lint_token(header, token_claims, target, now=NOW_S)
        user = lint_user_claims(token_claims, target)
        errors = [f for f in full if f.severity is Severity.ERROR]
        assert [f for f in user if f.severity is Severity.ERROR] == errors
        assert all(f.subject in mine for f in user)


def test_tasks_cover_every_row_once_and_shrink_at_the_end() -> None:
    for count, workers in [(0, 2), (1, 1), (300, 2), (10_000, 2), (10_001, 8), (777, 3)]:
        bounds = list(_bounds(count, workers))
        assert [start for start, _ in bounds] == [0, *[end for _, end in bounds[:-1]]][
            : len(bounds)
        ]
        assert (bounds[-1][1] if bounds else 0) == count
        sizes = [end - start for start, end in bounds]
        assert all(0 < size <= MAX_CHUNK for size in sizes)
        if workers > 1 and count > 2000:
            assert sizes[-2] <= MIN_CHUNK and sizes == sorted(sizes, reverse=True)


def test_spawned_workers_get_their_rows_in_the_tasks(
    rsa_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where workers are not forked (macOS, Windows), the rows travel with each task."""
    monkeypatch.setattr(bulk, "FORKS", False)
    count = IN_PROCESS_BELOW + 5
    result = minted(rsa_pair, qseow_users(count), Target.QSEOW, "csv", jobs=2)
    assert [json.loads(line)["user"] for line in result.lines] == [
        f"CORP\\user{i:05d}" for i in range(count)
    ]


def test_usable_cores() -> None:
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)


def test_no_worker_is_started_that_would_get_no_task(monkeypatch: pytest.MonkeyPatch) -> None:
    assert worker_count(1000, 19) == 19
    assert worker_count(2, 500) == 2
    assert worker_count(3, 1) == 1
    monkeypatch.setattr(sys, "platform", "win32")  # its pool refuses more than 61
    assert worker_count(1000, 500) == 61
    assert worker_count(8, 500) == 8


@pytest.mark.skipif(not bulk.FORKS, reason="workers are forked on Linux only")
def test_a_thousand_jobs_for_a_few_users_start_a_worker_per_task(
    rsa_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []
    real_fork = bulk._fork

    def counted(*args: Any) -> Any:
        started.append(1)
        return real_fork(*args)

    monkeypatch.setattr(bulk, "_fork", counted)
    count = IN_PROCESS_BELOW + 5
    result = minted(rsa_pair, qseow_users(count), Target.QSEOW, "csv", jobs=1000)
    assert result.count == count
    assert 2 <= len(started) == len(list(_bounds(count, 1000))) < 1000


def limited_files(limit: int) -> Callable[[], None]:
    """For a child process: at most ``limit`` open files."""
    import resource

    def apply() -> None:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        )

    return apply


@pytest.mark.skipif(not bulk.FORKS, reason="workers are forked on Linux only")
@pytest.mark.parametrize("output", [True, False])
def test_workers_that_cannot_start_are_a_clear_error_and_no_output(
    rsa_pair: KeyPair, tmp_path: Path, output: bool
) -> None:
    """More workers than the open-file limit allows pipes for: one line naming --jobs and the
    limit, exit 1, no token and no file (it used to say "output failed")."""
    key, users = tmp_path / "key.pem", tmp_path / "users.csv"
    key.write_bytes(rsa_pair.private_pem)
    users.write_text(qseow_users(3000), encoding="utf-8")
    out = tmp_path / "tokens.jsonl"
    done = subprocess.run(
        [
            sys.executable, "-m", "qsjwt", "bulk", "--target", "qseow",
            "--users-file", str(users), "--user-directory", "CORP",
            "--private-key-file", str(key), "--jobs", "64",
            *(["--output", str(out)] if output else []),
        ],
        preexec_fn=limited_files(48),
        env={k: v for k, v in os.environ.items() if not k.startswith("QSJWT_")},
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr == (
        "qs-jwt: error: could not start the worker processes (Too many open files); no token "
        "was output (each worker needs a process and two pipes: give fewer --jobs, or raise "
        "the limits on open files and processes: ulimit -n, ulimit -u)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.pem", "users.csv"]


@pytest.mark.skipif(not bulk.FORKS, reason="workers are forked on Linux only")
def test_what_a_forked_worker_raises_is_raised_by_the_run(
    rsa_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a worker (here the lint guard refusing every token after the first) ends the
    run with that error, as when one process signs: not as a dead worker, nor a wait."""
    broken = [Finding(Severity.ERROR, "broken on purpose", "sub")]
    monkeypatch.setattr(mint_module, "lint_user_claims", lambda *_, **__: broken)
    text = qseow_users(IN_PROCESS_BELOW + 5)
    with pytest.raises(
        QsjwtError, match="internal check failed, no token made: sub: broken on purpose"
    ):
        minted(rsa_pair, text, Target.QSEOW, "csv", jobs=2)


def test_a_process_with_threads_spawns_its_workers(
    rsa_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fork would copy the locks another thread holds: with a thread running, the workers are
    spawned (and the tokens are the same)."""
    forked: list[object] = []
    monkeypatch.setattr(bulk, "_forked", lambda *args, **kwargs: forked.append(args))
    release = threading.Event()
    waiting = threading.Thread(target=release.wait)
    waiting.start()
    try:
        count = IN_PROCESS_BELOW + 5
        result = minted(rsa_pair, qseow_users(count), Target.QSEOW, "csv", jobs=2)
    finally:
        release.set()
        waiting.join()
    assert forked == [] and result.count == count


def test_the_key_text_never_shows_the_key_or_its_passphrase(rsa_pair: KeyPair) -> None:
    key = KeyText(rsa_pair.private_pem, "pass phrase")
    shown = repr(key) + str(key) + repr([key])
    assert "PRIVATE KEY" not in shown and "pass phrase" not in shown
