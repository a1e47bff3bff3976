"""The one list of settings a token can take.

The CLI flags, the ``QSJWT_*`` environment variables, the action's ``INPUT_*`` variables,
``action.yml`` and the README tables are all spellings of these names, so they are derived
from this table instead of being written out again in each shell.
"""

# No "from __future__ import annotations" here: typing.NamedTuple compiles every string
# annotation of its fields at import, on every start (docs/performance.md); only the names
# imported for type checking alone are quoted.

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

from qsjwt.base.errors import InputError, MissingInputError


class Target(StrEnum):
    """Where the token is used: the three formats are not interchangeable."""

    QSEOW = "qseow"
    CLOUD = "cloud"
    OAUTH = "oauth"
    """Qlik Cloud OAuth, Private Key JWT: a client assertion traded for an access token"""


DEFAULT_CLOCK_SKEW = "10s"
"""Qlik's rule 15 (iat = nbf = now - 10 s). A token whose ``nbf`` is even a second ahead of
Qlik's clock is "not valid yet" and refused; hosts kept by NTP differ by far less than 10 s, and
10 s is a small part of the shortest useful lifetime (Qlik's tutorial uses 30 s)."""

JWT_TARGETS = (Target.QSEOW, Target.CLOUD)
"""The targets whose token is a login JWT (``mint``), for a virtual proxy or an identity
provider; ``oauth`` makes a client assertion (``qsjwt.oauth.assertion``) instead."""
ALL = frozenset(Target)
BOTH = frozenset(JWT_TARGETS)
QSEOW_ONLY = frozenset({Target.QSEOW})
CLOUD_ONLY = frozenset({Target.CLOUD})
OAUTH_ONLY = frozenset({Target.OAUTH})


