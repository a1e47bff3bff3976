"""``python -m qsjwt`` and the ``qs-jwt`` console script: the command line, started light.

A command runs once and exits, so the start-up's imports (cryptography, qs-jwt's own modules)
run with the cyclic garbage collector off: its passes over the new objects free nothing then,
and took about a tenth of a cold ``qs-jwt qseow`` above a bare signer (``docs/performance.md``).
What was imported is then frozen (no later pass walks it) and the collector is on again for the
command itself, however long it runs (``bulk``, ``check``).
"""

import gc


def main() -> int:
    """Import the command line with the collector off, then run it; returns the exit code."""
    gc.disable()
    try:
        from qsjwt.cli import main as run  # noqa: PLC0415 (after the collector is off)
    finally:
        gc.freeze()
        gc.enable()
    try:
        return run()
    finally:
        # The process ends now: its last collection (of the whole heap, as Python exits) would
        # free nothing it needs, and took a third of a bulk run's exit (docs/performance.md).
        gc.freeze()


if __name__ == "__main__":
    raise SystemExit(main())
