"""Qlik's rules for tokens, each stated once: the limits, the tests and the words.

``settings`` applies them to inputs before signing, ``claims`` builds tokens that keep them,
and ``lint`` checks them on any token; all three read them from here, so a limit or a message
cannot drift between the checks. Sources: shared/reference/qlik-jwt-spec.md (rule numbers).
"""

from __future__ import annotations

import re

# --- claims -----------------------------------------------------------------------------------

REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})
"""RFC 7519's registered claims: this tool sets them; an attribute may not take their names."""
CLOUD_AUDIENCE = "qlik.api/login/jwt-session"
"""Qlik Cloud's JWT identity provider accepts only this audience (rule 10)."""
CLOUD_CLAIMS = frozenset(
    {
        "iss",
        "aud",
        "sub",
        "subType",
        "name",
        "email",
        "email_verified",
        "groups",
        "jti",
        "iat",
        "nbf",
        "exp",
    }
)
"""What Qlik Cloud documents and reads; anything else is ignored (rule 12)."""
MAX_VALUE_LENGTH = 1024
"""A JWT travels in an HTTP header; proxies refuse headers much larger than a few KB."""
MIN_JTI_LENGTH = 22
"""22 base64url characters carry 128 bits, what replay protection needs (rule 13)."""

_CLAIM_NAME = r"[A-Za-z_][A-Za-z0-9_.:-]*"
_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
"""What ``looks_like_email`` holds an address to (it does so without the pattern); the claim
name pattern is compiled on first use (``re`` caches it)."""


def is_claim_name(name: str) -> bool:
    """A name QSEoW's attribute mapping and every JSON reader take as is."""
    return bool(re.fullmatch(_CLAIM_NAME, name))


def looks_like_email(text: str) -> bool:
    """Loose on purpose: only an obvious typo in an address is worth a warning. It is what
    ``_EMAIL`` matches in full, without a pattern (once for every row of a bulk run): one
    ``@``, no space, and a dot inside the part after it."""
    local, _, domain = text.partition("@")
    return bool(local) and "." in domain[1:-1] and "@" not in domain and text.split() == [text]


def issuer_mismatch(issuer: str) -> str | None:
    """What in an issuer rarely equals the identity provider's setting, compared exactly."""
    if " " in issuer or issuer != issuer.strip():
        return "contains a space; Qlik compares the issuer exactly"
    if "://" in issuer and issuer.endswith("/"):
        return "ends with '/'; Qlik compares the issuer exactly"
    return None


NOT_AN_EMAIL = "does not look like an e-mail address"
BACKSLASH = "contains a backslash, which Qlik Sense does not accept"
"""QSEoW reads DIRECTORY\\user itself: a backslash in either part is refused (rule 5)."""

# --- times ------------------------------------------------------------------------------------

CLOUD_MAX_LIFETIME = 3600
"""Qlik Cloud refuses a token whose exp - nbf (and exp - iat) is over an hour (rule 14)."""
QSEOW_LONG_LIFETIME = 24 * 3600
"""Over a day, a leaked QSEoW token is usable for long: a warning (rule 23)."""
QSEOW_MAX_LIFETIME = 365 * 86400
"""This tool's own ceiling for QSEoW, which sets none: a year (rule 23)."""
NOT_BEFORE_SLACK = 5
"""Seconds of ``nbf`` in the future that lint lets pass before warning."""
MILLISECONDS = 10**11
"""NumericDates above this are milliseconds: seconds would be past the year 5000."""

CLOUD_TOO_LONG = "longer than the 1h (3600 s) Qlik Cloud accepts"
QSEOW_TOO_LONG = "longer than the 365d this tool allows for QSEoW"
QSEOW_LONG = "over 24h: a leaked token stays usable that long"

# --- size -------------------------------------------------------------------------------------

TOKEN_WARN_BYTES = 8 * 1024
"""A token travels in one request header (``Authorization: Bearer``) to QSEoW's virtual proxy
and to Qlik Cloud's /login/jwt-session. Qlik documents no size limit for either: not the QSEoW
JWT and virtual-proxy help, the Proxy Service API pages (help.qlik.com), the Qlik Cloud JWT
tutorial and identity-provider API (qlik.dev), nor shared/reference/qlik-oauth-and-live.md
("size limits" undocumented). The front ends before Qlik do document theirs, per header:
Apache's LimitRequestFieldSize defaults to 8190 bytes
(httpd.apache.org/docs/2.4/mod/core.html#limitrequestfieldsize), and nginx refuses a header
field larger than one of its large_client_header_buffers, 8k by default, with 400
(nginx.org/en/docs/http/ngx_http_core_module.html#large_client_header_buffers). Over 8 KB a
proxy or load balancer built on either refuses the token: a warning."""
TOKEN_MAX_BYTES = 16 * 1024
"""16 KB is the default ceiling of the larger HTTP stacks. Windows' HTTP.sys, the HTTP stack of
the Windows servers QSEoW runs on: MaxFieldLength (one header) and MaxRequestBytes (request line
and headers together), 16384 bytes each by default, "HTTP 400 - Bad Request (Request Header too
long)" past them (learn.microsoft.com/troubleshoot/developer/webapps/iis/iisadmin-service-
inetinfo/httpsys-registry-windows, KB 820129; support.microsoft.com/help/2020943). Node.js:
http.maxHeaderSize, all headers together, 16 KiB (nodejs.org/api/http.html#httpmaxheadersize).
ASP.NET Kestrel: one HTTP/2 header field, 16 KiB (learn.microsoft.com/dotnet/api/
microsoft.aspnetcore.server.kestrel.core.http2limits.maxrequestheaderfieldsize). Over it a
token needs every hop reconfigured (the issue's 167 KB token would pass none): an error, never
a token out."""


def token_size_problem(size: int) -> tuple[bool, str] | None:
    """(is it an error, the message) for a token of ``size`` bytes, or None when it is fine."""
    kb = f"{size / 1024:.1f} KB"
    if size > TOKEN_MAX_BYTES:
        return True, (
            f"is {kb}, over the {TOKEN_MAX_BYTES // 1024} KB that HTTP front ends such as Windows "
            "HTTP.sys and Node.js take at most in a request's headers by default; Qlik would "
            "never see it"
        )
    if size > TOKEN_WARN_BYTES:
        return False, (
            f"is {kb}, over the {TOKEN_WARN_BYTES // 1024} KB many proxies and load balancers "
            "take in one header by default"
        )
    return None


OVERSIZE_HINT = "send fewer or shorter groups or attributes; let Qlik map the rest"

# --- algorithms -------------------------------------------------------------------------------


def cloud_algorithm_note(algorithm: str) -> str:
    """Qlik Cloud documents any algorithm but HS, yet its tutorials only show RS256."""
    return (
        f"{algorithm} is not what Qlik's tutorials show (RS256); check that your Qlik Cloud "
        "identity provider accepts it"
    )
