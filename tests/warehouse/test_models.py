"""The credit-trend models against KPIs computed independently in Python.

A small builder emits raw rows exactly as the data contract says the loader writes them (flattened
`income_statement__month__*`, `balance_sheet__*` columns, an SCD2 `relationships` table ...), with
consistent accounting arithmetic, for a portfolio of borrowers each built to exercise one case:
short histories, gaps, zero and negative denominators, negative equity, and one borrower that
should and one that should not raise each early warning. The models are built over it, and every
KPI, warning, trend and portfolio figure is compared with plain-Python loops over the same rows.
The raw tables have every column the loader declares (pipelines/symetrisk/contract.py), null
where the builder has no value, and the dbt project in sql/ is built over them by the same
in-process runner `symetrisk run` uses (pipelines/warehouse/dbt_build.py).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import duckdb
import pandas as pd
import pytest

from pipelines import orgnr
from pipelines.accounts import BALANCE_LINES, INCOME_LINES
from pipelines.symetrisk import contract
from pipelines.warehouse import dbt_build

pytestmark = pytest.mark.slow

INCOME = list(INCOME_LINES)
BALANCE = list(BALANCE_LINES)
UTC = timezone.utc
FIRST = (2023, 1)  # the portfolio's first month
AS_OF = (2025, 12)  # the portfolio's newest month


# --- calendar months as (year, month), independent of the SQL's month numbers ---------------


def add_months(ym: tuple[int, int], k: int) -> tuple[int, int]:
    y, m = ym
    m += k
    while m > 12:
        y, m = y + 1, m - 12
    while m < 1:
        y, m = y - 1, m + 12
    return (y, m)


def month_end(ym: tuple[int, int]) -> date:
    y, m = add_months(ym, 1)
    return date(y, m, 1) - timedelta(days=1)


def months_between(a: tuple[int, int], b: tuple[int, int]) -> int:
    k = 0
    while add_months(a, k) < b:
        k += 1
    return k


def org_number(i: int) -> str:
    prefix = 91_000_000 + i * 37
    while orgnr.check_digit(f"{prefix:08d}") is None:
        prefix += 1
    return orgnr.from_prefix(prefix)


# --- the builder -------------------------------------------------------------------------------


def const(x: float):
    return lambda k: x


def at(x, k: int) -> float:
    """A builder field's value in month k: a number, or a function of k."""
    return x(k) if callable(x) else x


