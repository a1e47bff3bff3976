"""Small text formats that more than one shell writes, so the CLI and the action agree."""

from __future__ import annotations

import datetime as dt
import re

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A name every shell accepts for an environment variable (dotenv files, GITHUB_ENV)."""


def iso_utc(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: what ``date -d``, JavaScript and Python all parse."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
