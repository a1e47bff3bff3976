"""The action's inputs and outputs: what ``action.yml`` declares (``scripts/render_action.py``
renders it and ``anywhere/action.yml`` from this table and ``qsjwt.base.inputs``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qsjwt.base.errors import (
    InputError,
    KeyMaterialError,
    KeyServiceMalformedAnswerError,
    KeyServiceUnreachableError,
    MissingInputError,
    OutputError,
    QlikDeadlineError,
    QlikMalformedAnswerError,
    QlikRefusedError,
    QlikUnreachableError,
    StoppedError,
)
from qsjwt.base.inputs import (
    CERTIFICATE,
    ID_TOKEN,
    INPUTS,
    PKCS11_PIN,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
    VAULT_TOKEN,
    InputSpec,
    Target,
)

TARGET = "target"
EXPORT_ENV = "export-env"
BULK_USERS = "bulk-users"


@dataclass(frozen=True)
class ActionInput:
    """One input as ``action.yml`` declares it (``scripts/render_action.py`` renders the file)."""

    name: str
    description: str
    required: bool = False


_CLI_NOTE = re.compile(r"\s*\(a repeated --[a-z-]+ on the CLI\)")


def _from_spec(spec: InputSpec) -> ActionInput:
    text = _CLI_NOTE.sub("", spec.description)
    if spec.default and "default" not in text.lower():
        text += f" Default: {spec.default}."
    return ActionInput(spec.name, text)


ACTION_INPUTS: tuple[ActionInput, ...] = (
    ActionInput(
        TARGET,
        "Where the token is used: qseow (client-managed QSEoW), cloud (a Qlik Cloud JWT "
        "identity provider) or oauth (a Qlik Cloud OAuth access token, Private Key JWT).",
        True,
    ),
    ActionInput(
        PRIVATE_KEY,
        "Private key that signs the token, from a secret: PEM, PEM on one line with literal \\n "
        "escapes, or base64 of the PEM. RSA; Qlik Cloud also accepts EC (OAuth: P-384). "
        "Required unless key-service names a key held by a key service.",
    ),
    ActionInput(PRIVATE_KEY_PASSPHRASE, "Passphrase of an encrypted private key, from a secret."),
    ActionInput(
        CERTIFICATE,
        "Certificate configured in Qlik (PEM or base64); if given, the key must match it, "
        "checked before signing (qseow and cloud).",
    ),
    *(_from_spec(spec) for spec in INPUTS),
    ActionInput(
        VAULT_TOKEN,
        "Key service vault: a Vault token, from a secret, instead of logging in with the "
        "job's identity token (vault-role). Masked.",
    ),
    ActionInput(
        PKCS11_PIN,
        "Key service pkcs11: the token's user PIN, from a secret. Masked.",
    ),
    ActionInput(
        ID_TOKEN,
        "The CI's OIDC identity token, if a step already has one; by default it is requested "
        "from GitHub (the job needs permissions: id-token: write). Masked.",
    ),
    ActionInput(
        BULK_USERS,
        "Path of a CSV file (header row) or JSON Lines file of users for qseow or cloud, one "
        "per row with its per-user values (user-id, user-directory... or subject, name, "
        "email...); the other inputs are shared. A token for each goes to a 0600 file under "
        "RUNNER_TEMP, never to the log or the workspace: outputs bulk-file and bulk-count.",
    ),
    ActionInput(
        EXPORT_ENV,
        "Name of an environment variable that receives the token (oauth: the access token) for "
        "the later steps of this job (through GITHUB_ENV). Default: none; use the outputs.",
    ),
)

INTERNAL = "internal"
_FORESEEN = (
    MissingInputError,
    InputError,
    KeyMaterialError,
    OutputError,
    QlikRefusedError,
    QlikUnreachableError,
    KeyServiceUnreachableError,
    QlikMalformedAnswerError,
    KeyServiceMalformedAnswerError,
    QlikDeadlineError,
    StoppedError,
)
ERROR_CODES = (*dict.fromkeys(cls.code for cls in _FORESEEN), INTERNAL)
"""What ``error-code`` can say: the failures ``qsjwt.base.errors`` foresees for this action, plus
``internal`` for everything else (a bug of ours). ``entry.error_code`` is the one mapping."""

OUTPUTS: dict[str, str] = {
    "token": "The signed JWT (oauth: only with assertion-only, the client assertion). Masked in "
    "logs. Use it in later steps of the same job: GitHub drops job outputs that contain a secret.",
    "access-token": "oauth: the access token Qlik issued, for Authorization: Bearer. Masked in "
    "logs, like the token.",
    "expires-at": "When the token (oauth: the access token) expires: ISO 8601 UTC, e.g. "
    "2026-01-31T12:00:00Z; empty if Qlik did not say.",
    "expires-in": "Lifetime in seconds: exp - iat of the token, or what Qlik gave for the access "
    "token.",
    "scope": "oauth: the scopes Qlik granted the access token, separated by spaces.",
    "record-path": "With record: the path of the transcript of the exchanges with Qlik (under "
    "RUNNER_TEMP; no token, cookie value, Xrfkey, user id or host name): docs/recording.md.",
    "bulk-file": "With bulk-users: the path of the JSON Lines file under RUNNER_TEMP (mode "
    "0600), one {user, token, expires_at} per user in input order.",
    "bulk-count": "With bulk-users: how many tokens the bulk-file holds.",
    "header": "The token's header as compact JSON (not set for an access token).",
    "claims": "The token's claims as compact JSON, no signature (not set for an access token).",
    "error-code": "Set only when the step fails: " + ", ".join(ERROR_CODES) + ". Never a value; "
    "read it with continue-on-error: true and steps.<id>.outputs.error-code.",
    "error-input": "Set only when the step fails because of one input: its name, as spelled here "
    "(e.g. expires-in). Never its value.",
}


BY_VARIABLE = {"INPUT_" + item.name.upper(): item.name for item in ACTION_INPUTS}
"""The runner's variable for each input: ``INPUT_`` + the name in upper case, hyphens kept."""
TARGET_LABEL = {
    Target.QSEOW: "QSEoW virtual proxy",
    Target.CLOUD: "Qlik Cloud",
    Target.OAUTH: "Qlik Cloud OAuth",
}