@dataclass
class Borrower:
    """A borrower's monthly accounts. k counts calendar months from `start`; cash_and_bank is the
    balancing item, so profits pile up as cash and losses drain it (down to an overdraft)."""

    key: str
    start: tuple[int, int] = FIRST
    months: int = 36
    missing: set[int] = field(default_factory=set)  # k with no snapshot
    null_revenue: set[int] = field(default_factory=set)  # k whose operating_revenue is null
    revenue: object = const(1_000_000.0)
    opex: object = const(850_000.0)
    share_capital: float = 100_000.0
    retained0: float = 5_000_000.0
    fixed_assets: float = 2_000_000.0
    inventory: float = 300_000.0
    receivables: object = 500_000.0  # a number, or a function of k
    long_term: float = 1_000_000.0
    payables: object = 400_000.0  # a number, or a function of k
    duties: object = 100_000.0
    other_short_term: float = 200_000.0
    nace_section: str = "G"
    revoked: datetime | None = None
    state: str = "access_approved"
    revisions: dict[int, int] = field(default_factory=dict)  # k -> number of versions
    scores: list[tuple[datetime, float]] = field(default_factory=list)
    org: str = ""

    def snapshot_rows(self) -> list[dict]:
        rows, retained, ytd, ytd_year = [], self.retained0, dict.fromkeys(INCOME, 0.0), None
        for k in range(self.months):
            ym = add_months(self.start, k)
            if k in self.missing:
                continue
            rev, opex = round(self.revenue(k), 2), round(self.opex(k), 2)
            inc = {"sales_revenue": round(rev * 0.95, 2)}
            inc["other_operating_income"] = round(rev - inc["sales_revenue"], 2)
            inc["operating_revenue"] = inc["sales_revenue"] + inc["other_operating_income"]
            inc["cost_of_goods_sold"] = round(opex * 0.5, 2)
            inc["payroll_expenses"] = round(opex * 0.3, 2)
            inc["depreciation"] = round(opex * 0.05, 2)
            inc["other_operating_expenses"] = round(
                opex - inc["cost_of_goods_sold"] - inc["payroll_expenses"] - inc["depreciation"], 2
            )
            inc["operating_expenses"] = (
                inc["cost_of_goods_sold"]
                + inc["payroll_expenses"]
                + inc["depreciation"]
                + inc["other_operating_expenses"]
            )
            inc["operating_result"] = inc["operating_revenue"] - inc["operating_expenses"]
            inc["financial_income"] = 1_000.0 if rev else 0.0
            inc["financial_expenses"] = 3_000.0 if rev else 0.0
            inc["result_before_tax"] = (
                inc["operating_result"] + inc["financial_income"] - inc["financial_expenses"]
            )
            inc["tax_expense"] = round(max(0.0, inc["result_before_tax"] * 0.22), 2)
            inc["net_result"] = inc["result_before_tax"] - inc["tax_expense"]
            retained += inc["net_result"]
            if ym[0] != ytd_year:
                ytd, ytd_year = dict.fromkeys(INCOME, 0.0), ym[0]
            ytd = {line: ytd[line] + inc[line] for line in INCOME}

            bal = {
                "intangible_assets": round(self.fixed_assets * 0.1, 2),
                "tangible_fixed_assets": round(self.fixed_assets * 0.8, 2),
                "financial_fixed_assets": round(self.fixed_assets * 0.1, 2),
                "inventory": self.inventory,
                "accounts_receivable": at(self.receivables, k),
                "other_receivables": 0.0,
                "share_capital": self.share_capital,
                "retained_earnings": round(retained, 2),
                "provisions": 0.0,
                "long_term_liabilities": self.long_term,
                "accounts_payable": at(self.payables, k),
                "tax_payable": 0.0,
                "public_duties_payable": at(self.duties, k),
                "other_short_term_liabilities": self.other_short_term,
            }
            bal["total_fixed_assets"] = (
                bal["intangible_assets"]
                + bal["tangible_fixed_assets"]
                + bal["financial_fixed_assets"]
            )
            bal["total_equity"] = bal["share_capital"] + bal["retained_earnings"]
            bal["total_short_term_liabilities"] = (
                bal["accounts_payable"]
                + bal["tax_payable"]
                + bal["public_duties_payable"]
                + bal["other_short_term_liabilities"]
            )
            bal["total_liabilities"] = (
                bal["provisions"]
                + bal["long_term_liabilities"]
                + bal["total_short_term_liabilities"]
            )
            bal["total_equity_and_liabilities"] = bal["total_equity"] + bal["total_liabilities"]
            non_cash = bal["total_fixed_assets"] + self.inventory + at(self.receivables, k)
            bal["cash_and_bank"] = round(bal["total_equity_and_liabilities"] - non_cash, 2)
            bal["total_current_assets"] = (
                bal["inventory"]
                + bal["accounts_receivable"]
                + bal["other_receivables"]
                + bal["cash_and_bank"]
            )
            bal["total_assets"] = bal["total_fixed_assets"] + bal["total_current_assets"]

            month = dict(inc)
            if k in self.null_revenue:
                month["operating_revenue"] = None
            end = month_end(ym)
            row = {
                "organization_number": self.org,
                "snapshot_date": end,
                "id": int(self.org) * 1000 + k,
                "updated_at": datetime(end.year, end.month, end.day, 18, tzinfo=UTC)
                + timedelta(days=1),
                "symetrisk_real_time_accounts_format_version": "2025-09-19",
                "year": ym[0],
                "month": ym[1],
                "currency": "NOK",
            }
            row |= {f"income_statement__month__{x}": month[x] for x in INCOME}
            row |= {f"income_statement__year_to_date__{x}": ytd[x] for x in INCOME}
            row |= {f"balance_sheet__{x}": bal[x] for x in BALANCE}
            row["_k"] = k
            rows.append(row)
        return rows


