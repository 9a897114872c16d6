"""Each kind of failure leaves its own signature in the accounts the sandbox serves (docs/
portfolio.md): read from the snapshot documents and the truth, never from the generator's
parameters. Also: the failure hazard rises as equity thins, and some healthy companies stretch
their payables for a while without failing."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import numpy as np
import orjson
import pytest

from pipelines.sandbox.calibration import FAILURE_KINDS, SUDDEN_KINDS
from pipelines.sandbox.portfolio import Portfolio
from pipelines.sandbox.tenants import OrgNumbers

pytestmark = pytest.mark.slow

SEED, BORROWERS, MONTHS, AS_OF = 13, 2500, 100, date(2026, 10, 31)


def month(text: str) -> int:
    d = date.fromisoformat(text)
    return d.year * 12 + d.month - 1


@pytest.fixture(scope="module")
def book() -> list[tuple[dict, dict[int, dict]]]:
    """(truth, {month number: snapshot data}) of every company."""
    portfolio = Portfolio(SEED, MONTHS, AS_OF)
    out = []
    for org in OrgNumbers(SEED).take("demo-bank", BORROWERS):
        docs = {}
        for d in map(orjson.loads, portfolio.rendered(org).items):
            docs[d["data"]["year"] * 12 + d["data"]["month"] - 1] = d["data"]
        out.append((portfolio.truth(org), docs))
    return out


def line(doc: dict | None, name: str) -> float | None:
    if doc is None:
        return None
    if name in doc["balance_sheet"]:
        return doc["balance_sheet"][name] or 0.0
    return doc["income_statement"]["month"][name]


def total(docs: dict[int, dict], name: str, months: range) -> float | None:
    """The sum of a line over these months; None when one of them has no snapshot."""
    values = [line(docs.get(m), name) for m in months]
    return None if any(v is None for v in values) else float(sum(values))


def failures_of(book, kind: str) -> list[tuple[dict, dict[int, dict], int, int, int]]:
    """(truth, docs, first sign or event, last reported, failure) of the failed companies of a
    kind with at least 15 months of accounts before their first sign."""
    out = []
    for truth, docs in book:
        if truth["kind"] != kind or not truth["failed_by_as_of"] or not docs:
            continue
        start = month(truth["decline_start_month"])
        if start - min(docs) >= 15:
            last = month(truth["last_reported_month"])
            out.append((truth, docs, start, last, month(truth["failure_month"])))
    return out


def share(flags: list[bool]) -> float:
    return sum(flags) / len(flags)


def test_every_kind_fails_in_the_portfolio_and_the_truth_names_it(book):
    counts = defaultdict(int)
    for truth, _ in book:
        if truth["fails"]:
            assert truth["kind"] in {name for name, _, _ in FAILURE_KINDS}
            sudden = truth["kind"] in SUDDEN_KINDS
            assert (
                (truth["event_month"] == truth["decline_start_month"])
                if sudden
                else (truth["event_month"] is None)
            )
            counts[truth["kind"]] += truth["failed_by_as_of"]
        else:
            assert truth["kind"] is None and truth["event_month"] is None
    assert all(counts[name] >= 20 for name, _, _ in FAILURE_KINDS), dict(counts)


def test_lost_customer_revenue_drops_at_once_and_the_failure_follows_in_6_to_12_months(book):
    found = failures_of(book, "lost_customer")
    assert len(found) >= 15
    dropped, steady_before = [], []
    for _, docs, event, last, failed in found:
        assert 6 <= failed - event <= 12 and last >= event + 2
        after = total(docs, "operating_revenue", range(event, event + 2))
        year_ago = total(docs, "operating_revenue", range(event - 12, event - 10))
        before = total(docs, "operating_revenue", range(event - 3, event))
        before_year_ago = total(docs, "operating_revenue", range(event - 15, event - 12))
        if None in (after, year_ago, before, before_year_ago):
            continue
        dropped.append(after / year_ago < 0.8)
        steady_before.append(before / before_year_ago > 0.8)
    assert len(dropped) >= 10
    assert share(dropped) >= 0.9, dropped  # 30-60 % of revenue gone, against a year before
    assert share(steady_before) >= 0.8, steady_before  # and no decline before the event


def test_one_off_loss_wipes_out_equity_in_the_month_it_is_booked(book):
    found = failures_of(book, "one_off_loss")
    assert len(found) >= 15
    for truth, docs, event, last, failed in found:
        assert 3 <= failed - event <= 6 and last >= event + 1, truth
        before, booked = docs.get(event - 1), docs[event]
        if before is None or line(before, "total_equity") <= 0:
            continue
        assert line(booked, "total_equity") < 0, truth["organization_number"]
        # the month's operating result carries the loss: more than the equity it had
        assert -line(booked, "operating_result") > line(before, "total_equity")


def test_liquidity_squeeze_receivables_balloon_and_the_credit_line_fills(book):
    found = failures_of(book, "liquidity_squeeze")
    assert len(found) >= 15
    ballooned, drained, sales_held = [], [], []
    for _, docs, start, last, _ in found:
        early, late = range(start - 3, start), range(last - 2, last + 1)
        figures = [total(docs, n, r) for n in ("accounts_receivable", "operating_revenue")
                   for r in (early, late)]  # fmt: skip
        if None in figures or last - start < 6:
            continue
        recv_early, recv_late, rev_early, rev_late = figures
        ballooned.append((recv_late / rev_late) / (recv_early / rev_early) > 1.8)
        net_cash = [line(docs[m], "cash_and_bank") - line(docs[m], "other_short_term_liabilities")
                    for m in (start - 1, last)]  # fmt: skip
        drained.append(net_cash[1] < net_cash[0])
        sales_held.append(rev_late / rev_early > 0.7)
    assert len(ballooned) >= 10
    assert share(ballooned) >= 0.9 and share(drained) >= 0.9 and share(sales_held) >= 0.8


def test_margin_erosion_margins_slide_over_a_year_or_more_while_sales_hold(book):
    found = failures_of(book, "margin_erosion")
    assert len(found) >= 15
    slid, held = [], []
    for _, docs, start, last, failed in found:
        assert failed - start >= 12
        early, late = range(start - 6, start), range(last - 5, last + 1)
        figures = [total(docs, n, r) for n in ("operating_result", "operating_revenue")
                   for r in (early, late)]  # fmt: skip
        if None in figures:
            continue
        result_early, result_late, rev_early, rev_late = figures
        slid.append(result_late / rev_late < result_early / rev_early - 0.06)
        held.append(rev_late / rev_early > 0.75)
    assert len(slid) >= 10
    assert share(slid) >= 0.9 and share(held) >= 0.8


def test_gradual_decline_revenue_falls_over_a_year_or_more(book):
    found = failures_of(book, "gradual_decline")
    assert len(found) >= 15
    fell = []
    for _, docs, start, last, failed in found:
        assert failed - start >= 12
        late = total(docs, "operating_revenue", range(last - 5, last + 1))
        year_ago = total(docs, "operating_revenue", range(last - 17, last - 11))
        if late and year_ago:
            fell.append(late / year_ago < 0.9)  # against the same months a year before
    assert len(fell) >= 15 and share(fell) >= 0.85


def test_some_healthy_companies_stretch_payables_for_a_while_and_do_not_fail(book):
    stretched = []
    for truth, docs in book:
        if truth["stretches_payables_from"] is None:
            continue
        assert not truth["fails"]
        begin = month(truth["stretches_payables_from"])
        during = total(docs, "accounts_payable", range(begin + 2, begin + 4))
        before = total(docs, "accounts_payable", range(begin - 12, begin - 10))
        if during and before:
            stretched.append(during / before > 1.3)
    assert len(stretched) >= 50  # several per cent of the healthy companies
    assert share(stretched) >= 0.8


def test_the_failure_hazard_rises_as_equity_thins(book):
    """Companies sorted by the equity ratio of their first month: the thinnest third fails
    more than twice as often as the thickest third."""
    rows = []
    for truth, docs in book:
        if not docs or truth["archetype"] == "stopped":
            continue
        b = docs[min(docs)]["balance_sheet"]
        rows.append((b["total_equity"] / b["total_assets"], truth["fails"]))
    rows.sort()
    third = len(rows) // 3
    thin = np.mean([f for _, f in rows[:third]])
    thick = np.mean([f for _, f in rows[-third:]])
    assert thin > 2 * thick, (thin, thick)
