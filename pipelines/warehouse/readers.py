"""Opening the warehouse for reading, from notebooks, reports and `symetrisk sql`: read-only,
the published file (pipelines/warehouse/publish.py) and never the loader's working file, found
from the project root whatever the working directory, and with one clear message when it is
missing or held by a writer.

A reader may keep its connection for hours: the loader never opens the published file, it
replaces it, so a connection keeps reading the build it opened and the next open sees the
newest one."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipelines.warehouse.destination import default_database
from pipelines.warehouse.runlock import busy_message
from pipelines.warehouse.runs import first_line

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# DuckDB settings of a locked-down reader: no other files, databases or extensions, and no way
# to change that from SQL
LOCKED_DOWN = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be read now; the message says why and what to do."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the reader needs the fix, not our stack.
        return [f"{type(self).__name__}: {self}"]


class WarehouseMissing(WarehouseUnavailable):
    """The warehouse file or its marts do not exist yet."""


class WarehouseBusy(WarehouseUnavailable):
    """Another process holds the warehouse file for writing (not `symetrisk run`, which never
    opens it), or it cannot be opened at all."""


def warehouse_path(database: str | None = None) -> str:
    """The DuckDB file to read: the argument, $SYMETRISK_WAREHOUSE, or the loader's default. A
    relative path is taken from the working directory, or else from the project root (a
    notebook runs in notebooks/)."""
    value = database or os.environ.get("SYMETRISK_WAREHOUSE") or default_database()
    if value.startswith("md:") or Path(value).is_absolute() or Path(value).exists():
        return value
    return str(PROJECT_ROOT / value)


def open_marts(
    database: str | None = None,
    schema: str = "analytics",
    require_marts: bool = True,
    locked_down: bool = False,
    limits: dict[str, object] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the newest published build whose search path is the marts
    schema (when it exists). `locked_down`: no access to other files, databases or extensions
    (LOCKED_DOWN), and the configuration locked so SQL cannot undo it; `limits`: DuckDB settings
    applied before that (memory, temp space: pipelines/warehouse/query_limits.py). Raises
    WarehouseMissing or WarehouseBusy."""
    path = warehouse_path(database)
    if not path.startswith("md:") and not Path(path).exists():
        raise WarehouseMissing(
            f"no warehouse at {path}: run `make run` first to load the sandbox and build the models"
        )
    try:
        con = _connect(path, limits)
    except duckdb.Error as exc:
        message = busy_message(exc, reading=True)
        first = first_line(exc)
        raise WarehouseBusy(message or f"cannot open {path}: {first}") from None
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
    if locked_down:
        for name, value in LOCKED_DOWN.items():
            con.execute(f"set {name} = {str(value).lower()}")
        con.execute("set lock_configuration = true")
    return con


def _connect(path: str, limits: dict[str, object] | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the build at `path` now. A local file is attached to a new
    in-memory database instead of opened: DuckDB hands a process that still has a connection to
    a path that path's old database again, which after a publish is the previous build."""
    if path.startswith("md:"):
        return duckdb.connect(path, read_only=True)
    config = {k: v for k, v in LOCKED_DOWN.items() if "auto" in k}
    con = duckdb.connect(":memory:", config={**config, **(limits or {})})
    try:
        alias = Path(path).stem.replace('"', "")
        alias = "warehouse" if alias.lower() in ("memory", "system", "temp", "main") else alias
        con.execute(f"""attach '{path.replace("'", "''")}' as "{alias}" (read_only)""")
        con.execute(f'use "{alias}"')
        con.execute("detach memory")  # one catalog: a write meets the read-only warehouse
    except BaseException:
        con.close()
        raise
    return con
