"""How long the SQL models take at portfolio scale, and how much memory they need.

Generates 10,000 borrowers × 100 months (1,000,000 snapshots, by default) of raw tables in the
data contract's shape directly in DuckDB with SQL (seconds, no API, no loader), then times
the dbt build over them (every model and every test, dbt's start-up included) in a fresh
process, as `symetrisk run` does it: wall time, CPU time and peak resident memory (ru_maxrss)
of that process. Twice, each in a fresh process: the first build (dbt parses the project from
scratch, as on a new warehouse), then the next build of the same file (dbt's parse cache kept
from the first, the marts rebuilt over the previous build's: what every later scheduled
`symetrisk run` sees, since it builds in the same working file each time).

    .venv/bin/python -m bench.models_scale                      # 10,000 × 100
    .venv/bin/python -m bench.models_scale --borrowers 1000     # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.accounts import INCOME_LINES
from pipelines.symetrisk import contract

INCOME = list(INCOME_LINES)

# One row per borrower and month (exactly borrowers × months rows). Borrowers differ in size,
# cost ratio (some make losses), growth (some shrink) and noise; revenue is seasonal. Cash is the
# balancing item of the balance sheet, so losses drain it, down to an overdraft.
SNAPSHOTS = """
create or replace table {raw}.accounting_snapshots as
with orgs as (
    select
        i,
        cast(800000000 + i as varchar) as org,
        100000 + cast(hash(i, 'size') % 3000000 as double) as size,
        0.80 + (hash(i, 'margin') % 28) / 100.0 as cost_ratio,
        (cast(hash(i, 'growth') % 21 as integer) - 8) / 1000.0 as growth
    from range({borrowers}) t(i)
),
months as (
    select
        o.*, k,
        last_day(date '{first_month}' + to_months(cast(k as integer))) as snapshot_date,
        round(greatest(0, o.size * (1 + o.growth * k) * (1 + 0.15 * sin(k * pi() / 6))), 2)
            as revenue
    from orgs as o, range({months}) m(k)
),
income as (
    select
        *,
        round(revenue * cost_ratio * (0.95 + cast(hash(i, k, 'noise') % 11 as integer) / 100.0), 2)
            as opex
    from months
),
lines as (
    select
        *,
        round(revenue * 0.97, 2) as sales_revenue,
        round(opex * 0.55, 2) as cost_of_goods_sold,
        round(opex * 0.30, 2) as payroll_expenses,
        round(opex * 0.04, 2) as depreciation,
        round(size * 0.002, 2) as financial_expenses
    from income
),
results as (
    select
        *,
        revenue - sales_revenue as other_operating_income,
        opex - cost_of_goods_sold - payroll_expenses - depreciation as other_operating_expenses,
        revenue - opex as operating_result,
        revenue - opex - financial_expenses as result_before_tax,
        round(greatest(0, (revenue - opex - financial_expenses) * 0.22), 2) as tax_expense
    from lines
),
balance as (
    select
        *,
        result_before_tax - tax_expense as net_result,
        round(size * 1.5, 2) as fixed_assets,
        round(size * 0.4, 2) as inventory,
        round(size * 0.6, 2) as receivables,
        round(size * 4.0 + sum(result_before_tax - tax_expense) over (
            partition by org order by k rows between unbounded preceding and current row
        ), 2) as retained_earnings,
        round(size * 1.0, 2) as long_term,
        round(size * 0.5, 2) as payables,
        round(size * 0.1, 2) as duties,
        round(size * 0.2, 2) as other_short_term
    from results
)
select
    org as organization_number,
    snapshot_date,
    i * 1000 + k as id,
    cast(snapshot_date + interval 1 day + interval 3 hour as timestamptz) as updated_at,
    '2025-09-19' as symetrisk_real_time_accounts_format_version,
    year(snapshot_date) as "year",
    month(snapshot_date) as "month",
    'NOK' as currency,
    {month_columns},
    {ytd_columns},
    round(fixed_assets * 0.1, 2) as balance_sheet__intangible_assets,
    round(fixed_assets * 0.8, 2) as balance_sheet__tangible_fixed_assets,
    round(fixed_assets * 0.1, 2) as balance_sheet__financial_fixed_assets,
    fixed_assets as balance_sheet__total_fixed_assets,
    inventory as balance_sheet__inventory,
    receivables as balance_sheet__accounts_receivable,
    0.0 as balance_sheet__other_receivables,
    20000.0 + retained_earnings + long_term + payables + duties + other_short_term
        - fixed_assets - inventory - receivables as balance_sheet__cash_and_bank,
    20000.0 + retained_earnings + long_term + payables + duties + other_short_term
        - fixed_assets as balance_sheet__total_current_assets,
    20000.0 + retained_earnings + long_term + payables + duties + other_short_term
        as balance_sheet__total_assets,
    20000.0 as balance_sheet__share_capital,
    retained_earnings as balance_sheet__retained_earnings,
    20000.0 + retained_earnings as balance_sheet__total_equity,
    0.0 as balance_sheet__provisions,
    long_term as balance_sheet__long_term_liabilities,
    payables as balance_sheet__accounts_payable,
    0.0 as balance_sheet__tax_payable,
    duties as balance_sheet__public_duties_payable,
    other_short_term as balance_sheet__other_short_term_liabilities,
    payables + duties + other_short_term as balance_sheet__total_short_term_liabilities,
    long_term + payables + duties + other_short_term as balance_sheet__total_liabilities,
    20000.0 + retained_earnings + long_term + payables + duties + other_short_term
        as balance_sheet__total_equity_and_liabilities,
    '{load_id}' as _dlt_load_id,
    md5(org || k) as _dlt_id