def portfolio() -> list[Borrower]:
    grow = lambda k: 1_000_000.0 * (1 + 0.01 * k) * (1 + 0.1 * math.sin(k))  # noqa: E731
    losses = {10, 11, 20, 21, 22, 26, 27, 29}
    borrowers = [
        # healthy: growing, profitable, cash-rich; raises no warning. Its newest months revised.
        Borrower(
            "healthy",
            revenue=grow,
            opex=lambda k: 0.85 * grow(k),
            revisions={33: 2, 34: 3},
            scores=[
                (datetime(2025, 6, 1, tzinfo=UTC), 71.0),
                (datetime(2025, 12, 1, tzinfo=UTC), 64.0),
            ],
            nace_section="C",
        ),
        # short: 8 months of history, so every 12-month figure is null.
        Borrower("short", start=(2025, 5), months=8, nace_section="C"),
        # gappy: one missing month, then two in a row (not stale: at most 2 months of silence).
        Borrower("gappy", missing={14, 20, 21}),
        # stale_gap: three months in a row missing in the middle.
        Borrower("stale_gap", missing={10, 11, 12}),
        # stopped: last snapshot four months before the portfolio's newest month.
        Borrower("stopped", months=32),
        # null_revenue: one month's operating_revenue is null.
        Borrower("null_revenue", null_revenue={20}),
        # zero_revenue: no revenue at all (no margin, no growth), small running costs.
        Borrower("zero_revenue", revenue=const(0.0), opex=const(20_000.0), nace_section="L"),
        # negative_revenue: credit notes exceed sales for 15 months, then normal sales.
        Borrower(
            "negative_revenue",
            revenue=lambda k: -50_000.0 if k < 15 else 200_000.0,
            opex=const(10_000.0),
            nace_section="L",
        ),
        # zero_assets: a dormant shell with an all-zero balance sheet.
        Borrower(
            "zero_assets",
            revenue=const(0.0),
            opex=const(0.0),
            share_capital=0.0,
            retained0=0.0,
            fixed_assets=0.0,
            inventory=0.0,
            receivables=0.0,
            long_term=0.0,
            payables=0.0,
            duties=0.0,
            other_short_term=0.0,
            nace_section="L",
        ),
        # negative_equity: modest equity, then heavy losses from month 18 on.
        Borrower(
            "negative_equity",
            opex=lambda k: 900_000.0 if k < 18 else 1_600_000.0,
            retained0=1_500_000.0,
            nace_section="F",
        ),
        # thin_equity: equity about 5 % of assets, break-even, enough cash.
        Borrower(
            "thin_equity",
            revenue=const(90_000.0),
            opex=const(90_000.0),
            retained0=200_000.0,
            fixed_assets=3_000_000.0,
            inventory=1_000_000.0,
            receivables=1_500_000.0,
            long_term=3_500_000.0,
            payables=1_500_000.0,
            duties=200_000.0,
            other_short_term=300_000.0,
            nace_section="F",
        ),
        # healthy_thin_margin: equity ratio just above 10 %, always grey/safe, cash-rich.
        Borrower(
            "healthy_thin_margin",
            revenue=const(400_000.0),
            opex=const(380_000.0),
            retained0=600_000.0,
            fixed_assets=1_000_000.0,
            inventory=500_000.0,
            receivables=500_000.0,
            long_term=2_000_000.0,
            payables=2_000_000.0,
            duties=300_000.0,
            other_short_term=1_000_000.0,
            nace_section="F",
        ),
        # sliding: losses that grow slowly, so Altman Z'' walks from safe through grey into
        # distress in small monthly steps (the zone boundaries are crossed, not jumped over).
        Borrower(
            "sliding",
            revenue=const(400_000.0),
            opex=lambda k: 370_000.0 + 2_500.0 * k,
            retained0=600_000.0,
            fixed_assets=1_000_000.0,
            inventory=500_000.0,
            receivables=500_000.0,
            long_term=2_000_000.0,
            payables=2_000_000.0,
            duties=300_000.0,
            other_short_term=1_000_000.0,
            nace_section="F",
        ),
        # declining: revenue halves from month 18 on, still profitable.
        Borrower(
            "declining",
            revenue=lambda k: 1_000_000.0 if k < 18 else 500_000.0,
            opex=lambda k: 0.8 * (1_000_000.0 if k < 18 else 500_000.0),
        ),
        # loss_streak: losses in months 10-11 (two), 20-22 (three: fires at 22), and 26, 27, 29
        # around a missing month 28 (not three calendar months in a row).
        Borrower(
            "loss_streak",
            opex=lambda k: 1_200_000.0 if k in losses else 900_000.0,
            missing={28},
        ),
        # loss_pairs: losses two months at a time, never three in a row.
        Borrower(
            "loss_pairs",
            opex=lambda k: 1_200_000.0 if k in {5, 6, 8, 9, 12, 13, 15} else 800_000.0,
            missing={14},
        ),
        # cash_poor: profitable and solid, but cash covers well under 3 months of costs.
        Borrower(
            "cash_poor",
            opex=const(950_000.0),
            retained0=1_000_000.0,
            fixed_assets=1_000_000.0,
            inventory=200_000.0,
            receivables=300_000.0,
            long_term=500_000.0,
            payables=300_000.0,
            duties=100_000.0,
            other_short_term=100_000.0,
            scores=[(datetime(2025, 11, 3, tzinfo=UTC), 40.0)],
        ),
        # stretching: suppliers wait longer and longer from month 18 on (payables 2.5x).
        Borrower("stretching", payables=lambda k: 400_000.0 if k < 18 else 1_000_000.0),
        # slow_payers: customers pay later and later from month 18 on (receivables 2.5x).
        Borrower("slow_payers", receivables=lambda k: 500_000.0 if k < 18 else 1_250_000.0),
        # duties_arrears: public duties owed pile up from month 18 on (2.5x).
        Borrower("duties_arrears", duties=lambda k: 100_000.0 if k < 18 else 250_000.0),
        # leveraged: profitable, but its net interest-bearing debt is about 7 x EBITDA.
        Borrower(
            "leveraged",
            opex=const(950_000.0),
            retained0=1_500_000.0,
            fixed_assets=10_000_000.0,
            long_term=10_000_000.0,
            nace_section="C",
        ),
        # burning: from month 12 loses about 235,000 of EBITDA a month; its cash runs out.
        Borrower(
            "burning",
            opex=lambda k: 850_000.0 if k < 12 else 1_300_000.0,
            retained0=1_500_000.0,
            nace_section="J",
        ),
        # revoked: consent revoked on 2025-10-14; its snapshots stop after October (2 silent
        # months up to the portfolio's newest month: not stale).
        Borrower("revoked", months=34, revoked=datetime(2025, 10, 14, 9, 30, tzinfo=UTC)),
        # requested: asked for access, never approved, no snapshots.
        Borrower("requested", months=0, state="access_requested", nace_section="J"),
    ]
    for i, b in enumerate(borrowers):
        b.org = org_number(i + 1)
    return borrowers


