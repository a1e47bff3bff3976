"""Google's ``external_account`` credential file, as google-github-actions/auth and
``gcloud iam workload-identity-pools create-cred-config`` write it, read with the standard
library: the workload identity provider (its ``audience``), the service account to impersonate
(its ``service_account_impersonation_url``) and, for a ``credential_source.file``, the CI's
identity token. The Google back end reads it when ``GOOGLE_APPLICATION_CREDENTIALS`` names one
and no provider was given, so a job that ran google-github-actions/auth needs no more inputs.

Nothing here is shown: a message names the variable, never the file's content.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from qsjwt.base.errors import InputError
from qsjwt.io.sources import read_bounded

CREDENTIALS = "GOOGLE_APPLICATION_CREDENTIALS"
LIMIT = 64 * 1024
"""A credential configuration is well under 2 KB; a subject token file a few KB."""
_IMPERSONATION = re.compile(r"/serviceAccounts/(?P<account>[^/:]+):generateAccessToken$")


@dataclass(frozen=True)
class ExternalAccount:
    """What the back end takes from the file."""

    provider: str
    """``projects/N/locations/global/workloadIdentityPools/POOL/providers/PROVIDER``"""
    service_account: str
    """the account to impersonate, or '' to use the federated identity directly"""
    token_file: str
    """where the CI's identity token is (``credential_source.file``), or '': ask the CI"""
    token_field: str
    """the JSON field holding it when the file is JSON, or '' for a text file"""


def read_external_account(path: str, universe: str) -> ExternalAccount | None:
    """The ``external_account`` configuration at ``path``; None for another kind of file (a
    service account key is not federation, and is not used). Raises InputError naming
    ``GOOGLE_APPLICATION_CREDENTIALS``."""
    document = _json(read_bounded(path, LIMIT, input_name=CREDENTIALS, secret_hint=None))
    if document.get("type") != "external_account":
        return None
    audience = document.get("audience")
    prefix = f"//iam.{universe}/"
    if not isinstance(audience, str) or not audience.startswith(prefix):
        raise InputError(
            f"holds no workload identity provider (an audience starting {prefix})",
            input_name=CREDENTIALS,
        )
    url = document.get("service_account_impersonation_url")
    found = _IMPERSONATION.search(url) if isinstance(url, str) else None
    source = document.get("credential_source")
    source = source if isinstance(source, dict) else {}
    token_format = source.get("format")
    token_format = token_format if isinstance(token_format, dict) else {}
    field = (
        token_format.get("subject_token_field_name") if token_format.get("type") == "json" else ""
    )
    return ExternalAccount(
        provider=audience.removeprefix(prefix),
        service_account=found["account"] if found else "",
        token_file=str(source.get("file") or ""),
        token_field=str(field or ""),
    )


def subject_token(account: ExternalAccount) -> str:
    """The CI's identity token from the file the configuration names."""
    raw = read_bounded(account.token_file, LIMIT, input_name=CREDENTIALS, secret_hint=None)
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = ""
    if account.token_field:
        value = _json(raw).get(account.token_field) if text else None
        text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InputError(
            "names a credential_source file that holds no identity token",
            input_name=CREDENTIALS,
        )
    return text


def _json(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise InputError("does not name a JSON credential file", input_name=CREDENTIALS)
    return document
