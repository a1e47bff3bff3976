"""The one list of settings a token can take.

The CLI flags, the ``QSJWT_*`` environment variables, the action's ``INPUT_*`` variables,
``action.yml`` and the README tables are all spellings of these names, so they are derived
from this table instead of being written out again in each shell.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Target(StrEnum):
    """Where the token is used: the two formats are not interchangeable."""

    QSEOW = "qseow"
    CLOUD = "cloud"


DEFAULT_CLOCK_SKEW = "10s"
"""Qlik's rule 15 (iat = nbf = now - 10 s). A token whose ``nbf`` is even a second ahead of
Qlik's clock is "not valid yet" and refused; hosts kept by NTP differ by far less than 10 s, and
10 s is a small part of the shortest useful lifetime (Qlik's tutorial uses 30 s)."""

BOTH = frozenset(Target)
QSEOW_ONLY = frozenset({Target.QSEOW})
CLOUD_ONLY = frozenset({Target.CLOUD})


@dataclass(frozen=True)
class InputSpec:
    name: str
    """kebab-case, exactly as action.yml spells it"""
    description: str
    targets: frozenset[Target]
    default: str | None = None
    is_list: bool = False
    """several values: one per line in a variable or action input, a repeated flag on the CLI
    (``settings.split_lines`` is the one rule; a comma never splits)"""
    flag: str | None = None
    """CLI flag when it differs from ``--<name>`` (a repeated flag is singular)"""
    metavar: str = "VALUE"
    required: frozenset[Target] = frozenset()
    """the targets that cannot mint without it"""

    @property
    def env_var(self) -> str:
        """The environment variable the CLI (and GitLab) reads for this input."""
        return "QSJWT_" + self.name.upper().replace("-", "_")

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name


INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "user-id",
        "User id (QSEoW, required); no backslash.",
        QSEOW_ONLY,
        metavar="ID",
        required=QSEOW_ONLY,
    ),
    InputSpec(
        "user-directory",
        "User directory (QSEoW, required); no backslash.",
        QSEOW_ONLY,
        metavar="DIR",
        required=QSEOW_ONLY,
    ),
    InputSpec(
        "issuer",
        "Issuer `iss`: for Qlik Cloud (required) the IdP's issuer, exactly; optional for QSEoW.",
        BOTH,
        metavar="ISS",
        required=CLOUD_ONLY,
    ),
    InputSpec(
        "key-id",
        "Key id `kid` of the Qlik Cloud JWT identity provider (Qlik Cloud, required).",
        CLOUD_ONLY,
        metavar="KID",
        required=CLOUD_ONLY,
    ),
    InputSpec(
        "subject",
        "Subject `sub`: a stable id of the user (Qlik Cloud, required).",
        CLOUD_ONLY,
        metavar="SUB",
        required=CLOUD_ONLY,
    ),
    InputSpec(
        "name",
        "Display name of the user (Qlik Cloud: required; QSEoW: optional).",
        BOTH,
        metavar="NAME",
        required=CLOUD_ONLY,
    ),
    InputSpec(
        "email",
        "E-mail address of the user (Qlik Cloud: required; QSEoW: optional).",
        BOTH,
        metavar="EMAIL",
        required=CLOUD_ONLY,
    ),
    InputSpec(
        "email-verified",
        "Qlik Cloud `email_verified`: true or false.",
        CLOUD_ONLY,
        default="true",
        metavar="BOOL",
    ),
    InputSpec(
        "groups",
        "Group names, one per line; a comma never splits, so CN=Admins,OU=Groups,DC=corp is one "
        "group (a repeated --group on the CLI).",
        BOTH,
        is_list=True,
        flag="--group",
        metavar="GROUP",
    ),
    InputSpec(
        "attributes",
        "Extra QSEoW claims as KEY=VALUE, one per line (a repeated --attribute on the CLI).",
        QSEOW_ONLY,
        is_list=True,
        flag="--attribute",
        metavar="KEY=VALUE",
    ),
    InputSpec(
        "user-id-claim",
        "QSEoW claim name for the user id, as set in the virtual proxy.",
        QSEOW_ONLY,
        default="userId",
        metavar="CLAIM",
    ),
    InputSpec(
        "user-directory-claim",
        "QSEoW claim name for the user directory, as set in the virtual proxy.",
        QSEOW_ONLY,
        default="userDirectory",
        metavar="CLAIM",
    ),
    InputSpec(
        "groups-claim",
        "QSEoW claim name for the groups, as mapped in the virtual proxy.",
        QSEOW_ONLY,
        default="groups",
        metavar="CLAIM",
    ),
    InputSpec(
        "audience",
        "QSEoW audience `aud`: must equal the virtual proxy's JWT audience, if it sets one.",
        QSEOW_ONLY,
        metavar="AUD",
    ),
    InputSpec(
        "expires-in",
        "Lifetime: 30s, 5m, 1h, 7d, 2w or bare seconds (default 1h for QSEoW, 5m for Qlik Cloud).",
        BOTH,
        metavar="DURATION",
    ),
    InputSpec(
        "clock-skew",
        "Back-date `iat` and `nbf` by this much, for a Qlik clock that runs behind; the token "
        "still lasts expires-in from `nbf` to `exp`.",
        BOTH,
        default=DEFAULT_CLOCK_SKEW,
        metavar="DURATION",
    ),
    InputSpec(
        "algorithm",
        "Signing algorithm: RS256 (default), RS384, RS512; Qlik Cloud also PS256-512, ES256-512.",
        BOTH,
        default="RS256",
        metavar="ALG",
    ),
)

# Key material: shells read these, the core receives the text.
PRIVATE_KEY = "private-key"
PRIVATE_KEY_PASSPHRASE = "private-key-passphrase"  # noqa: S105 (an input name)
CERTIFICATE = "certificate"

BY_NAME = {spec.name: spec for spec in INPUTS}


def default_lifetime(target: Target) -> str:
    """Short by default: a token cannot be revoked (Qlik Cloud allows at most an hour)."""
    return "1h" if target is Target.QSEOW else "5m"


def inputs_for(target: Target) -> tuple[InputSpec, ...]:
    """The inputs a target reads, in the table's order."""
    return tuple(spec for spec in INPUTS if target in spec.targets)


def required_for(target: Target) -> tuple[str, ...]:
    """The inputs a target cannot mint without, in the table's order."""
    return tuple(spec.name for spec in INPUTS if target in spec.required)