BORROWERS = portfolio()
BY_KEY = {b.key: b for b in BORROWERS}
BY_ORG = {b.org: b for b in BORROWERS}

RAW_TYPES = {
    "organization_number": "varchar",
    "snapshot_date": "date",
    "id": "bigint",
    "updated_at": "timestamptz",
    "content_hash": "varchar",  # the loader's; null here
    "symetrisk_real_time_accounts_format_version": "varchar",
    "year": "bigint",
    "month": "bigint",
    "currency": "varchar",
    **{f"income_statement__month__{x}": "double" for x in INCOME},
    **{f"income_statement__year_to_date__{x}": "double" for x in INCOME},
    **{f"balance_sheet__{x}": "double" for x in BALANCE},
}


def write_table(con, schema: str, name: str, rows: list[dict], types: dict[str, str]) -> None:
    """Create schema.name with the given column types and the rows (plus dlt's columns)."""
    columns = {**types, "_dlt_load_id": "varchar", "_dlt_id": "varchar"}
    ddl = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    con.execute(f"create schema if not exists {schema}")
    con.execute(f"create table {schema}.{name} ({ddl})")
    if not rows:
        return
    frame = pd.DataFrame([{c: r.get(c) for c in types} for r in rows], columns=list(types))
    frame["_dlt_load_id"] = "1700000000.0"
    frame["_dlt_id"] = [f"id{i}" for i in range(len(frame))]
    con.register("frame_to_load", frame)
    con.execute(f"insert into {schema}.{name} by name select * from frame_to_load")
    con.unregister("frame_to_load")


def relationship_rows(b: Borrower, borrowers: list[Borrower] = BORROWERS) -> list[dict]:
    """dlt SCD2 versions: requested, then approved, then (maybe) revoked."""
    requested = datetime(2022, 12, 1, 8, tzinfo=UTC)
    approved = datetime(2022, 12, 5, 8, tzinfo=UTC)
    base = {"id": borrowers.index(b) + 1, "organization_number": b.org, "company_name": b.key}
    versions = [
        base | {"relationship_state": "access_requested", "requested_at": requested},
    ]
    if b.state != "access_requested":
        versions.append(
            versions[0] | {"relationship_state": "access_approved", "approved_at": approved}
        )
    if b.revoked:
        versions.append(
            versions[-1] | {"relationship_state": "access_revoked", "revoked_at": b.revoked}
        )
    for v, nxt in zip(versions, versions[1:] + [None], strict=True):
        v["updated_at"] = v.get("revoked_at") or v.get("approved_at") or v["requested_at"]
        v["_dlt_valid_from"] = v["updated_at"]
        v["_dlt_valid_to"] = nxt and (nxt.get("revoked_at") or nxt.get("approved_at"))
    return versions


def version_rows(snapshots: list[dict], by_org: dict[str, Borrower] = BY_ORG) -> list[dict]:
    """Every version the loader saw of each month; earlier versions of a revised month carry
    smaller figures (2 % less per later revision), the newest equals the snapshot."""
    versions = []
    for r in snapshots:
        count = by_org[r["organization_number"]].revisions.get(r["_k"], 1)
        for v in range(count):
            factor = 1 - 0.02 * (count - 1 - v)
            figures = {
                x: r[f"income_statement__month__{x}"]
                for x in ("operating_revenue", "operating_result", "net_result")
            } | {
                x: r[f"balance_sheet__{x}"]
                for x in ("total_equity", "total_assets", "cash_and_bank")
            }
            versions.append(
                {
                    "organization_number": r["organization_number"],
                    "snapshot_date": r["snapshot_date"],
                    "updated_at": r["updated_at"] + timedelta(days=v),
                    "content_hash": f"{r['id']}-{v}",
                    "id": r["id"],
                    "first_seen_at": r["updated_at"] + timedelta(days=v, hours=1),
                    **{k: None if x is None else x * factor for k, x in figures.items()},
                }
            )
    return versions


