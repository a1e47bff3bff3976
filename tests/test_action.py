"""The GitHub Action adapter under a simulated runner: masks first, outputs, errors, no leaks.

Tokens are verified with jwcrypto (tests/conftest.py), not with PyJWT, which signed them.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest
from cryptography.hazmat.primitives import serialization

from qsjwt import action
from qsjwt.action import ERROR_CODES
from scripts.render_action import read_action
from tests.action_runner import (
    MASK,
    Result,
    Runner,
    parse_command,
    parse_file_command,
    unescape_data,
)
from tests.conftest import ENCRYPTED_KEY, ENCRYPTED_KEY_PASSPHRASE, KeyPair, verify_independently

QSEOW = {"target": "qseow", "user-id": "alice", "user-directory": "CORP"}
CLOUD = {
    "target": "cloud",
    "issuer": "idp.example.com",
    "key-id": "kid-1",
    "subject": "svc_ci",
    "name": "CI Service",
    "email": "ci@example.com",
}
OUTPUT_NAMES = ["token", "expires-at", "expires-in", "header", "claims"]


@pytest.fixture(scope="module")
def declared() -> list[str]:
    return list(read_action()["inputs"])


@pytest.fixture
def runner(tmp_path: Path, declared: list[str]) -> Runner:
    return Runner(tmp_path / "runner", declared)


@pytest.fixture
def run(runner: Runner, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """``run(inputs, extra=None) -> Result``: the action in this process, output captured."""

    def capture() -> tuple[str, str]:
        captured = capsys.readouterr()
        return captured.out, captured.err

    def _run(inputs: dict[str, str], extra: dict[str, str | None] | None = None) -> Result:
        return runner.run_in_process(action.main, capture, inputs, extra)

    return _run


def key_lines(pem: bytes | str) -> list[str]:
    """The secret lines of a PEM key (its body), long enough not to match by chance."""
    text = pem.decode() if isinstance(pem, bytes) else pem
    return [line for line in text.splitlines() if "-----" not in line and len(line) >= 16]


def assert_no_leak(result: Result, *secrets: str, exported: bool = False) -> None:
    """No secret outside its mask lines, the token output and (if asked for) GITHUB_ENV."""
    rest = result.everything_but_masks(exported=exported)
    for secret in secrets:
        assert secret not in rest, f"leaked: {secret[:12]}..."


def assert_masks_first(result: Result, token: str | None) -> None:
    """Masks open the log; the token's mask comes before every line that is not a mask."""
    lines = result.lines
    first_other = next((i for i, line in enumerate(lines) if not line.startswith(MASK)), None)
    assert first_other != 0, "the log must start with masks"
    if token is not None:
        assert lines.index(MASK + token) < (first_other if first_other is not None else 10**9)


JWT_SHAPE = re.compile(r"eyJ[\w-]*\.eyJ[\w-]*\.[\w-]+")
"""A signed JWT: a bare "eyJ" can occur by chance inside a masked certificate line."""


def assert_failed(result: Result, title: str, *fragments: str) -> str:
    """Exit 1, one ::error with ``title``, no token anywhere; returns the error message."""
    assert result.code == 1, result.stdout
    errors = result.annotations("error")
    assert len(errors) == 1, result.stdout
    assert errors[0].properties == {"title": title}
    for fragment in fragments:
        assert fragment in errors[0].data
    assert set(result.outputs) <= {"error-code", "error-input"}  # never a token or a value
    if result.outputs:  # none only when GITHUB_OUTPUT itself cannot be written
        assert result.outputs["error-code"] in ERROR_CODES
    assert not JWT_SHAPE.search(result.stdout + result.stderr + result.summary + result.output_file)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr == ""
    return errors[0].data


# --- success ----------------------------------------------------------------------------------


