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
from qsjwt.base.findings import Finding, warning
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
from qsjwt.base.values import (
    RawValue,
    ValueReader,
    boolean_of,
    given_of,
    items_of,
    read_for,
    required_of,
    text_of,
)
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
        if claim in _CLASHES and r.text(claim):
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
    the same result, the same error for a bad row. The first row is parsed in full; from it,
    ``_RowPlan`` checks each later row's own values only (a per-user value the row does not
    hold is the shared one, checked once). A row the plan refuses is parsed in full again, so
    its error is exactly the one ``parse_login`` raises; a run whose shared values are wrong
    parses every row in full and fails on each as before.
    """

    def __init__(
        self, target: Literal[Target.QSEOW, Target.CLOUD], shared: Mapping[str, RawValue]
    ) -> None:
        self.target = target
        self._shared = dict(shared)
        self._plan: _RowPlan | None = None

    def settings_for(self, row: Mapping[str, RawValue]) -> LoginSettings:
        plan = self._plan
        if plan is not None:
            settings = plan.settings(row)
            if settings is not None:
                return settings  # else the full parse below raises parse_login's error
        settings = parse_login(self.target, {**self._shared, **row})
        if plan is None:
            plan = _RowPlan(settings, self._shared, row)
            if plan.reproduces:  # else the next row tries again (a row with other inputs)
                self._plan = plan
        return settings


_Rule = Callable[[RawValue | None, list[Finding]], object]
"""How a per-user value becomes its settings field, as ``_qseow`` / ``_cloud`` read it: the
raw value (None when not given) and the warnings to add to; raises InputError."""


class _RowPlan:
    """The per-user checks of a run, made from its first row's full parse (``template``):
    each per-user input's rule, and its field from the shared values alone; the shared
    warnings (the template's, less that row's own)."""

    def __init__(
        self, template: LoginSettings, shared: Mapping[str, RawValue], row: Mapping[str, RawValue]
    ) -> None:
        self._fields: list[object] = list(template)
        self._type = type(template)
        fields = template._fields
        self._groups, self._warnings = fields.index("groups"), fields.index("warnings")
        self._mapping: Finding | None = None
        self._clashes: tuple[int, ...] = ()
        rules: tuple[tuple[str, int, _Rule], ...]
        if isinstance(template, QseowSettings):
            claims = (template.user_id_claim, template.user_directory_claim, template.groups_claim)
            reserved = _reserved(*claims)
            rules = (
                *_QSEOW_RULES,
                (
                    "attributes",
                    _Q("attributes"),
                    lambda raw, _: _attributes(raw, reserved) if raw else (),
                ),
            )
            if not given_of(shared.get("groups-claim")):  # groups-claim is never per user
                self._mapping = warning(_groups_mapping(template.groups_claim), "groups")
            self._clashes = tuple(_CLASHES[c] for c in claims if c in _CLASHES)
        else:
            rules = _CLOUD_RULES
        self._rules: dict[str, tuple[int, _Rule]] = {}
        self._lacking: list[str] = []
        """the required per-user inputs the shared values lack: a row without one fails"""
        self._warned: list[tuple[str, tuple[Finding, ...]]] = []
        """the per-user inputs whose shared value warns, and its warnings"""
        for name, index, rule in rules:
            self._rules[name] = index, rule
            found: list[Finding] = []
            try:
                self._fields[index] = rule(shared.get(name), found)
            except InputError:
                self._lacking.append(name)
            if found:
                self._warned.append((name, tuple(found)))
        self._shared_warnings: tuple[Finding, ...] = ()
        mine = self.settings(row)
        self.reproduces = mine is not None and mine[: self._warnings] == template[: self._warnings]
        """whether the plan makes the fields of the row it was made from: not when that row
        holds an input that is not per user (a row of ``qs-jwt bulk`` never does), which would
        be in the template but not in the rules"""
        own = list(mine.warnings) if mine is not None else []
        shared_warnings = []
        for finding in template.warnings:  # less this row's own warnings, once each
            if finding in own:
                own.remove(finding)
            else:
                shared_warnings.append(finding)
        self._shared_warnings = tuple(shared_warnings)

    def settings(self, row: Mapping[str, RawValue]) -> LoginSettings | None:
        """The row's settings, or None for a row only a full parse can word the error of.
        (The fields are set in a list and made into the settings at once: ``_replace``, or
        naming each field, took a twentieth of a bulk token's Python.)"""
        fields = self._fields.copy()
        found: list[Finding] = []
        rules = self._rules
        try:
            for name, raw in row.items():
                index, rule = rules[name]
                fields[index] = rule(raw, found)
        except (InputError, KeyError):  # KeyError: not a per-user input (the full parse says)
            return None
        for name in self._lacking:
            if name not in row:
                return None
        for name, warnings in self._warned:
            if name not in row:
                found.extend(warnings)
        for index in self._clashes:  # a QSEoW claim named name or email, and that input given
            if fields[index]:
                return None
        if self._mapping is not None and fields[self._groups]:
            found.append(self._mapping)
        shared = self._shared_warnings
        fields[self._warnings] = shared + tuple(found) if found else shared
        return tuple.__new__(self._type, fields)


def _identity_of(name: str) -> _Rule:
    return lambda raw, _: _identity(name, required_of(name, raw))


def _email_rule(raw: RawValue | None, found: list[Finding]) -> str | None:
    return _email(text_of("email", raw), found) or None


def _required_email_rule(raw: RawValue | None, found: list[Finding]) -> str:
    return _email(required_of("email", raw), found)


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
        return _identity(name, self.required(name))

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
        return _email(value, self.findings)

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
        return _groups(self._values.get("groups"), self.findings)

    def attributes(self, reserved: frozenset[str]) -> tuple[tuple[str, str], ...]:
        return _attributes(self._values.get("attributes"), reserved)


# The rules of the per-user values, one value at a time: ``_Reader`` and ``_RowPlan`` read
# them through these.


def _identity(name: str, value: str) -> str:
    if "\\" in value:
        raise InputError(
            BACKSLASH,
            input_name=name,
            hint="give the user id and the user directory separately, not DIRECTORY\\user",
        )
    return value


def _email(value: str, findings: list[Finding]) -> str:
    if value and not looks_like_email(value):
        findings.append(warning(NOT_AN_EMAIL, "email"))
    return value


def _groups(raw: RawValue | None, findings: list[Finding]) -> tuple[str, ...]:
    groups = tuple(dict.fromkeys(items_of("groups", raw)))
    if isinstance(raw, str):
        # Commas used to separate groups in a variable: say so where the old habit shows
        # (a comma but no "=", so not an LDAP distinguished name).
        for number, group in enumerate(groups, start=1):
            if "," in group and "=" not in group:
                findings.append(
                    warning(
                        f"group {number} holds a comma and stays one group; "
                        "to give several groups, write one per line",
                        "groups",
                    )
                )
    return groups


def _attributes(raw: RawValue | None, reserved: frozenset[str]) -> tuple[tuple[str, str], ...]:
    pairs: dict[str, str] = {}
    for line, item in enumerate(items_of("attributes", raw), start=1):
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


_Q = QseowSettings._fields.index
_C = CloudSettings._fields.index
_CLASHES = {"name": _Q("name"), "email": _Q("email")}
"""The per-user inputs a QSEoW claim name may not take while they are given (each would
overwrite the other in the token), and the settings field of each."""
_QSEOW_RULES: tuple[tuple[str, int, _Rule], ...] = (
    ("user-id", _Q("user_id"), _identity_of("user-id")),
    ("user-directory", _Q("user_directory"), _identity_of("user-directory")),
    ("name", _Q("name"), lambda raw, _: text_of("name", raw) or None),
    ("email", _Q("email"), _email_rule),
    ("groups", _Q("groups"), _groups),
)
_CLOUD_RULES: tuple[tuple[str, int, _Rule], ...] = (
    ("subject", _C("subject"), lambda raw, _: required_of("subject", raw)),
    ("name", _C("name"), lambda raw, _: required_of("name", raw)),
    ("email", _C("email"), _required_email_rule),
    (
        "email-verified",
        _C("email_verified"),
        lambda raw, _: boolean_of("email-verified", raw),
    ),
    ("groups", _C("groups"), _groups),
)
