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

# How failures happen (docs/portfolio.md cites the literature for each): the share of failures
# of each kind and the months from its first sign (a sudden kind: its event) to the month the
# company fails, uniform and inclusive.
FAILURE_KINDS = (
    ("gradual_decline", 0.40, (12, 30)),  # sales fall, costs stay, creditors wait (Argenti)
    ("margin_erosion", 0.18, (12, 30)),  # prices or costs turn, sales hold, losses mount
    ("liquidity_squeeze", 0.15, (9, 18)),  # customers pay ever later, the cash runs out
    ("lost_customer", 0.15, (6, 12)),  # a large customer gone: sales down 30-60 % at once
    ("one_off_loss", 0.12, (3, 6)),  # one booked loss (claim, guarantee, fraud) wipes out equity
)
SUDDEN_KINDS = ("lost_customer", "one_off_loss")
# The failure hazard depends on the company's figures, as in a logistic failure model (Ohlson
# 1980; Norges Bank's SEBRA, Bernhardsen 2001): logit(yearly rate) = logit(its section's rate)
# + HAZARD_OFFSET + EQUITY_SLOPE x (section equity ratio - its own) + MARGIN_SLOPE x (section
# margin - its own). Thin equity and thin margins fail more often; the offset brings the
# portfolio's average back near the sections' rates.
HAZARD_EQUITY_SLOPE = 5.0
HAZARD_MARGIN_SLOPE = 20.0
HAZARD_OFFSET = -0.25
# Healthy companies that stretch their payables for a while (a slow season, a large purchase,
# a tax deferral), then pay down: this share of the companies that never fail, for this many
# months, payables up by this factor at the peak; some of them leave public duties unpaid too.
STRETCH_SHARE = 0.08
STRETCH_MONTHS = (4, 12)
STRETCH_FACTOR = (1.5, 2.5)
STRETCH_DUTIES_SHARE = 0.4
# A failing company stops bookkeeping this many months before it fails (uniform, inclusive).
SILENCE_BEFORE_FAILURE = (1, 4)
# Dividends: paid in June (after the general meeting approves the annual accounts by 30 June),
# a share of last year's net result, never taking the equity ratio below the owners' target
# nor the cash below two months of operating expenses.
DIVIDEND_MONTH = 6
PAYOUT = (0.3, 1.0)