def write_raw(
    con,
    schema: str = "symetrisk_raw",
    with_versions: bool = True,
    book: list[Borrower] = BORROWERS,
) -> None:
    """The raw tables of these borrowers (the portfolio above unless told), as the loader
    writes them."""
    snapshots = [r for b in book for r in b.snapshot_rows()]
    write_table(con, schema, "accounting_snapshots", snapshots, RAW_TYPES)
    by_org = {b.org: b for b in book}
    versions = version_rows(snapshots, by_org) if with_versions else []
    vtypes = {
        "organization_number": "varchar",
        "snapshot_date": "date",
        "updated_at": "timestamptz",
        "content_hash": "varchar",
        "id": "bigint",
        "first_seen_at": "timestamptz",
        **dict.fromkeys(
            [
                "operating_revenue",
                "operating_result",
                "net_result",
                "total_equity",
                "total_assets",
                "cash_and_bank",
            ],
            "double",
        ),
    }
    write_table(con, schema, "accounting_snapshot_versions", versions, vtypes)
    borrowers = [
        {
            "organization_number": b.org,
            "name": f"{b.key.replace('_', ' ').title()} AS",
            "nace_code": f"{ord(b.nace_section) - 60}.100",
            "nace_section": b.nace_section,
            "founded_date": date(2010, 1, 1) + timedelta(days=97 * i),
            "municipality": "Oslo",
            "accounting_system": "tripletex",
            "connection_status": "connected",
            "consented_to_share_data": b.state == "access_approved" and not b.revoked,
            "relationship_state": "access_revoked" if b.revoked else b.state,
        }
        for i, b in enumerate(book)
    ]
    btypes = {
        "organization_number": "varchar",
        "name": "varchar",
        "nace_code": "varchar",
        "nace_section": "varchar",
        "founded_date": "date",
        "municipality": "varchar",
        "accounting_system": "varchar",
        "connection_status": "varchar",
        "consented_to_share_data": "boolean",
        "relationship_state": "varchar",
        "first_snapshot_date": "varchar",  # declared by the loader; null here
        "last_snapshot_date": "varchar",
    }
    write_table(con, schema, "borrowers", borrowers, btypes)
    rtypes = {
        "id": "bigint",
        "organization_number": "varchar",
        "company_name": "varchar",
        "relationship_state": "varchar",
        "requested_at": "timestamptz",
        "approved_at": "timestamptz",
        "revoked_at": "timestamptz",
        "denied_at": "timestamptz",  # declared by the loader, so it exists while always null
        "updated_at": "timestamptz",
        "_dlt_valid_from": "timestamptz",
        "_dlt_valid_to": "timestamptz",
    }
    rels = [v for b in book for v in relationship_rows(b, book)]
    write_table(con, schema, "relationships", rels, rtypes)
    scores = [
        {
            "organization_number": b.org,
            "score": s,
            "risk_class": "B",
            "probability_of_default": (100 - s) / 1000,
            "calculated_at": at,
            "based_on_snapshot_date": month_end(add_months(AS_OF, -1)),
            "fetched_at": at + timedelta(hours=2),
        }
        for b in book
        for at, s in b.scores
    ]
    stypes = {
        "organization_number": "varchar",
        "score": "bigint",
        "risk_class": "varchar",
        "probability_of_default": "double",
        "calculated_at": "timestamptz",
        "based_on_snapshot_date": "date",
        "fetched_at": "timestamptz",
    }
    write_table(con, schema, "credit_scores", scores, stypes)
    # a bank client has no debtors: the loader still creates the table, empty
    dtypes = {
        "organization_number": "varchar",
        "name": "varchar",
        "relationship_state": "varchar",
        "requested_at": "timestamptz",
        "approved_at": "timestamptz",
    }
    write_table(con, schema, "debtors", [], dtypes)


def build(path, raw_schema: str = "symetrisk_raw", schema: str = "analytics"):
    """Build the dbt project over the raw tables in the DuckDB file at path."""
    return dbt_build.build(dbt_build.duckdb_target(path, schema), raw_schema)


# --- the expected values, in plain Python ------------------------------------------------------


def div(a, b):
    return None if a is None or b is None or b <= 0 else a / b


