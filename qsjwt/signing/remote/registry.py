"""From a ``key-service`` reference to an open remote key: the registry of the back ends.

Each back end is imported only when its key is used (a local key loads none of them), and each
imports only the base (``qsjwt.signing.remote``), never this module, so the graph has no circle.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NoReturn

from qsjwt.base.errors import InputError, ref
from qsjwt.base.inputs import KEY_SERVICE, KEY_SERVICE_CA_BUNDLE, KEY_SERVICE_INPUTS, PKCS11_PIN
from qsjwt.signing.remote import Context, KeyService, RemoteECKey, RemoteRSAKey, Secrets

if TYPE_CHECKING:
    from qsjwt.signing.keys import LoadedKey

SCHEMES = ("vault", "pkcs11", "kms", "azurekv", "gcpkms")
_NAME = re.compile(r"[A-Za-z0-9._-]+")


def parse_key_service(text: str) -> KeyService:
    """The checked reference; InputError naming ``key-service`` (never repeating it)."""
    raw = text.strip()
    scheme, _, rest = raw.partition(":")
    if scheme not in SCHEMES or not rest:
        _refuse("names no key service this tool knows")
    if scheme == "kms":
        from qsjwt.signing.remote.aws import parse_kms_reference  # noqa: PLC0415

        return KeyService("kms", parse_kms_reference(rest))
    if scheme == "azurekv":
        from qsjwt.signing.remote.azure import parse_azure_reference  # noqa: PLC0415

        return KeyService("azurekv", parse_azure_reference(rest))
    if scheme == "gcpkms":
        from qsjwt.signing.remote.gcp import parse_gcp_reference  # noqa: PLC0415

        return KeyService("gcpkms", parse_gcp_reference(rest))
    if scheme == "vault":
        parts = rest.strip("/").split("/")
        if len(parts) == 1:
            parts = ["transit", *parts]
        if not all(_NAME.fullmatch(p) and p.strip(".") for p in parts):  # no climbing out
            _refuse("is not a transit key path (letters, digits, . _ - and / only)")
        return KeyService("vault", ("/".join(parts[:-1]), parts[-1]))
    path, _, query = rest.partition("?")
    attributes = _pairs(path, ";")
    options = _pairs(query, "&") if query else {}
    if "pin-value" in options or "pin-source" in options:
        raise InputError(
            "carries a PIN, which would show wherever the setting is shown",
            input_name=KEY_SERVICE,
            hint=f"remove pin-value/pin-source and give the PIN as a secret ({ref(PKCS11_PIN)})",
        )
    unknown = set(attributes) - {"token", "object", "type"} | set(options) - {"module-path"}
    if unknown:
        _refuse(f"has attributes this tool does not read: {', '.join(sorted(unknown))}")
    if not attributes.get("object") or not attributes.get("token"):
        _refuse("must name the token and the key: pkcs11:token=LABEL;object=LABEL")
    if attributes.get("type", "private") != "private":
        _refuse("must name the private key (type=private, or no type)")
    return KeyService(
        "pkcs11", (attributes["token"], attributes["object"]), options.get("module-path")
    )


def _pairs(text: str, separator: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in filter(None, text.split(separator)):
        name, equals, value = item.partition("=")
        if not equals or name in pairs:
            _refuse("is not an RFC 7512 PKCS#11 URI (name=value pairs, each name once)")
        pairs[name] = urllib.parse.unquote(value)
    return pairs


def _refuse(problem: str) -> NoReturn:
    raise InputError(
        problem,
        input_name=KEY_SERVICE,
        hint="e.g. vault:transit/qlik-jwt, pkcs11:token=qlik;object=qlik-jwt, kms:alias/qlik-jwt, "
        "azurekv:https://VAULT.vault.azure.net/keys/KEY or gcpkms:projects/.../cryptoKeyVersions/1",
    )


def open_remote_key(service: KeyService, context: Context) -> LoadedKey:
    """The key as a signing-key object, held to the rules of a local key (RSA of at least 2048
    bits, or EC), with its public key read from the service once."""
    from qsjwt.signing.keys import signing_key_from  # noqa: PLC0415

    key: RemoteRSAKey | RemoteECKey
    if service.scheme == "vault":
        from qsjwt.signing.remote.vault import open_vault_key  # noqa: PLC0415

        key = open_vault_key(service, context)
    elif service.scheme == "kms":
        from qsjwt.signing.remote.aws import open_kms_key  # noqa: PLC0415

        key = open_kms_key(service, context)
    elif service.scheme == "azurekv":
        from qsjwt.signing.remote.azure import open_azure_key  # noqa: PLC0415

        key = open_azure_key(service, context)
    elif service.scheme == "gcpkms":
        from qsjwt.signing.remote.gcp import open_gcp_key  # noqa: PLC0415

        key = open_gcp_key(service, context)
    else:
        from qsjwt.signing.remote.pkcs11 import open_pkcs11_key  # noqa: PLC0415

        key = open_pkcs11_key(service, context)
    return signing_key_from(key, input_name=KEY_SERVICE)


def remote_key_from(
    values: Mapping[str, object],
    secrets: Secrets,
    *,
    ci_env: Mapping[str, str],
    on_secret: Callable[[str], None] = lambda _value: None,
) -> LoadedKey | None:
    """The remote key that ``values`` (inputs by name) point to, or None without a
    ``key-service``: what every shell calls before it would read a private key."""
    texts = {n: v for n, v in values.items() if n in KEY_SERVICE_INPUTS and isinstance(v, str)}
    reference = texts.get(KEY_SERVICE, "").strip()
    if not reference:
        return None
    ca_bundle = texts.get(KEY_SERVICE_CA_BUNDLE, "").strip() or None
    context = Context(texts, secrets, ci_env, on_secret, ca_bundle=ca_bundle)
    return open_remote_key(parse_key_service(reference), context)
