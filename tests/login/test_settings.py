"""Settings: every Qlik rule that can be checked before signing (spec §5), for both targets."""

from __future__ import annotations

from typing import Any

import pytest

from qsjwt.app.target import parse_settings
from qsjwt.base.errors import InputError, spell
from qsjwt.base.inputs import INPUTS, JWT_TARGETS, Target, parse_target
from qsjwt.base.rules import MAX_VALUE_LENGTH, REGISTERED_CLAIMS
from qsjwt.login.settings import CloudSettings, QseowSettings
from tests.helpers import (
    BOTH_TARGETS,
    CLOUD_REQUIRED,
    QSEOW_REQUIRED,
    assert_error,
    jwt_settings,
    parse,
    parse_cloud,
    parse_qseow,
    refused,
    warnings_about,
)

TEXT_INPUTS = {
    target: [spec.name for spec in INPUTS if target in spec.targets and not spec.is_list]
    for target in JWT_TARGETS
}
CLAIM_INPUTS = ("user-id-claim", "user-directory-claim", "groups-claim")


# --- defaults --------------------------------------------------------------------------------


def test_qseow_defaults() -> None:
    settings = parse_qseow()
    assert settings == QseowSettings(
        user_id="alice",
        user_directory="CORP",
        user_id_claim="userId",
        user_directory_claim="userDirectory",
        groups_claim="groups",
        lifetime=3600,
        clock_skew=10,
        algorithm="RS256",
    )


def test_cloud_defaults() -> None:
    settings = parse_cloud()
    assert settings == CloudSettings(
        issuer="idp.example.com",
        key_id="kid-1",
        subject="svc_ci",
        name="CI Service",
        email="ci@example.com",
        email_verified=True,
        lifetime=300,
        clock_skew=10,
        algorithm="RS256",
    )


@BOTH_TARGETS
def test_settings_are_frozen(target: Target) -> None:
    settings = parse(target)
    with pytest.raises(AttributeError):  # a named tuple: its fields cannot be set
        settings.lifetime = 1  # type: ignore[misc]


@BOTH_TARGETS
def test_values_are_stripped(target: Target) -> None:
    spaced = {name: f"  {value}\n" for name, value in {**CLOUD_REQUIRED, **QSEOW_REQUIRED}.items()}
    settings = jwt_settings(parse_settings(target, spaced))
    if isinstance(settings, QseowSettings):
        assert (settings.user_id, settings.user_directory) == ("alice", "CORP")
    else:
        assert (settings.issuer, settings.subject, settings.email) == (
            "idp.example.com",
            "svc_ci",
            "ci@example.com",
        )


# --- required values (rules 11, 22) ----------------------------------------------------------

REQUIRED_CASES = [(Target.QSEOW, name) for name in QSEOW_REQUIRED] + [
    (Target.CLOUD, name) for name in CLOUD_REQUIRED
]


@pytest.mark.parametrize(("target", "name"), REQUIRED_CASES)
@pytest.mark.parametrize("value", [None, "", "   ", "\n"], ids=["missing", "empty", "spaces", "nl"])
def test_required_input(target: Target, name: Any, value: str | None) -> None:
    refused(target, name, "is required", **{name: value})


@pytest.mark.parametrize("name", ["user-id", "user-directory"])
@pytest.mark.parametrize("value", ["CORP\\alice", "\\", "alice\\"])
def test_qseow_identity_refuses_backslash(name: str, value: str) -> None:
    refused(Target.QSEOW, name, "backslash", **{name: value})


def test_qseow_identity_accepts_other_punctuation() -> None:
    settings = parse_qseow(user_id="alice.o'neil@corp/x", user_directory="CORP-1")
    assert settings.user_id == "alice.o'neil@corp/x"


# --- QSEoW claim names (rule 21) -------------------------------------------------------------


@pytest.mark.parametrize("name", CLAIM_INPUTS)
@pytest.mark.parametrize("claim", sorted(REGISTERED_CLAIMS))
def test_registered_claim_name_is_an_error(name: Any, claim: Any) -> None:
    refused(Target.QSEOW, name, "registered JWT claim", **{name: claim})


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("user-id-claim", "user-directory-claim"),
        ("user-id-claim", "groups-claim"),
        ("user-directory-claim", "groups-claim"),
    ],
)
def test_duplicate_claim_names(first: str, second: str) -> None:
    err = refused(
        Target.QSEOW, second, "is the same claim name as", **{first: "uid", second: "uid"}
    )
    assert first in err.message


