"""Validated, frozen settings: every Qlik rule that can be checked before signing is checked here.

Input is a plain mapping from input names (``user-id``...) to strings, or to lists of strings
for repeated CLI flags. An empty string means "not given", as the GitHub runner sends it.
"""

# No "from __future__ import annotations" here: typing.NamedTuple compiles every string
# annotation of its fields at import, on every start (docs/performance.md); only the names
# imported for type checking alone are quoted.

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal, NamedTuple

from qsjwt.base.durations import format_duration, parse_duration
from qsjwt.base.errors import InputError, ref
from qsjwt.base.findings import Finding
from qsjwt.base.inputs import (
    CA_BUNDLE,
    CHECK,
    CONNECTION_INPUTS,
    INSECURE,
    TENANT,
    TIMEOUT,
    VIRTUAL_PROXY_URL,
    Target,
    default_lifetime,
)
from qsjwt.base.rules import (
    BACKSLASH,
    CLOUD_MAX_LIFETIME,
    CLOUD_TOO_LONG,
    NOT_AN_EMAIL,
    QSEOW_LONG,
    QSEOW_LONG_LIFETIME,
    QSEOW_MAX_LIFETIME,
    QSEOW_TOO_LONG,
    REGISTERED_CLAIMS,
    is_claim_name,
    issuer_mismatch,
    looks_like_email,
)
from qsjwt.base.values import RawValue, ValueReader, read_for
from qsjwt.signing.algorithms import check_algorithm

if TYPE_CHECKING:
    from qsjwt.net.connection import Check


class QseowSettings(NamedTuple):
    """Checked settings for a QSEoW virtual proxy token."""

    user_id: str
    user_directory: str
    user_id_claim: str
    user_directory_claim: str
    groups_claim: str
    lifetime: int
    clock_skew: int
    algorithm: str
    name: str | None = None
    email: str | None = None
    groups: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    audience: str | None = None
    issuer: str | None = None
    warnings: tuple[Finding, ...] = ()
    target: Target = Target.QSEOW
    check: "Check | None" = None
    """prove the token at the virtual proxy after minting"""


class CloudSettings(NamedTuple):
    """Checked settings for a Qlik Cloud JWT identity provider token."""

    issuer: str
    key_id: str
    subject: str
    name: str
    email: str
    email_verified: bool
    lifetime: int
    clock_skew: int
    algorithm: str
    groups: tuple[str, ...] = ()
    warnings: tuple[Finding, ...] = ()
    target: Target = Target.CLOUD
    check: "Check | None" = None
    """prove a token like it at the tenant after minting"""


LoginSettings = QseowSettings | CloudSettings


def parse_login(
    target: Literal[Target.QSEOW, Target.CLOUD], values: Mapping[str, RawValue]
) -> LoginSettings:
    """Validate ``values`` for a QSEoW or Qlik Cloud token; raises InputError naming the first
    bad input (``qsjwt.app.target`` chooses between these and OAuth)."""
    reader = _Reader(values, read_for(target, values))
    return _qseow(reader) if target is Target.QSEOW else _cloud(reader)


