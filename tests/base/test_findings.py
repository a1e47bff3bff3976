"""A finding renders as one line naming its subject the way the shell spells it."""

from __future__ import annotations

from qsjwt.base.findings import Finding, Severity, warning


def test_a_warning_names_its_subject_as_spelled() -> None:
    found = warning("is over 24h", "expires-in")
    assert found == Finding(Severity.WARNING, "is over 24h", "expires-in")
    assert found.render() == "expires-in: is over 24h"
    assert found.render({"expires-in": "QSJWT_EXPIRES_IN"}) == "QSJWT_EXPIRES_IN: is over 24h"


def test_a_finding_without_a_subject_is_its_message() -> None:
    assert Finding(Severity.ERROR, "no subject").render() == "no subject"
    assert Severity.ERROR.value == "error" and Severity.WARNING.value == "warning"
