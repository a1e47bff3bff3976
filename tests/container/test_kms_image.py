"""``key-service: kms:...`` in the real image, which has no boto3: it stops at once and names
what works there (the composite action on GitHub, a Python job elsewhere), never a pip command
that cannot run in a container action (docs/keyless-aws.md). Nothing is contacted: no network.
"""

from __future__ import annotations

from tests.action_runner import parse_file_command
from tests.container.conftest import RunAction, RunGitlab
from tests.container.test_image import VENV

KMS = "kms:arn:aws:kms:eu-west-1:123456789012:alias/qlik-jwt"


def test_the_image_has_no_aws_client(action_image: str, run_action: RunAction) -> None:
    result = run_action(
        action_image, {}, entrypoint=f"{VENV}/bin/python", args=["-c", "import boto3"]
    )
    assert result.returncode == 1
    assert "No module named 'boto3'" in result.stderr


def test_the_container_action_names_the_composite_action_at_its_ref(
    action_image: str, run_action: RunAction
) -> None:
    result = run_action(
        action_image,
        {
            "INPUT_TARGET": "qseow",
            "INPUT_USER-ID": "svc_ci",
            "INPUT_USER-DIRECTORY": "CORP",
            "INPUT_KEY-SERVICE": KMS,
            "GITHUB_ACTION_REPOSITORY": "acme/qs-jwt",
            "GITHUB_ACTION_REF": "v1.2.3",
        },
    )
    assert result.returncode == 1, result.stdout + result.stderr
    outputs = parse_file_command(result.files["output"])
    assert outputs == {"error-code": "invalid-input", "error-input": "key-service"}
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1, result.stdout
    assert "boto3 is not installed" in errors[0]
    assert "`uses: acme/qs-jwt/anywhere@v1.2.3` with the same inputs" in errors[0]
    assert "pip install" not in result.stdout + result.stderr
    assert "alias/qlik-jwt" not in result.stdout + result.stderr


def test_the_image_in_gitlab_names_a_python_job(action_image: str, run_gitlab: RunGitlab) -> None:
    result = run_gitlab(
        action_image,
        "qs-jwt qseow --user-id svc_ci --user-directory CORP",
        {"QSJWT_KEY_SERVICE": KMS, "GITLAB_CI": "true"},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the qs-jwt image has no AWS client; run qs-jwt in a Python job with" in result.stderr
    assert "composite action" not in result.stderr
