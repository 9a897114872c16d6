"""The accounting lines the marts need, checked in the raw snapshots before the model build. A
line the API does not send (it names it otherwise, or never fills it) would build marts full of
nulls and zeros that read as a healthy portfolio (no warnings, share with a warning 0.0), so the
build is refused with one line naming the missing columns and the marts they feed; the previous
build stays published (or there is none)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pipelines.accounts import MART_LINES

SNAPSHOTS = "accounting_snapshots"


class MissingLines(Exception):
    """Lines the marts need have no value in any raw snapshot."""

    def __init__(self, missing: dict[str, tuple[str, ...]], table: str) -> None:
        self.missing, self.table = missing, table
        marts = sorted({mart for feeds in missing.values() for mart in feeds})
        super().__init__(
            f"the accounting line(s) {', '.join(missing)} have no value in any snapshot of "
            f"{table}, so {', '.join(marts)} cannot be computed and were not built; check "
            "the names the API gives its lines (docs/data-contract.md)"
        )


def missing_lines(
    row_count: int, filled: dict[str, int], known: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """Needed column -> the marts it feeds, for each needed column absent from `known` or
    without a value (`filled`: non-null counts); nothing when there are no snapshots yet."""
    if not row_count:
        return {}
    return {
        column: marts
        for column, marts in MART_LINES.items()
        if column not in known or not filled.get(column)
    }


def check(execute: Callable[[str], list[Any]], table: str, known: Sequence[str]) -> None:
    """Raise MissingLines when lines the marts need have no value in `table` (qualified name),
    whose columns are `known`; `execute` runs one SQL statement and returns its rows."""
    present = [c for c in MART_LINES if c in known]
    counts = "".join(f', count("{c}")' for c in present)
    row = execute(f"select count(*){counts} from {table}")[0]
    missing = missing_lines(int(row[0] or 0), dict(zip(present, row[1:], strict=True)), known)
    if missing:
        raise MissingLines(missing, table)


def check_pipeline(pipeline: Any, dataset: str) -> None:
    """`check` on the raw snapshots this pipeline loaded (through dlt's SQL client)."""
    schema = pipeline.default_schema
    if SNAPSHOTS not in schema.tables:
        return
    known = list(schema.get_table_columns(SNAPSHOTS))
    with pipeline.sql_client() as client:
        check(client.execute_sql, f"{dataset}.{SNAPSHOTS}", known)


def check_duckdb_file(path: str, dataset: str) -> None:
    """`check` on a local DuckDB warehouse file (`symetrisk models`)."""
    import duckdb

    with duckdb.connect(path, read_only=True) as con:
        known = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [dataset, SNAPSHOTS],
            ).fetchall()
        ]
        if known:
            check(lambda sql: con.execute(sql).fetchall(), f'"{dataset}".{SNAPSHOTS}', known)