def expected_months() -> dict[tuple[str, date], dict]:
    """Every KPI of fct_borrower_month, from the builder's rows, with loops over months."""
    out = {}
    for b in BORROWERS:
        rows = {(r["year"], r["month"]): r for r in b.snapshot_rows()}

        def val(ym, line, rows=rows):
            r = rows.get(ym)
            if r is None:
                return None
            key = (
                f"balance_sheet__{line}" if line in BALANCE else f"income_statement__month__{line}"
            )
            return r[key]

        def last_n(ym, n, f):
            values = [f(add_months(ym, -j)) for j in range(n)]
            return None if any(v is None for v in values) else values

        def t12(ym, f):
            values = last_n(ym, 12, f)
            return None if values is None else sum(values)

        for ym in sorted(rows):
            e = {"organization_number": b.org, "month_end": month_end(ym), "_ym": ym}
            e["revenue_t12m"] = t12(ym, lambda m: val(m, "operating_revenue"))
            e["ebitda_t12m"] = t12(
                ym,
                lambda m: (
                    None
                    if val(m, "operating_result") is None
                    else val(m, "operating_result") + val(m, "depreciation")
                ),
            )
            e["operating_result_t12m"] = t12(ym, lambda m: val(m, "operating_result"))
            e["ebitda_margin_t12m"] = div(e["ebitda_t12m"], e["revenue_t12m"])
            ta, te = val(ym, "total_assets"), val(ym, "total_equity")
            tl, tca = val(ym, "total_liabilities"), val(ym, "total_current_assets")
            tstl = val(ym, "total_short_term_liabilities")
            e["equity_ratio"] = div(te, ta)
            e["current_ratio"] = div(tca, tstl)
            opex = last_n(ym, 3, lambda m: val(m, "operating_expenses"))
            e["avg_operating_expenses_3m"] = None if opex is None else sum(opex) / 3
            e["cash_cover_months"] = div(val(ym, "cash_and_bank"), e["avg_operating_expenses_3m"])
            x1 = div(tca - tstl, ta)
            x2 = div(val(ym, "retained_earnings"), ta)
            x3 = div(e["operating_result_t12m"], ta)
            x4 = div(te, tl)
            parts = (x1, x2, x3, x4)
            z = None if None in parts else 6.56 * x1 + 3.26 * x2 + 6.72 * x3 + 1.05 * x4
            e["altman_z"] = z
            e["altman_zone"] = (
                None if z is None else "safe" if z > 2.6 else "grey" if z >= 1.1 else "distress"
            )
            e["total_equity"] = te
            e["operating_result"] = val(ym, "operating_result")
            k = months_between(b.start, ym)
            e["version_count"] = b.revisions.get(k, 1)
            e["is_revised"] = e["version_count"] > 1
            out[(b.org, e["month_end"])] = e
        for ym in sorted(rows):
            e = out[(b.org, month_end(ym))]
            prior = out.get((b.org, month_end(add_months(ym, -12))))
            e["revenue_t12m_prior_year"] = prior and prior["revenue_t12m"]
            e["revenue_growth_yoy"] = (
                None
                if e["revenue_t12m"] is None or div(1, e["revenue_t12m_prior_year"]) is None
                else e["revenue_t12m"] / e["revenue_t12m_prior_year"] - 1
            )
            prev = out.get((b.org, month_end(add_months(ym, -1))))
            e["previous_month_altman_zone"] = prev and prev["altman_zone"]
    return out


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        write_raw(con)
    report = build(path)
    con = duckdb.connect(str(path), read_only=True)
    yield con, report
    con.close()


@pytest.fixture(scope="module")
def expected():
    return (expected_months(),)


