"""Choosing the warehouse: which dlt destination a run writes to and, when it is a local DuckDB
file, which file. Every command that touches the warehouse asks here, so they all agree."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipelines.symetrisk import settings


def warehouse_file(destination: str | None) -> str | None:
    """The DuckDB file a run writes to, or None when the destination is not a local file."""
    if destination:
        return destination if destination.endswith(".duckdb") else None
    configured = os.environ.get("DESTINATION__DUCKDB__CREDENTIALS")
    if configured:
        path = configured.removeprefix("duckdb:///")
        return (
            path
            if "://" not in path and path != ":memory:" and not path.startswith("md:")
            else None
        )
    return settings.DEFAULT_WAREHOUSE


def resolve_destination(name: str | None) -> tuple[Any, str | None]:
    """(dlt destination, DuckDB file path when the warehouse is a local file). A local file gets
    settings.DUCKDB_CONFIG, so a large merge spills to disk instead of taking the memory."""
    import dlt

    if name and not name.endswith(".duckdb"):
        return name, None
    file = warehouse_file(name)
    if file is None:
        return "duckdb", None  # MotherDuck or a connection string: dlt reads it as it is
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    path = Path(file)
    path.parent.mkdir(parents=True, exist_ok=True)
    credentials = DuckDbCredentials(str(path.resolve()), global_config=settings.DUCKDB_CONFIG)
    return dlt.destinations.duckdb(credentials=credentials), str(path)


def duckdb_path(pipeline: Any) -> str | None:
    try:
        credentials = pipeline.destination_client().config.credentials
        return str(getattr(credentials, "database", None) or "") or None
    except Exception:  # noqa: BLE001 - only for the closing note
        return None


def default_database() -> str:
    value = os.environ.get("DESTINATION__DUCKDB__CREDENTIALS", "").strip()
    if value.startswith("duckdb:///"):
        value = value[len("duckdb:///") :]
    return value or settings.DEFAULT_WAREHOUSE
