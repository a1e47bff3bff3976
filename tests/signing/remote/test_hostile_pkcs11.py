"""PKCS#11 under odd input and racing logins (issue 19): a PIN with bytes that are not UTF-8 is
an input error naming pkcs11-pin, and logins of one process at once (PKCS#11 keeps one login
per process and token) all succeed with the right PIN, never an internal error."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from qsjwt.base.errors import InputError
from qsjwt.signing.remote import Secrets
from qsjwt.signing.remote.registry import remote_key_from
from tests import keyless_rigs as rigs


@pytest.fixture(scope="module")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rigs.SoftHsm]:
    yield from rigs.softhsm_token(tmp_path_factory.mktemp("softhsm"))


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


def test_logins_at_once_in_one_process_all_succeed(hsm: rigs.SoftHsm) -> None:
    def open_key(_: int) -> object:
        key = remote_key_from(values(hsm.module), Secrets(pkcs11_pin=rigs.USER_PIN), ci_env={})
        assert key is not None
        return key.key.public_key().public_numbers()

    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(open_key, range(16)))
    assert len(set(map(str, numbers))) == 1