def fetch(con, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


# --- tests -------------------------------------------------------------------------------------


def test_builder_keeps_the_accounts_consistent():
    for b in BORROWERS:
        ytd_sum: dict[tuple[int, str], float] = {}
        for r in b.snapshot_rows():
            bs = lambda x, r=r: r[f"balance_sheet__{x}"]  # noqa: E731
            assert math.isclose(
                bs("total_assets"), bs("total_equity_and_liabilities"), abs_tol=0.01
            )
            assert math.isclose(
                bs("total_current_assets"),
                bs("inventory")
                + bs("accounts_receivable")
                + bs("other_receivables")
                + bs("cash_and_bank"),
                abs_tol=0.01,
            )
            m = lambda x, r=r: r[f"income_statement__month__{x}"]  # noqa: E731
            if m("operating_revenue") is not None:
                assert math.isclose(
                    m("operating_result"),
                    m("operating_revenue") - m("operating_expenses"),
                    abs_tol=0.01,
                )
            for line in ("operating_result", "net_result"):
                key = (r["year"], line)
                ytd_sum[key] = ytd_sum.get(key, 0.0) + m(line)
                assert math.isclose(
                    r[f"income_statement__year_to_date__{line}"], ytd_sum[key], abs_tol=0.01
                )


def test_the_portfolio_exercises_every_edge_case(expected):
    (months,) = expected
    of = lambda key: [e for (org, _), e in months.items() if org == BY_KEY[key].org]  # noqa: E731
    assert all(e["revenue_t12m"] is None for e in of("short"))
    assert any(e["revenue_t12m"] is None for e in of("gappy")[12:])  # a gap nulls the sum
    assert any(e["revenue_t12m"] is None for e in of("null_revenue")[12:])
    assert any(
        e["revenue_t12m"] == 0 and e["ebitda_margin_t12m"] is None for e in of("zero_revenue")
    )
    assert any(
        e["revenue_t12m"] is not None and e["revenue_t12m"] < 0 and e["ebitda_margin_t12m"] is None
        for e in of("negative_revenue")
    )
    assert all(e["equity_ratio"] is None and e["altman_z"] is None for e in of("zero_assets"))
    assert any(e["total_equity"] < 0 for e in of("negative_equity"))
    assert any(e["is_revised"] for e in of("healthy"))
    assert {z for e in of("healthy") for z in [e["altman_zone"]] if z} == {"safe"}
    slide = [e["altman_z"] for e in of("sliding") if e["altman_z"] is not None]
    assert any(2.5 < z <= 2.6 for z in slide) and any(1.1 <= z < 1.2 for z in slide)
    assert any(0.9 < z < 1.1 for z in slide)
    entry = [e for e in of("sliding") if e["altman_zone"] == "distress"]
    assert entry[0]["previous_month_altman_zone"] == "grey"


KPI_COLUMNS = [
    "revenue_t12m",
    "ebitda_t12m",
    "ebitda_margin_t12m",
    "operating_result_t12m",
    "revenue_t12m_prior_year",
    "revenue_growth_yoy",
    "equity_ratio",
    "current_ratio",
    "avg_operating_expenses_3m",
    "cash_cover_months",
    "altman_z",
    "altman_zone",
    "previous_month_altman_zone",
    "version_count",
    "is_revised",
]


def test_borrower_month_has_one_row_per_snapshot(warehouse, expected):
    con, _ = warehouse
    got = fetch(con, "select organization_number, month_end from analytics.fct_borrower_month")
    assert sorted((r["organization_number"], r["month_end"]) for r in got) == sorted(expected[0])


@pytest.mark.parametrize("column", KPI_COLUMNS)
def test_kpi_equals_python(warehouse, expected, column):
    con, _ = warehouse
    got = {
        (r["organization_number"], r["month_end"]): r[column]
        for r in fetch(
            con,
            f"select organization_number, month_end, {column} from analytics.fct_borrower_month",
        )
    }
    wrong = [
        (BY_ORG[org].key, end, got.get((org, end)), e[column])
        for (org, end), e in expected[0].items()
        if not same(got.get((org, end)), e[column])
    ]
    assert not wrong, f"{column}: (borrower, month, sql, python) {wrong[:5]}"


# The warnings (episodes, events, rules, covenants) and the portfolio's open warnings are
# tested in test_warning_models.py.


def test_trend_equals_python(warehouse, expected):
    con, _ = warehouse
    months = expected[0]
    rows = {
        r["organization_number"]: r
        for r in fetch(con, "select * from analytics.fct_borrower_trend")
    }
    with_snapshots = {org for org, _ in months}
    assert set(rows) == with_snapshots
    for org in with_snapshots:
        b, got = BY_ORG[org], rows[org]
        own = sorted((e for (o, _), e in months.items() if o == org), key=lambda e: e["_ym"])
        newest = own[-1]
        year_ago = months.get((org, month_end(add_months(newest["_ym"], -12))))
        for name in ("revenue_t12m", "ebitda_margin_t12m", "equity_ratio", "altman_z"):
            want = None
            if year_ago and newest[name] is not None and year_ago[name] is not None:
                want = newest[name] - year_ago[name]
            assert same(got[f"{name}_change_12m"], want), (b.key, name)
        revenue = [
            months.get((org, month_end(add_months(newest["_ym"], -j)))) for j in range(11, -1, -1)
        ]
        ys = [
            None
            if r is None
            else next(
                x["income_statement__month__operating_revenue"]
                for x in b.snapshot_rows()
                if (x["year"], x["month"]) == r["_ym"]
            )
            for r in revenue
        ]
        slope = None
        if None not in ys:
            mean_x, mean_y = 5.5, sum(ys) / 12
            slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(ys)) / sum(
                (x - mean_x) ** 2 for x in range(12)
            )
        assert same(got["revenue_slope_12m"], slope), b.key
        assert got["months_of_history"] == len(own)
        assert got["months_since_newest_snapshot"] == months_between(newest["_ym"], AS_OF)
        if b.scores:
            ordered = sorted(b.scores)
            assert got["credit_score"] == ordered[-1][1]
            want_change = ordered[-1][1] - ordered[-2][1] if len(ordered) > 1 else None
            assert same(got["credit_score_change"], want_change)
        else:
            assert got["credit_score"] is None


def test_portfolio_month_equals_python(warehouse, expected):
    con, _ = warehouse
    (months,) = expected
    groups: dict[tuple[date, str], list] = {}
    for (org, end), e in months.items():
        groups.setdefault((end, BY_ORG[org].nace_section), []).append((org, e))
    rows = fetch(con, "select * from analytics.fct_portfolio_month")
    assert {(r["month_end"], r["nace_section"]) for r in rows} == set(groups)
    for r in rows:
        members = groups[(r["month_end"], r["nace_section"])]
        revenue = [e["revenue_t12m"] for _, e in members if e["revenue_t12m"] is not None]
        ratios = [e["equity_ratio"] for _, e in members if e["equity_ratio"] is not None]
        assert r["borrowers"] == len(members)
        assert same(r["revenue_t12m"], sum(revenue) if revenue else None)
        assert same(r["median_equity_ratio"], statistics.median(ratios) if ratios else None)


def test_dim_borrower_names_every_borrower_and_its_consent(warehouse):
    con, _ = warehouse
    rows = {r["organization_number"]: r for r in fetch(con, "select * from analytics.dim_borrower")}
    assert set(rows) == {b.org for b in BORROWERS}
    for b in BORROWERS:
        r = rows[b.org]
        assert r["nace_section"] == b.nace_section
        assert r["borrower_name"].startswith(b.key.replace("_", " ").title())
        assert r["relationship_state"] == ("access_revoked" if b.revoked else b.state)
        assert r["consent_requested_at"] == datetime(2022, 12, 1, 8, tzinfo=UTC)
        assert r["consent_revoked_at"] == b.revoked
        assert (r["consent_approved_at"] is None) == (b.state == "access_requested")
        assert r["consent_denied_at"] is None