def test_duplicate_with_a_default_claim_name() -> None:
    refused(Target.QSEOW, "groups-claim", "same claim name as user-id-claim", groups_claim="userId")


@pytest.mark.parametrize("name", CLAIM_INPUTS)
@pytest.mark.parametrize("claim", ["user id", "1st", "a/b", "naïve", "a=b", '"x"'])
def test_unusable_claim_name(name: Any, claim: str) -> None:
    refused(Target.QSEOW, name, "is not a usable claim name", **{name: claim})


def test_custom_claim_names_are_kept() -> None:
    settings = parse(
        Target.QSEOW, user_id_claim="uid", user_directory_claim="dir", groups_claim="sense:roles"
    )
    assert isinstance(settings, QseowSettings)
    assert (settings.user_id_claim, settings.user_directory_claim, settings.groups_claim) == (
        "uid",
        "dir",
        "sense:roles",
    )


@pytest.mark.parametrize("name", CLAIM_INPUTS)
@pytest.mark.parametrize("claim", ["name", "email"])
def test_claim_name_that_the_name_or_email_input_also_sets(name: Any, claim: str) -> None:
    # Found by these tests: user-id-claim=name with --name let the display name overwrite the
    # user id in the token, silently. Now an error, unless that input is left empty.
    refused(Target.QSEOW, name, "would overwrite", **{name: claim, claim: "x@example.com"})
    assert parse_qseow(**{name: claim})


# --- attributes (issue: an attribute may not overwrite a claim the tool sets) ----------------


def test_attributes_from_text_and_list() -> None:
    text = parse_qseow(attributes="dept=Sales\r\nregion = EU, West \n\nlevel=a=b")
    listed = parse_qseow(attributes=["dept=Sales", "region= EU, West", "level=a=b"])
    expected = (("dept", "Sales"), ("region", "EU, West"), ("level", "a=b"))
    assert text.attributes == listed.attributes == expected


def test_attribute_with_empty_value_is_kept() -> None:
    assert parse_qseow(attributes="flag=").attributes == (("flag", ""),)


@pytest.mark.parametrize("item", ["dept", "=Sales", " = Sales", "dept:Sales"])
def test_attribute_not_key_value(item: str) -> None:
    refused(Target.QSEOW, "attributes", "is not KEY=VALUE", attributes=item)


@pytest.mark.parametrize("key", ["1dept", "my dept", "dépt", "a/b"])
def test_attribute_key_not_a_claim_name(key: str) -> None:
    refused(Target.QSEOW, "attributes", "is not a usable claim name", attributes=f"{key}=x")


TOOL_CLAIMS = ["userId", "userDirectory", "groups", "name", "email", "iss", "aud"]
TOOL_CLAIMS += ["jti", "iat", "nbf", "exp", "sub"]


@pytest.mark.parametrize("key", TOOL_CLAIMS)
def test_attribute_may_not_overwrite_a_claim_the_tool_sets(key: Any) -> None:
    refused(Target.QSEOW, "attributes", "would overwrite a claim", attributes=f"{key}=x")


@pytest.mark.parametrize("key", ["uid", "dir", "roles"])
def test_attribute_may_not_overwrite_custom_claim_names(key: str) -> None:
    refused(
        Target.QSEOW,
        "attributes",
        "would overwrite",
        attributes=f"{key}=x",
        user_id_claim="uid",
        user_directory_claim="dir",
        groups_claim="roles",
    )


def test_attribute_may_use_a_default_name_that_is_not_in_use() -> None:
    settings = parse_qseow(attributes="userId=x", user_id_claim="uid")
    assert settings.attributes == (("userId", "x"),)


def test_attribute_given_twice() -> None:
    refused(
        Target.QSEOW, "attributes", "item 2: the name is given twice", attributes="dept=a\ndept=b"
    )


# --- Qlik Cloud: email_verified, lifetime and clock skew (rules 11, 14, 15) ------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("on", True),
        ("1", True),
        ("", True),  # the default
        (None, True),
        ("false", False),
        ("False", False),
        ("no", False),
        ("off", False),
        ("0", False),
    ],
)
def test_email_verified(text: str | None, expected: bool) -> None:
    settings = parse_cloud(email_verified=text)
    assert settings.email_verified is expected


@pytest.mark.parametrize("text", ["maybe", "verified", "2", "t", "nope"])
def test_email_verified_garbage(text: str) -> None:
    refused(Target.CLOUD, "email-verified", "is not true or false", email_verified=text)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600)])
def test_cloud_lifetime(text: str, seconds: int) -> None:
    assert parse_cloud(expires_in=text).lifetime == seconds


