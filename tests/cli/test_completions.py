"""The shell completion scripts in completions/ are generated from the parsers
(scripts/completions.py) and kept up to date; bash completes with them as a user's shell would."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from scripts import completions

BASH = shutil.which("bash")


def test_the_committed_scripts_are_the_parser_s() -> None:
    for path, text in completions.scripts().items():
        assert path.is_file(), f"{path.name} missing: run make completions"
        assert path.read_text() == text, f"{path.name} is out of date: run make completions"


def _complete(*words: str) -> list[str]:
    assert BASH is not None
    script = completions.DIRECTORY / completions.SCRIPTS["bash"]
    line = " ".join(words)
    program = (
        f'source "{script}"; COMP_WORDS=({" ".join(repr(w) for w in words)}); '
        f"COMP_CWORD={len(words) - 1}; COMP_LINE={line!r}; COMP_POINT={len(line)}; "
        'COMPREPLY=(); _shtab_qs_jwt; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run([BASH, "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.mark.skipif(BASH is None, reason="no bash")
@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("qs-jwt", "qse"), ["qseow"]),
        (("qs-jwt", "check", "o"), ["oauth"]),
        (("qs-jwt", "check", "qseow", "--virtual"), ["--virtual-proxy-url"]),
        (("qs-jwt", "lint", "--format", ""), ["text", "json"]),
        (("qs-jwt", "verify", "--token"), ["--token-file"]),
        (("qs-jwt", "qseow", "--vault-ad"), ["--vault-address"]),
    ],
)
def test_bash_completes_commands_options_and_choices(
    words: tuple[str, ...], expected: list[str]
) -> None:
    assert _complete(*words) == expected


def test_the_scripts_are_static_files() -> None:
    """Nothing runs qs-jwt to complete: the scripts hold the words themselves."""
    for file in completions.SCRIPTS.values():
        text = (completions.DIRECTORY / file).read_text()
        assert "--user-directory" in text
        assert "qs-jwt qseow --" not in text
