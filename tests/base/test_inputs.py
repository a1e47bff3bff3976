"""The one table of settings: every spelling of an input is derived from it, so each must be
unique, and each target's required inputs must be among its own."""

from __future__ import annotations

import pytest

from qsjwt.base.inputs import BY_NAME, INPUTS, Target, default_lifetime, inputs_for, required_for


def test_names_variables_and_flags_are_unique() -> None:
    for spelling in ("name", "env_var", "cli_flag"):
        values = [getattr(spec, spelling) for spec in INPUTS]
        assert len(values) == len(set(values)), spelling
    assert set(BY_NAME) == {spec.name for spec in INPUTS}


def test_spellings_follow_the_conventions() -> None:
    for spec in INPUTS:
        assert spec.name == spec.name.lower() and " " not in spec.name
        assert spec.env_var == "QSJWT_" + spec.name.upper().replace("-", "_")
        assert spec.cli_flag.startswith("--")
        assert spec.description.endswith(".")


@pytest.mark.parametrize("target", list(Target))
def test_required_inputs_belong_to_their_target(target: Target) -> None:
    names = {spec.name for spec in inputs_for(target)}
    assert set(required_for(target)) <= names
    assert required_for(target)


def test_the_required_inputs_of_each_target() -> None:
    assert required_for(Target.QSEOW) == ("user-id", "user-directory")
    assert required_for(Target.CLOUD) == ("issuer", "key-id", "subject", "name", "email")


def test_default_lifetimes_are_short() -> None:
    assert (default_lifetime(Target.QSEOW), default_lifetime(Target.CLOUD)) == ("1h", "5m")
