"""The single-file executable's entry point (scripts/build-binary.sh): ``qsjwt.__main__:main``,
the console script's, with two things a frozen program needs first.

- ``multiprocessing.freeze_support()``: ``qs-jwt bulk`` starts worker processes; where they are
  spawned (Windows, macOS) a frozen worker must run its task, not the command line again.
- The system's CA certificates: the executable carries the OpenSSL of the machine that built
  it, which looks for them where that machine keeps them. Python from python.org on macOS keeps
  them in its own folder, and RHEL keeps them elsewhere than Ubuntu does. So, unless
  ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` says otherwise, ``SSL_CERT_FILE`` is set to the first
  bundle of ``CA_BUNDLES`` that exists. Windows needs nothing: Python reads the Windows
  certificate store. ``--ca-bundle`` still wins for a command that has it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, MutableMapping

CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # RHEL, Fedora, Alma, Rocky
    "/etc/pki/tls/certs/ca-bundle.crt",  # older RHEL, Amazon Linux
    "/etc/ssl/ca-bundle.pem",  # openSUSE, SLES
    "/etc/ssl/cert.pem",  # macOS, Alpine
)
"""Where operating systems keep their bundle of trusted CA certificates (PEM), in order."""


def use_system_ca_bundle(
    environ: MutableMapping[str, str],
    platform: str = sys.platform,
    exists: Callable[[str], bool] = os.path.isfile,
) -> str | None:
    """Point ``SSL_CERT_FILE`` at the system's CA bundle unless the user chose one; the
    bundle set, or None."""
    if platform == "win32" or "SSL_CERT_FILE" in environ or "SSL_CERT_DIR" in environ:
        return None
    for bundle in CA_BUNDLES:
        if exists(bundle):
            environ["SSL_CERT_FILE"] = bundle
            return bundle
    return None


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()
    use_system_ca_bundle(os.environ)
    from qsjwt.__main__ import main

    sys.exit(main())
