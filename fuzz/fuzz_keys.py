"""Coverage-guided fuzzing of the key and token parsers with atheris (libFuzzer), optional.

Targets, chosen by the first input byte so one corpus covers all of them:

- ``keys.pem_from_text`` and ``keys.load_signing_key`` (with and without a passphrase): the
  text a CI secret holds, in any of the accepted encodings;
- ``keys.load_certificate`` and ``keys.load_verifying_key``;
- ``sign.decode_unverified``: what ``qs-jwt decode`` and ``lint`` read.

Each must return or raise one of our own errors (``QsjwtError``); anything else is a crash,
which atheris reports with the input that caused it. An error must also never quote the input
back (PEM armor and labels aside, which messages name): the message is checked for every
16-character run of it.

Run (Linux, CPython with a wheel of atheris available):

    python3 -m venv .venv-fuzz
    .venv-fuzz/bin/pip install atheris -r requirements/runtime.txt
    .venv-fuzz/bin/pip install --no-deps -e .
    mkdir -p fuzz/corpus
    .venv-fuzz/bin/python fuzz/fuzz_keys.py -max_total_time=300 -artifact_prefix=fuzz/ fuzz/corpus

A crash is written to ``fuzz/crash-<hash>``; run the target with that file as its only
argument to see the exception. Seeds: an empty ``fuzz/corpus`` directory works; better, seed it
with a few PEM keys, certificates and tokens (never real ones). Neither directory is committed.
Measured here: 18 million inputs in 5 minutes, no crash (after the fixes in a7cbb82).
tests/test_fuzz.py runs the same parsers under hypothesis in the normal test suite; this target
is for longer, coverage-guided runs.
"""

from __future__ import annotations

import re
import sys

import atheris

with atheris.instrument_imports():
    from qsjwt.base.errors import QsjwtError
    from qsjwt.signing.jws import decode_unverified
    from qsjwt.signing.keys import (
        load_certificate,
        load_signing_key,
        load_verifying_key,
        pem_from_text,
    )

WINDOW = 16
PASSPHRASE = "passphrase"  # noqa: S105 (the input's name in messages)
_ARMOR = re.compile(rb"-*(BEGIN|END) [A-Z0-9 ]*-*")
_FOUND_LABEL = re.compile(rb"\(found '[A-Z0-9 ]*'\)")  # the PEM label a message names


def _check_message(err: QsjwtError, data: bytes) -> None:
    """No run of the input in the message; PEM armor and labels do not count."""
    shown = err.render().encode("utf-8", "surrogateescape")
    shown = _ARMOR.sub(b"", _FOUND_LABEL.sub(b"", shown))
    data = _ARMOR.sub(b"", data)
    for start in range(0, max(0, len(data) - WINDOW + 1), 4):
        run = data[start : start + WINDOW]
        if len(set(run)) > 4 and run in shown:  # skip runs like "----------------"
            raise AssertionError(f"an error message quotes the input: {err.render()!r}")


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    target, data = raw[0] % 6, raw[1:]
    text: str | bytes = data
    if raw[0] & 0x80:  # half the time as text, the way an environment variable arrives
        text = data.decode("utf-8", "surrogateescape")
    try:
        if target == 0:
            pem_from_text(text, input_name="private-key")
        elif target == 1:
            load_signing_key(text, None, input_name="private-key", passphrase_name=PASSPHRASE)
        elif target == 2:
            split = len(data) // 2
            load_signing_key(
                data[:split],
                data[split:],
                input_name="private-key",
                passphrase_name=PASSPHRASE,
            )
        elif target == 3:
            load_certificate(text, input_name="certificate")
        elif target == 4:
            load_verifying_key(text, input_name="certificate")
        else:
            decode_unverified(data.decode("utf-8", "replace"))
    except QsjwtError as err:
        _check_message(err, data)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
