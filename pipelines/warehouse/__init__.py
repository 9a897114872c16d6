"""The warehouse side of the pipeline: choosing the destination, run history and the run
journal, the run lock, finishing a killed load, publishing a build, and opening the marts for
readers. `open_marts` is what notebooks and reports import.

The reader names load on first use (PEP 562), so a module of this package that needs none of
them (the dbt build, say) does not import readers.py and, through it, dlt."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.warehouse.readers import (
        WarehouseBusy,
        WarehouseMissing,
        WarehouseUnavailable,
        open_marts,
        warehouse_path,
    )

__all__ = [
    "WarehouseBusy",
    "WarehouseMissing",
    "WarehouseUnavailable",
    "open_marts",
    "warehouse_path",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("pipelines.warehouse.readers"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
