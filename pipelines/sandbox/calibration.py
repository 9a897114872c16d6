"""What the sandbox's companies look like per NACE section: operating margin, equity ratio, cash,
seasonality and yearly failure rate. These are the generator's inputs; the figures the
portfolio must show, their sources and the bands a test checks are in docs/portfolio.md."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A NACE section's typical company: the median of each parameter (companies spread around
    it), chosen to sit inside the bands of docs/portfolio.md."""

    margin: float  # operating result / operating revenue, over a year
    equity: float  # equity ratio the owners steer towards (dividends stop below it)
    cash_months: float  # cash and bank in months of operating expenses
    seasonality: float  # amplitude of the yearly revenue cycle (0.2: peak 1.2x, trough 0.8x)
    failure_rate: float  # share of companies failing in a year


SECTIONS = {
    "A": Section(margin=0.12, equity=0.45, cash_months=2.5, seasonality=0.30, failure_rate=0.010),
    "C": Section(margin=0.06, equity=0.40, cash_months=1.5, seasonality=0.08, failure_rate=0.015),
    "F": Section(margin=0.06, equity=0.32, cash_months=1.5, seasonality=0.20, failure_rate=0.030),
    "G": Section(margin=0.04, equity=0.33, cash_months=1.2, seasonality=0.15, failure_rate=0.025),
    "H": Section(margin=0.05, equity=0.30, cash_months=1.2, seasonality=0.08, failure_rate=0.025),
    "I": Section(margin=0.04, equity=0.25, cash_months=1.0, seasonality=0.35, failure_rate=0.040),
    "J": Section(margin=0.10, equity=0.45, cash_months=3.0, seasonality=0.05, failure_rate=0.015),
    "L": Section(margin=0.25, equity=0.40, cash_months=3.0, seasonality=0.03, failure_rate=0.010),
    "M": Section(margin=0.12, equity=0.45, cash_months=3.0, seasonality=0.06, failure_rate=0.010),
    "N": Section(margin=0.05, equity=0.30, cash_months=1.2, seasonality=0.06, failure_rate=0.030),
    "Q": Section(margin=0.12, equity=0.45, cash_months=2.5, seasonality=0.05, failure_rate=0.005),
    "S": Section(margin=0.06, equity=0.30, cash_months=1.2, seasonality=0.08, failure_rate=0.025),
}

# A failure builds up over this many months (uniform), from the first month of decline to the
# month the company fails; a few fail fast (a lost customer, a fraud, a large claim).
SLOW_BUILD_UP = (12, 30)
FAST_BUILD_UP = (4, 9)
FAST_SHARE = 0.12
# A failing company stops bookkeeping this many months before it fails (uniform, inclusive).
SILENCE_BEFORE_FAILURE = (1, 4)
# Dividends: paid in June (after the general meeting approves the annual accounts by 30 June),
# a share of last year's net result, never taking the equity ratio below the owners' target
# nor the cash below two months of operating expenses.
DIVIDEND_MONTH = 6
PAYOUT = (0.3, 1.0)
