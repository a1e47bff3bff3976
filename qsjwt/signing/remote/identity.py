"""The CI's identity: an OIDC token that a key service trusts instead of a stored secret.

GitLab hands it over as a variable (``id_tokens: QSJWT_ID_TOKEN: aud: ...``). GitHub hands
out a URL and a bearer token to ask for one (``ACTIONS_ID_TOKEN_REQUEST_URL`` and
``_TOKEN``), when the job grants ``permissions: id-token: write``; the runner sets them for
container actions too (actions/runner, ``ContainerActionHandler``). The token is a credential:
``on_secret`` sees it before anything else does, and no message shows it.
"""

from __future__ import annotations

import urllib.parse

from qsjwt.base.errors import InputError
from qsjwt.base.inputs import ID_TOKEN
from qsjwt.net.transport import Transport, UnreachableError, header_value, request_json
from qsjwt.signing.remote import Context, RemoteKeyError

AUDIENCE = "id-token-audience"
REQUEST_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
REQUEST_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"  # noqa: S105 (a variable name)


def identity_token(context: Context) -> str:
    """The CI's OIDC token: the one given (GitLab), else one requested from GitHub."""
    given = (context.secrets.id_token or "").strip()
    if given:
        context.on_secret(given)
        return given
    url = context.ci_env.get(REQUEST_URL, "").strip()
    bearer = context.ci_env.get(REQUEST_TOKEN, "").strip()
    if not url or not bearer:
        raise InputError(
            "no CI identity token: GitHub offers none to this job and none was given",
            input_name=ID_TOKEN,
            hint="in GitHub grant the job `permissions: id-token: write`; in GitLab declare "
            "`id_tokens: QSJWT_ID_TOKEN: aud: ...` in the job; or give the service's own token",
        )
    audience = context.value(AUDIENCE)
    if not audience:
        raise InputError(
            "is required to ask GitHub for an identity token",
            input_name=AUDIENCE,
            hint="set it to the audience the key service's role binds (bound_audiences)",
        )
    context.on_secret(bearer)
    _check_request_url(url)
    joiner = "&" if urllib.parse.urlsplit(url).query else "?"
    try:
        answer = request_json(
            "GET",
            url + joiner + urllib.parse.urlencode({"audience": audience}),
            headers={"Authorization": f"Bearer {header_value(bearer, input_name=REQUEST_TOKEN)}"},
            transport=Transport(ca_bundle=context.ca_bundle),
        )
    except UnreachableError as err:
        raise err.error(
            f"GitHub's identity token service could not be reached ({err.why})",
            input_name=ID_TOKEN,
            hint="ACTIONS_ID_TOKEN_REQUEST_URL must be reachable from this step",
        ) from None
    value = answer.document.get("value")
    if answer.status != 200 or not isinstance(value, str) or not value:
        raise RemoteKeyError(
            f"GitHub gave no identity token (HTTP {answer.status})",
            input_name=ID_TOKEN,
            hint="grant the job `permissions: id-token: write`",
        )
    context.on_secret(value)
    return value


def _check_request_url(url: str) -> None:
    """GitHub's token URL must be https: the request carries a bearer token. Its query (a
    run's identifiers) is never repeated."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (ValueError for a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() != "https" or not parts.hostname:
        raise InputError(
            "is not an https URL: the request for the identity token carries a bearer token, "
            "which may not travel in clear",
            input_name=REQUEST_URL,
            hint="the runner sets it; do not override it with an http:// URL",
        )
    if parts.username is not None or parts.password is not None:
        raise InputError(
            "holds user info (user:password@); credentials never go into the URL",
            input_name=REQUEST_URL,
        )