@pytest.mark.parametrize("text", ["3601", "61m", "2h", "1d", "999999999999w"])
def test_cloud_lifetime_over_an_hour(text: str) -> None:
    refused(Target.CLOUD, "expires-in", "longer than the 1h (3600 s)", expires_in=text)


@pytest.mark.parametrize(("lifetime", "skew"), [("1h", "10s"), ("1h", "59m"), ("55m", "6m")])
def test_cloud_skew_does_not_count_against_the_hour(lifetime: str, skew: str) -> None:
    # The whole window moves back, so exp - nbf stays expires-in: 1h is valid with any skew.
    settings = parse_cloud(expires_in=lifetime, clock_skew=skew)
    assert settings.lifetime <= 3600 and settings.clock_skew > 0


@BOTH_TARGETS
@pytest.mark.parametrize(
    ("skew", "seconds"), [("", 10), (None, 10), ("0", 0), ("0s", 0), ("30s", 30), ("2m", 120)]
)
def test_clock_skew_default_and_values(target: Target, skew: str | None, seconds: int) -> None:
    assert parse(target, clock_skew=skew).clock_skew == seconds


@BOTH_TARGETS
@pytest.mark.parametrize(("lifetime", "skew"), [("10s", ""), ("30s", "30s"), ("5m", "1h")])
def test_clock_skew_not_shorter_than_the_lifetime_names_both(
    target: Target, lifetime: str, skew: str
) -> None:
    # The token would have expired before anyone could use it.
    err = refused(
        target, "clock-skew", "is not shorter than expires-in", expires_in=lifetime, clock_skew=skew
    )
    assert "expires-in" in err.render() and "0s turns it off" in err.render()


@BOTH_TARGETS
@pytest.mark.parametrize("skew", ["-10s", "ten", "1 m"])
def test_clock_skew_unparseable(target: Target, skew: str) -> None:
    refused(target, "clock-skew", "is not a duration", clock_skew=skew)


# --- QSEoW lifetime (rule 23) ----------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [("", 3600), ("30s", 30), ("24h", 86400)])
def test_qseow_lifetime_without_warning(text: str, seconds: int) -> None:
    settings = parse_qseow(expires_in=text)
    assert settings.lifetime == seconds
    assert settings.warnings == ()


@pytest.mark.parametrize("text", ["86401", "25h", "2d", "2w", "365d"])
def test_qseow_lifetime_over_a_day_warns(text: str) -> None:
    settings = parse_qseow(expires_in=text)
    [message] = warnings_about(settings.warnings, "expires-in")
    assert "over 24h" in message


@pytest.mark.parametrize("text", ["366d", "53w", "31536001", "999999999999w"])
def test_qseow_lifetime_over_a_year(text: str) -> None:
    refused(Target.QSEOW, "expires-in", "longer than the 365d", expires_in=text)


@BOTH_TARGETS
@pytest.mark.parametrize("text", ["0", "0s", "-1", "-5m", "1 hour", "5x", "1.5h", "9999999999999"])
def test_bad_lifetime(target: Target, text: str) -> None:
    refused(target, "expires-in", expires_in=text)


# --- algorithms as inputs (rule 1; details in test_algorithms.py) ----------------------------


@BOTH_TARGETS
@pytest.mark.parametrize("text", ["none", "HS256", "hs512", "EdDSA"])
def test_algorithm_refused(target: Target, text: str) -> None:
    refused(target, "algorithm", repr(text), algorithm=text)


@BOTH_TARGETS
@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("RS1024", "the value given is not accepted"),
        ("S3cret-passphrase", "the value given is not accepted"),
        ("-----BEGIN PRIVATE KEY-----", "holds a credential"),  # the one token-shape rule
    ],
)
def test_algorithm_not_a_jws_name_is_not_shown(target: Target, text: str, said: str) -> None:
    err = refused(target, "algorithm", said, algorithm=text)
    assert text not in err.render()


@pytest.mark.parametrize("text", ["PS256", "ES256", "ES512"])
def test_qseow_refuses_pss_and_ecdsa(text: str) -> None:
    refused(Target.QSEOW, "algorithm", "not accepted by a QSEoW virtual proxy", algorithm=text)


@pytest.mark.parametrize("text", ["RS384", "RS512", "PS256", "PS512", "ES256", "es384"])
def test_cloud_non_rs256_warns(text: str) -> None:
    settings = parse_cloud(algorithm=text)
    assert settings.algorithm == text.upper()
    [message] = warnings_about(settings.warnings, "algorithm")
    assert "RS256" in message


