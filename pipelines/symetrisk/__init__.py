"""The Symetrisk API as dlt reads it. The source (the tables, their state, what is skipped and
why) is `source.py`; its parts are beside it: client and transport (HTTP), auth, snapshots
(flattening and versions), contract (the columns every table declares), settings.

The package itself imports nothing, so a command that needs only the settings (`symetrisk
models`, `sql`) does not import dlt (about 0.4 s). `symetrisk`, `RunStats` and the source's other
names are loaded from `source.py` the first time they are asked for."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

__all__ = ["RunStats", "symetrisk"]


def __getattr__(name: str) -> Any:
    # a submodule (`from pipelines.symetrisk import settings` asks for it here first) is left
    # to the import system
    if name.startswith("__") or importlib.util.find_spec(f"{__name__}.{name}") is not None:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"{__name__}.source"), name)
