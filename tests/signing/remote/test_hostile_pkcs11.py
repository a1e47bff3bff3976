"""PKCS#11 under odd input (issue 19): a PIN with bytes that are not UTF-8 is an input error
naming pkcs11-pin. (Racing logins run against the one SoftHSM rig of test_keyless.py: two rigs
in one process re-initialise a module whose sessions are still open.)"""

from __future__ import annotations

import pytest

from qsjwt.base.errors import InputError
from qsjwt.signing.remote import Secrets
from qsjwt.signing.remote.registry import remote_key_from
from tests import keyless_rigs as rigs


def values(module: str) -> dict[str, str]:
    return {"key-service": f"pkcs11:token={rigs.TOKEN_LABEL};object=rsa", "pkcs11-module": module}


def test_a_pin_that_is_not_utf8_names_the_pin() -> None:
    """Checked before any module is loaded: the bytes would crash the module's encoder."""
    with pytest.raises(InputError) as info:
        remote_key_from(
            values("/nonexistent/module.so"), Secrets(pkcs11_pin="12\udcff34"), ci_env={}
        )
    assert info.value.input_name == "pkcs11-pin"
    assert info.value.message == "is not valid UTF-8 text"