class InputSpec(NamedTuple):
    """One setting a token can take, with everything each shell derives from it: the CLI flag,
    the ``QSJWT_*`` variable, the action input and the README rows."""

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
    switch: bool = False
    """true or false; on the CLI a flag without a value (``--assertion-only``)"""

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
        "Key id `kid`: the Qlik Cloud JWT identity provider's (Qlik Cloud, required), or the "
        "registered JWK's (OAuth; default the key's RFC 7638 thumbprint, as qs-jwt jwk prints).",
        CLOUD_ONLY | OAUTH_ONLY,
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
        "Lifetime: 30s, 5m, 1h, 7d, 2w or bare seconds (default 1h for QSEoW, 5m for Qlik Cloud, "
        "2m for an OAuth assertion, which Qlik takes for at most 5m).",
        ALL,
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
        "Signing algorithm: RS256 (default), RS384, RS512; Qlik Cloud also PS256-512, ES256-512; "
        "OAuth RS256, RS512 or ES384 (default RS256 for an RSA key, ES384 for a P-384 key).",
        ALL,
        default="RS256",
        metavar="ALG",
    ),
    InputSpec(
        "tenant",
        "The Qlik Cloud tenant's host, e.g. tenant.eu.qlikcloud.com: OAuth (required) posts the "
        "assertion to https://TENANT/oauth/token, its audience; check calls it.",
        CLOUD_ONLY | OAUTH_ONLY,
        metavar="HOST",
        required=OAUTH_ONLY,
    ),
    InputSpec(
        "virtual-proxy-url",
        "QSEoW: the virtual proxy's https URL with its prefix, e.g. https://qlik.example.com/jwt: "
        "where check proves the token.",
        QSEOW_ONLY,
        metavar="URL",
    ),
    InputSpec(
        "check",
        "After minting, prove that Qlik takes the token (QSEoW: virtual-proxy-url; Qlik Cloud: "
        "tenant) and say who Qlik thinks the user is; fails when Qlik refuses.",
        ALL,
        default="false",
        metavar="BOOL",
        switch=True,
    ),
    InputSpec(
        "client-id",
        "OAuth: the client id of the OAuth client that holds the public key (required). Never "
        "the client secret: none is needed.",
        OAUTH_ONLY,
        metavar="ID",
        required=OAUTH_ONLY,
    ),
    InputSpec(
        "scope",
        "OAuth: the scopes to ask for, separated by spaces or lines (default: the client's).",
        OAUTH_ONLY,
        metavar="SCOPES",
    ),
    InputSpec(
        "grant",
        "OAuth: client-credentials (the client's bot user) or user-impersonation (an existing "
        "user, named by user-lookup).",
        OAUTH_ONLY,
        default="client-credentials",
        metavar="GRANT",
    ),
    InputSpec(
        "user-lookup",
        "OAuth, user-impersonation: the existing user to act as, subject=VALUE or userId=VALUE.",
        OAUTH_ONLY,
        metavar="FIELD=VALUE",
    ),
    InputSpec(
        "assertion-only",
        "OAuth: output the signed client assertion instead of trading it for an access token "
        "(you post it to /oauth/token yourself, within its lifetime, once).",
        OAUTH_ONLY,
        default="false",
        metavar="BOOL",
        switch=True,
    ),
    InputSpec(
        "timeout",
        "OAuth and check: how long to keep trying Qlik, retries on 429, 5xx and time-outs "
        "included: one deadline over the name lookup, connecting, the headers and the body of "
        "every request, however slowly Qlik answers; at most 10m.",
        ALL,
        default="1m",
        metavar="DURATION",
    ),
    InputSpec(
        "ca-bundle",
        "OAuth and check: a PEM file of the CA certificates to trust for Qlik's TLS instead of "
        "the system's (e.g. a TLS-inspecting proxy's CA).",
        ALL,
        metavar="PATH",
    ),
    InputSpec(
        "insecure",
        "OAuth and check: do NOT verify Qlik's TLS certificate; anyone on the network path "
        "could then take the token. Warns on every run. For a throw-away test setup only.",
        ALL,
        default="false",
        metavar="BOOL",
        switch=True,
    ),
    InputSpec(
        "record",
        "OAuth and check: write a transcript of every exchange with Qlik to this JSON file "
        "(statuses, header and cookie names, Qlik's error codes, the shape of each body; no "
        "token, cookie value, Xrfkey, user id or host name): docs/recording.md. In the action, "
        "a file name under RUNNER_TEMP, given back as the output record-path.",
        ALL,
        metavar="FILE",
    ),
    InputSpec(
        "record-hosts",
        "Keep host names in the transcript that record writes (default false: left out).",
        ALL,
        default="false",
        metavar="BOOL",
        switch=True,
    ),
    # Where the key lives, when not in private-key (qsjwt.signing.remote; docs/keyless-*.md)
    InputSpec(
        "key-service",
        "Sign through a key service instead of a private key: vault:MOUNT/NAME (a Vault or "
        "OpenBao transit key, e.g. vault:transit/qlik-jwt), pkcs11:token=LABEL;object=LABEL "
        "(an HSM, RFC 7512), kms:ARN / kms:alias/NAME (AWS KMS, with qs-jwt[aws]), "
        "azurekv:https://VAULT.vault.azure.net/keys/KEY (Azure Key Vault) or "
        "gcpkms:projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V (Google Cloud "
        "KMS). The private key then never enters CI.",
        ALL,
        metavar="REF",
    ),
    InputSpec(
        "vault-address",
        "Key service vault: the server's URL, e.g. https://vault.example.com:8200 (https; http "
        "only on this machine's loopback).",
        ALL,
        metavar="URL",
    ),
    InputSpec(
        "key-service-ca-bundle",
        "Key services over HTTPS (vault, azurekv, gcpkms): a PEM file of the CA certificates to "
        "trust for the service's TLS instead of the system's (e.g. a private Vault's CA).",
        ALL,
        metavar="PATH",
    ),
    InputSpec(
        "vault-role",
        "Key service vault: the JWT auth role to log in as with the CI's identity token (not "
        "needed with a vault-token).",
        ALL,
        metavar="ROLE",
    ),
    InputSpec(
        "vault-auth-mount",
        "Key service vault: where the JWT auth method is mounted.",
        ALL,
        default="jwt",
        metavar="PATH",
    ),
    InputSpec(
        "vault-namespace",
        "Key service vault: the namespace (Vault Enterprise, OpenBao), if any.",
        ALL,
        metavar="NAMESPACE",
    ),
    InputSpec(
        "id-token-audience",
        "The audience of the CI identity token requested from GitHub (id-token: write): the "
        "one the key service's role binds, e.g. its bound_audiences.",
        ALL,
        metavar="AUD",
    ),
    InputSpec(
        "pkcs11-module",
        "Key service pkcs11: path of the vendor's PKCS#11 module (.so, .dll, .dylib).",
        ALL,
        metavar="PATH",
    ),
    InputSpec(
        "azure-tenant-id",
        "Key service azurekv: the directory (tenant) ID whose Entra ID trusts the CI's identity "
        "token (a federated credential); else AZURE_TENANT_ID.",
        ALL,
        metavar="GUID",
    ),
    InputSpec(
        "azure-client-id",
        "Key service azurekv: the application (client) ID of the app registration or managed "
        "identity holding the federated credential; else AZURE_CLIENT_ID.",
        ALL,
        metavar="GUID",
    ),
    InputSpec(
        "gcp-workload-identity-provider",
        "Key service gcpkms: the workload identity provider that trusts the CI's identity "
        "token: projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER.",
        ALL,
        metavar="NAME",
    ),
    InputSpec(
        "gcp-service-account",
        "Key service gcpkms: the service account to impersonate (NAME@PROJECT.iam."
        "gserviceaccount.com); empty: the federated identity uses the key directly.",
        ALL,
        metavar="EMAIL",
    ),
)

