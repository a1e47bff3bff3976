"""The version of qs-jwt: the one place the package, ``qs-jwt --version`` and the image read it.

A checkout says ``0.0.0.dev0`` (nothing released is ever 0.0.0). A release stamps the version
of its tag into this file before anything is built: ``python scripts/set_version.py v1.2.3``
(the release workflow does so for the wheel and sdist; the Dockerfile does so from its
``QSJWT_VERSION`` build argument, because an image build context has no ``.git``).
A build from a checkout also names its commit: ``make`` writes it into ``qsjwt/COMMIT``
(``scripts/set_version.py --record-commit``) before it installs qs-jwt, and ``--version``
reads it; nothing runs git when qs-jwt starts.
"""

__version__ = "0.0.0.dev0"