from (
    select
        *,
        0.0 as financial_income,
        revenue as operating_revenue,
        opex as operating_expenses
    from balance
)
"""

VERSIONS = """
create or replace table {raw}.accounting_snapshot_versions as
select
    s.organization_number,
    s.snapshot_date,
    s.updated_at + to_days(cast(v as integer)) as updated_at,
    s.id,
    s.updated_at + to_days(cast(v as integer)) + interval 1 hour as first_seen_at,
    s.income_statement__month__operating_revenue as operating_revenue,
    s.income_statement__month__operating_result as operating_result,
    s.income_statement__month__net_result as net_result,
    s.balance_sheet__total_equity as total_equity,
    s.balance_sheet__total_assets as total_assets,
    s.balance_sheet__cash_and_bank as cash_and_bank,
    '{load_id}' as _dlt_load_id,
    md5(s.organization_number || s.snapshot_date || v) as _dlt_id
from {raw}.accounting_snapshots as s,
    range(1 + (hash(s.organization_number, s.snapshot_date) % 4 = 0)::integer) r(v)
"""

DIMENSIONS = """
create or replace table {raw}.borrowers as
select
    cast(800000000 + i as varchar) as organization_number,
    'Borrower ' || i || ' AS' as name,
    printf('%02d.%03d', 1 + hash(i, 'nace') % 96, hash(i, 'sub') % 1000) as nace_code,
    chr(65 + cast(hash(i, 'nace') % 21 as integer)) as nace_section,
    date '1990-01-01' + cast(hash(i, 'founded') % 12000 as integer) as founded_date,
    'Oslo' as municipality,
    'tripletex' as accounting_system,
    'connected' as connection_status,
    hash(i, 'revoked') % 50 <> 0 as consented_to_share_data,
    case when hash(i, 'revoked') % 50 = 0 then 'access_revoked' else 'access_approved' end
        as relationship_state,
    '{load_id}' as _dlt_load_id,
    md5('b' || i) as _dlt_id
from range({borrowers}) t(i);

create or replace table {raw}.relationships as
with base as (
    select
        i,
        cast(800000000 + i as varchar) as organization_number,
        timestamptz '2017-01-02 09:00:00+00' + to_days(cast(hash(i) % 200 as integer))
            as requested_at,
        hash(i, 'revoked') % 50 = 0 as revoked
    from range({borrowers}) t(i)
),
versions as (
    select *, 1 as v, 'access_requested' as state from base
    union all
    select *, 2, 'access_approved' from base
    union all
    select *, 3, 'access_revoked' from base where revoked
)
select
    i + 1 as id,
    organization_number,
    'Borrower ' || i || ' AS' as company_name,
    state as relationship_state,
    requested_at,
    case when v >= 2 then requested_at + interval 3 day end as approved_at,
    case when v = 3 then requested_at + interval 2000 day end as revoked_at,
    requested_at + to_days(case v when 1 then 0 when 2 then 3 else 2000 end) as updated_at,
    requested_at + to_days(case v when 1 then 0 when 2 then 3 else 2000 end) as _dlt_valid_from,
    case
        when v = 1 then requested_at + interval 3 day
        when v = 2 and revoked then requested_at + interval 2000 day
    end as _dlt_valid_to,
    '{load_id}' as _dlt_load_id,
    md5('r' || i || v) as _dlt_id
from versions;

create or replace table {raw}.credit_scores as
select
    cast(800000000 + i as varchar) as organization_number,
    cast(1 + hash(i, s) % 100 as bigint) as score,
    chr(65 + cast(hash(i, s) % 5 as integer)) as risk_class,
    (hash(i, s) % 1000) / 10000.0 as probability_of_default,
    timestamptz '2025-06-01 00:00:00+00' + to_days(cast(s * 90 as integer)) as calculated_at,
    date '2025-05-31' as based_on_snapshot_date,
    timestamptz '2025-06-01 00:00:00+00' + to_days(cast(s * 90 as integer)) + interval 1 hour
        as fetched_at,
    '{load_id}' as _dlt_load_id,
    md5('s' || i || s) as _dlt_id
