"""``key-service: kms:...`` where boto3 is missing: the error names what works there.

The image (container action, GitLab) has no boto3 and no pip in its venv, so "pip install
'qs-jwt[aws]'" cannot run there; the Dockerfile marks the image with ``QSJWT_IMAGE`` and the
message names the composite action (GitHub) or a Python job (elsewhere). The single-file
executable has no boto3 either (tests/test_binary.py runs the real one). boto3 is installed in
the dev venv: each test hides it (``sys.modules["boto3"] = None`` makes the import fail).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from qsjwt.signing.remote import aws
from tests.action_runner import Result
from tests.cli.test_cli import Run, qs_jwt

REPO = Path(__file__).resolve().parents[3]
QSEOW = {"target": "qseow", "user-id": "alice", "user-directory": "CORP"}
KMS = "kms:arn:aws:kms:eu-west-1:123456789012:alias/qlik-jwt"
PIP = "pip install 'qs-jwt[aws]'"


@pytest.fixture(autouse=True)
def no_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.setitem(sys.modules, "botocore", None)
    monkeypatch.setitem(sys.modules, "botocore.exceptions", None)


def image_marker() -> tuple[str, str]:
    """(name, value) of the marker that the final stage of the Dockerfile sets."""
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    found = re.findall(r"^\s*(QSJWT_IMAGE)=(\S+?)\s*\\?$", final, re.MULTILINE)
    assert len(found) == 1, "the final stage's ENV sets QSJWT_IMAGE once"
    name, value = found[0]
    return str(name), str(value)


def test_the_dockerfile_marks_the_image_with_what_the_code_reads() -> None:
    name, value = image_marker()
    assert name == aws.IMAGE_MARKER
    assert value  # a non-empty value: the code tests it for truth


def _one_error(result: Result) -> str:
    assert result.code == 1, result.stdout
    errors = result.annotations("error")
    assert len(errors) == 1, result.stdout
    assert result.outputs == {"error-code": "invalid-input", "error-input": "key-service"}
    return errors[0].data


def test_the_container_action_names_the_composite_action_at_its_own_ref(
    run: Callable[..., Result],
) -> None:
    name, value = image_marker()
    result = run(
        {**QSEOW, "key-service": KMS},
        {name: value, "GITHUB_ACTION_REPOSITORY": "acme/qs-jwt", "GITHUB_ACTION_REF": "v1.4.0"},
    )
    message = _one_error(result)
    assert "key-service: names an AWS KMS key, and boto3 is not installed" in message
    assert "`uses: acme/qs-jwt/anywhere@v1.4.0` with the same inputs" in message
    assert "pip install" not in message  # no command that cannot run in a container action
    assert "alias/qlik-jwt" not in message  # the value given is never repeated


def test_the_container_action_without_its_repository_names_the_placeholder(
    run: Callable[..., Result],
) -> None:
    name, value = image_marker()
    result = run({**QSEOW, "key-service": KMS}, {name: value})
    message = _one_error(result)
    assert "`uses: OWNER/qs-jwt/anywhere@v1`" in message
    assert "pip install" not in message


def test_the_action_run_from_pip_on_a_runner_keeps_the_pip_hint(
    run: Callable[..., Result],
) -> None:
    # the composite action, or qsjwt installed on the runner: pip runs there
    result = run({**QSEOW, "key-service": KMS}, {aws.IMAGE_MARKER: None})
    message = _one_error(result)
    assert message.endswith(f"({PIP})")


def _cli(env: dict[str, str]) -> Run:
    return qs_jwt("qseow", "--user-id", "a", "--user-directory", "D", env={**env})


def test_the_image_outside_github_names_a_python_job() -> None:
    name, value = image_marker()
    run = _cli({"QSJWT_KEY_SERVICE": KMS, name: value, "GITLAB_CI": "true"})
    assert run.code == 2
    assert run.err.strip() == (
        "qs-jwt: error: QSJWT_KEY_SERVICE: names an AWS KMS key, and boto3 is "
        "not installed (the qs-jwt image has no AWS client; run qs-jwt in a Python job with "
        f"{PIP}: docs/keyless-aws.md)"
    )


def test_the_command_line_from_pip_says_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    run = _cli({"QSJWT_KEY_SERVICE": KMS})
    assert run.code == 2
    assert run.err.strip().endswith(f"boto3 is not installed ({PIP})")


def test_the_single_file_executable_says_what_to_install_instead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    run = _cli({"QSJWT_KEY_SERVICE": KMS})
    assert run.code == 2
    assert "the single-file executable has no AWS client; install qs-jwt from PyPI" in run.err
