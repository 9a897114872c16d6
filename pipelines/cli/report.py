"""Write the credit brief of the published build: one self-contained HTML file (the portfolio
page, then one page per watchlist borrower) in reports/ beside the warehouse file, or in
--out DIR, as credit-brief-YYYY-MM-DD.html and latest.html. `symetrisk run` writes it after
every successful publish; this command writes it again at any time, reading only the
published build (it never waits for a running load)."""

from __future__ import annotations

import argparse
import sys

EXAMPLES = """examples:
  symetrisk report                       # reports/ beside data/symetrisk.duckdb
  symetrisk report --out /srv/share/credit
  symetrisk report --destination /data/bank.duckdb
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="write here instead of reports/")
    parser.add_argument(
        "--destination",
        help="the published DuckDB file to read (default: as `symetrisk run` writes it)",
    )


def main(args: argparse.Namespace) -> int:
    from pipelines.brief import ledger, report
    from pipelines.warehouse.readers import WarehouseUnavailable, open_marts, warehouse_path

    try:
        con = open_marts(args.destination)
    except WarehouseUnavailable as exc:
        print(f"symetrisk report: {exc}", file=sys.stderr)
        return 1
    try:
        if ledger.latest_run(con) is None:
            print(
                "symetrisk report: this build has no credit events yet: run `symetrisk run` "
                "once (it records them and writes the brief)",
                file=sys.stderr,
            )
            return 1
        out = args.out or report.reports_dir(warehouse_path(args.destination))
        try:
            path = report.write(con, out)
        except OSError as exc:
            print(
                f"symetrisk report: cannot write to {out}: {exc.strerror or exc}", file=sys.stderr
            )
            return 1
    finally:
        con.close()
    print(f"brief: {path} (and {path.parent / 'latest.html'})")
    return 0
