"""The labels the brief, the alerts and the notebook share."""

from __future__ import annotations

import datetime as dt

from pipelines.brief import labels
from pipelines.warehouse import dbt_build, rules_check


def test_nok_has_thousands_separators_and_a_compact_form():
    assert labels.nok(42_100_000) == "NOK 42,100,000"
    assert labels.nok(42_149_999, compact=True) == "NOK 42.1M"
    assert labels.nok(950_000, compact=True) == "NOK 950k"
    assert labels.nok(None) == "–"


def test_fractions_are_percent_and_counts_whole():
    assert labels.pct(0.041) == "4.1 %"
    assert labels.pct(-0.35, 0) == "-35 %"
    assert labels.count(11.0) == "11"
    assert labels.pct(float("nan")) == "–"


def test_industries_and_flags_by_name():
    assert labels.industry("G") == "Wholesale and retail trade"
    assert labels.industry(None) == "Industry unknown"
    assert labels.flag_name("low_equity_ratio") == "Low equity ratio"
    assert labels.flag_name("covenant_nibd_to_ebitda") == "Covenant: net debt to EBITDA"
    assert labels.flag_name("some_new_flag") == "Some new flag"


def test_every_default_rule_and_metric_has_its_own_label():
    rows, problems = rules_check.read_rules(dbt_build.PROJECT_DIR / "seeds" / "warning_rules.csv")
    assert problems == []
    rules = [row for _, row in rows]
    assert {r["flag"] for r in rules} - set(labels.FLAGS) == set()
    assert {r["metric"] for r in rules} - set(labels.METRICS) == set()


def test_metric_values_in_their_units():
    assert labels.metric_value("equity_ratio", 0.041) == "4.1 %"
    assert labels.metric_value("nibd_to_ebitda", 6.444) == "6.44 x"
    assert labels.metric_value("nibd_to_ebitda", 12.44) == "12.4 x"
    assert labels.metric_value("cash_runway_months", 2.25) == "2.2 months"
    assert labels.month(dt.date(2026, 3, 31)) == "March 2026"


def test_no_negative_zero():
    assert labels.pct(-0.00001) == "0.0 %"
    assert labels.number(-0.001, 1) == "0.0"
