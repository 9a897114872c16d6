"""`symetrisk sql`: query the warehouse read-only from the shell, so a new user needs no DuckDB
command-line client. Bare table names resolve in the `analytics` marts; raw tables are
`symetrisk_raw.<table>`.

Read-only by construction: one statement, and only a query (SELECT, WITH ... SELECT, EXPLAIN,
DESCRIBE/SHOW), checked by parsing it (pipelines/warehouse/sql_guard.py); everything else is
refused in one line. DuckDB: the published file is opened read-only with no access to any file
(no ATTACH, COPY ... TO, EXPORT, INSTALL, LOAD, read_csv of a path; no temp directory either)
and the configuration locked, with a memory limit. Postgres (`--destination postgres`): the
statement runs in a transaction opened READ ONLY and rolled back, under `statement_timeout`, as
the reader login when one is set (DESTINATION__POSTGRES__READER_CREDENTIALS; a warning names a
superuser or the loader's role). Every statement has a timeout, and Ctrl-C stops it within
seconds (pipelines/warehouse/query_limits.py). Exit codes: 0 answered, 1 bad SQL, a refused
statement, a timeout (or the warehouse cannot be reached), 2 no warehouse, 3 the file is held
by a writing process, 130 Ctrl-C."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile

import duckdb

from pipelines.warehouse import WarehouseBusy, WarehouseMissing, open_marts
from pipelines.warehouse import query_limits as limits
from pipelines.warehouse.destination import add_warehouse_arguments
from pipelines.warehouse.runlock import BUSY_EXIT
from pipelines.warehouse.runs import first_line
from pipelines.warehouse.sql_guard import RefusedStatement, checked_query

REFUSED = (duckdb.PermissionException,)
READ_ONLY_HINTS = ("read-only mode", "configuration has been locked", "disabled by configuration")

EXAMPLES = """examples:
  symetrisk sql "select * from fct_borrower_trend order by altman_z limit 10"
  symetrisk sql "select flag, count(*) from fct_warning_episodes group by flag"
  symetrisk sql "select count(*) from symetrisk_raw.accounting_snapshots"
  symetrisk sql --csv "select * from fct_portfolio_month" > portfolio.csv
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="one SQL query (SELECT, WITH ... SELECT, EXPLAIN, SHOW)")
    parser.add_argument("--database", help="DuckDB file (default: data/symetrisk.duckdb)")
    add_warehouse_arguments(parser)
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    parser.add_argument("--max-rows", type=int, default=40, help="rows shown as a table")
    parser.add_argument(
        "--timeout",
        type=float,
        default=limits.default_timeout(),
        metavar="SECONDS",
        help=f"stop the statement after this long (default: ${limits.SETTING_TIMEOUT} or "
        f"{limits.DEFAULT_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--memory-limit",
        default=limits.default_memory_limit(),
        help=f"DuckDB's memory limit (default: ${limits.SETTING_MEMORY} or "
        f"{limits.DEFAULT_MEMORY_LIMIT})",
    )
    parser.add_argument(
        "--max-temp-size",
        default=limits.default_max_temp(),
        help="DuckDB's temp space for queries larger than memory, 0 for none: no file is ever "
        f"written (default: ${limits.SETTING_TEMP} or {limits.DEFAULT_MAX_TEMP})",
    )