from range({borrowers}) t(i), range(2) r(s)
"""


def generate(database: str, borrowers: int, months: int, raw: str = "symetrisk_raw") -> float:
    """Write the raw tables; returns the seconds it took."""
    started = time.perf_counter()
    month_columns = ",\n    ".join(f"{x} as income_statement__month__{x}" for x in INCOME)
    ytd_columns = ",\n    ".join(
        f"sum({x}) over (partition by org, year(snapshot_date) order by k) "
        f"as income_statement__year_to_date__{x}"
        for x in INCOME
    )
    params = {
        "raw": raw,
        "borrowers": borrowers,
        "months": months,
        "first_month": "2017-09-01",
        "load_id": "1700000000.0",
        "month_columns": month_columns,
        "ytd_columns": ytd_columns,
    }
    con = duckdb.connect(database)
    con.execute(f"create schema if not exists {raw}")
    con.execute(SNAPSHOTS.format(**params))
    con.execute(VERSIONS.format(**params))
    for statement in DIMENSIONS.format(**params).split(";\n"):
        con.execute(statement)
    # every table and column the loader declares exists, as dlt creates them
    for statement in contract.duckdb_statements(raw):
        con.execute(statement)
    con.execute("checkpoint")
    con.close()
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build(database: str) -> dict:
    """Time the dbt build in this process (run as a fresh child so the figures are its own),
    from the import of dbt to the closed file."""
    before = peak_rss_mb()
    load = os.getloadavg()[0]  # at the start: the machine's load beside this build
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    from pipelines.warehouse import dbt_build

    report = dbt_build.build(dbt_build.duckdb_target(database), "symetrisk_raw")
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    with duckdb.connect(database, read_only=True) as con:
        snapshots = con.execute("select count(*) from analytics.stg_accounting_snapshots")
        snapshots = snapshots.fetchone()[0]
    models_seconds = sum(m.seconds for m in report.models)
    tests_seconds = sum(t.seconds for t in report.tests)
    return {
        "snapshots": snapshots,
        "build_seconds": round(seconds, 2),
        "build_cpu_seconds": round(cpu, 2),
        "load_average": round(load, 2),
        "dbt_overhead_seconds": round(seconds - models_seconds - tests_seconds, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_rss_mb_before_build": round(before, 1),
        "models": {m.name: {"seconds": round(m.seconds, 2)} for m in report.models},
        "tests": len(report.tests),
        "tests_seconds": round(tests_seconds, 2),
        "tests_passed": all(t.status == "pass" for t in report.tests),
    }


def _step(step: str, database: str, args: argparse.Namespace) -> dict | None:
    """Run one step in a fresh process, so each step's peak memory is its own (Linux keeps
    ru_maxrss across exec, so the parent must stay small: it only starts the steps)."""
    command = [sys.executable, "-m", "bench.models_scale", "--step", step, "--database", database]
    command += ["--borrowers", str(args.borrowers), "--months", str(args.months)]
    child = subprocess.run(command, capture_output=True, text=True)
    if child.returncode != 0:
        print(f"{step} failed:\n{child.stdout}{child.stderr}", file=sys.stderr)
        return None
    return json.loads(child.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=100)
    parser.add_argument("--database", help="DuckDB file to use (default: a temporary one)")
    parser.add_argument("--step", choices=["generate", "build"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.step == "generate":
        print(json.dumps({"seconds": generate(args.database, args.borrowers, args.months)}))
        return 0
    if args.step == "build":
        print(json.dumps(build(args.database)))
        return 0

    with tempfile.TemporaryDirectory(prefix="models_scale_") as tmp:
        database = args.database or str(Path(tmp) / "scale.duckdb")
        Path(database).unlink(missing_ok=True)
        # dbt's working directory (parse cache) starts empty and goes with the temporary files
        os.environ["SYMETRISK_DBT_DIR"] = str(Path(tmp) / "dbt")
        print(f"generating {args.borrowers:,} borrowers × {args.months} months in {database} ...")
        generated = _step("generate", database, args)
        if generated is None:
            return 1
        print(f"  raw tables written in {generated['seconds']:.1f} s")
        first = _step("build", database, args)
        if first is None:
            return 1
        result = _step("build", database, args)
        if result is None:
            return 1
    print("per model (seconds: first build, next build):")
    for name, model in result["models"].items():
        was = first["models"].get(name, {}).get("seconds", float("nan"))
        print(f"  {name:<36} {was:6.2f} {model['seconds']:6.2f}")
    for label, run in (
        ("first build (dbt parses the project from scratch, as on a new warehouse)", first),
        ("next build (dbt's parse cache kept, marts rebuilt: every later scheduled run)", result),
    ):
        print(
            f"{label}:\n  dbt build over {run['snapshots']:,} snapshots: "
            f"{run['build_seconds']:.2f} s wall, {run['build_cpu_seconds']:.1f} s CPU, "
            f"dbt start-up and parsing included "
            f"(its own overhead {run['dbt_overhead_seconds']:.2f} s; "
            f"{run['tests']} tests {run['tests_seconds']:.2f} s, "
            f"{'all passed' if run['tests_passed'] else 'SOME FAILED'}), "
            f"peak RSS {run['peak_rss_mb']:.0f} MB "
            f"({run['peak_rss_mb_before_build']:.0f} MB before the build), "
            f"load average {run['load_average']:.2f} at its start"
        )
    results = Path(__file__).parent / "results"
    if results.is_dir():
        record = {"borrowers": args.borrowers, "months": args.months, **result, "first": first}
        (results / "models_scale.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
