"""The sandbox portfolio behaves like Norwegian small companies: its distributions fall in the
bands of docs/portfolio.md (read from that file's table, so the documented bands and the tested
ones cannot drift apart). The figures are computed here from the snapshot documents the API
serves and from the sandbox's truth, not from the generator's parameters."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import orjson
import pytest

from pipelines.sandbox.portfolio import Portfolio
from pipelines.sandbox.tenants import OrgNumbers

DOC = Path(__file__).resolve().parents[2] / "docs" / "portfolio.md"
SEED, BORROWERS, MONTHS, AS_OF = 11, 2000, 100, date(2026, 10, 31)


def documented_bands() -> dict[str, tuple[float, float]]:
    """`| `key` | what | low | high | source |` rows of docs/portfolio.md's bands table."""
    bands = {}
    for line in DOC.read_text().splitlines():
        match = re.match(r"\|\s*`(\w+)`\s*\|[^|]*\|\s*([-\d.]+)\s*\|\s*([-\d.]+)\s*\|", line)
        if match:
            bands[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    return bands


def month_key(doc: dict) -> int:
    return doc["data"]["year"] * 12 + doc["data"]["month"] - 1


def figures() -> dict[str, float]:
    portfolio = Portfolio(SEED, MONTHS, AS_OF)
    orgs = OrgNumbers(SEED).take("demo-bank", BORROWERS)
    newest = portfolio.start + portfolio.current
    equity, assets, ratios, ratios_5y_ago, margins, cash_cover = [], [], [], [], [], []
    results, revenues = [], []
    by_section: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    season: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(12))
    payers: dict[int, list[bool]] = defaultdict(list)
    odd_moves = 0
    failures, years_at_risk, build_ups = 0, 0.0, []
    for org in orgs:
        company = portfolio.company(org)
        section = company.industry.section
        docs = {month_key(d): d["data"] for d in map(orjson.loads, portfolio.rendered(org).items)}
        truth = portfolio.truth(org)
        for key, d in docs.items():
            season[section][key % 12] += d["income_statement"]["month"]["operating_revenue"]
            before = docs.get(key - 1)
            if before is None:
                continue
            moved = (
                d["balance_sheet"]["retained_earnings"]
                - before["balance_sheet"]["retained_earnings"]
                - d["income_statement"]["month"]["net_result"]
            )
            if d["month"] == 6:
                payers[d["year"]].append(moved < -0.005)
            elif abs(moved) > 0.005:
                odd_moves += 1
        first = min(docs)
        if truth["failed_by_as_of"]:
            failures += 1
            failed = date.fromisoformat(truth["failure_month"])
            decline = date.fromisoformat(truth["decline_start_month"])
            build_ups.append((failed.year - decline.year) * 12 + failed.month - decline.month)
            end = failed.year * 12 + failed.month - 1
        else:
            end = newest + 1
        years_at_risk += max(end - first, 0) / 12
        now = docs.get(newest)
        if now is None:
            continue
        b = now["balance_sheet"]
        ratio = b["total_equity"] / b["total_assets"]
        equity.append(b["total_equity"])
        assets.append(b["total_assets"])
        ratios.append(ratio)
        by_section[section]["equity"].append(ratio)
        if newest - 60 in docs:
            old = docs[newest - 60]["balance_sheet"]
            ratios_5y_ago.append(old["total_equity"] / old["total_assets"])
        year = [docs.get(newest - k) for k in range(12)]
        if all(year):
            revenue = sum(m["income_statement"]["month"]["operating_revenue"] for m in year)
            result = sum(m["income_statement"]["month"]["operating_result"] for m in year)
            if revenue > 0:
                margins.append(result / revenue)
                by_section[section]["margin"].append(result / revenue)
                results.append(result)
                revenues.append(revenue)
            costs = np.mean(
                [m["income_statement"]["month"]["operating_expenses"] for m in year[:3]]
            )
            cash_cover.append(b["cash_and_bank"] / costs)
            by_section[section]["cash"].append(b["cash_and_bank"] / costs)

    def med(values: list) -> float:
        return float(np.median(values))

    def peak_to_trough(section: str) -> float:
        return float(season[section].max() / season[section].min())

    full_years = [y for y in payers if len(payers[y]) >= BORROWERS // 4]
    return {
        "median_equity_ratio": med(ratios),
        "aggregate_equity_ratio": sum(equity) / sum(assets),
        "negative_equity_share": float(np.mean(np.array(ratios) < 0)),
        "median_equity_ratio_change_5y": med(ratios) - med(ratios_5y_ago),
        "median_operating_margin": med(margins),
        "aggregate_operating_margin": sum(results) / sum(revenues),
        "median_cash_cover_months": med(cash_cover),
        "yearly_failure_rate": failures / years_at_risk,
        "median_failure_build_up_months": med(build_ups),
        "dividend_payer_share": float(np.mean([np.mean(payers[y]) for y in full_years])),
        "retained_earnings_moves_outside_june": float(odd_moves),
        "peak_to_trough_hospitality": peak_to_trough("I"),
        "peak_to_trough_construction": peak_to_trough("F"),
        "peak_to_trough_it": peak_to_trough("J"),
        "median_equity_ratio_hospitality": med(by_section["I"]["equity"]),
        "median_equity_ratio_professional": med(by_section["M"]["equity"]),
        "median_operating_margin_retail": med(by_section["G"]["margin"]),
        "median_operating_margin_professional": med(by_section["M"]["margin"]),
        "median_cash_cover_months_retail": med(by_section["G"]["cash"]),
        "median_cash_cover_months_it": med(by_section["J"]["cash"]),
    }


@pytest.fixture(scope="module")
def measured() -> dict[str, float]:
    return figures()


def test_docs_document_a_band_for_every_figure(measured):
    assert set(documented_bands()) == set(measured)


def test_portfolio_distributions_fall_in_the_documented_bands(measured):
    bands = documented_bands()
    print(f"\nseed {SEED}, {BORROWERS} borrowers x {MONTHS} months:")
    outside = []
    for name, value in measured.items():
        low, high = bands[name]
        print(f"  {name:40s} {value:8.3f}   band {low:g} .. {high:g}")
        if not low <= value <= high:
            outside.append(f"{name}={value:.3f} not in [{low}, {high}]")
    assert not outside, outside
