"""One error root, so every shell can turn any failure of ours into a clean message.

Messages name the input they are about (as the user spelled it: a flag, an env var or an
action input) and say how to fix it. They never contain a secret value: callers pass the
input's *name*, never its content, and key errors describe the problem, not the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REF = "\x1e([a-z0-9-]+)\x1e"
"""An input named in a message (``ref``); compiled on first use, by ``re``'s cache."""


def ref(input_name: str) -> str:
    """Another input named inside a message: each shell shows it as the user spells it
    (``--ca-bundle``, ``QSJWT_CA_BUNDLE``, ``ca-bundle``)."""
    return f"\x1e{input_name}\x1e"


def spell(text: str, name_of: Mapping[str, str]) -> str:
    """``text`` with every ``ref`` replaced by the shell's spelling of that input."""
    return re.sub(_REF, lambda match: name_of.get(match[1], match[1]), text)


class QsjwtError(Exception):
    """Root of every error qs-jwt raises on purpose."""

    exit_code = 1
    code = "failed"
    """the failure's class, for machines (the action's ``error-code`` output): never a value"""

    def __init__(
        self,
        message: str,
        *,
        input_name: str | None = None,
        hint: str | None = None,
        also_missing: tuple[str, ...] = (),
    ) -> None:
        self.message = message
        self.input_name = input_name
        self.hint = hint
        self.also_missing = also_missing
        """other required inputs that were not given, named in the same message"""
        super().__init__(self.render())

    def render(self, name_of: Mapping[str, str] | None = None) -> str:
        """The one-line text for a user; ``name_of`` maps input names to how a shell spells them."""
        names = name_of or {}
        subject = ""
        if self.input_name:
            subject = names.get(self.input_name, self.input_name) + ": "
        text = subject + self.message
        hint = self.hint
        if self.also_missing:
            hint = "also missing: " + ", ".join(names.get(n, n) for n in self.also_missing)
        if hint:
            text += f" ({hint})"
        return spell(text, names)


class InputError(QsjwtError):
    """A setting is missing, malformed or breaks one of Qlik's rules: the token is not made."""

    exit_code = 2
    code = "invalid-input"


class MissingInputError(InputError):
    """A required setting was not given (or was empty)."""

    code = "missing-input"


class KeyMaterialError(InputError):
    """The signing key, its passphrase or the certificate cannot be used."""

    code = "invalid-key"


class TokenError(QsjwtError):
    """A token given to decode, verify or lint is malformed or invalid."""

    code = "invalid-token"


class OutputError(QsjwtError):
    """A result could not be written where it was asked for (a file, the runner's files)."""

    code = "output-failed"


class QlikRefusedError(QsjwtError):
    """Qlik answered and refused: the message says which setting to change."""

    exit_code = 3
    code = "qlik-refused"


class QlikUnreachableError(QsjwtError):
    """Qlik could not be reached, or did not answer like Qlik: network, TLS, time-out."""

    exit_code = 4
    code = "qlik-unreachable"


class KeyServiceUnreachableError(QsjwtError):
    """The key service (Vault, a KMS, a PKCS#11 module's server) could not be reached: network,
    DNS, TLS, time-out. Nothing was signed; the message names the address to check."""

    exit_code = 4
    code = "key-service-unreachable"


class QlikDeadlineError(QlikUnreachableError):
    """Qlik did not answer within the deadline (the ``timeout`` input): a slow or stalled
    server, or a network that drops packets."""

    code = "deadline-exceeded"


class KeyServiceDeadlineError(KeyServiceUnreachableError):
    """The key service did not answer within the deadline. Nothing was signed."""

    code = "deadline-exceeded"


class QlikMalformedAnswerError(QlikUnreachableError):
    """Qlik (or what answered in its place) answered, but not as documented: an access token
    outside the token grammar, a ``token_type`` other than Bearer, a lifetime no date can hold.
    Nothing from the answer is output; the peer is at fault, not a setting."""

    code = "qlik-malformed-answer"


class KeyServiceMalformedAnswerError(KeyServiceUnreachableError):
    """The key service answered, but wrongly: a field of the wrong type, or a signature that
    does not verify with the key's public key. No token is output."""

    code = "key-service-malformed-answer"


class WorkerDiedError(QsjwtError):
    """A bulk worker process ended before it answered: the run stops, with no output."""


class WorkerStartError(QsjwtError):
    """A bulk worker process could not be started (a limit on processes, open files or memory):
    the run stops, with no output."""


class StoppedError(QsjwtError):
    """SIGINT, SIGTERM or SIGHUP stopped a bulk run: the workers are stopped, no token is
    output, and the exit code is 128 + the signal's number, as for a write."""

    code = "interrupted"

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(f"stopped by {name}; the workers were stopped and no token was output")
        self.exit_code = 128 + signum
