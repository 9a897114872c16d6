"""`symetrisk backtest`: score the early warnings against the bank's own default history, per
flag and for the watchlist: recall at 1, 3, 6 and 12 months' lead, the median lead, false
alarms per company-year on borrowers that did not default, and the watchlist's precision; then
the watchlist by industry, length of history and kind of default. The last line is
`recall_6m=<x> false_alarm_rate=<y> lead_months_median=<z>` for the watchlist (n/a when it
cannot be measured).

The figures are the marts fct_backtest_flags and fct_backtest_breakdown (docs/warnings.md,
Backtest), which the models build from the defaults seed, or from the var symetrisk_defaults in
a bank's own dbt project. `--defaults FILE` scores a CSV file instead
(organization_number,default_date[,kind]): the file is checked row by row, then the backtest
marts are built from it in a copy of the published warehouse, which stays as it was."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.warehouse.destination import add_warehouse_arguments

EXAMPLES = """\
examples:
  symetrisk backtest                                 # the defaults seed's backtest marts
  symetrisk backtest --defaults defaults.csv         # the bank's default history, as a file
  symetrisk backtest --destination /data/bank.duckdb --defaults defaults.csv --json out.json
"""

LEADS = (1, 3, 6, 12)
BREAKDOWNS = ("nace_section", "history", "kind")
WATCHLIST = "watchlist"
ANY = "any_warning"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_warehouse_arguments(parser)
    parser.add_argument(
        "--defaults",
        metavar="FILE",
        help="a CSV of defaults (organization_number,default_date[,kind]) to score against, "
        "instead of the warehouse's defaults seed",
    )
    parser.add_argument(
        "--json", metavar="FILE", help="also write every figure (and the cases) as JSON here"
    )


def main(args: argparse.Namespace) -> int:
    from pipelines.warehouse.readers import WarehouseUnavailable, warehouse_path

    destination = args.destination
    if destination and not destination.endswith(".duckdb") and not destination.startswith("md:"):
        print(
            f"symetrisk backtest: reads a DuckDB warehouse; on {destination} query "
            "analytics.fct_backtest_flags and fct_backtest_breakdown (built from the var "
            "symetrisk_defaults, docs/dbt-package.md)",
            file=sys.stderr,
        )
        return 2
    path = warehouse_path(destination)
    if not Path(path).exists():
        print(
            f"symetrisk backtest: no warehouse at {path}: run `make run` first to load the "
            "sandbox and build the models",
            file=sys.stderr,
        )
        return 2
    source = "the defaults seed"
    try:
        if args.defaults:
            problems = check_file(Path(args.defaults))
            if problems:
                for line in problems:
                    print(f"error: {line}", file=sys.stderr)
                return 1
            source = args.defaults
            with built_from(path, Path(args.defaults), args.dataset) as copy:
                figures = read(copy)
        else:
            figures = read(path)
    except BacktestError as exc:
        for line in exc.lines:
            print(f"symetrisk backtest: {line}", file=sys.stderr)
        return 1
    except WarehouseUnavailable as exc:
        print(f"symetrisk backtest: {exc}", file=sys.stderr)
        return 1
    print(render(figures, path, source))
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(figures, indent=1, default=str) + "\n")
        except OSError as exc:
            print(
                f"symetrisk backtest: cannot write {args.json}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            return 1
    return 0


class BacktestError(RuntimeError):
    """The backtest could not be computed; `lines` says why, one sentence each."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def check_file(path: Path) -> list[str]:
    """One line per problem of a defaults file (pipelines/warehouse/rules_check.py)."""
    from pipelines.warehouse import rules_check

    if not path.is_file():
        return [f"{path}: no such file"]
    try:
        return rules_check.check_defaults(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [f"{path}: cannot read it as a CSV file: {exc}"]


@contextmanager
def built_from(published: str, defaults: Path, dataset: str) -> Iterator[str]:
    """A copy of the published warehouse whose backtest marts are built from `defaults`: the
    dbt project is copied with the file as its defaults seed, and only the seed and the
    models downstream of it (and of the warning episodes' spells) are built."""
    from pipelines.warehouse import dbt_build, rules_check

    work = Path(tempfile.mkdtemp(prefix="symetrisk-backtest-"))
    saved = os.environ.get("SYMETRISK_DBT_DIR")
    try:
        project = work / "sql"
        shutil.copytree(
            dbt_build.PROJECT_DIR,
            project,
            ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "integration_tests"),
        )
        rows, _ = rules_check.read_defaults(defaults)
        with (project / "seeds" / "defaults.csv").open("w", encoding="utf-8", newline="") as f:
            f.write(",".join(rules_check.DEFAULT_COLUMNS) + "\n")
            for _, row in rows:
                f.write(f"{row['organization_number']},{row['default_date']},{row['kind']}\n")
        copy = work / "warehouse.duckdb"
        shutil.copyfile(published, copy)
        os.environ["SYMETRISK_DBT_DIR"] = str(work / "dbt")
        target = dbt_build.duckdb_target(str(copy))
        try:
            dbt_build.build(
                target, dataset, select=["defaults+", "int_backtest_spells+"], project_dir=project
            )
        except dbt_build.BuildFailed as exc:
            raise BacktestError(exc.problems) from None
        yield str(copy)
    finally:
        if saved is None:
            os.environ.pop("SYMETRISK_DBT_DIR", None)
        else:
            os.environ["SYMETRISK_DBT_DIR"] = saved
        shutil.rmtree(work, ignore_errors=True)