def test_qseow_in_a_real_process_masks_first_and_sets_outputs(
    runner: Runner, rsa_pair: KeyPair
) -> None:
    """The most faithful run: entrypoint.py in a process with pipes, stderr merged into stdout."""
    result = runner.run_process(
        {**QSEOW, "groups": "Sales\nOps", "private-key": rsa_pair.private_pem.decode()},
        {"RUNNER_DEBUG": "1"},
        merge_stderr=True,
    )
    assert result.code == 0, result.stdout
    outputs = result.outputs
    token = outputs["token"]
    assert_masks_first(result, token)
    assert set(result.masks) >= set(key_lines(rsa_pair.private_pem))
    assert list(outputs) == OUTPUT_NAMES
    header, claims = verify_independently(token, rsa_pair.certificate_pem, "RS256")
    assert header == {"alg": "RS256", "typ": "JWT"} == json.loads(outputs["header"])
    assert claims == json.loads(outputs["claims"])
    assert (claims["userId"], claims["userDirectory"], claims["groups"]) == (
        "alice",
        "CORP",
        ["Sales", "Ops"],
    )
    assert claims["exp"] - claims["iat"] == 3600 == int(outputs["expires-in"])
    expires = dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
    assert outputs["expires-at"] == expires.isoformat().replace("+00:00", "Z")
    assert outputs["expires-at"].endswith("Z")
    assert outputs["header"] == json.dumps(header, separators=(",", ":"))
    assert result.annotations("debug"), "RUNNER_DEBUG=1 adds detail"
    assert_no_leak(result, token, *key_lines(rsa_pair.private_pem))


def test_cloud_token_claims_header_and_summary(run: Any, rsa_pair: KeyPair) -> None:
    result = run({**CLOUD, "groups": "A\nB\n", "private-key": rsa_pair.private_pem.decode()})
    assert result.code == 0, result.stdout
    token = result.outputs["token"]
    assert_masks_first(result, token)
    header, claims = verify_independently(token, rsa_pair.public_pem, "RS256")
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
    assert claims["iss"] == "idp.example.com"
    assert claims["aud"] == "qlik.api/login/jwt-session"
    assert (claims["sub"], claims["subType"], claims["name"], claims["email"]) == (
        "svc_ci",
        "user",
        "CI Service",
        "ci@example.com",
    )
    assert claims["email_verified"] is True
    assert claims["groups"] == ["A", "B"]
    assert claims["exp"] - claims["nbf"] == 300 == int(result.outputs["expires-in"])
    assert len(claims["jti"]) >= 22
    summary = result.summary
    assert "Qlik Cloud" in summary and "| Subject | ` svc_ci ` |" in summary
    assert result.outputs["expires-at"] in summary
    assert f'"jti": "{claims["jti"]}"' in summary
    assert token not in summary
    assert_no_leak(result, token, *key_lines(rsa_pair.private_pem))


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda pem: pem.replace("\n", "\\n"), id="escaped-newlines"),
        pytest.param(lambda pem: base64.b64encode(pem.encode()).decode(), id="base64"),
        pytest.param(lambda pem: pem.replace("\n", "\r\n") + "\r\n", id="crlf"),
    ],
)
def test_encoded_keys_are_masked_as_given_and_as_decoded(
    run: Any, rsa_pair: KeyPair, encode: Any
) -> None:
    given = encode(rsa_pair.private_pem.decode())
    result = run({**QSEOW, "private-key": given})
    assert result.code == 0, result.stdout
    masks = set(result.masks)
    assert set(key_lines(rsa_pair.private_pem)) <= masks
    armor = re.compile(r"-----(BEGIN|END) [A-Z ]+-----")
    given_lines = [line.strip() for line in given.splitlines() if line.strip()]
    assert all(line in masks for line in given_lines if not armor.fullmatch(line))
    verify_independently(result.outputs["token"], rsa_pair.public_pem, "RS256")
    assert_no_leak(result, result.outputs["token"], given, *key_lines(rsa_pair.private_pem))


def test_encrypted_key_with_passphrase(run: Any) -> None:
    pem = ENCRYPTED_KEY.read_text()
    result = run({**CLOUD, "private-key": pem, "private-key-passphrase": ENCRYPTED_KEY_PASSPHRASE})
    assert result.code == 0, result.stdout
    assert ENCRYPTED_KEY_PASSPHRASE in result.masks
    assert result.lines.index(MASK + ENCRYPTED_KEY_PASSPHRASE) < result.lines.index(
        MASK + result.outputs["token"]
    )
    key = serialization.load_pem_private_key(pem.encode(), ENCRYPTED_KEY_PASSPHRASE.encode())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verify_independently(result.outputs["token"], public, "RS256")
    assert_no_leak(result, result.outputs["token"], ENCRYPTED_KEY_PASSPHRASE, *key_lines(pem))