@pytest.mark.parametrize("text", ["RS384", "rs512"])
def test_qseow_rs_family_without_warning(text: str) -> None:
    settings = parse_qseow(algorithm=text)
    assert (settings.algorithm, settings.warnings) == (text.upper(), ())


# --- every text value: control characters, length, lists ------------------------------------

TEXT_CASES = [(target, name) for target in JWT_TARGETS for name in TEXT_INPUTS[target]]


@pytest.mark.parametrize(("target", "name"), TEXT_CASES)
@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\tb", "a\x00b", "a\x1bb", "a\x7fb"], ids=repr)
def test_control_characters_refused(target: Target, name: Any, bad: str) -> None:
    refused(target, name, "control character", **{name: bad})


@pytest.mark.parametrize(("target", "name"), TEXT_CASES)
def test_over_long_value_refused(target: Target, name: Any) -> None:
    refused(target, name, f"{MAX_VALUE_LENGTH + 1} characters", **{name: "x" * 1025})


@pytest.mark.parametrize("name", ["user-id", "user-directory", "name", "audience", "issuer"])
def test_longest_value_accepted(name: str) -> None:
    settings = parse_qseow(**{name: "x" * MAX_VALUE_LENGTH})
    assert "x" * MAX_VALUE_LENGTH in tuple(settings)


@BOTH_TARGETS
@pytest.mark.parametrize("name", ["user-id", "issuer", "email", "expires-in"])
def test_list_for_a_single_value_input(target: Target, name: str) -> None:
    if name == "user-id" and target is Target.CLOUD:
        name = "subject"
    refused(target, name, "takes one value, not a list", **{name: ["a", "b"]})


# --- groups (rules 16, 26) ------------------------------------------------------------------


@BOTH_TARGETS
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Sales", ("Sales",)),
        ("Sales\nMarketing", ("Sales", "Marketing")),
        ("Sales\r\nMarketing\r\n", ("Sales", "Marketing")),
        # A comma never splits: an LDAP distinguished name is one group, as with --group.
        ("CN=Admins,OU=Groups,DC=corp", ("CN=Admins,OU=Groups,DC=corp",)),
        (
            " CN=Admins,OU=Groups,DC=corp \n\n  CN=R&D $TEAM,OU=Groups \n",
            ("CN=Admins,OU=Groups,DC=corp", "CN=R&D $TEAM,OU=Groups"),
        ),
        ("Sales\nOps\nSales\nOps", ("Sales", "Ops")),  # duplicates dropped, order kept
        (["CN=Admins,OU=Groups,DC=corp", "Ops"], ("CN=Admins,OU=Groups,DC=corp", "Ops")),
        ([" Sales ", "", "  "], ("Sales",)),
        ("", ()),
        ([], ()),
        (" \n\r\n  \n", ()),
    ],
)
def test_groups(target: Target, raw: Any, expected: Any) -> None:
    settings = parse(target, groups=raw)
    assert settings.groups == expected
    assert not comma_warnings(settings)


def comma_warnings(settings: QseowSettings | CloudSettings) -> list[str]:
    return [m for m in warnings_about(settings.warnings, "groups") if "holds a comma" in m]


@BOTH_TARGETS
@pytest.mark.parametrize("line", ["Sales, Ops", '["Sales", "Ops"]'])  # no JSON form either
def test_comma_list_in_a_variable_is_one_group_with_a_warning(target: Target, line: str) -> None:
    # The old habit (A, B) now makes one group: say so, without repeating the value.
    settings = parse(target, groups=f"Dev\n{line}")
    assert settings.groups == ("Dev", line)
    [message] = comma_warnings(settings)
    assert "group 2" in message and "one per line" in message and "Sales" not in message


@BOTH_TARGETS
def test_repeated_flags_are_never_warned_about_commas(target: Target) -> None:
    settings = parse(target, groups=["Sales, Ops"])
    assert settings.groups == ("Sales, Ops",)
    assert not comma_warnings(settings)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("dept=R&D, North\nregion=EMEA", (("dept", "R&D, North"), ("region", "EMEA"))),
        ("\r\n dn=CN=x,OU=y \r\n\n", (("dn", "CN=x,OU=y"),)),
        (["dept=a,b", " region=c "], (("dept", "a,b"), ("region", "c"))),
    ],
)
def test_attributes_follow_the_same_list_rule(raw: Any, expected: Any) -> None:
    assert parse_qseow(attributes=raw).attributes == expected