def read(path: str) -> dict:
    """Every row of fct_backtest_breakdown, the warehouse's span and the cases of the
    watchlist and of any warning, from the published build at `path`."""
    import duckdb

    from pipelines.warehouse.readers import open_marts

    con = open_marts(path)
    try:
        try:
            rel = con.execute("select * from fct_backtest_breakdown order by flag, dimension")
        except duckdb.CatalogException:
            raise BacktestError(
                [f"{path} has no backtest marts: rebuild the models (`symetrisk models`)"]
            ) from None
        columns = [d[0] for d in rel.description]
        rows = [dict(zip(columns, r, strict=True)) for r in rel.fetchall()]
        first, newest, borrowers = con.execute(
            "select min(month_end), max(month_end), count(distinct organization_number) "
            "from fct_borrower_month"
        ).fetchone()
        rel = con.execute(
            "select flag, organization_number, default_date, kind, nace_section, history_months, "
            "case_status, lead_months from fct_backtest_cases where flag in (?, ?) "
            "order by flag, organization_number",
            [WATCHLIST, ANY],
        )
        columns = [d[0] for d in rel.description]
        cases = [dict(zip(columns, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()
    for row in rows:
        for key, value in row.items():
            if hasattr(value, "is_integer") or type(value).__name__ == "Decimal":
                row[key] = float(value)
            elif isinstance(value, int):
                row[key] = int(value)
    return {
        "first_month": str(first),
        "newest_month": str(newest),
        "borrowers": borrowers,
        "rows": rows,
        "cases": cases,
    }


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def months(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def statuses(row: dict) -> str:
    """The figures of a row that are not (all) measured, and why."""
    found = [
        f"{name}: {row[f'{name}_status']}"
        for name in ("recall", "lead", "false_alarm", "precision")
        if row[f"{name}_status"] not in ("measured", "not_applicable")
    ]
    return "; ".join(found) or "measured"


def table(rows: list[dict], first: str) -> list[str]:
    lines = [
        f"| {first} | scored defaults | recall 1 m | recall 3 m | recall 6 m | recall 12 m "
        "| median lead (m) | false alarms / company-year | company-years "
        "| precision 12 m | precision 24 m | status |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        name = row["flag"] if first == "flag" else row["dimension_value"]
        recalls = " | ".join(percent(row[f"recall_{lead}m"]) for lead in LEADS)
        lines.append(
            f"| {name} | {row['defaults_scored']:g} | {recalls} "
            f"| {months(row['lead_months_median'])} | {percent(row['false_alarm_rate'])} "
            f"| {row['company_years']:g} | {percent(row['precision_12m'])} "
            f"| {percent(row['precision_24m'])} | {statuses(row)} |"
        )
    return lines


def render(figures: dict, path: str, source: str) -> str:
    rows = figures["rows"]
    overall = [r for r in rows if r["dimension"] == "all"]
    flags = sorted(
        (r for r in overall if r["flag"] not in (WATCHLIST, ANY)), key=lambda r: r["flag"]
    )
    flags += [r for r in overall if r["flag"] == ANY] + [
        r for r in overall if r["flag"] == WATCHLIST
    ]
    watch = next(r for r in overall if r["flag"] == WATCHLIST)
    cases = [c for c in figures["cases"] if c["flag"] == WATCHLIST]
    why: dict[str, int] = {}
    for c in cases:
        why[c["case_status"]] = why.get(c["case_status"], 0) + 1
    not_scored = ", ".join(
        f"{n} {s.replace('_', ' ')}" for s, n in sorted(why.items()) if s != "scored"
    )
    out = [
        f"backtest of {path} against {source}: {len(cases)} defaults, "
        f"{why.get('scored', 0)} scored"
        + (f" (not scored: {not_scored})" if not_scored else "")
        + f"; {figures['borrowers']:,} borrowers, {figures['first_month'][:7]} to "
        f"{figures['newest_month'][:7]}",
        "",
        *table(flags, "flag"),
    ]
    for dimension in BREAKDOWNS:
        part = sorted(
            (r for r in rows if r["flag"] == WATCHLIST and r["dimension"] == dimension),
            key=lambda r: str(r["dimension_value"]),
        )
        if part:
            out += ["", f"watchlist by {dimension}:", "", *table(part, dimension)]
    out += [
        "",
        "n/a: cannot be measured (the status says why: window_too_short, no_defaults, ...); "
        "never counted as 0",
        f"recall_6m={number(watch['recall_6m'], 3)} "
        f"false_alarm_rate={number(watch['false_alarm_rate'], 3)} "
        f"lead_months_median={months(watch['lead_months_median'])}",
    ]
    return "\n".join(out)


def number(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