# Key material: shells read these, the core receives the text.
PRIVATE_KEY = "private-key"
PRIVATE_KEY_PASSPHRASE = "private-key-passphrase"  # noqa: S105 (an input name)
CERTIFICATE = "certificate"
# Where the key lives instead (qsjwt.signing.remote), and the secrets a key service may need
KEY_SERVICE = "key-service"
VAULT_TOKEN = "vault-token"  # noqa: S105 (an input name)
PKCS11_PIN = "pkcs11-pin"
ID_TOKEN = "id-token"  # noqa: S105 (an input name)
# Where Qlik is and how to reach it (qsjwt.net.connection checks them, only when they are read)
TENANT = "tenant"
VIRTUAL_PROXY_URL = "virtual-proxy-url"
TIMEOUT = "timeout"
CA_BUNDLE = "ca-bundle"
INSECURE = "insecure"
RECORD = "record"
RECORD_HOSTS = "record-hosts"
RECORD_INPUTS = (RECORD, RECORD_HOSTS)
"""Where the transcript of the exchanges goes (qsjwt.net.record): the shells open it."""
CONNECTION_INPUTS = (TIMEOUT, CA_BUNDLE, INSECURE, *RECORD_INPUTS)
"""Read only when Qlik is called (check, the OAuth exchange): warned about otherwise."""
CHECK = "check"
KEY_SERVICE_CA_BUNDLE = "key-service-ca-bundle"
KEY_SERVICE_INPUTS = (
    KEY_SERVICE,
    "vault-address",
    KEY_SERVICE_CA_BUNDLE,
    "vault-role",
    "vault-auth-mount",
    "vault-namespace",
    "id-token-audience",
    "pkcs11-module",
    "azure-tenant-id",
    "azure-client-id",
    "gcp-workload-identity-provider",
    "gcp-service-account",
)

BY_NAME = {spec.name: spec for spec in INPUTS}


def default_lifetime(target: Target) -> str:
    """Short by default: a token cannot be revoked (Qlik Cloud allows at most an hour). An
    OAuth assertion is spent at once (a new one per retry), so two minutes: a Qlik clock up to
    two minutes ahead still takes it, and it stays clear of Qlik's 300 s limit."""
    return {Target.QSEOW: "1h", Target.CLOUD: "5m", Target.OAUTH: "2m"}[target]


def default_for(spec: InputSpec, target: Target) -> str | None:
    """The default an input takes for one target, as help texts show it."""
    if spec.name == "expires-in":
        return default_lifetime(target)
    if spec.name == "algorithm" and target is Target.OAUTH:
        return None  # from the key: RS256 for RSA, ES384 for EC P-384
    return spec.default


def inputs_for(target: Target) -> tuple[InputSpec, ...]:
    """The inputs a target reads, in the table's order."""
    return tuple(spec for spec in INPUTS if target in spec.targets)


def required_for(target: Target) -> tuple[str, ...]:
    """The inputs a target cannot mint without, in the table's order."""
    return tuple(spec.name for spec in INPUTS if target in spec.required)


def parse_target(
    text: str, *, input_name: str = "target", allowed: Sequence[Target] = tuple(Target)
) -> Target:
    """``qseow``, ``cloud`` or ``oauth`` (any case), one of ``allowed``; raises InputError
    naming ``input_name``."""
    try:
        target = Target(text.strip().lower())
        if target not in allowed:
            raise InputError(
                f"{target.value} is not a target here",
                input_name=input_name,
                hint="use " + " or ".join(t.value for t in allowed),
            )
        return target
    except ValueError:
        error = InputError if text.strip() else MissingInputError
        raise error(
            "is not a target" if text.strip() else "is required",
            input_name=input_name,
            hint="use qseow (client-managed Qlik Sense), cloud (a Qlik Cloud JWT identity "
            "provider) or oauth (Qlik Cloud OAuth with a private key)",
        ) from None
