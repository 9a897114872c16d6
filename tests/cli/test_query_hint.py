"""The run's closing "query it" hint prints a `symetrisk sql` command that finds the warehouse
the run wrote: the published DuckDB file, or the dlt destination's name for Postgres (it used to
print the Postgres database's name, `--destination credit`, which fails)."""

from __future__ import annotations

from types import SimpleNamespace

from pipelines.cli.run import LoadResult, query_command
from pipelines.symetrisk import RunStats


def loaded_into(name: str) -> SimpleNamespace:
    return SimpleNamespace(pipeline=SimpleNamespace(destination=SimpleNamespace(
        destination_name=name)))  # fmt: skip


def test_postgres_is_named_by_its_destination_not_its_database():
    result = LoadResult(
        stats=RunStats(), seconds=1.0, warehouse="credit", dataset="symetrisk_raw",
        load_info=loaded_into("postgres"),
    )  # fmt: skip
    assert query_command(result).endswith("sql --destination postgres")


def test_a_local_duckdb_file_is_named_by_its_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = LoadResult(
        stats=RunStats(), seconds=1.0, warehouse=str(tmp_path / "data" / "w.duckdb"),
        dataset="symetrisk_raw", load_info=loaded_into("duckdb"),
        working=str(tmp_path / "data" / ".w.work.duckdb"),
    )  # fmt: skip
    assert query_command(result).endswith("sql --destination data/w.duckdb")
