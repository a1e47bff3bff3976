"""``python -m qsjwt`` runs the command line."""

from qsjwt.cli import main

raise SystemExit(main())
