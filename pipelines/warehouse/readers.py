"""Opening the warehouse for reading, from notebooks and reports: read-only, found from the
project root whatever the working directory, and with one clear message when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipelines.warehouse.destination import default_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class WarehouseMissing(RuntimeError):
    """The warehouse file or its marts do not exist yet."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the reader needs the fix, not our stack.
        return [f"WarehouseMissing: {self}"]


def warehouse_path(database: str | None = None) -> str:
    """The DuckDB file to read: the argument, $SYMETRISK_WAREHOUSE, or the loader's default. A
    relative path is taken from the working directory, or else from the project root (a
    notebook runs in notebooks/)."""
    value = database or os.environ.get("SYMETRISK_WAREHOUSE") or default_database()
    if value.startswith("md:") or Path(value).is_absolute() or Path(value).exists():
        return value
    return str(PROJECT_ROOT / value)


def open_marts(
    database: str | None = None, schema: str = "analytics", require_marts: bool = True
) -> duckdb.DuckDBPyConnection:
    """A read-only connection whose search path is the marts schema (when it exists)."""
    path = warehouse_path(database)
    if not path.startswith("md:") and not Path(path).exists():
        raise WarehouseMissing(
            f"no warehouse at {path}: run `make run` first to load the sandbox and build the models"
        )
    con = duckdb.connect(path, read_only=True)
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()[0][0]
    if not found and require_marts:
        con.close()
        raise WarehouseMissing(
            f"{path} has no '{schema}' tables: run `make run` (or `make models`) to build them"
        )
    if found:
        con.execute(f'set search_path = "{schema}"')
    return con
