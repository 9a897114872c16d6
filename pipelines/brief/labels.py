"""Words and number formats the credit team reads: industry names for NACE sections, flag and
event names, NOK with thousands separators and percentages. The brief, the alerts and the
notebook all take their labels from here, so they say the same thing the same way."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

# NACE Rev. 2 (SN2007) sections
NACE_SECTIONS = {
    "A": "Agriculture, forestry and fishing",
    "B": "Mining and quarrying",
    "C": "Manufacturing",
    "D": "Electricity and gas supply",
    "E": "Water supply and waste management",
    "F": "Construction",
    "G": "Wholesale and retail trade",
    "H": "Transport and storage",
    "I": "Accommodation and food service",
    "J": "Information and communication",
    "K": "Financial and insurance activities",
    "L": "Real estate activities",
    "M": "Professional, scientific and technical activities",
    "N": "Administrative and support services",
    "O": "Public administration and defence",
    "P": "Education",
    "Q": "Health and social work",
    "R": "Arts, entertainment and recreation",
    "S": "Other service activities",
    "T": "Households as employers",
    "U": "Extraterritorial organisations",
    "unknown": "Industry unknown",
}

FLAGS = {
    "negative_equity": "Negative equity",
    "low_equity_ratio": "Low equity ratio",
    "revenue_decline_yoy": "Revenue decline",
    "revenue_drop_month_yoy": "Revenue drop on the same month",
    "operating_loss_t12m": "Operating loss",
    "margin_decline_yoy": "Margin sliding",
    "liquidity_drain": "Liquidity draining",
    "receivables_stretch": "Customers paying slower",
    "receivables_surge": "Receivables surging",
    "low_cash_cover": "Low cash cover",
    "short_cash_runway": "Short cash runway",
    "low_interest_coverage": "Low interest coverage",
    "high_leverage": "High leverage",
    "payables_stretch": "Suppliers paid slower",
    "public_duties_arrears": "Public duties in arrears",
    "altman_distress": "Altman distress zone",
    "stale_data": "Stopped reporting",
    "consent_revoked": "Consent revoked",
}

# metric -> (label, unit): unit "pct" (a fraction shown as percent), "months", "x" (a
# multiple), "nok" or "" (a plain number)
METRICS = {
    "equity_ratio": ("equity ratio", "pct"),
    "current_ratio": ("current ratio", "x"),
    "cash_cover_months": ("cash cover", "months"),
    "cash_cover_months_smoothed": ("cash cover", "months"),
    "revenue_growth_yoy": ("revenue growth on the year", "pct"),
    "ebitda_margin_t12m": ("EBITDA margin (12 months)", "pct"),
    "operating_margin_t12m": ("operating margin (12 months)", "pct"),
    "altman_z": ("Altman Z''", ""),
    "total_equity": ("equity", "nok"),
    "net_interest_bearing_debt": ("net interest-bearing debt", "nok"),
    "nibd_to_ebitda": ("net debt to EBITDA", "x"),
    "interest_coverage": ("interest coverage", "x"),
    "ebitda_interest_coverage": ("EBITDA interest coverage", "x"),
    "days_sales_outstanding": ("days sales outstanding", "days"),
    "days_payables_outstanding": ("days payables outstanding", "days"),
    "inventory_days": ("inventory days", "days"),
    "working_capital": ("working capital", "nok"),
    "cash_runway_months": ("cash runway", "months"),
    "days_payables_change_yoy": ("days payables, change on the year", "pct"),
    "public_duties_months": ("public duties owed", "months"),
    "public_duties_change_yoy": ("public duties owed, change on the year", "pct"),
    "equity_ratio_t12m": ("equity ratio (12 months)", "pct"),
    "equity_ratio_season_adjusted": ("equity ratio, past the season", "pct"),
    "cash_cover_months_t12m": ("cash cover (12 months)", "months"),
    "cash_runway_months_t12m": ("cash runway (12 months' burn)", "months"),
    "nibd_to_ebitda_t12m": ("net debt to EBITDA (12 months)", "x"),
    "revenue_change_month_yoy": ("revenue on the same month a year before", "pct"),
    "days_sales_change_yoy": ("days sales outstanding, change on the year", "pct"),
    "days_sales_change_6m": ("days sales outstanding, change on half a year", "pct"),
    "net_liquidity_months": ("cash less the credit line", "months"),
    "net_liquidity_change_yoy": ("cash less the credit line, change on the year", "months"),
    "operating_margin_change_yoy": ("operating margin, change on the year", "pct"),
    "months_without_snapshot": ("months without a snapshot", "months"),
    "operating_revenue_change_pct": ("revenue revised by", "pct"),
    "credit_score": ("credit score", ""),
}

EVENTS = {
    "opened": "warning opened",
    "rose_to_act": "warning rose to act",
    "closed": "warning closed",
    "monitoring_ended": "warning closed, monitoring ended",
    "covenant_breached": "covenant breached",
    "covenant_cured": "covenant cured",
    "stopped_reporting": "stopped reporting",
    "resumed_reporting": "reporting again",
    "consent_approved": "consent approved",
    "consent_revoked": "consent revoked",
    "month_revised": "month materially revised",
    "score_changed": "credit score changed",
    "risk_class_changed": "risk class changed",
}

ZONES = {"safe": "Safe (Z'' > 2.60)", "grey": "Grey (1.10-2.60)", "distress": "Distress (< 1.10)"}


def industry(section: str | None) -> str:
    """'G' -> 'Wholesale and retail trade'; None -> 'Industry unknown'."""
    key = (section if isinstance(section, str) else "").strip() or "unknown"
    return NACE_SECTIONS.get(key.upper() if len(key) == 1 else key, key)


def flag_name(flag: str | None) -> str:
    """'low_equity_ratio' -> 'Low equity ratio'; 'covenant_equity_ratio' -> 'Covenant: equity
    ratio'; an unknown flag by its own words."""
    if not isinstance(flag, str) or not flag:  # None, or pandas' NaN
        return ""
    if flag in FLAGS:
        return FLAGS[flag]
    if flag.startswith("covenant_"):
        return "Covenant: " + metric_name(flag.removeprefix("covenant_"))
    return flag.replace("_", " ").capitalize()


