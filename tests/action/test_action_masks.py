"""Masks for multi-line secrets (issue 19): the runner masks a value only as a whole, so the
action masks each line too, for every credential, fetched ones included (``on_secret``)."""

from __future__ import annotations

from qsjwt.action.runner import Runner, Step


def test_each_line_of_a_secret_is_masked_and_the_whole() -> None:
    masked: list[str] = []
    runner = Runner(masked.append, lambda *_args: None, lambda name, value: "", debugging=False)
    Step({}, runner).mask("  first-line-of-it\r\nsecond-line-of-it\n\n  third  \n")
    assert masked == [
        "first-line-of-it\r\nsecond-line-of-it\n\n  third",
        "first-line-of-it",
        "second-line-of-it",
        "third",
    ]


def test_a_one_line_secret_is_masked_once() -> None:
    masked: list[str] = []
    runner = Runner(masked.append, lambda *_args: None, lambda name, value: "", debugging=False)
    Step({}, runner).mask(" hvs.a-vault-token \n")
    assert masked == ["hvs.a-vault-token"]