def main(args: argparse.Namespace) -> int:
    if args.destination and not args.destination.endswith(".duckdb"):
        return remote_query(args)
    if args.destination:
        args.database = args.destination
    temp_dir = (
        None if limits.no_temp(args.max_temp_size) else tempfile.mkdtemp(prefix="symetrisk-sql-")
    )
    try:
        return _duckdb_query(args, temp_dir)
    finally:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _duckdb_query(args: argparse.Namespace, temp_dir: str | None) -> int:
    try:
        con = open_marts(
            args.database,
            require_marts=False,
            locked_down=True,
            limits=limits.duckdb_limits(args.memory_limit, args.max_temp_size, temp_dir),
        )
    except WarehouseMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BUSY_EXIT
    except duckdb.Error as exc:  # a bad --memory-limit or --max-temp-size
        print(f"error: {first_line(exc)}", file=sys.stderr)
        return 1
    try:
        sql = checked_query(args.query, "duckdb", duckdb_con=con)

        def work():
            cursor = con.execute(sql)
            if cursor.description is None:
                return None
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall() if args.csv else cursor.fetchmany(args.max_rows + 1)
            return names, rows

        answer = limits.run_stoppable(work, con.interrupt, args.timeout)
        if answer is not None:
            show(*answer, args)
        return 0
    except (RefusedStatement, limits.QueryTimeout) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except duckdb.Error as exc:
        if type(exc).__name__ == "InterruptException":
            raise KeyboardInterrupt from None
        first = first_line(exc)
        if isinstance(exc, REFUSED) or any(hint in first for hint in READ_ONLY_HINTS):
            print(
                "error: refused: `symetrisk sql` is read-only (no writes, no other files, "
                f"databases or extensions): {first}",
                file=sys.stderr,
            )
        else:
            print(f"error: {first}", file=sys.stderr)
        return 1
    finally:
        con.close()


def show(names: list[str], rows: list[tuple], args: argparse.Namespace) -> None:
    """The answer as CSV, or as a table of at most --max-rows rows."""
    import pandas as pd

    more = not args.csv and len(rows) > args.max_rows
    frame = pd.DataFrame(rows[: args.max_rows] if more else rows, columns=names)
    if args.csv:
        frame.to_csv(sys.stdout, index=False)
        return
    with pd.option_context("display.max_rows", args.max_rows, "display.width", 200):
        print(frame.to_string(index=False))
    if more:
        print(f"(first {args.max_rows} rows shown; --max-rows N or --csv for more)")


def remote_query(args: argparse.Namespace) -> int:
    """The query on a warehouse other than a DuckDB file: checked, then run inside a
    transaction opened READ ONLY (and rolled back) with statement_timeout set."""
    from pipelines.warehouse.reader_login import ReaderLoginError, role_warning
    from pipelines.warehouse.remote import RemoteError, connect

    try:
        sql = checked_query(args.query, "postgres")
    except RefusedStatement as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        con = connect(args.destination, args.dataset, args.pipelines_dir, reader=True)
    except (RemoteError, ReaderLoginError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        cursor = con.raw.cursor()
        warning = role_warning(cursor, con.loader_user, args.destination)
        if warning:
            print(warning, file=sys.stderr)
        timeout_ms = max(1, int(args.timeout * 1000)) if args.timeout and args.timeout > 0 else 0

        def work():
            cursor.execute("BEGIN TRANSACTION READ ONLY")
            cursor.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
            cursor.execute(f"SET LOCAL idle_in_transaction_session_timeout = {timeout_ms}")
            try:
                cursor.execute(sql)
                if cursor.description is None:
                    return None
                names = [d[0] for d in cursor.description]
                rows = cursor.fetchall() if args.csv else cursor.fetchmany(args.max_rows + 1)
                return names, rows
            finally:
                if not con.raw.closed:
                    cursor.execute("ROLLBACK")

        answer = limits.run_stoppable(work, con.raw.cancel, args.timeout + limits.STOP_GRACE_S)
    except limits.QueryTimeout as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - the database's error, one line
        first = first_line(exc)
        if "canceling statement due to statement timeout" in first:
            first = (
                f"the statement ran longer than {args.timeout:g} s and was stopped "
                f"(--timeout or {limits.SETTING_TIMEOUT})"
            )
        refused = "read-only transaction" in first
        prefix = "refused: `symetrisk sql` is read-only: " if refused else ""
        print(f"error: {prefix}{first}", file=sys.stderr)
        return 1
    finally:
        con.close()
    if answer is not None:
        show(*answer, args)
    return 0