def event_name(event: str) -> str:
    return EVENTS.get(event, event.replace("_", " "))


def metric_name(metric: str | None) -> str:
    if not isinstance(metric, str) or not metric:
        return ""
    return METRICS.get(metric, (metric.replace("_", " "), ""))[0]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def nok(value: Any, compact: bool = False) -> str:
    """NOK 1,234,567 (whole kroner, thousands separated); compact: NOK 42.1M / NOK 950k."""
    if _missing(value):
        return "–"
    value = float(value)
    if compact:
        size = abs(value)
        if size >= 1e9:
            return f"NOK {value / 1e9:,.1f}bn"
        if size >= 1e6:
            return f"NOK {value / 1e6:,.1f}M"
        if size >= 1e3:
            return f"NOK {value / 1e3:,.0f}k"
    return f"NOK {value:,.0f}"


def pct(value: Any, digits: int = 1) -> str:
    """A fraction as percent: 0.041 -> '4.1 %'."""
    if _missing(value):
        return "–"
    shown = round(float(value) * 100, digits) or 0.0  # never "-0.0 %"
    return f"{shown:,.{digits}f} %"


def number(value: Any, digits: int = 2) -> str:
    if _missing(value):
        return "–"
    return f"{round(float(value), digits) or 0.0:,.{digits}f}"


def count(value: Any) -> str:
    """A whole number as one: 11.0 -> '11'."""
    if _missing(value):
        return "–"
    return f"{int(round(float(value))):,}"


def metric_value(metric: str | None, value: Any) -> str:
    """A metric's value in its unit: '4.1 %', '2.3 months', '6.4 x', 'NOK 1,200,000'."""
    unit = METRICS.get(metric if isinstance(metric, str) else "", ("", ""))[1]
    if _missing(value):
        return "–"
    if unit == "pct":
        return pct(value)
    if unit == "nok":
        return nok(value)
    if unit == "months":
        return f"{float(value):,.1f} months"
    if unit == "days":
        return f"{float(value):,.0f} days"
    if unit == "x":
        return f"{float(value):,.2f} x" if abs(float(value)) < 10 else f"{float(value):,.1f} x"
    return number(value)


def month(value: Any) -> str:
    """2026-03-31 -> 'March 2026'."""
    if value is None:
        return "–"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.strftime("%B %Y")


def comparison_words(comparison: str | None, covenant: bool = False) -> str:
    """Which side of the threshold a flagged value is on. A rule's comparison says when it
    warns (< : below); a covenant's says what the loan agreement allows (>= : a breach is
    below)."""
    below = (comparison or "").startswith("<")
    return "below" if below != covenant else "above"


def months_word(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"
