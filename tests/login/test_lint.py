"""lint_token: every Qlik rule a token can break, on crafted claims, for both targets."""

from __future__ import annotations

from typing import Any

import pytest

from qsjwt.base.findings import Finding, Severity
from qsjwt.base.inputs import JWT_TARGETS, Target
from qsjwt.base.rules import CLOUD_AUDIENCE
from qsjwt.login.lint import lint_token
from qsjwt.login.mint import mint
from qsjwt.login.settings import QseowSettings
from qsjwt.signing.jws import decode_unverified
from tests.conftest import NOW, NOW_S, verify_independently
from tests.helpers import FIXED_JTI, parse, signing_key

T = int(NOW.timestamp())
DROP: Any = object()
"""A claim value meaning: leave the claim out."""

CLOUD_HEADER = {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
QSEOW_HEADER = {"alg": "RS256", "typ": "JWT"}


def _with(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **changes}
    return {name: value for name, value in merged.items() if value is not DROP}


def cloud_claims(**changes: Any) -> dict[str, Any]:
    base = {
        "iss": "idp.example.com",
        "aud": CLOUD_AUDIENCE,
        "sub": "svc_ci",
        "subType": "user",
        "name": "CI Service",
        "email": "ci@example.com",
        "email_verified": True,
        "groups": ["Sales"],
        "jti": FIXED_JTI,
        "iat": T,
        "nbf": T,
        "exp": T + 300,
    }
    return _with(base, changes)


def qseow_claims(**changes: Any) -> dict[str, Any]:
    base = {"userId": "alice", "userDirectory": "CORP", "iat": T, "nbf": T, "exp": T + 3600}
    return _with(base, changes)


def lint(
    target: Target,
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
    **kwargs: Any,
) -> list[Finding]:
    if target is Target.CLOUD:
        header = CLOUD_HEADER if header is None else header
        claims = cloud_claims() if claims is None else claims
    else:
        header = QSEOW_HEADER if header is None else header
        claims = qseow_claims() if claims is None else claims
    return lint_token(header, claims, target, now=NOW_S, **kwargs)


def only(findings: list[Finding], severity: Severity) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for finding in findings:
        if finding.severity is severity:
            grouped.setdefault(finding.subject or "", []).append(finding.message)
    return grouped


def assert_one(findings: list[Finding], severity: Severity, subject: str, fragment: str) -> None:
    """Exactly the expected finding, and nothing at the other severity level."""
    hits = only(findings, severity)
    assert list(hits) == [subject], findings
    assert any(fragment in message for message in hits[subject]), hits
    other = Severity.WARNING if severity is Severity.ERROR else Severity.ERROR
    assert only(findings, other) == {}, findings


@pytest.mark.parametrize("target", JWT_TARGETS)
def test_a_good_token_has_no_findings(target: Target) -> None:
    assert lint(target) == []


# --- common: algorithm and times (rules 1, 6) ------------------------------------------------


@pytest.mark.parametrize("target", JWT_TARGETS)
@pytest.mark.parametrize("alg", ["none", "HS256", "RS1024", None])
def test_refused_algorithm(target: Target, alg: str | None) -> None:
    header = {"alg": alg, "typ": "JWT", "kid": "kid-1"}
    if alg is None:
        del header["alg"]
    assert_one(lint(target, header=header), Severity.ERROR, "alg", "is not accepted")


@pytest.mark.parametrize("alg", ["PS256", "ES256", "ES512", "PS512"])
def test_qseow_refuses_pss_and_ecdsa_tokens(alg: str) -> None:
    assert_one(lint(Target.QSEOW, header={"alg": alg}), Severity.ERROR, "alg", "RS256, RS384")


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "ES256"])
def test_cloud_other_algorithms_warn(alg: str) -> None:
    header = {**CLOUD_HEADER, "alg": alg}
    assert_one(lint(Target.CLOUD, header=header), Severity.WARNING, "alg", "(RS256)")


