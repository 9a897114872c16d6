"""The synthetic portfolio's accounting holds together on every snapshot served over HTTP:
totals are sums of their lines, the balance sheet balances, year to date is the sum of the
year's months, retained earnings move with the net result. Also determinism and revisions."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, timedelta

import pytest
import requests

from pipelines import orgnr
from pipelines.sandbox.portfolio import BALANCE_LINES, FORMAT_VERSION, INCOME_LINES
from tests.conftest import fetch_all, session_for, start_sandbox

TOLERANCE = 0.005


def v(lines: dict, name: str) -> float:
    """A line's amount; null counts as zero in sums."""
    return lines[name] or 0.0


def check_income(lines: dict) -> None:
    assert set(lines) == set(INCOME_LINES)
    rev = v(lines, "sales_revenue") + v(lines, "other_operating_income")
    assert abs(v(lines, "operating_revenue") - rev) < TOLERANCE
    cost = sum(
        v(lines, n)
        for n in (
            "cost_of_goods_sold",
            "payroll_expenses",
            "depreciation",
            "other_operating_expenses",
        )
    )
    assert abs(v(lines, "operating_expenses") - cost) < TOLERANCE
    op = v(lines, "operating_revenue") - v(lines, "operating_expenses")
    assert abs(v(lines, "operating_result") - op) < TOLERANCE
    rbt = op + v(lines, "financial_income") - v(lines, "financial_expenses")
    assert abs(v(lines, "result_before_tax") - rbt) < TOLERANCE
    assert abs(v(lines, "net_result") - (rbt - v(lines, "tax_expense"))) < TOLERANCE


def check_balance(b: dict) -> None:
    assert set(b) == set(BALANCE_LINES)

    def total(name: str, parts: tuple[str, ...]) -> None:
        assert abs(v(b, name) - sum(v(b, p) for p in parts)) < TOLERANCE, name

    total(
        "total_fixed_assets",
        ("intangible_assets", "tangible_fixed_assets", "financial_fixed_assets"),
    )
    total(
        "total_current_assets",
        ("inventory", "accounts_receivable", "other_receivables", "cash_and_bank"),
    )
    total("total_assets", ("total_fixed_assets", "total_current_assets"))
    total("total_equity", ("share_capital", "retained_earnings"))
    total(
        "total_short_term_liabilities",
        (
            "accounts_payable",
            "tax_payable",
            "public_duties_payable",
            "other_short_term_liabilities",
        ),
    )
    total(
        "total_liabilities", ("provisions", "long_term_liabilities", "total_short_term_liabilities")
    )
    total("total_equity_and_liabilities", ("total_equity", "total_liabilities"))
    assert abs(b["total_assets"] - b["total_equity_and_liabilities"]) < TOLERANCE
    assert b["cash_and_bank"] >= 0  # a shortfall is drawn on the credit line


@pytest.fixture(scope="module")
def portfolio():
    """Every snapshot of every approved borrower of a 60 x 36 portfolio, by company."""
    with start_sandbox(borrowers=60, months=36, seed=7) as sb, session_for(sb) as bank:
        rels = fetch_all(bank, sb.api_url + "/relationships")
        out = {}
        for r in rels:
            if r["relationship_state"] == "access_approved":
                org = r["organization_number"]
                out[org] = fetch_all(bank, f"{sb.api_url}/accounting-data/{org}")
        yield out


def test_every_snapshot_is_consistent(portfolio):
    count = 0
    for org, items in portfolio.items():
        assert orgnr.is_valid(org)
        for s in items:
            assert s["organization_number"] == org
            d = s["data"]
            assert d["symetrisk_real_time_accounts_format_version"] == FORMAT_VERSION
            assert d["currency"] == "NOK"
            assert (
                s["snapshot_date"] == f"{d['year']:04d}-{d['month']:02d}-" + s["snapshot_date"][-2:]
            )
            check_income(d["income_statement"]["month"])
            check_income(d["income_statement"]["year_to_date"])
            check_balance(d["balance_sheet"])
            count += 1
    assert count > 1000


def test_year_to_date_is_the_sum_of_the_years_months(portfolio):
    for items in portfolio.values():
        running: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(INCOME_LINES, 0))
        for s in reversed(items):  # oldest first
            d = s["data"]
            acc = running[d["year"]]
            for name in INCOME_LINES:
                acc[name] += d["income_statement"]["month"][name]
                assert abs(d["income_statement"]["year_to_date"][name] - acc[name]) < TOLERANCE
            if d["month"] == 1:
                assert d["income_statement"]["year_to_date"] == d["income_statement"]["month"]


def test_retained_earnings_move_with_net_result_less_dividends_paid_in_june(portfolio):
    dividends = 0
    for items in portfolio.values():
        oldest_first = list(reversed(items))
        for prev, cur in zip(oldest_first, oldest_first[1:], strict=False):
            # months missing in between carried no bookkeeping, so no result either
            change = (
                cur["data"]["balance_sheet"]["retained_earnings"]
                - prev["data"]["balance_sheet"]["retained_earnings"]
            )
            net = cur["data"]["income_statement"]["month"]["net_result"]
            if cur["data"]["month"] == 6 and change < net - TOLERANCE:
                dividends += 1  # paid after the general meeting approved the accounts
            else:
                assert abs(change - net) < TOLERANCE
    assert dividends > 0


