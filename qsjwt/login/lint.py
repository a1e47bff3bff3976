"""Every Qlik rule a token breaks, read from the token alone.

``qs-jwt lint`` reports these for any token; minting runs the same rules on each new token as
a last guard, so a token this tool makes can never break them.
"""

from __future__ import annotations

from typing import Any

from qsjwt.base.durations import format_duration
from qsjwt.base.findings import Finding, Severity
from qsjwt.base.inputs import BY_NAME, Target
from qsjwt.base.rules import (
    BACKSLASH,
    CLOUD_AUDIENCE,
    CLOUD_CLAIMS,
    CLOUD_MAX_LIFETIME,
    CLOUD_TOO_LONG,
    MILLISECONDS,
    MIN_JTI_LENGTH,
    NOT_AN_EMAIL,
    NOT_BEFORE_SLACK,
    QSEOW_LONG,
    QSEOW_LONG_LIFETIME,
    QSEOW_MAX_LIFETIME,
    QSEOW_TOO_LONG,
    cloud_algorithm_note,
    issuer_mismatch,
    looks_like_email,
    token_size_problem,
)
from qsjwt.signing.algorithms import ALLOWED, DEFAULT


class _Report:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def error(self, subject: str, message: str) -> None:
        self.findings.append(Finding(Severity.ERROR, message, subject))

    def warn(self, subject: str, message: str) -> None:
        self.findings.append(Finding(Severity.WARNING, message, subject))


def lint_token(
    header: dict[str, Any],
    claims: dict[str, Any],
    target: Target,
    *,
    now: int,
    user_id_claim: str | None = None,
    user_directory_claim: str | None = None,
    size: int | None = None,
) -> list[Finding]:
    """Every Qlik rule ``target`` applies that the token breaks, as errors and warnings
    (empty: the token is fine). Reads the token alone; the signature is not checked.
    ``size``: the compact token's length, checked against what front ends accept."""
    report = _Report()
    problem = token_size_problem(size) if size is not None else None
    if problem is not None:
        (report.error if problem[0] else report.warn)("token", problem[1])
    _algorithm(report, header, target)
    times = _times(report, claims, required=target is Target.CLOUD)
    _expiry(report, times, now)
    if target is Target.CLOUD:
        _cloud(report, header, claims, times)
    else:
        _qseow(
            report,
            claims,
            times,
            user_id_claim or _default("user-id-claim"),
            user_directory_claim or _default("user-directory-claim"),
        )
    return report.findings


def _default(name: str) -> str:
    return BY_NAME[name].default or ""


def _algorithm(report: _Report, header: dict[str, Any], target: Target) -> None:
    alg = header.get("alg")
    if alg not in ALLOWED[target]:
        report.error("alg", f"{alg!r} is not accepted; use one of {', '.join(ALLOWED[target])}")
    elif target is Target.CLOUD and alg != DEFAULT:
        report.warn("alg", cloud_algorithm_note(alg))


def _times(report: _Report, claims: dict[str, Any], *, required: bool) -> dict[str, int]:
    times: dict[str, int] = {}
    for name in ("iat", "nbf", "exp"):
        if name not in claims:
            if required:
                report.error(name, "is missing; Qlik Cloud requires iat, nbf and exp")
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, int):
            report.error(name, f"must be an integer NumericDate (seconds), not {value!r}")
        elif value > MILLISECONDS:
            report.error(name, "looks like milliseconds; JWT times are in seconds")
        else:
            times[name] = value
    return times


def _expiry(report: _Report, times: dict[str, int], now: int) -> None:
    exp, nbf, iat = times.get("exp"), times.get("nbf"), times.get("iat")
    if exp is not None:
        if nbf is not None and nbf >= exp:
            report.error("exp", "is not after nbf: the token is never valid")
        if iat is not None and iat >= exp:
            report.error("exp", "is not after iat")
        if exp <= now:
            report.error("exp", "has passed: the token has expired")
    if nbf is not None and nbf > now + NOT_BEFORE_SLACK:
        report.warn("nbf", f"is {nbf - now} s in the future: the token is not valid yet")


def _cloud(
    report: _Report, header: dict[str, Any], claims: dict[str, Any], times: dict[str, int]
) -> None:
    if not _non_empty(header.get("kid")):
        report.error("kid", "header must name the key id of the Qlik Cloud identity provider")
    _required_strings(report, claims, ("iss", "sub", "name", "email"))
    iss = claims.get("iss")
    problem = issuer_mismatch(iss) if isinstance(iss, str) and iss.strip() else None
    if problem:
        report.warn("iss", problem)
    if claims.get("aud") != CLOUD_AUDIENCE:
        report.error("aud", f"must be exactly {CLOUD_AUDIENCE!r}")
    if claims.get("subType") != "user":
        report.error("subType", 'must be "user"')
    _email_verified(report, claims)
    email = claims.get("email")
    if isinstance(email, str) and email and not looks_like_email(email):
        report.warn("email", NOT_AN_EMAIL)
    _jti(report, claims)
    exp, nbf, iat = times.get("exp"), times.get("nbf"), times.get("iat")
    if exp is not None and nbf is not None and exp - nbf > CLOUD_MAX_LIFETIME:
        report.error("exp", f"exp - nbf is {exp - nbf} s, {CLOUD_TOO_LONG}")
    if exp is not None and iat is not None and exp - iat > CLOUD_MAX_LIFETIME:
        report.error("exp", f"exp - iat is {exp - iat} s, {CLOUD_TOO_LONG}")
    _groups(report, claims)
    if "group" in claims:
        report.warn("group", "is ignored by Qlik Cloud; the claim is called groups")
    ignored = sorted(set(claims) - CLOUD_CLAIMS - {"group"})
    if ignored:
        report.warn(ignored[0], f"Qlik Cloud ignores claims it does not document: {ignored}")


