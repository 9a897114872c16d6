"""`symetrisk sql`: query the warehouse read-only from the shell, so a new user needs no DuckDB
command-line client. Bare table names resolve in the `analytics` marts; raw tables are
`symetrisk_raw.<table>`.

Read-only for real: the published file is opened read-only with no access to other files,
databases or extensions (no ATTACH, COPY ... TO, INSTALL, LOAD, read_csv of a path) and the
configuration locked, so SQL cannot turn that back on. With `--destination postgres` it asks
that warehouse in read-only transactions (pipelines/warehouse/remote.py). Exit codes: 0 answered,
1 bad SQL or a refused statement (or the warehouse cannot be reached), 2 no warehouse, 3 the
file is held by a writing process."""

from __future__ import annotations

import argparse
import sys

import duckdb

from pipelines.warehouse import WarehouseBusy, WarehouseMissing, open_marts
from pipelines.warehouse.destination import add_warehouse_arguments
from pipelines.warehouse.runlock import BUSY_EXIT
from pipelines.warehouse.runs import first_line

REFUSED = (duckdb.PermissionException,)
READ_ONLY_HINTS = ("read-only mode", "configuration has been locked", "disabled by configuration")

EXAMPLES = """examples:
  symetrisk sql "select * from fct_borrower_trend order by altman_z limit 10"
  symetrisk sql "select flag, count(*) from fct_warning_episodes group by flag"
  symetrisk sql "select count(*) from symetrisk_raw.accounting_snapshots"
  symetrisk sql --csv "select * from fct_portfolio_month" > portfolio.csv
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="one SQL statement")
    parser.add_argument("--database", help="DuckDB file (default: data/symetrisk.duckdb)")
    add_warehouse_arguments(parser)
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    parser.add_argument("--max-rows", type=int, default=40, help="rows shown as a table")


def main(args: argparse.Namespace) -> int:
    if args.destination and not args.destination.endswith(".duckdb"):
        return remote_query(args)
    if args.destination:
        args.database = args.destination
    try:
        con = open_marts(args.database, require_marts=False, locked_down=True)
    except WarehouseMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BUSY_EXIT
    try:
        relation = con.sql(args.query)
        if relation is None:
            return 0
        if args.csv:
            relation.df().to_csv(sys.stdout, index=False)
        else:
            relation.show(max_rows=args.max_rows, max_width=200)
        return 0
    except duckdb.Error as exc:
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


def remote_query(args: argparse.Namespace) -> int:
    """The query on a warehouse other than a DuckDB file, in a read-only transaction."""
    import pandas as pd

    from pipelines.warehouse.remote import RemoteError, connect

    try:
        con = connect(args.destination, args.dataset, args.pipelines_dir)
    except RemoteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        cursor = con.execute(args.query)
        if cursor.description is None:
            return 0
        frame = pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])
    except Exception as exc:  # noqa: BLE001 - the database's error, one line
        first = first_line(exc)
        refused = "read-only transaction" in first
        prefix = "refused: `symetrisk sql` is read-only: " if refused else ""
        print(f"error: {prefix}{first}", file=sys.stderr)
        return 1
    finally:
        con.close()
    if args.csv:
        frame.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", args.max_rows, "display.width", 200):
            print(frame.to_string(index=False, max_rows=args.max_rows))
    return 0