def _qseow(r: "_Reader") -> QseowSettings:
    user_id = r.identity("user-id")
    user_directory = r.identity("user-directory")
    claim_names = {name: r.claim_name(name) for name in _QSEOW_CLAIM_INPUTS}
    _distinct(claim_names)
    for input_name, claim in claim_names.items():
        if claim in ("name", "email") and r.text(claim):
            raise InputError(
                f"{claim!r} is also the claim of the {claim} input; one would overwrite the other",
                input_name=input_name,
                hint=f"choose another claim name, or leave {claim} empty",
            )
    lifetime = r.lifetime(Target.QSEOW)
    if lifetime > QSEOW_MAX_LIFETIME:
        raise InputError(
            f"{format_duration(lifetime)} is {QSEOW_TOO_LONG}",
            input_name="expires-in",
            hint="a leaked token works until it expires: keep it short and mint one per job",
        )
    if lifetime > QSEOW_LONG_LIFETIME:
        r.warn("expires-in", f"{format_duration(lifetime)} is {QSEOW_LONG}")
    groups = r.groups()
    if groups and not r.given("groups-claim"):  # naming the claim says the proxy maps it
        r.warn("groups", _groups_mapping(claim_names["groups-claim"]))
    return QseowSettings(
        user_id=user_id,
        user_directory=user_directory,
        user_id_claim=claim_names["user-id-claim"],
        user_directory_claim=claim_names["user-directory-claim"],
        groups_claim=claim_names["groups-claim"],
        lifetime=lifetime,
        clock_skew=r.clock_skew(lifetime),
        algorithm=r.algorithm(Target.QSEOW),
        name=r.optional("name"),
        email=r.email(r.text("email")) or None,
        groups=groups,
        attributes=r.attributes(_reserved(*claim_names.values())),
        audience=r.optional("audience"),
        issuer=r.issuer(r.text("issuer")) or None,
        check=r.check(VIRTUAL_PROXY_URL, _virtual_proxy_url),
        warnings=tuple(r.findings),
    )


def _cloud(r: "_Reader") -> CloudSettings:
    issuer = r.issuer(r.required("issuer"))
    lifetime = r.lifetime(Target.CLOUD)
    if lifetime > CLOUD_MAX_LIFETIME:
        raise InputError(
            f"{format_duration(lifetime)} is {CLOUD_TOO_LONG}",
            input_name="expires-in",
            hint="use at most 1h; 5m is the default",
        )
    return CloudSettings(
        issuer=issuer,
        key_id=r.required("key-id"),
        subject=r.required("subject"),
        name=r.required("name"),
        email=r.email(r.required("email")),
        email_verified=r.boolean("email-verified"),
        lifetime=lifetime,
        clock_skew=r.clock_skew(lifetime),
        algorithm=r.algorithm(Target.CLOUD),
        groups=r.groups(),
        check=r.check(TENANT, _tenant_url),
        warnings=tuple(r.findings),
    )


