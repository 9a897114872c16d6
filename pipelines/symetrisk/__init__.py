"""The Symetrisk API as dlt reads it: the source (`source.py`, which tables a client loads) and
its resources (`resources.py`); beside them the HTTP side (client, transport, responses, auth),
snapshots (plans, flattening, versions), contract (the columns every table declares), settings.

The names below load on first use (PEP 562), as in pipelines/warehouse/__init__.py, so a command
that needs only the settings (`symetrisk models`, `sql`) does not import dlt (about 0.4 s)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.symetrisk.company import call_self
    from pipelines.symetrisk.source import symetrisk
    from pipelines.symetrisk.stats import RunStats

_MODULE_OF = {"RunStats": "stats", "call_self": "company", "symetrisk": "source"}
__all__ = ["RunStats", "call_self", "symetrisk"]


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
