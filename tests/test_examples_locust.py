"""examples/locust: the locustfile's qs-jwt part, its tokens checked with jwcrypto.

Locust is not one of qs-jwt's dependencies: where it is not installed, a stand-in module with the
three names the file imports lets it load (the load test itself needs a Locust run)."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KeyPair, verify_independently

LOCUSTFILE = Path(__file__).parent.parent / "examples" / "locust" / "locustfile.py"


def test_the_locustfile_mints_a_token_per_user(
    tmp_path: Path, rsa_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    if importlib.util.find_spec("locust") is None:
        stand_in = types.ModuleType("locust")
        stand_in.HttpUser = type("HttpUser", (), {})  # type: ignore[attr-defined]
        stand_in.between = lambda low, high: (low, high)  # type: ignore[attr-defined]
        stand_in.task = _task  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "locust", stand_in)
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    monkeypatch.setenv("QSJWT_PRIVATE_KEY_FILE", str(key))
    spec = importlib.util.spec_from_file_location("locustfile", LOCUSTFILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    token = module.MINTER.qseow(user_id="u1", user_directory="LOADTEST").token
    verify_independently(token, rsa_pair.public_pem, "RS256")


def _task(function: Callable[..., Any]) -> Callable[..., Any]:
    return function