class RowSettings:
    """Settings for many users who share all but their per-user values (``qs-jwt bulk``).

    ``settings_for(row)`` is ``parse_login(target, {**shared, **row})``: the same checks,
    the same result, the same error for a bad row. Only the per-user values are checked for
    each row once one row has passed: every other setting comes from the shared values alone,
    so it is what the first full parse made of them. A row the per-user checks refuse is parsed
    in full again, so its error is exactly the one ``parse_login`` raises; a run whose
    shared values are wrong parses every row in full and fails on each as before.
    """

    def __init__(
        self, target: Literal[Target.QSEOW, Target.CLOUD], shared: Mapping[str, RawValue]
    ) -> None:
        self.target = target
        self._shared = dict(shared)
        self._template: LoginSettings | None = None
        self._shared_warnings: tuple[Finding, ...] = ()

    def settings_for(self, row: Mapping[str, RawValue]) -> LoginSettings:
        values = {**self._shared, **row}
        template = self._template
        if template is not None:
            try:
                return self._per_user(template, values, self._shared_warnings)
            except InputError:
                pass  # the full parse below raises the error parse_login always raised
        settings = parse_login(self.target, values)
        if template is None:
            self._template = settings
            mine = list(self._per_user(settings, values, ()).warnings)
            shared = []
            for finding in settings.warnings:  # less this row's own warnings, once each
                if finding in mine:
                    mine.remove(finding)
                else:
                    shared.append(finding)
            self._shared_warnings = tuple(shared)
        return settings

    @staticmethod
    def _per_user(
        template: LoginSettings, values: Mapping[str, RawValue], shared: tuple[Finding, ...]
    ) -> LoginSettings:
        """``template`` with this row's per-user values, read as ``_qseow`` / ``_cloud`` read
        them; raises InputError for anything those would refuse. (Every field is written out, in
        order: ``_replace``, or naming each, took a twentieth of a bulk token's Python; the
        tests hold every field to a full parse.)"""
        r = _Reader(values)
        if isinstance(template, CloudSettings):
            subject, name = r.required("subject"), r.required("name")
            email = r.email(r.required("email"))
            return CloudSettings(
                template.issuer,
                template.key_id,
                subject,
                name,
                email,
                r.boolean("email-verified"),
                template.lifetime,
                template.clock_skew,
                template.algorithm,
                r.groups(),  # groups
                shared + tuple(r.findings) if r.findings else shared,  # warnings
                template.target,
                template.check,
            )
        user_id, user_directory = r.identity("user-id"), r.identity("user-directory")
        claims = (template.user_id_claim, template.user_directory_claim, template.groups_claim)
        for claim in claims:
            if claim in ("name", "email") and r.text(claim):
                raise InputError("claim overwritten", input_name=claim)  # parsed in full
        groups = r.groups()
        if groups and not r.given("groups-claim"):
            r.warn("groups", _groups_mapping(template.groups_claim))
        optional_name = r.optional("name")
        optional_email = r.email(r.text("email")) or None
        return QseowSettings(
            user_id,
            user_directory,
            template.user_id_claim,
            template.user_directory_claim,
            template.groups_claim,
            template.lifetime,
            template.clock_skew,
            template.algorithm,
            optional_name,
            optional_email,
            groups,
            r.attributes(_reserved(*claims)) if values.get("attributes") else (),  # attributes
            template.audience,
            template.issuer,
            shared + tuple(r.findings) if r.findings else shared,  # warnings
            template.target,
            template.check,
        )


@functools.cache
def _reserved(*claims: str) -> frozenset[str]:
    """The claim names an attribute may not take, given the QSEoW claim names (made once for
    each set of names, not once a row of ``qs-jwt bulk``)."""
    return frozenset(REGISTERED_CLAIMS | set(claims) | {"name", "email"})


@functools.cache  # one text for each claim name, not one for each row of a bulk run
def _groups_mapping(claim: str) -> str:
    return (
        f"QSEoW reads the {claim!r} claim only if the virtual proxy maps it (JWT attribute "
        f"mapping) or a security rule uses it; give {ref('groups-claim')} to say it does"
    )


def _virtual_proxy_url(text: str) -> str:
    from qsjwt.net.connection import check_virtual_proxy_url  # noqa: PLC0415 (only for check)

    return check_virtual_proxy_url(text)


def _tenant_url(text: str) -> str:
    from qsjwt.net.connection import normalise_tenant  # noqa: PLC0415 (only for check)

    return "https://" + normalise_tenant(text)


_QSEOW_CLAIM_INPUTS = ("user-id-claim", "user-directory-claim", "groups-claim")


def _distinct(claim_names: dict[str, str]) -> None:
    seen: dict[str, str] = {}
    for input_name, claim in claim_names.items():
        if claim in seen:
            raise InputError(
                f"is the same claim name as {seen[claim]}",
                input_name=input_name,
                hint="each value needs its own claim",
            )
        seen[claim] = input_name


