"""qs-jwt: mint JSON Web Tokens for Qlik Sense (QSEoW virtual proxies and Qlik Cloud).

The Python API (0.x until the first release)::

    from qsjwt import Minter
    minter = Minter(open("key.pem").read())          # the key is loaded and checked once
    token = minter.qseow(user_id="alice", user_directory="CORP", expires_in="5m").token

Names are imported on first use, so ``import qsjwt`` (and the ``qs-jwt`` command, which
starts with it) loads no cryptography it does not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from qsjwt._version import __version__

_HOMES = {
    "Minter": "qsjwt.api",
    "mint_qseow": "qsjwt.api",
    "mint_cloud": "qsjwt.api",
    "decode_token": "qsjwt.api",
    "verify_token": "qsjwt.api",
    "lint_token": "qsjwt.api",
    "get_access_token": "qsjwt.api",
    "AccessToken": "qsjwt.oauth.exchange",
    "Assertion": "qsjwt.oauth.assertion",
    "QlikRefusedError": "qsjwt.base.errors",
    "QlikUnreachableError": "qsjwt.base.errors",
    "Minted": "qsjwt.login.mint",
    "Finding": "qsjwt.base.findings",
    "Severity": "qsjwt.base.findings",
    "QsjwtError": "qsjwt.base.errors",
    "InputError": "qsjwt.base.errors",
    "KeyMaterialError": "qsjwt.base.errors",
    "TokenError": "qsjwt.base.errors",
}
__all__ = [
    "AccessToken",
    "Assertion",
    "Finding",
    "InputError",
    "KeyMaterialError",
    "Minted",
    "Minter",
    "QlikRefusedError",
    "QlikUnreachableError",
    "QsjwtError",
    "Severity",
    "TokenError",
    "__version__",
    "decode_token",
    "get_access_token",
    "lint_token",
    "mint_cloud",
    "mint_qseow",
    "verify_token",
]

if TYPE_CHECKING:
    from qsjwt.api import (
        Minter,
        decode_token,
        get_access_token,
        lint_token,
        mint_cloud,
        mint_qseow,
        verify_token,
    )
    from qsjwt.base.errors import (
        InputError,
        KeyMaterialError,
        QlikRefusedError,
        QlikUnreachableError,
        QsjwtError,
        TokenError,
    )
    from qsjwt.base.findings import Finding, Severity
    from qsjwt.login.mint import Minted
    from qsjwt.oauth.assertion import Assertion
    from qsjwt.oauth.exchange import AccessToken


def __getattr__(name: str) -> object:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'qsjwt' has no attribute {name!r}")