def test_matching_certificate_is_accepted(run: Any, rsa_pair: KeyPair) -> None:
    result = run(
        {
            **QSEOW,
            "private-key": rsa_pair.private_pem.decode(),
            "certificate": rsa_pair.certificate_pem.decode(),
        }
    )
    assert result.code == 0, result.stdout


def test_export_env_writes_the_token_for_later_steps(run: Any, rsa_pair: KeyPair) -> None:
    result = run({**QSEOW, "private-key": rsa_pair.private_pem.decode(), "export-env": "QLIK_JWT"})
    assert result.code == 0, result.stdout
    token = result.outputs["token"]
    assert result.exported == {"QLIK_JWT": token}
    delimiters = [line.split("<<")[1] for line in result.env_file.splitlines() if "<<" in line]
    assert delimiters and all(len(d) >= 32 and d not in token for d in delimiters)
    assert "$QLIK_JWT" in result.stdout
    assert_no_leak(result, token, *key_lines(rsa_pair.private_pem), exported=True)


def test_nothing_is_exported_unless_asked(run: Any, rsa_pair: KeyPair) -> None:
    result = run({**QSEOW, "private-key": rsa_pair.private_pem.decode()})
    assert result.code == 0
    assert result.env_file == ""


def test_warnings_come_after_the_token_mask(run: Any, rsa_pair: KeyPair) -> None:
    result = run(
        {
            **QSEOW,
            "groups": "Sales",
            "key-id": "cloud-only",
            "private-key": rsa_pair.private_pem.decode(),
        },
        {"INPUT_USER_ID": "typo", "RUNNER_DEBUG": "1"},
    )
    assert result.code == 0, result.stdout
    assert_masks_first(result, result.outputs["token"])
    titles = {w.properties["title"] for w in result.annotations("warning")}
    assert {"Unknown input", "Check groups", "Check key-id", "Check private-key"} <= titles
    unknown = next(
        w for w in result.annotations("warning") if w.properties["title"] == "Unknown input"
    )
    assert "'user_id' (did you mean user-id?)" in unknown.data
    assert all(name in unknown.data for name in read_action()["inputs"])
    assert "Warnings:" in result.summary and "key-id: is ignored" in result.summary


def test_debug_lines_name_inputs_but_hold_no_values(run: Any, rsa_pair: KeyPair) -> None:
    inputs = {**QSEOW, "private-key": rsa_pair.private_pem.decode(), "audience": "qlik"}
    result = run(inputs, {"RUNNER_DEBUG": "1"})
    assert result.code == 0
    debug = "\n".join(c.data for c in result.annotations("debug"))
    assert "inputs given: target, private-key, user-id, user-directory, audience" in debug
    assert "algorithm RS256" in debug and "lifetime 3600 s" in debug and "userId" in debug
    assert "alice" not in debug and "qlik" not in debug
    assert_no_leak(result, result.outputs["token"], *key_lines(rsa_pair.private_pem))
    quiet = run(inputs)
    assert quiet.annotations("debug") == []


