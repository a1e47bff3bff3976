"""The token a command reads: ``decode``, ``verify`` and ``lint`` take it as an argument, from
standard input or from a file; ``call`` from a file or a variable. Each is bounded, and no
message repeats it: a token is a credential."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from types import SimpleNamespace

from qsjwt.base.display import path_for_message
from qsjwt.base.errors import InputError
from qsjwt.cli import gather
from qsjwt.io.sources import TOKEN_LIMIT, check_length, read_bounded

TOKEN = "token"  # noqa: S105 (an input name)
STDIN = "- (standard input)"
"""Where a token pasted in place of a path belongs."""


def token(args: SimpleNamespace, env: Mapping[str, str]) -> str:
    """The token of ``decode``, ``verify`` or ``lint``: the argument (``-``: standard input),
    else ``--token-file``, else ``QSJWT_TOKEN_FILE``, else standard input; bounded, UTF-8."""
    path = args.token_file or (env.get(gather.ENV_TOKEN_FILE) if args.token is None else None)
    if args.token is not None and args.token_file:
        raise InputError(
            "is given twice: as the argument and as --token-file",
            input_name=TOKEN,
            hint="give one of them",
        )
    if path:
        raw = read_bounded(path, TOKEN_LIMIT, input_name=TOKEN, secret_hint=STDIN)
        return _text(raw)
    if args.token in (None, gather.STDIO):
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError(
                f"no token: give --token-file PATH (or set {gather.ENV_TOKEN_FILE}), or pass "
                "it on standard input (qs-jwt ... - < token.txt)",
                input_name=None,
            )
        data = sys.stdin.buffer.read(TOKEN_LIMIT + 1)
        check_length(data, TOKEN_LIMIT, input_name=TOKEN)
        return _text(data)
    given = str(args.token)
    check_length(given, TOKEN_LIMIT, input_name=TOKEN)
    if given.count(".") not in (2, 4) and _is_file(given):
        raise InputError(
            f"names a file ({path_for_message(given)}), not a token",
            input_name=TOKEN,
            hint=f"the argument is the token itself: give --token-file {path_for_message(given)}",
        )
    return given


def _is_file(text: str) -> bool:
    try:
        return os.path.isfile(text)
    except (OSError, ValueError):
        return False


def _text(data: bytes) -> str:
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", input_name=TOKEN) from None
    if not text:
        raise InputError("was empty", input_name=TOKEN)
    return text


def bearer_token(args: SimpleNamespace, env: Mapping[str, str]) -> str:
    """``call``'s token: ``--token-file``, else ``QSJWT_TOKEN_FILE``, else ``QSJWT_TOKEN``;
    one line of printable ASCII (a JWT or an opaque access token), bounded."""
    path = args.token_file or env.get(gather.ENV_TOKEN_FILE)
    if path:
        raw = read_bounded(path, TOKEN_LIMIT, input_name="token", secret_hint=gather.ENV_TOKEN)
        try:
            text = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            text = "\n"  # refused below, like any other text that is not a token
    elif env.get(gather.ENV_TOKEN):
        check_length(env[gather.ENV_TOKEN], TOKEN_LIMIT, input_name="token")
        text = env[gather.ENV_TOKEN].strip()
    else:
        raise InputError(
            f"no token: give --token-file PATH, or set {gather.ENV_TOKEN_FILE} (a path) or "
            f"{gather.ENV_TOKEN} (the token itself)",
            input_name="token",
        )
    if not text or not text.isascii() or not text.isprintable() or " " in text:
        raise InputError(
            "is not one token: it must be one line of printable ASCII without spaces",
            input_name="token",
            hint="write the token alone (qs-jwt ... --output FILE), not a dotenv line or JSON",
        )
    return text
