"""The CI's identity: an OIDC token that a key service trusts instead of a stored secret.

GitLab hands it over as a variable (``id_tokens: QSJWT_ID_TOKEN: aud: ...``). GitHub hands
out a URL and a bearer token to ask for one (``ACTIONS_ID_TOKEN_REQUEST_URL`` and
``_TOKEN``), when the job grants ``permissions: id-token: write``; the runner sets them for
container actions too (actions/runner, ``ContainerActionHandler``). The token is a credential:
``on_secret`` sees it before anything else does, and no message shows it.
"""

from __future__ import annotations

import urllib.parse

from qsjwt.base.errors import InputError, KeyServiceUnreachableError
from qsjwt.base.inputs import ID_TOKEN
from qsjwt.net.http import request, why_unreachable
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
    joiner = "&" if urllib.parse.urlsplit(url).query else "?"
    try:
        answer = request(
            "GET",
            url + joiner + urllib.parse.urlencode({"audience": audience}),
            headers={"Authorization": f"Bearer {bearer}"},
        )
    except OSError as err:
        raise KeyServiceUnreachableError(
            f"GitHub's identity token service could not be reached ({why_unreachable(err)})",
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