class _Reader(ValueReader):
    """The value reader with the login targets' own rules (identities, claim names...)."""

    def identity(self, name: str) -> str:
        value = self.required(name)
        if "\\" in value:
            raise InputError(
                BACKSLASH,
                input_name=name,
                hint="give the user id and the user directory separately, not DIRECTORY\\user",
            )
        return value

    def claim_name(self, name: str) -> str:
        value = self.required(name)
        if not is_claim_name(value):
            raise InputError(
                "is not a usable claim name",
                input_name=name,
                hint="use letters, digits and _ . : - (starting with a letter or _)",
            )
        if value in REGISTERED_CLAIMS:
            raise InputError(
                f"names the registered JWT claim {value!r}, which this tool sets",
                input_name=name,
                hint="use the attribute name configured in the virtual proxy, e.g. userId",
            )
        return value

    def issuer(self, value: str) -> str:
        """Qlik compares the issuer exactly: flag what rarely matches the IdP's setting."""
        problem = issuer_mismatch(value)
        if problem:
            self.warn("issuer", problem)
        return value

    def email(self, value: str) -> str:
        if value and not looks_like_email(value):
            self.warn("email", NOT_AN_EMAIL)
        return value

    def check(self, where: str, url_of: Callable[[str], str]) -> "Check | None":
        """``check``'s settings; without it, a warning for each input only it reads."""
        if not self.boolean(CHECK):
            for name in (where, *CONNECTION_INPUTS):
                if self.given(name) and self.text(name):  # text(): a bad value is still refused
                    self.warn(name, f"is only read with {ref(CHECK)}")
            return None
        from qsjwt.net.connection import Check, parse_connection  # noqa: PLC0415 (only for check)

        url = url_of(self.required(where))
        connection, findings = parse_connection(
            self.text(TIMEOUT), self.text(CA_BUNDLE), self.text(INSECURE)
        )
        self.findings.extend(findings)
        return Check(url, connection)

    def lifetime(self, target: Target) -> int:
        text = self.text("expires-in") or default_lifetime(target)
        return parse_duration(text, input_name="expires-in")

    def clock_skew(self, lifetime: int) -> int:
        """Back-dating moves the whole token earlier (iat = nbf = now - skew, exp = nbf +
        lifetime), so exp - nbf stays the lifetime checked above: a valid expires-in stays valid
        under the default skew. The token ends skew seconds before now + expires-in."""
        skew = parse_duration(self.text("clock-skew"), input_name="clock-skew", allow_zero=True)
        if skew >= lifetime:
            raise InputError(
                f"{format_duration(skew)} is not shorter than {ref('expires-in')}, "
                f"{format_duration(lifetime)}: the token would have expired when it is made",
                input_name="clock-skew",
                hint=f"use a longer {ref('expires-in')}, or a shorter {ref('clock-skew')}; 0s "
                "turns it off",
            )
        return skew

    def algorithm(self, target: Target) -> str:
        name, findings = check_algorithm(self.text("algorithm"), target, input_name="algorithm")
        self.findings.extend(findings)
        return name

    def groups(self) -> tuple[str, ...]:
        groups = tuple(dict.fromkeys(self.items("groups")))
        if isinstance(self._values.get("groups"), str):
            # Commas used to separate groups in a variable: say so where the old habit shows
            # (a comma but no "=", so not an LDAP distinguished name).
            for number, group in enumerate(groups, start=1):
                if "," in group and "=" not in group:
                    self.warn(
                        "groups",
                        f"group {number} holds a comma and stays one group; "
                        "to give several groups, write one per line",
                    )
        return groups

    def attributes(self, reserved: frozenset[str]) -> tuple[tuple[str, str], ...]:
        pairs: dict[str, str] = {}
        for line, item in enumerate(self.items("attributes"), start=1):
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise InputError(
                    f"item {line} is not KEY=VALUE",
                    input_name="attributes",
                    hint="write one attribute per line, e.g. department=Sales",
                )
            if not is_claim_name(key):
                raise InputError(
                    f"item {line}: the name before = is not a usable claim name",
                    input_name="attributes",
                    hint="use letters, digits and _ . : - (starting with a letter or _)",
                )
            if key in reserved:
                raise InputError(
                    f"{key!r} would overwrite a claim this tool sets",
                    input_name="attributes",
                    hint="use the dedicated input for it, or another claim name",
                )
            if key in pairs:
                raise InputError(f"item {line}: the name is given twice", input_name="attributes")
            pairs[key] = value.strip()
        return tuple(pairs.items())