def test_user_values_stay_text_in_the_summary_and_the_log(run: Any, rsa_pair: KeyPair) -> None:
    result = run(
        {
            **QSEOW,
            "user-id": "<img src=x>|[a](http://x)##[error]v1",
            "private-key": rsa_pair.private_pem.decode(),
        }
    )
    assert result.code == 0, result.stdout
    line = next(line for line in result.summary.splitlines() if line.startswith("| User"))
    # inline code: no HTML, link or mention renders, and the escaped | keeps the table's cell
    assert line == "| User | ` CORP\\<img src=x>\\|[a](http://x)##[error]v1 ` |"
    # the runner also parses the old "##[command]" form anywhere in a plain line
    plain = [line for line in result.lines if not line.startswith("::")]
    assert plain and not any("##[" in line for line in plain)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "title", "fragments"),
    [
        pytest.param(
            {"target": ""}, "Invalid input target", ["target: is required"], id="no-target"
        ),
        pytest.param(
            {"target": "qlik"}, "Invalid input target", ["target: is not a target"], id="bad-target"
        ),
        pytest.param(
            {**QSEOW, "user-id": ""},
            "Invalid input user-id",
            ["user-id: is required"],
            id="no-user-id",
        ),
        pytest.param(
            {**QSEOW, "expires-in": "2 hours"},
            "Invalid input expires-in",
            ["expires-in: is not a duration", "e.g. 30s, 5m, 1h"],
            id="bad-expires-in",
        ),
        pytest.param(
            {**CLOUD, "expires-in": "2h"},
            "Invalid input expires-in",
            ["expires-in: 2h is longer than the 1h"],
            id="cloud-lifetime",
        ),
        pytest.param(
            {**QSEOW, "algorithm": "HS256"}, "Invalid input algorithm", ["algorithm"], id="hs256"
        ),
        pytest.param(
            {**QSEOW, "export-env": "1BAD"},
            "Invalid input export-env",
            ["export-env: is not an environment variable name"],
            id="bad-export-name",
        ),
        pytest.param(
            {**QSEOW, "export-env": "GITHUB_PATH"},
            "Invalid input export-env",
            ["changes how later steps or jobs run"],
            id="reserved-export-name",
        ),
    ],
)
def test_bad_inputs_fail_naming_the_input(
    run: Any, rsa_pair: KeyPair, inputs: Any, title: str, fragments: Any
) -> None:
    result = run({"private-key": rsa_pair.private_pem.decode(), **inputs})
    assert_failed(result, title, *fragments)
    assert_masks_first(result, None)
    assert_no_leak(result, *key_lines(rsa_pair.private_pem))


def test_missing_private_key_says_where_it_comes_from(run: Any) -> None:
    message = assert_failed(run(QSEOW), "Invalid input private-key", "private-key: is required")
    assert "${{ secrets." in message


def test_certificate_given_as_the_key(run: Any, rsa_pair: KeyPair) -> None:
    result = run({**QSEOW, "private-key": rsa_pair.certificate_pem.decode()})
    assert_failed(
        result, "Unusable private-key", "private-key: is a certificate, not a private key"
    )


def test_certificate_of_another_key(run: Any, rsa_pair: KeyPair, other_rsa_pair: KeyPair) -> None:
    result = run(
        {
            **QSEOW,
            "private-key": rsa_pair.private_pem.decode(),
            "certificate": other_rsa_pair.certificate_pem.decode(),
        }
    )
    assert_failed(result, "Unusable certificate", "certificate: does not belong to the private key")
    assert_no_leak(result, *key_lines(rsa_pair.private_pem))


def test_garbage_key_is_still_masked(run: Any) -> None:
    garbage = "not-a-key-but-still-a-secret-value\nsecond-line-of-the-secret"
    result = run({**QSEOW, "private-key": garbage})
    assert_failed(result, "Unusable private-key", "neither PEM text nor base64")
    assert result.masks == garbage.splitlines()
    assert_no_leak(result, *garbage.splitlines())


def test_wrong_passphrase(run: Any) -> None:
    wrong = "not the passphrase at all"
    pem = ENCRYPTED_KEY.read_text()
    result = run({**QSEOW, "private-key": pem, "private-key-passphrase": wrong})
    assert_failed(
        result, "Unusable private-key-passphrase", "private-key-passphrase: does not decrypt"
    )
    assert wrong in result.masks
    assert_no_leak(result, wrong, *key_lines(pem))


def test_settings_warnings_survive_a_failure(run: Any) -> None:
    result = run({**QSEOW, "groups": "Sales", "private-key": "x" * 40})
    assert_failed(result, "Unusable private-key")
    assert [w.properties["title"] for w in result.annotations("warning")] == ["Check groups"]


@pytest.mark.parametrize("debug", ["0", "1"])
def test_errors_leak_nothing_with_or_without_debug(run: Any, rsa_pair: KeyPair, debug: str) -> None:
    passphrase = "a-passphrase-for-an-unencrypted-key"
    result = run(
        {
            **QSEOW,
            "private-key": rsa_pair.private_pem.decode(),
            "private-key-passphrase": passphrase,
        },
        {"RUNNER_DEBUG": debug},
    )
    assert_failed(result, "Unusable private-key-passphrase", "is not encrypted")
    assert_masks_first(result, None)
    assert_no_leak(result, passphrase, *key_lines(rsa_pair.private_pem))
    assert bool(result.annotations("debug")) is (debug == "1")