@BOTH_TARGETS
@pytest.mark.parametrize("raw", [["Sales\tEMEA"], "Sales\tEMEA", "Sales\rEMEA", ["x" * 1025]])
def test_group_items_are_checked(target: Target, raw: Any) -> None:
    refused(target, "groups", groups=raw)


def test_qseow_groups_remind_to_map_the_claim() -> None:
    settings = parse_qseow(groups="Sales")
    [message] = warnings_about(settings.warnings, "groups")
    assert "'groups'" in message and "JWT attribute mapping" in message
    assert "give groups-claim" in spell(message, {})  # how to silence it


def test_naming_the_groups_claim_silences_the_reminder() -> None:
    """An expected warning on every run is noise: a groups-claim given says the proxy maps it."""
    for claim in ("roles", "groups"):
        settings = parse_qseow(groups="Sales", groups_claim=claim)
        assert warnings_about(settings.warnings, "groups") == []


def test_cloud_groups_do_not_warn() -> None:
    assert parse_cloud(groups="Sales").warnings == ()


# --- e-mail and issuer warnings (rules 9, 11) ------------------------------------------------


@BOTH_TARGETS
@pytest.mark.parametrize("email", ["not-an-email", "a@b", "a b@example.com", "@example.com"])
def test_odd_email_warns(target: Target, email: str) -> None:
    settings = parse(target, email=email)
    [message] = warnings_about(settings.warnings, "email")
    assert "does not look like an e-mail address" in message


@BOTH_TARGETS
@pytest.mark.parametrize(
    ("issuer", "fragment"),
    [("https://idp.example.com/", "ends with '/'"), ("my idp", "contains a space")],
)
def test_issuer_that_rarely_matches_warns(target: Target, issuer: str, fragment: str) -> None:
    settings = parse(target, issuer=issuer)
    [message] = warnings_about(settings.warnings, "issuer")
    assert fragment in message


@BOTH_TARGETS
def test_plain_issuer_does_not_warn(target: Target) -> None:
    assert parse(target, issuer="https://idp.example.com").warnings == ()


def test_qseow_optional_values() -> None:
    settings = parse_qseow(name="Alice", email="alice@example.com", audience="qlik", issuer="ci")
    assert (settings.name, settings.email, settings.audience, settings.issuer) == (
        "Alice",
        "alice@example.com",
        "qlik",
        "ci",
    )
    assert parse_qseow(name="", email=" ", audience="").name is None


# --- inputs of the other target --------------------------------------------------------------

OTHER_TARGET_CASES = [
    (target, spec.name) for target in JWT_TARGETS for spec in INPUTS if target not in spec.targets
]


@pytest.mark.parametrize(("target", "name"), OTHER_TARGET_CASES)
def test_input_of_the_other_target_is_ignored_with_a_warning(target: Target, name: Any) -> None:
    settings = parse(target, **{name: "x"})
    [message] = warnings_about(settings.warnings, name)
    assert message == f"is ignored for target {target.value}"


@pytest.mark.parametrize(("target", "name"), OTHER_TARGET_CASES)
@pytest.mark.parametrize("empty", ["", "  ", [], [""]])
def test_empty_input_of_the_other_target_is_silent(target: Target, name: Any, empty: Any) -> None:
    assert parse(target, **{name: empty}).warnings == ()


def test_every_input_belongs_to_a_target() -> None:
    assert OTHER_TARGET_CASES, "the table has target-specific inputs"
    assert {name for _, name in REQUIRED_CASES} <= {spec.name for spec in INPUTS}


# --- target ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "target"), [("qseow", Target.QSEOW), (" CLOUD\n", Target.CLOUD)])
def test_parse_target(text: str, target: Target) -> None:
    assert parse_target(text) is target


@pytest.mark.parametrize(("text", "fragment"), [("", "is required"), ("saas", "not a target")])
def test_parse_target_refuses(text: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse_target(text)
    assert_error(info.value, "target", fragment, "qseow")


@pytest.mark.parametrize(
    ("target", "given", "first", "others"),
    [
        (Target.QSEOW, {}, "user-id", "user-directory"),
        (Target.CLOUD, {"issuer": "idp"}, "key-id", "subject, name, email"),
    ],
)
def test_every_missing_required_input_is_named_at_once(
    target: Target, given: Any, first: str, others: str
) -> None:
    with pytest.raises(InputError) as info:
        parse_settings(target, given)
    assert info.value.input_name == first
    assert info.value.also_missing == tuple(others.split(", "))
    assert info.value.render().endswith(f"(also missing: {others})")