def test_every_model_builds_and_every_test_passes(warehouse):
    _, report = warehouse
    assert {m.name for m in report.models if m.kind != "seed"} == {
        p.stem.removeprefix("symetrisk__")
        for p in (dbt_build.PROJECT_DIR / "models").rglob("*.sql")
    }
    assert {m.name for m in report.models if m.kind == "seed"} == {
        "warning_rules",
        "covenants",
        "facilities",
        "defaults",
    }
    assert all(m.status == "success" for m in report.models)
    singular = {p.stem for p in (dbt_build.PROJECT_DIR / "tests").glob("*.sql")}
    assert singular <= {t.name for t in report.tests}
    assert len(report.tests) > len(singular)  # and the column tests of the YAML files
    assert all(t.status == "pass" for t in report.tests)


def test_the_raw_tables_here_are_the_ones_the_loader_declares(warehouse):
    con, _ = warehouse
    for table, declared in contract.COLUMNS.items():
        columns = {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'symetrisk_raw' and table_name = ?",
                [table],
            ).fetchall()
        }
        assert set(declared) <= columns, (table, set(declared) - columns)


def test_a_fresh_warehouse_without_versions_marks_nothing_revised(tmp_path):
    path = tmp_path / "fresh.duckdb"
    with duckdb.connect(str(path)) as con:
        write_raw(con, with_versions=False)
    build(path)
    con = duckdb.connect(str(path), read_only=True)
    revised, total = con.execute(
        "select count(*) filter (where is_revised), count(*) from analytics.fct_borrower_month"
    ).fetchone()
    assert revised == 0 and total == len(expected_months())
    con.close()


def test_models_read_a_raw_schema_of_any_name_into_any_schema(tmp_path):
    path = tmp_path / "renamed.duckdb"
    with duckdb.connect(str(path)) as con:
        write_raw(con, schema="bank_raw")
    build(path, raw_schema="bank_raw", schema="credit")
    con = duckdb.connect(str(path), read_only=True)
    n = con.execute("select count(*) from credit.fct_borrower_month").fetchone()[0]
    assert n == len(expected_months())
    assert (
        con.execute(
            "select count(*) from information_schema.schemata where schema_name = 'analytics'"
        ).fetchone()[0]
        == 0
    )
    con.close()


def test_snapshot_revisions_compare_first_and_newest_version(warehouse):
    con, _ = warehouse
    by_month: dict[tuple[str, date], list[dict]] = {}
    for v in version_rows([r for b in BORROWERS for r in b.snapshot_rows()]):
        by_month.setdefault((v["organization_number"], v["snapshot_date"]), []).append(v)
    expected = {}
    for key, versions in by_month.items():
        if len(versions) < 2:
            continue
        first = min(versions, key=lambda v: v["updated_at"])
        last = max(versions, key=lambda v: v["updated_at"])
        revenue = first["operating_revenue"]
        expected[key] = {
            "versions": len(versions),
            "operating_revenue_change": div_change(last["operating_revenue"], revenue),
            "total_equity_change": div_change(last["total_equity"], first["total_equity"]),
            "operating_revenue_change_pct": (
                (last["operating_revenue"] - revenue) / revenue
                if revenue is not None and last["operating_revenue"] is not None and revenue > 0
                else None
            ),
        }
    assert expected, "the test portfolio must revise some months"
    rows = fetch(con, "select * from analytics.fct_snapshot_revisions")
    got = {(r["organization_number"], r["month_end"]): r for r in rows}
    assert set(got) == set(expected)
    for key, want in expected.items():
        for column, value in want.items():
            assert same(got[key][column], value), (key, column, got[key][column], value)
    assert any(abs(r["operating_revenue_change"] or 0) > 0 for r in rows)


def div_change(last, first):
    return None if last is None or first is None else last - first


def test_every_mart_column_is_described(warehouse):
    """`make docs` shows every column of every mart with its formula in words."""
    con, _ = warehouse
    sql = "select path from duckdb_databases() where database_name = current_database()"
    target = dbt_build.duckdb_target(con.execute(sql).fetchone()[0])
    # a build writes no manifest.json: dbt parse does (from the build's parse cache)
    work = dbt_build.work_dir(target)
    assert dbt_build.invoke(target, ["parse"], "symetrisk_raw", work).success
    manifest = json.loads(
        (dbt_build.work_dir(target) / "target" / "manifest.json").read_text(encoding="utf-8")
    )
    described = {
        node["alias"]: {c: v.get("description", "").strip() for c, v in node["columns"].items()}
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "/marts/" in "/" + node["original_file_path"]
    }
    missing = {}
    for name, columns in described.items():
        built = [
            c
            for (c,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'analytics' and table_name = ?",
                [name],
            ).fetchall()
        ]
        lacking = [c for c in built if not columns.get(c)]
        # a described column the model no longer has would show in the docs as if it did
        stale = [f"{c} (not in the table)" for c in columns if c not in built]
        if not built or lacking or stale:
            missing[name] = lacking + stale or ["(table not built)"]
    assert described and not missing, missing