def _qseow(
    report: _Report,
    claims: dict[str, Any],
    times: dict[str, int],
    user_id_claim: str,
    user_directory_claim: str,
) -> None:
    _identity(report, claims, user_id_claim, user_directory_claim)
    exp, iat = times.get("exp"), times.get("iat")
    if exp is None:
        report.warn("exp", "is missing: the token never expires, so a leak is forever")
    elif iat is not None and exp - iat > QSEOW_MAX_LIFETIME:
        report.error("exp", f"exp - iat is {format_duration(exp - iat)}, {QSEOW_TOO_LONG}")
    elif iat is not None and exp - iat > QSEOW_LONG_LIFETIME:
        report.warn("exp", f"exp - iat is {format_duration(exp - iat)}, {QSEOW_LONG}")


def lint_user_claims(
    claims: dict[str, Any],
    target: Target,
    *,
    user_id_claim: str | None = None,
    user_directory_claim: str | None = None,
) -> list[Finding]:
    """The rules of ``lint_token`` about one user's own claims (QSEoW: the user id and
    directory; Qlik Cloud: sub, name, email, email_verified, jti, groups), run the same way.
    The other rules read only the header, the times and the claims every token of a run
    shares, so a run that has linted one token in full needs only these for the next."""
    report = _Report()
    if target is Target.CLOUD:
        _required_strings(report, claims, ("sub", "name", "email"))
        _email_verified(report, claims)
        _jti(report, claims)
        _groups(report, claims)
    else:
        _identity(
            report,
            claims,
            user_id_claim or _default("user-id-claim"),
            user_directory_claim or _default("user-directory-claim"),
        )
    return report.findings


def _required_strings(report: _Report, claims: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if not _non_empty(claims.get(name)):
            report.error(name, "is required by Qlik Cloud and must be a non-empty string")


def _email_verified(report: _Report, claims: dict[str, Any]) -> None:
    if "email_verified" not in claims:
        report.error("email_verified", "is missing; Qlik Cloud requires it as true or false")
    elif not isinstance(claims["email_verified"], bool):
        kind = _JSON_TYPES.get(type(claims["email_verified"]), "another type")
        report.error("email_verified", f"must be a JSON boolean (true or false), not {kind}")


def _jti(report: _Report, claims: dict[str, Any]) -> None:
    jti = claims.get("jti")
    if jti is None:
        report.error("jti", "is required: Qlik Cloud rejects a token without a unique jti")
    elif isinstance(jti, int) and not isinstance(jti, bool):
        # Qlik Support's own token-format article shows "jti": 17111234567: Qlik takes it
        report.warn(
            "jti",
            "is a number; Qlik's own example uses one, but a random string (a UUID) is never "
            "reused by accident",
        )
    elif not _non_empty(jti):
        report.error("jti", "must be a non-empty string (or a number)")
    elif len(str(jti)) < MIN_JTI_LENGTH:
        report.warn("jti", "is short; use at least 128 random bits so it is never reused")


def _groups(report: _Report, claims: dict[str, Any]) -> None:
    if "groups" in claims and not _string_list(claims["groups"]):
        report.error("groups", "must be an array of non-empty strings")


def _identity(
    report: _Report, claims: dict[str, Any], user_id_claim: str, user_directory_claim: str
) -> None:
    for input_name, claim in (
        ("user-id-claim", user_id_claim),
        ("user-directory-claim", user_directory_claim),
    ):
        value = claims.get(claim)
        if claim not in claims and claim != _default(input_name):
            # a claim name the user typed that the token lacks may be a secret in the wrong
            # place: the finding names the input, not the value
            report.error(input_name, "names a claim the token lacks; the virtual proxy needs it")
        elif not isinstance(value, str) or not value.strip():
            report.error(claim, "is missing or empty; the virtual proxy needs it to find the user")
        elif "\\" in value:
            report.error(claim, BACKSLASH)


_JSON_TYPES = {
    str: "a string",
    int: "a number",
    float: "a number",
    list: "an array",
    dict: "an object",
}
_JSON_TYPES[type(None)] = "null"


def _non_empty(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _string_list(value: object) -> bool:
    return isinstance(value, list) and all(_non_empty(item) for item in value)