def test_hostile_values_cannot_inject_workflow_commands(run: Any, rsa_pair: KeyPair) -> None:
    hostile = "x%0A::set-output name=token::evil\n::add-mask::%25"
    result = run(
        {"target": hostile, "private-key": rsa_pair.private_pem.decode()},
        {"INPUT_EVIL%0A::ERROR::X": "1"},
    )
    message = assert_failed(result, "Invalid input target", "is not a target")
    for line in result.lines:
        command = parse_command(line)
        assert command is not None, f"plain line: {line!r}"
        assert command.name in {"add-mask", "warning", "error"}
        assert "\n" not in command.data and "\r" not in command.data
    assert "set-output" not in message  # a value that is not a target is never repeated
    assert "'evil%0a::error::x'" in result.annotations("warning")[0].data


def test_unexpected_exception_reports_only_its_type(
    run: Any, rsa_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError("secret detail " + rsa_pair.private_pem.decode())

    monkeypatch.setattr(action, "mint_from_text", explode)
    result = run({**QSEOW, "private-key": rsa_pair.private_pem.decode()})
    message = assert_failed(result, "Internal error", "RuntimeError")
    assert "secret detail" not in message
    assert_no_leak(result, *key_lines(rsa_pair.private_pem))


# --- the runner's files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output",
    [
        pytest.param(None, id="unset"),
        pytest.param("missing-dir/set_output", id="no-directory"),
        pytest.param(".", id="a-directory"),
    ],
)
def test_unwritable_github_output_fails_before_signing(
    run: Any, runner: Runner, rsa_pair: KeyPair, output: str | None
) -> None:
    path = None if output is None else str(runner.root / output)
    result = run({**QSEOW, "private-key": rsa_pair.private_pem.decode()}, {"GITHUB_OUTPUT": path})
    message = assert_failed(result, "Cannot write step outputs", "GITHUB_OUTPUT")
    assert not any(mask.startswith("eyJ") for mask in result.masks), "no token was made"
    assert "qs-jwt CLI" in message or "cannot be written" in message


def test_export_needs_github_env(run: Any, rsa_pair: KeyPair) -> None:
    result = run(
        {**QSEOW, "private-key": rsa_pair.private_pem.decode(), "export-env": "QLIK_JWT"},
        {"GITHUB_ENV": None},
    )
    assert_failed(result, "Cannot write step outputs", "GITHUB_ENV is not set")


def test_unwritable_summary_is_only_a_warning(run: Any, runner: Runner, rsa_pair: KeyPair) -> None:
    result = run(
        {**QSEOW, "private-key": rsa_pair.private_pem.decode()},
        {"GITHUB_STEP_SUMMARY": str(runner.root)},
    )
    assert result.code == 0, result.stdout
    assert "No step summary" in {w.properties["title"] for w in result.annotations("warning")}
    assert result.outputs["token"]


# --- outside GitHub -----------------------------------------------------------------------------

PROBE = """\
import sys
from qsjwt.action import main
code = main()
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "actions_toolkit")
sys.stdout.write("LOADED=" + ",".join(loaded))
raise SystemExit(code)
"""


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"GITHUB_ACTIONS": None, "GITLAB_CI": "true"}, id="gitlab"),
        pytest.param({"GITHUB_ACTIONS": "false", "GITHUB_OUTPUT": None}, id="not-true"),
    ],
)
def test_outside_github_refuses_without_a_token_or_actions_toolkit(
    runner: Runner, rsa_pair: KeyPair, extra: Any
) -> None:
    result = runner.run_process(
        {**QSEOW, "private-key": rsa_pair.private_pem.decode()},
        extra,
        argv=[sys.executable, "-c", PROBE],
    )
    assert result.code == 2
    assert result.stdout == "LOADED="
    assert result.stderr.count("\n") == 1
    assert "GitHub Action" in result.stderr and "qs-jwt cloud" in result.stderr
    assert 'entrypoint: [""]' in result.stderr
    assert "::" not in result.stdout + result.stderr
    assert result.output_file == result.env_file == result.summary == ""
    assert_no_leak(result, *key_lines(rsa_pair.private_pem))