BAD_TIMES = [
    (1795867200.0, "must be an integer"),
    (1795867200.5, "must be an integer"),
    ("1795867200", "must be an integer"),
    ("2026-11-28T12:00:00Z", "must be an integer"),
    (True, "must be an integer"),
    (None, "must be an integer"),
    (1_795_867_200_000, "looks like milliseconds"),
]


@pytest.mark.parametrize("target", JWT_TARGETS)
@pytest.mark.parametrize("name", ["iat", "nbf", "exp"])
@pytest.mark.parametrize(("value", "fragment"), BAD_TIMES)
def test_times_must_be_integer_seconds(
    target: Target, name: str, value: Any, fragment: Any
) -> None:
    build = cloud_claims if target is Target.CLOUD else qseow_claims
    findings = lint(target, claims=build(**{name: value}))
    errors = only(findings, Severity.ERROR)
    assert fragment in " ".join(errors.get(name, [])), findings


@pytest.mark.parametrize("target", JWT_TARGETS)
def test_nbf_not_before_exp(target: Target) -> None:
    build = cloud_claims if target is Target.CLOUD else qseow_claims
    findings = lint(target, claims=build(nbf=T + 300, exp=T + 300))
    assert "is not after nbf" in " ".join(only(findings, Severity.ERROR)["exp"])


@pytest.mark.parametrize("target", JWT_TARGETS)
def test_exp_after_iat(target: Target) -> None:
    build = cloud_claims if target is Target.CLOUD else qseow_claims
    findings = lint(target, claims=build(iat=T + 10, nbf=T - 10, exp=T + 10))
    assert "is not after iat" in " ".join(only(findings, Severity.ERROR)["exp"])


@pytest.mark.parametrize("target", JWT_TARGETS)
@pytest.mark.parametrize("exp", [T, T - 1, T - 86400])
def test_expired(target: Target, exp: Any) -> None:
    build = cloud_claims if target is Target.CLOUD else qseow_claims
    findings = lint(target, claims=build(iat=exp - 60, nbf=exp - 60, exp=exp))
    assert_one(findings, Severity.ERROR, "exp", "has expired")


@pytest.mark.parametrize("target", JWT_TARGETS)
def test_nbf_in_the_future_warns(target: Target) -> None:
    build = cloud_claims if target is Target.CLOUD else qseow_claims
    findings = lint(target, claims=build(nbf=T + 60))
    assert_one(findings, Severity.WARNING, "nbf", "60 s in the future")


@pytest.mark.parametrize("target", JWT_TARGETS)
def test_nbf_a_few_seconds_ahead_is_tolerated(target: Target) -> None:
    build = cloud_claims if target is Target.CLOUD else qseow_claims
    assert lint(target, claims=build(nbf=T + 5)) == []


# --- Qlik Cloud (rules 8-17) -----------------------------------------------------------------


@pytest.mark.parametrize("kid", [DROP, "", "  ", 5, None])
def test_cloud_kid_required(kid: Any) -> None:
    header = _with(CLOUD_HEADER, {"kid": kid})
    assert_one(lint(Target.CLOUD, header=header), Severity.ERROR, "kid", "key id")


@pytest.mark.parametrize("name", ["iss", "sub", "name", "email"])
@pytest.mark.parametrize("value", [DROP, "", " ", 5, ["x"]])
def test_cloud_required_strings(name: str, value: Any) -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(**{name: value}))
    # (a blank iss or email also gets the warning about its form: noise, but not wrong)
    assert only(findings, Severity.ERROR) == {
        name: ["is required by Qlik Cloud and must be a non-empty string"]
    }


@pytest.mark.parametrize("iss", ["https://idp.example.com/", "my idp", " idp.example.com"])
def test_cloud_issuer_that_rarely_matches_warns(iss: str) -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(iss=iss))
    assert_one(findings, Severity.WARNING, "iss", "compares the issuer exactly")


