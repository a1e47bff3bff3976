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
    "AccessToken": "qsjwt.exchange",
    "Assertion": "qsjwt.oauth",
    "QlikRefusedError": "qsjwt.errors",
    "QlikUnreachableError": "qsjwt.errors",
    "Minted": "qsjwt.mint",
    "Finding": "qsjwt.findings",
    "Severity": "qsjwt.findings",
    "QsjwtError": "qsjwt.errors",
    "InputError": "qsjwt.errors",
    "KeyMaterialError": "qsjwt.errors",
    "TokenError": "qsjwt.errors",
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
    from qsjwt.errors import (
        InputError,
        KeyMaterialError,
        QlikRefusedError,
        QlikUnreachableError,
        QsjwtError,
        TokenError,
    )
    from qsjwt.exchange import AccessToken
    from qsjwt.findings import Finding, Severity
    from qsjwt.mint import Minted
    from qsjwt.oauth import Assertion


def __getattr__(name: str) -> object:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'qsjwt' has no attribute {name!r}")
