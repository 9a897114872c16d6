"""The Symetrisk API as dlt reads it. The source (the tables, their state, what is skipped and
why) is `source.py`; its parts are beside it: client and transport (HTTP), auth, snapshots
(flattening and versions), contract (the columns every table declares), settings.

The names below load on first use (PEP 562), as in pipelines/warehouse/__init__.py, so a command
that needs only the settings (`symetrisk models`, `sql`) does not import dlt (about 0.4 s)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.symetrisk.source import call_self, symetrisk
    from pipelines.symetrisk.stats import RunStats

_MODULE_OF = {"RunStats": "stats", "call_self": "source", "symetrisk": "source"}
__all__ = ["RunStats", "call_self", "symetrisk"]


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