@pytest.mark.parametrize(
    "aud",
    [
        DROP,
        "",
        "qlik.api",
        "qlik.api/login/jwt-session/",
        [CLOUD_AUDIENCE],
        "QLIK.API/login/jwt-session",
    ],
)
def test_cloud_audience_exact(aud: Any) -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(aud=aud))
    assert_one(findings, Severity.ERROR, "aud", CLOUD_AUDIENCE)


@pytest.mark.parametrize("sub_type", [DROP, "User", "client", "", True])
def test_cloud_subtype_user(sub_type: Any) -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(subType=sub_type))
    assert_one(findings, Severity.ERROR, "subType", '"user"')


@pytest.mark.parametrize("verified", [False, True])
def test_cloud_email_verified_boolean(verified: bool) -> None:
    assert lint(Target.CLOUD, claims=cloud_claims(email_verified=verified)) == []


@pytest.mark.parametrize(
    ("verified", "kind"),
    [("true", "a string"), ("false", "a string"), (1, "a number"), (0, "a number"), (None, "null")],
)
def test_cloud_email_verified_not_boolean(verified: int | str | None, kind: str) -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(email_verified=verified))
    assert_one(
        findings, Severity.ERROR, "email_verified", f"JSON boolean (true or false), not {kind}"
    )


def test_cloud_email_verified_missing_is_not_called_a_string() -> None:
    """A QSEoW token linted as Cloud lacks the claim: say so, not that it is a string."""
    findings = lint(Target.CLOUD, claims=cloud_claims(email_verified=DROP))
    assert_one(findings, Severity.ERROR, "email_verified", "is missing")


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "a b@example.com"])
def test_cloud_odd_email_warns(email: str) -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(email=email))
    assert_one(findings, Severity.WARNING, "email", "does not look like an e-mail")


@pytest.mark.parametrize("jti", [DROP, None])
def test_cloud_jti_required(jti: Any) -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(jti=jti))
    assert_one(findings, Severity.ERROR, "jti", "unique jti")


@pytest.mark.parametrize("jti", ["", "   ", ["a"], 1.5, True])
def test_cloud_jti_must_be_a_non_empty_string(jti: Any) -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(jti=jti))
    assert_one(findings, Severity.ERROR, "jti", "must be a non-empty string")


@pytest.mark.parametrize("jti", [17111234567, 12345678901234567890123])
def test_cloud_numeric_jti_is_a_warning_not_an_error(jti: int) -> None:
    """Qlik Support's article on the token format shows ``"jti": 17111234567``
    (shared/reference/qlik-observed-behaviour.md, "numeric jti"): Qlik takes it."""
    findings = lint(Target.CLOUD, claims=cloud_claims(jti=jti))
    assert_one(findings, Severity.WARNING, "jti", "is a number")


@pytest.mark.parametrize("jti", ["1", "abc", "x" * 21])
def test_cloud_short_jti_warns(jti: str) -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(jti=jti))
    assert_one(findings, Severity.WARNING, "jti", "128 random bits")


def test_cloud_jti_of_128_bits_is_enough() -> None:
    assert lint(Target.CLOUD, claims=cloud_claims(jti="x" * 22)) == []


@pytest.mark.parametrize("name", ["iat", "nbf", "exp"])
def test_cloud_times_required(name: str) -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(**{name: DROP}))
    assert_one(findings, Severity.ERROR, name, "is missing; Qlik Cloud requires iat, nbf and exp")


def test_cloud_exp_minus_nbf_over_an_hour() -> None:
    # exp - iat is 3595 (fine), exp - nbf is 3605: only the nbf rule fires
    findings = lint(Target.CLOUD, claims=cloud_claims(nbf=T - 10, exp=T + 3595))
    assert_one(findings, Severity.ERROR, "exp", "exp - nbf is 3605 s")
    assert len(findings) == 1


