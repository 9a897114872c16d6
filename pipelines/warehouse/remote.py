"""Reading a warehouse that is not a local DuckDB file (Postgres), for `symetrisk sql` and
`symetrisk status --destination NAME`.

The connection comes from the same dlt settings the load used (DESTINATION__POSTGRES__CREDENTIALS
or .dlt/secrets.toml); it is read-only (every transaction) and finds bare names in the marts'
schema, then the raw dataset, like the DuckDB readers. `connect()` returns an object with
`execute(sql, params)` taking `?` placeholders, as a DuckDB connection does, so the commands
keep one code path. Credentials never appear in a message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.warehouse.runs import first_line


class RemoteError(Exception):
    """The warehouse cannot be reached or read; the message names no credential."""


class Connection:
    def __init__(self, raw: Any, where: str) -> None:
        self.raw = raw
        self.where = where
        self.loader_user: str | None = None

    def execute(self, sql: str, params: list[Any] | None = None) -> Any:
        cursor = self.raw.cursor()
        if params:
            cursor.execute(sql.replace("%", "%%").replace("?", "%s"), params)
        else:
            cursor.execute(sql)
        return cursor

    def close(self) -> None:
        self.raw.close()


def connect(
    destination: str,
    dataset: str,
    pipelines_dir: str,
    schema: str = "analytics",
    reader: bool = False,
):
    """A read-only connection to the named dlt destination (postgres). With `reader`, the
    reader login (DESTINATION__POSTGRES__READER_CREDENTIALS, pipelines/warehouse/reader_login.py)
    when one is configured; `loader_user` on the result names the loader's role either way."""
    import dlt

    from pipelines.symetrisk import settings
    from pipelines.warehouse import dbt_build
    from pipelines.warehouse.destination import masked

    try:
        pipeline = dlt.pipeline(
            pipeline_name=settings.PIPELINE_NAME,
            destination=destination,
            dataset_name=dataset,
            pipelines_dir=str(Path(pipelines_dir).resolve()),
        )
        target = dbt_build.target_for(pipeline)
    except dbt_build.UnsupportedDestination as exc:
        raise RemoteError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - configuration: name the kind, never the values
        if type(exc).__name__ == "UnknownDestinationModule":
            raise RemoteError(
                f"--destination {masked(destination)}: not a dlt destination name (e.g. postgres; "
                "its credentials go in DESTINATION__POSTGRES__CREDENTIALS)"
            ) from None
        raise RemoteError(
            f"the {destination} destination is not configured ({type(exc).__name__}): set "
            f"DESTINATION__{destination.upper()}__CREDENTIALS or .dlt/secrets.toml"
        ) from None
    import psycopg2

    from pipelines.warehouse.reader_login import reader_target

    loader_user = str(target.output.get("user"))
    if reader:
        target = reader_target(destination, target)
    o = target.output
    try:
        raw = psycopg2.connect(
            host=o["host"],
            port=o["port"],
            user=o["user"],
            password=target.secret,
            dbname=o["dbname"],
            options=f"-c default_transaction_read_only=on -c search_path={schema},{dataset}",
        )
    except psycopg2.Error as exc:
        first = first_line(exc)
        if target.secret:
            first = first.replace(target.secret, "***")
        raise RemoteError(f"cannot connect to {target.where}: {first}") from None
    raw.autocommit = True
    connection = Connection(raw, target.where)
    connection.loader_user = loader_user
    return connection
