"""The warehouse side of the pipeline: choosing the destination, run history and the run
journal, the run lock, finishing a killed load, publishing a build, and opening the marts for
readers. `open_marts` is what notebooks and reports import."""

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
