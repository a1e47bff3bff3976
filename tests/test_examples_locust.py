"""examples/locust: runs only where Locust is installed (it is not one of qs-jwt's
dependencies); its tokens are checked with jwcrypto."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import KeyPair, verify_independently

LOCUSTFILE = Path(__file__).parent.parent / "examples" / "locust" / "locustfile.py"


def test_the_locustfile_mints_a_token_per_user(
    tmp_path: Path, rsa_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("locust")
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    monkeypatch.setenv("QSJWT_PRIVATE_KEY_FILE", str(key))
    spec = importlib.util.spec_from_file_location("locustfile", LOCUSTFILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    token = module.MINTER.qseow(user_id="u1", user_directory="LOADTEST").token
    verify_independently(token, rsa_pair.public_pem, "RS256")
