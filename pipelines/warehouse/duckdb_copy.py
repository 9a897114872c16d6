"""The one named place where dlt's DuckDB load job is changed: it loads a Parquet file with
`read_parquet('<path>', union_by_name=true)`, and DuckDB then reads any `name=value` directory
in the path as a hive partition, a column the table does not have ("Binder Error ... column
"env"" for a pipelines dir such as env=prod/dlt). Here the job also says
`hive_partitioning=false`, and quotes the path as SQL, so a pipelines dir or warehouse path with
`=`, spaces, quotes or non-ASCII letters loads as any other. `install()` is idempotent."""

from __future__ import annotations

from typing import Any

_INSTALLED = False


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    from dlt.common.storages.load_package import ParsedLoadJobFileName
    from dlt.destinations.impl.duckdb.duck import DuckDbCopyJob

    original = DuckDbCopyJob.run

    def run(self: Any) -> None:
        if ParsedLoadJobFileName.parse(self._file_path).file_format != "parquet":
            return original(self)
        self._sql_client = self._job_client.sql_client
        table = self._sql_client.make_qualified_table_name(self.load_table_name)
        path = self._file_path.replace("'", "''")
        self._sql_client.execute_sql(
            f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet('{path}', "
            "union_by_name=true, hive_partitioning=false)"
        )

    DuckDbCopyJob.run = run  # type: ignore[method-assign]
    _INSTALLED = True
