"""What the step reports of a run: outputs, the log line, the step summary; never the token
in a line or the summary (it goes to the masked outputs only)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qsjwt.action.schema import TARGET_LABEL
from qsjwt.app.flow import CloudSettings, Issued, QseowSettings
from qsjwt.base.display import escape_controls
from qsjwt.base.findings import Finding
from qsjwt.base.formats import iso_utc
from qsjwt.base.inputs import Target

if TYPE_CHECKING:
    from qsjwt.app.flow import OAuthSettings


@dataclass(frozen=True)
class Report:
    """What one run made, as the step reports it: ``secret`` is masked before anything else."""

    secret: str
    outputs: dict[str, str]
    warnings: tuple[Finding, ...]
    what: str
    """the log line's start, e.g. "minted a Qlik Cloud token (RS256)": never a user value"""
    debug: str
    rows: list[tuple[str, str]]
    """the summary's rows after the target, values already rendered by ``_code``"""
    claims: Mapping[str, Any] | None = None


def report(issued: Issued, who: list[tuple[str, str]]) -> Report:
    """The step's report of what ``flow.issue`` made; ``who`` are the summary's rows about the
    user or client (``rows_for``)."""
    signed = issued.signed
    if signed is not None:
        what = (
            "signed a Qlik Cloud OAuth client assertion"
            if issued.assertion is not None
            else f"minted a {TARGET_LABEL[issued.target]} token"
        )
        return _signed(
            signed.token,
            signed.header,
            signed.claims,
            signed.expires_at,
            warnings=issued.warnings,
            what=what,
            rows=who,
        )
    access = issued.access
    if access is None:  # unreachable: every Issued holds a JWT, an assertion or an access token
        raise ValueError("nothing was issued")
    expires_at = iso_utc(access.expires_at) if access.expires_at else ""
    expires_in = "" if access.expires_in is None else str(access.expires_in)
    return Report(
        secret=access.access_token,
        outputs={
            "access-token": access.access_token,
            "expires-at": expires_at,
            "expires-in": expires_in,
            "scope": access.scope or "",
        },
        warnings=issued.warnings,
        what=f"Qlik issued an access token ({issued.algorithm} assertion, "
        f"{access.attempts} request(s))",
        debug=f"algorithm {issued.algorithm}, attempts {access.attempts}, clock difference "
        f"{access.clock_skew} s",
        rows=[
            *who,
            ("Algorithm", _code(issued.algorithm or "")),
            ("Scope", _code(access.scope) if access.scope else "(the client's)"),
            ("Expires at", f"{expires_at or 'not given'} (in {expires_in or '?'} s)"),
        ],
    )


def rows_for(
    settings: QseowSettings | CloudSettings | OAuthSettings, key_id: str | None
) -> list[tuple[str, str]]:
    """Who a token is for, as summary rows (an OAuth client: its tenant, id, grant and kid)."""
    if isinstance(settings, QseowSettings):
        return [("User", _code(f"{settings.user_directory}\\{settings.user_id}"))]
    if isinstance(settings, CloudSettings):
        return [
            ("Subject", _code(settings.subject)),
            ("User", f"{_code(settings.name)} {_code(settings.email)}"),
            ("Issuer", _code(settings.issuer)),
            ("Key id", _code(settings.key_id)),
        ]
    rows = [
        ("Tenant", _code(settings.tenant)),
        ("Client id", _code(settings.client_id)),
        ("Grant", _code(settings.grant.value)),
    ]
    if settings.user_lookup:
        rows.append(("User", _code(f"{settings.user_lookup.field}={settings.user_lookup.value}")))
    rows.append(("Key id", _code(key_id or "")))
    return rows


def _signed(
    token: str,
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    expires_at: dt.datetime,
    *,
    warnings: tuple[Finding, ...],
    what: str,
    rows: list[tuple[str, str]],
) -> Report:
    """A signed JWT (a token, or an OAuth assertion) as the step reports it."""
    lifetime = claims["exp"] - claims["iat"]
    return Report(
        secret=token,
        outputs={
            "token": token,
            "expires-at": iso_utc(expires_at),
            "expires-in": str(lifetime),
            "header": compact(header),
            "claims": compact(claims),
        },
        warnings=warnings,
        what=f"{what} ({header['alg']})",
        debug=f"algorithm {header['alg']}, lifetime {lifetime} s, header fields "
        f"{', '.join(header)}, claims {', '.join(claims)}",
        rows=[
            *rows,
            ("Algorithm", _code(header["alg"])),
            ("Expires at", f"{iso_utc(expires_at)} (in {lifetime} s)"),
        ],
        claims=claims,
    )


def compact(value: Mapping[str, Any]) -> str:
    """Compact JSON for the header and claims outputs (one line, UTF-8 kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _code(text: str) -> str:
    """A value for the summary's table, as inline code: no @mention, link, image, HTML or
    emphasis can come out of it, its ``|`` cannot split the table's cell, and a character that
    is not printable (a line break, a bidi override) shows as its escape."""
    text = escape_controls(text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def summary(target: Target, made: Report) -> str:
    """Markdown for the run's page: what was made for whom, never the token."""
    rows = [("Target", f"{TARGET_LABEL[target]} ({_code(target.value)})"), *made.rows]
    lines = ["## Qlik Sense JWT", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += [""]
    if made.claims is not None:
        claims = json.dumps(made.claims, indent=2, ensure_ascii=False)
        if not claims.replace("\n", "").isprintable():  # e.g. a bidi override reordering a line
            claims = json.dumps(made.claims, indent=2)  # the same JSON, non-ASCII as \u escapes
        fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", claims)), default=0) + 1)
        lines += [
            "Claims (the token itself is in the `token` output and is never shown):",
            "",
            fence + "json",
            claims,
            fence,
            "",
        ]
    else:
        lines += ["The access token is in the `access-token` output and is never shown.", ""]
    if made.warnings:
        lines += ["Warnings:", ""]
        lines += [f"- {_code(finding.render())}" for finding in made.warnings]
        lines += [""]
    return "\n".join(lines) + "\n"
