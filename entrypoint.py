"""The container's entrypoint for the GitHub Action; the work is in qsjwt/action.py."""

from qsjwt.action import main

raise SystemExit(main())