def test_ids_unique_and_dates_month_ends(portfolio):
    ids = [s["id"] for items in portfolio.values() for s in items]
    assert len(ids) == len(set(ids))
    for items in portfolio.values():
        for s in items:
            day = date.fromisoformat(s["snapshot_date"])
            assert (day + timedelta(days=1)).day == 1
            assert s["updated_at"] > s["snapshot_date"] and s["updated_at"].endswith("Z")


def test_portfolio_is_realistic(portfolio):
    counts = [len(items) for items in portfolio.values()]
    assert max(counts) == 36 and min(counts) < 36  # young, gappy or stopped companies
    newest = [items[0]["data"]["balance_sheet"] for items in portfolio.values()]
    assert any(b["total_equity"] < 0 for b in newest)  # some distressed
    assert any(b["inventory"] is None for b in newest)  # service companies
    gappy = 0
    for items in portfolio.values():
        months = [int(s["snapshot_date"][:4]) * 12 + int(s["snapshot_date"][5:7]) for s in items]
        gappy += any(a - b > 1 for a, b in zip(months, months[1:], strict=False))
    assert gappy >= 1


def test_same_seed_same_bytes():
    def digest(sb) -> str:
        with session_for(sb) as bank:
            h = hashlib.sha256()
            for r in fetch_all(bank, sb.api_url + "/relationships"):
                h.update(orgnr.validate(r["organization_number"]).encode())
                if r["relationship_state"] == "access_approved":
                    url = f"{sb.api_url}/accounting-data/{r['organization_number']}"
                    h.update(bank.get(url).content)
            return h.hexdigest()

    with start_sandbox(borrowers=8, seed=3) as a, start_sandbox(borrowers=8, seed=3) as b:
        first, second = digest(a), digest(b)
    with start_sandbox(borrowers=8, seed=4) as c:
        third = digest(c)
    assert first == second != third


def test_advance_month_revises_recent_months():
    with start_sandbox(borrowers=40, months=12) as sb, session_for(sb) as bank:
        orgs = [
            r["organization_number"]
            for r in fetch_all(bank, sb.api_url + "/relationships")
            if r["relationship_state"] == "access_approved"
        ]
        before = {o: fetch_all(bank, f"{sb.api_url}/accounting-data/{o}") for o in orgs}
        requests.post(sb.base_url + "/sandbox/advance-month").raise_for_status()
        revised = 0
        for org in orgs:
            url = f"{sb.api_url}/accounting-data/{org}"
            after = {s["snapshot_date"]: s for s in fetch_all(bank, url)}
            for old in before[org]:
                new = after[old["snapshot_date"]]
                assert new["id"] == old["id"]
                if new["data"] != old["data"]:
                    assert new["updated_at"] > old["updated_at"]
                    revised += 1
                else:
                    assert new["updated_at"] == old["updated_at"]
                check_balance(new["data"]["balance_sheet"])
        assert revised > 0


def check_company(items: list[dict]) -> None:
    """Every identity of this file on one company's snapshots, newest first as served."""
    running: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(INCOME_LINES, 0))
    for s in reversed(items):
        d = s["data"]
        check_income(d["income_statement"]["month"])
        check_income(d["income_statement"]["year_to_date"])
        check_balance(d["balance_sheet"])
        acc = running[d["year"]]
        for name in INCOME_LINES:
            acc[name] += d["income_statement"]["month"][name]
            assert abs(d["income_statement"]["year_to_date"][name] - acc[name]) < TOLERANCE
    oldest_first = list(reversed(items))
    for prev, cur in zip(oldest_first, oldest_first[1:], strict=False):
        change = (
            cur["data"]["balance_sheet"]["retained_earnings"]
            - prev["data"]["balance_sheet"]["retained_earnings"]
        )
        net = cur["data"]["income_statement"]["month"]["net_result"]
        assert abs(change - net) < TOLERANCE or (
            cur["data"]["month"] == 6 and change < net  # a dividend, paid in June
        )


def test_the_accounts_add_up_for_every_kind_of_failure_and_for_stretched_payables():
    """The identities hold through a gradual decline, a margin erosion, a liquidity squeeze, a
    lost customer and a one-off loss (that month's loss booked as a claim owed), and through a
    healthy company's spell of stretched payables: up to five approved companies of each."""
    with start_sandbox(borrowers=900, months=60, seed=7) as sb, session_for(sb) as bank:
        truth = requests.get(sb.base_url + "/sandbox/truth", timeout=60).json()["items"]
        approved = {
            r["organization_number"]
            for r in fetch_all(bank, sb.api_url + "/relationships")
            if r["relationship_state"] == "access_approved"
        }
        chosen: dict[str, list[str]] = defaultdict(list)
        for t in truth:
            group = t["kind"] or ("stretched_payables" if t["stretches_payables_from"] else None)
            wanted = (
                group and len(chosen[group]) < 5 and (t["kind"] is None or t["failed_by_as_of"])
            )
            if wanted and t["organization_number"] in approved:
                chosen[group].append(t["organization_number"])
        assert set(chosen) == {
            "gradual_decline",
            "margin_erosion",
            "liquidity_squeeze",
            "lost_customer",
            "one_off_loss",
            "stretched_payables",
        }, dict(chosen)
        for orgs in chosen.values():
            for org in orgs:
                items = fetch_all(bank, f"{sb.api_url}/accounting-data/{org}")
                assert items
                check_company(items)