def test_cloud_exp_minus_iat_over_an_hour() -> None:
    # exp - nbf is 3595 (fine), exp - iat is 3605: only the iat rule fires
    findings = lint(Target.CLOUD, claims=cloud_claims(iat=T - 10, nbf=T, exp=T + 3595))
    assert_one(findings, Severity.ERROR, "exp", "exp - iat is 3605 s")
    assert len(findings) == 1


def test_cloud_exactly_an_hour_is_fine() -> None:
    assert lint(Target.CLOUD, claims=cloud_claims(nbf=T - 100, iat=T - 100, exp=T + 3500)) == []


def test_cloud_skewed_nbf_before_iat_is_fine() -> None:
    # --clock-skew back-dates nbf below iat on purpose (the issue decides over spec rule 6)
    assert lint(Target.CLOUD, claims=cloud_claims(nbf=T - 60, exp=T + 300)) == []


@pytest.mark.parametrize("groups", ["Sales", [""], ["Sales", 5], [["Sales"]], {"a": 1}, None])
def test_cloud_groups_must_be_a_string_array(groups: Any) -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(groups=groups))
    assert_one(findings, Severity.ERROR, "groups", "array of non-empty strings")


def test_cloud_empty_groups_array_is_fine() -> None:
    assert lint(Target.CLOUD, claims=cloud_claims(groups=[])) == []


def test_cloud_group_instead_of_groups_warns() -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(groups=DROP, group=["Sales"]))
    assert_one(findings, Severity.WARNING, "group", "the claim is called groups")
    assert len(findings) == 1  # not also reported as an unknown claim


def test_cloud_unknown_claims_warn() -> None:
    findings = lint(Target.CLOUD, claims=cloud_claims(userId="alice", zone="eu"))
    assert_one(findings, Severity.WARNING, "userId", "does not document")
    [finding] = findings
    assert "'userId'" in finding.message and "'zone'" in finding.message


# --- QSEoW (rules 21-23) ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["userId", "userDirectory"])
@pytest.mark.parametrize("value", [DROP, "", "   ", None, 5, ["alice"]])
def test_qseow_user_claims_required(name: str, value: Any) -> None:
    findings = lint(Target.QSEOW, claims=qseow_claims(**{name: value}))
    assert_one(findings, Severity.ERROR, name, "is missing or empty")


@pytest.mark.parametrize("name", ["userId", "userDirectory"])
def test_qseow_user_claims_without_backslash(name: str) -> None:
    findings = lint(Target.QSEOW, claims=qseow_claims(**{name: "CORP\\alice"}))
    assert_one(findings, Severity.ERROR, name, "backslash")


def test_qseow_custom_claim_names() -> None:
    claims = qseow_claims(userId=DROP, userDirectory=DROP, uid="alice", dir="CORP")
    names: dict[str, Any] = {"user_id_claim": "uid", "user_directory_claim": "dir"}
    assert lint(Target.QSEOW, claims=claims, **names) == []
    findings = lint(Target.QSEOW, claims=qseow_claims(), **names)
    # a claim name the token lacks may be a secret typed in the wrong place: the finding
    # names the input that gave it, not the value
    assert set(only(findings, Severity.ERROR)) == {"user-id-claim", "user-directory-claim"}
    assert not any("uid" in f.message or "dir" in f.message for f in findings)
    findings = lint(Target.QSEOW, claims=qseow_claims(uid="", dir=7), **names)
    assert set(only(findings, Severity.ERROR)) == {"uid", "dir"}  # in the token: shown


def test_qseow_needs_no_iat_nbf_or_kid() -> None:
    claims = qseow_claims(iat=DROP, nbf=DROP)
    assert lint(Target.QSEOW, header={"alg": "RS512"}, claims=claims) == []


def test_qseow_without_exp_warns() -> None:
    findings = lint(Target.QSEOW, claims=qseow_claims(exp=DROP))
    assert_one(findings, Severity.WARNING, "exp", "never expires")


@pytest.mark.parametrize("lifetime", [86400 + 1, 7 * 86400, 365 * 86400])
def test_qseow_over_a_day_warns(lifetime: Any) -> None:
    findings = lint(Target.QSEOW, claims=qseow_claims(exp=T + lifetime))
    assert_one(findings, Severity.WARNING, "exp", "over 24h")


