"""Choose the target and validate its settings: the one place that knows all three targets.

The login layer (QSEoW, Qlik Cloud) and the OAuth layer each parse their own settings and know
nothing of each other; both start with the checks every input shares (``base.values.read_for``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, overload

from qsjwt.base.inputs import Target
from qsjwt.base.values import RawValue
from qsjwt.login.settings import LoginSettings, parse_login

if TYPE_CHECKING:
    from qsjwt.oauth.assertion import OAuthSettings


@overload
def parse_settings(
    target: Literal[Target.QSEOW, Target.CLOUD], values: Mapping[str, RawValue]
) -> LoginSettings: ...
@overload
def parse_settings(
    target: Literal[Target.OAUTH], values: Mapping[str, RawValue]
) -> OAuthSettings: ...
@overload
def parse_settings(
    target: Target, values: Mapping[str, RawValue]
) -> LoginSettings | OAuthSettings: ...
def parse_settings(target: Target, values: Mapping[str, RawValue]) -> LoginSettings | OAuthSettings:
    """Validate ``values`` for ``target``; raises InputError naming the first bad input."""
    if target is not Target.OAUTH:
        return parse_login(target, values)
    from qsjwt.oauth.assertion import parse_oauth  # noqa: PLC0415 (a JWT's mint never loads OAuth)

    return parse_oauth(values)
