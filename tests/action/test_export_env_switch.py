"""``export-env: true`` (hashicorp/vault-action's habit) names no variable: it is refused with a
hint, before signing, instead of exporting the token into a variable named ``true``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.action.test_action import JWT_SHAPE, QSEOW, assert_failed
from tests.conftest import KeyPair


@pytest.mark.parametrize("switch", ["true", "false", "yes", "no", "True", "on", "OFF"])
def test_export_env_refuses_a_switch_with_a_hint(run: Any, rsa_pair: KeyPair, switch: str) -> None:
    result = run({**QSEOW, "private-key": rsa_pair.private_pem.decode(), "export-env": switch})
    assert_failed(
        result,
        "Invalid input export-env",
        "export-env: is the name of a variable, not a switch",
        "export-env: QLIK_JWT",
        code="invalid-input",
        input_name="export-env",
    )
    assert result.env_file == ""
    assert not any(JWT_SHAPE.fullmatch(mask) for mask in result.masks), "no token was made"
