"""Small text formats the shells share: times, and the names a token may be exported to."""

from __future__ import annotations

import datetime as dt

import pytest

from qsjwt.base.errors import InputError
from qsjwt.base.formats import check_variable_name, iso_utc


def test_iso_utc_is_utc_with_a_z() -> None:
    moment = dt.datetime(2026, 1, 31, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert iso_utc(moment) == "2026-01-31T12:00:00Z"


@pytest.mark.parametrize(
    "name",
    [
        "PATH",
        "path",
        "BASH_ENV",
        "ENV",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "DYLD_INSERT_LIBRARIES",
        "GITHUB_TOKEN",
        "GITHUB_PATH",
        "RUNNER_TEMP",
        "ACTIONS_RUNTIME_TOKEN",
        "CI_JOB_TOKEN",
        "NODE_OPTIONS",
        "PYTHONPATH",
        "PYTHONSTARTUP",
        "PERL5OPT",
        "JAVA_TOOL_OPTIONS",
        "PROMPT_COMMAND",
        "IFS",
        "HOME",
    ],
)
def test_names_that_change_how_later_steps_run_are_refused(name: str) -> None:
    with pytest.raises(InputError) as info:
        check_variable_name(name, input_name="export-env", example="QLIK_JWT")
    assert info.value.input_name == "export-env"
    assert "changes how later steps or jobs run" in info.value.message


@pytest.mark.parametrize("name", ["1BAD", "A-B", "A B", "", "X=1", "Ä"])
def test_what_is_no_variable_name_is_refused_without_repeating_it(name: str) -> None:
    with pytest.raises(InputError) as info:
        check_variable_name(name, input_name="dotenv-variable", example="QLIK_JWT")
    assert info.value.message == "is not an environment variable name"


@pytest.mark.parametrize("name", ["QLIK_JWT", "qlik_token", "_TOKEN", "MY_GITHUB", "TOKEN2"])
def test_names_of_ones_own_are_accepted(name: str) -> None:
    check_variable_name(name, input_name="export-env", example="QLIK_JWT")