def test_entrypoint_outside_github_prints_nothing_on_stdout(
    runner: Runner, rsa_pair: KeyPair
) -> None:
    result = runner.run_process(
        {**QSEOW, "private-key": rsa_pair.private_pem.decode()}, {"GITHUB_ACTIONS": None}
    )
    assert (result.code, result.stdout) == (2, "")
    assert not JWT_SHAPE.search(result.stderr)


def test_mask_data_unescapes_to_the_exact_secret(run: Any, rsa_pair: KeyPair) -> None:
    percent = "pass%0Aword%25"
    result = run(
        {**QSEOW, "private-key": rsa_pair.private_pem.decode(), "private-key-passphrase": percent}
    )
    assert_failed(result, "Unusable private-key-passphrase")
    assert MASK + "pass%250Aword%2525" in result.lines
    assert unescape_data("pass%250Aword%2525") == percent


def test_hostile_name_input_is_refused_or_kept_as_text(run: Any, rsa_pair: KeyPair) -> None:
    key = rsa_pair.private_pem.decode()
    refused = run({**CLOUD, "name": "Eve\n::add-mask::x\r\n::error::y", "private-key": key})
    message = assert_failed(refused, "Invalid input name", "name: contains a line break")
    assert "Eve" not in message and "::add-mask::x" not in refused.lines
    kept = run(
        {**CLOUD, "name": "::warning::Eve%0A##[error]x", "email": "x%0A::e", "private-key": key}
    )
    assert kept.code == 0, kept.stdout
    assert json.loads(kept.outputs["claims"])["name"] == "::warning::Eve%0A##[error]x"
    for line in kept.lines:
        command = parse_command(line)
        if command is None:
            assert "Eve" not in line and "##[" not in line
        else:
            assert "\n" not in command.data and "\r" not in command.data
    email = next(w for w in kept.annotations("warning") if w.properties["title"] == "Check email")
    assert email.data == "email: does not look like an e-mail address"


# --- streams: a log that cannot take a mask passes no token on --------------------------------

ENTRYPOINT_PATH = Path(__file__).resolve().parent.parent / "entrypoint.py"


@pytest.mark.parametrize(
    "stdout", ["full", "closed", "pipe-closed-early"], ids=["dev-full", "closed", "broken-pipe"]
)
def test_a_log_that_cannot_be_written_passes_no_token_on(
    runner: Runner, rsa_pair: KeyPair, stdout: str
) -> None:
    """Without PYTHONUNBUFFERED, as pip installs it: exit 1, no traceback, no "Exception
    ignored", and no token in any output (its mask may not have reached the runner)."""
    env = runner.environment({**QSEOW, "private-key": rsa_pair.private_pem.decode()})
    env.pop("PYTHONUNBUFFERED", None)
    command = [sys.executable, str(ENTRYPOINT_PATH)]
    run = functools.partial(subprocess.run, command, env=env, stderr=subprocess.PIPE, text=True)
    if stdout == "full":
        with open("/dev/full", "w") as full:
            proc = run(stdout=full, check=False)
    elif stdout == "closed":
        # a shell would drop the INPUT_* names (they hold '-'), so close fd 1 in the child
        proc = run(preexec_fn=lambda: os.close(1), check=False)
    else:
        reader, writer = os.pipe()
        os.close(reader)  # the reader is gone before the first line
        proc = run(stdout=writer, check=False)
        os.close(writer)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert "cannot be written" in proc.stderr
    outputs = parse_file_command(Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
    assert outputs == {"error-code": "output-failed"}
    assert Path(env["GITHUB_ENV"]).read_text(encoding="utf-8") == ""


def test_an_ascii_stdout_still_masks_a_non_ascii_passphrase(runner: Runner) -> None:
    """PYTHONIOENCODING=ascii: the runner reads UTF-8, so the action writes UTF-8 anyway."""
    key = serialization.load_pem_private_key(
        ENCRYPTED_KEY.read_bytes(), ENCRYPTED_KEY_PASSPHRASE.encode()
    )
    passphrase = "pässwörd-ü"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    ).decode()
    inputs = {**QSEOW, "private-key": pem, "private-key-passphrase": passphrase, "name": "Zoë"}
    result = runner.run_process(inputs, {"PYTHONIOENCODING": "ascii"})
    assert result.code == 0, result.stdout + result.stderr
    assert passphrase in result.masks
    assert "token" in result.outputs