def test_qseow_a_day_is_fine() -> None:
    assert lint(Target.QSEOW, claims=qseow_claims(exp=T + 86400)) == []


@pytest.mark.parametrize("lifetime", [365 * 86400 + 1, 10 * 365 * 86400])
def test_qseow_over_a_year_is_an_error(lifetime: Any) -> None:
    findings = lint(Target.QSEOW, claims=qseow_claims(exp=T + lifetime))
    assert_one(findings, Severity.ERROR, "exp", "longer than the 365d")


def test_qseow_ignores_cloud_rules() -> None:
    claims = qseow_claims(aud="anything", group="x", email_verified="yes", zone="eu")
    assert lint(Target.QSEOW, claims=claims) == []


# --- every token mint() makes passes lint ----------------------------------------------------

MINT_CASES = [
    (Target.QSEOW, {}),
    (Target.QSEOW, {"expires_in": "365d", "groups": "A,B", "attributes": "dept=x"}),
    (Target.QSEOW, {"user_id_claim": "uid", "user_directory_claim": "dir", "audience": "a"}),
    (Target.QSEOW, {"algorithm": "RS512", "expires_in": "1s", "clock_skew": "0s", "issuer": "ci"}),
    (Target.CLOUD, {}),
    (Target.CLOUD, {"expires_in": "1h"}),
    (Target.CLOUD, {"expires_in": "50m", "clock_skew": "10m", "groups": "A"}),
    (
        Target.CLOUD,
        {"expires_in": "1s", "clock_skew": "0s", "email_verified": "no", "algorithm": "PS384"},
    ),
    (Target.CLOUD, {"algorithm": "ES256"}),
]


@pytest.mark.parametrize(("target", "overrides"), MINT_CASES)
def test_every_minted_token_lints_without_errors(
    request: pytest.FixtureRequest, target: Target, overrides: Any
) -> None:
    pair = request.getfixturevalue(
        "ec_pair" if overrides.get("algorithm") == "ES256" else "rsa_pair"
    )
    settings = parse(target, **overrides)
    minted = mint(settings, signing_key(pair.private_pem), now=NOW_S, jti=FIXED_JTI)
    verify_independently(minted.token, pair.certificate_pem, settings.algorithm, check_time=False)
    header, claims = decode_unverified(minted.token)
    qseow = settings if isinstance(settings, QseowSettings) else None
    findings = lint_token(
        header,
        claims,
        target,
        now=NOW_S,
        user_id_claim=qseow.user_id_claim if qseow else None,
        user_directory_claim=qseow.user_directory_claim if qseow else None,
    )
    assert only(findings, Severity.ERROR) == {}
    # the only warnings lint may add are the ones settings already gave (long life, algorithm)
    for finding in findings:
        assert finding.subject in {"exp", "alg"}, finding


@pytest.mark.parametrize(
    ("size", "severity", "says"),
    [
        (8 * 1024, None, ""),
        (8 * 1024 + 1, Severity.WARNING, "is 8.0 KB, over the 8 KB"),
        (16 * 1024, Severity.WARNING, "is 16.0 KB, over the 8 KB"),
        (16 * 1024 + 1, Severity.ERROR, "is 16.0 KB, over the 16 KB"),
        (167 * 1024, Severity.ERROR, "is 167.0 KB, over the 16 KB"),
    ],
)
def test_token_size(size: int, severity: Severity | None, says: str) -> None:
    """The same limits mint applies, for any token: the size and the limit it passed."""
    findings = [
        f
        for f in lint_token({"alg": "RS256"}, qseow_claims(), Target.QSEOW, now=NOW_S, size=size)
        if f.subject == "token"
    ]
    assert [f.severity for f in findings] == ([severity] if severity else [])
    assert all(f.message.startswith(says) for f in findings)
