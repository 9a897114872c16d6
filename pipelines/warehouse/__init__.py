"""The warehouse side of the pipeline: choosing the destination, run history, the run lock,
finishing a killed load, and opening the marts for readers. `open_marts` is what notebooks and
reports import."""

from pipelines.warehouse.readers import WarehouseMissing, open_marts, warehouse_path

__all__ = ["WarehouseMissing", "open_marts", "warehouse_path"]
