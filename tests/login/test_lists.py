"""One list rule for every shell: one value per line, a comma never splits (settings.split_lines).

The same group names go through the CLI's variable, its repeated flag and the action's input
under the simulated runner; each token is verified with jwcrypto and must carry them whole.
(The GitLab component's variables: tests/test_gitlab_template.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qsjwt.action import entry as action
from qsjwt.base.inputs import BY_NAME
from scripts.render_action import read_action
from tests.action_runner import Result, Runner
from tests.cli.test_cli import QSEOW_ARGS, qs_jwt
from tests.conftest import KeyPair, verify_independently

GROUPS = [
    "CN=Qlik Admins,OU=Groups,DC=corp,DC=example",  # an LDAP DN, as QSEoW user directories have
    "R&D $TEAM",
    """it's "quoted" with spaces""",
    "[Test] Readers",
]
TEXT = "\n" + "\n\n".join(f"  {group}  " for group in GROUPS) + "\r\n"
"""One per line with blank lines, padding and a CRLF, as YAML blocks and editors give them."""


@pytest.fixture
def run_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    runner = Runner(tmp_path / "runner", list(read_action()["inputs"]))

    def capture() -> tuple[str, str]:
        captured = capsys.readouterr()
        return captured.out, captured.err

    def _run(inputs: dict[str, str]) -> Result:
        return runner.run_in_process(action.main, capture, inputs, None)

    return _run


def test_the_cli_variable_takes_one_group_per_line(tmp_path: Path, rsa_pair: KeyPair) -> None:
    keys = rsa_pair.write(tmp_path)
    env = {"QSJWT_PRIVATE_KEY_FILE": str(keys["private"]), BY_NAME["groups"].env_var: TEXT}
    run = qs_jwt(*QSEOW_ARGS, env=env)
    assert run.code == 0, run.err
    _, claims = verify_independently(run.out.strip(), rsa_pair.certificate_pem, "RS256")
    assert claims["groups"] == GROUPS
    assert "holds a comma" not in run.err  # a DN is not the old comma list


def test_the_repeated_flag_gives_the_same_groups(tmp_path: Path, rsa_pair: KeyPair) -> None:
    keys = rsa_pair.write(tmp_path)
    flags = [arg for group in GROUPS for arg in ("--group", group)]
    run = qs_jwt(*QSEOW_ARGS, *flags, "--private-key-file", keys["private"])
    assert run.code == 0, run.err
    _, claims = verify_independently(run.out.strip(), rsa_pair.certificate_pem, "RS256")
    assert claims["groups"] == GROUPS


def test_the_old_comma_list_is_one_group_and_the_cli_says_so(
    tmp_path: Path, rsa_pair: KeyPair
) -> None:
    keys = rsa_pair.write(tmp_path)
    env = {"QSJWT_PRIVATE_KEY_FILE": str(keys["private"]), "QSJWT_GROUPS": "Deployers, Readers"}
    run = qs_jwt(*QSEOW_ARGS, env=env)
    assert run.code == 0, run.err
    _, claims = verify_independently(run.out.strip(), rsa_pair.certificate_pem, "RS256")
    assert claims["groups"] == ["Deployers, Readers"]
    assert "QSJWT_GROUPS" in run.err and "write one per line" in run.err


@pytest.mark.parametrize("target", ["qseow", "cloud"])
def test_the_action_input_takes_one_group_per_line(
    run_action: Callable[..., Result], rsa_pair: KeyPair, target: str
) -> None:
    inputs = {
        "target": target,
        "private-key": rsa_pair.private_pem.decode(),
        "groups": TEXT,
        "user-id": "alice",
        "user-directory": "CORP",
        "issuer": "idp.example.com",
        "key-id": "kid-1",
        "subject": "svc_ci",
        "name": "CI Service",
        "email": "ci@example.com",
    }
    result = run_action(inputs)
    assert result.code == 0, result.stdout
    _, claims = verify_independently(result.outputs["token"], rsa_pair.public_pem, "RS256")
    assert claims["groups"] == GROUPS
    assert "holds a comma" not in result.stdout


def test_attributes_keep_commas_in_the_action(
    run_action: Callable[..., Result], rsa_pair: KeyPair
) -> None:
    inputs = {
        "target": "qseow",
        "private-key": rsa_pair.private_pem.decode(),
        "user-id": "alice",
        "user-directory": "CORP",
        "attributes": "manager=CN=Bob,OU=People,DC=corp\n\n region = EMEA, North \n",
    }
    result = run_action(inputs)
    assert result.code == 0, result.stdout
    _, claims = verify_independently(result.outputs["token"], rsa_pair.public_pem, "RS256")
    assert (claims["manager"], claims["region"]) == ("CN=Bob,OU=People,DC=corp", "EMEA, North")
