"""Switches only tests set. Product code reaches them through `pipeline_hooks()` alone, which
returns nothing and imports nothing unless a test variable is set."""

from __future__ import annotations

import os
from typing import Any

KILL_ENV = "SYMETRISK_TEST_KILL_AT"


def pipeline_hooks() -> dict[str, Any]:
    """Extra keyword arguments for `dlt.pipeline` that a test asked for (the kill switch of
    killpoint.py), or none."""
    value = os.environ.get(KILL_ENV)
    if not value:
        return {}
    from pipelines.testing.killpoint import collector_for

    return collector_for(value)
