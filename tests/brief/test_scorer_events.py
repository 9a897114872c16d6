"""A credit scorer's events and brief: score changes and risk-class migrations among its
debtors, on a real DuckDB whose marts are written here by hand (a scorer's warehouse has no
accounting marts to speak of: its debtors' scores are the news)."""

from __future__ import annotations

import datetime as dt

import duckdb

from pipelines.brief import ledger, report

MARTS = """
create schema analytics;
create table analytics.fct_warning_episodes (organization_number varchar, flag varchar,
    opened_month date, closed_month date, closed_reason varchar, peak_severity varchar,
    act_month date, metric varchar,
    comparison varchar, watch_threshold double, act_threshold double, opening_value double,
    worst_value double, last_value double, months_flagged integer);
create table analytics.fct_early_warnings (organization_number varchar, month_end date,
    flag varchar, event varchar, severity varchar, metric varchar, metric_value double,
    threshold double, episode_opened_month date, episode_closed_month date);
create table analytics.dim_borrower (organization_number varchar, borrower_name varchar,
    nace_section varchar, municipality varchar, consent_approved_at timestamptz,
    consent_revoked_at timestamptz);
create table analytics.fct_snapshot_revisions (organization_number varchar, month_end date,
    versions integer, operating_revenue_change double, operating_revenue_change_pct double,
    total_equity_change double, total_equity_first double);
create table analytics.fct_borrower_month (organization_number varchar, month_end date,
    revenue_t12m double, operating_revenue double, ebitda_margin_t12m double,
    equity_ratio double, altman_z double, altman_zone varchar);
create table analytics.fct_portfolio_month (month_end date, nace_section varchar,
    borrowers integer, borrowers_monitored integer, borrowers_with_open_warning integer,
    share_with_open_warning double, borrowers_on_watchlist integer);
create table analytics.fct_credit_score_changes (organization_number varchar,
    calculated_at timestamptz, based_on_snapshot_date date, credit_score double,
    previous_score double, score_change double, risk_class varchar,
    previous_risk_class varchar, probability_of_default double,
    previous_calculated_at timestamptz, risk_class_changed boolean, migration varchar,
    downgrade boolean);
insert into analytics.dim_borrower values
    ('922654263', 'Hagen & Sønn AS', 'F', 'Oslo', null, null),
    ('835189848', 'Berg Bakeri AS', 'I', 'Bergen', null, null),
    ('956231035', 'Lie Transport AS', 'H', 'Bodø', null, null);
insert into analytics.fct_borrower_month values
    ('922654263', '2026-03-31', null, null, null, null, null, null);
"""


def score(org, day, new, old, cls, old_cls):
    return [org, day, None, new, old, new - old, cls, old_cls, 0.1, None, cls != old_cls,
            f"{old_cls} -> {cls}" if cls != old_cls else None, cls > old_cls]  # fmt: skip


def test_score_changes_and_migrations_are_events_once_and_in_the_brief():
    con = duckdb.connect(":memory:")
    con.execute(MARTS)
    march = dt.datetime(2026, 3, 5, tzinfo=dt.timezone.utc)
    rows = [
        score("922654263", march, 40, 52, "D", "C"),  # downgrade: an act event
        score("835189848", march, 71, 69, "B", "B"),  # 2 points: no event
        score("956231035", march, 58, 66, "C", "C"),  # 8 points down: a watch event
    ]
    con.executemany("insert into analytics.fct_credit_score_changes values "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)  # fmt: skip
    ledger.record(con, "r1")  # the baseline
    april = dt.datetime(2026, 4, 5, tzinfo=dt.timezone.utc)
    con.executemany(
        "insert into analytics.fct_credit_score_changes values "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [score("835189848", april, 80, 71, "A", "B")],
    )
    done = ledger.record(con, "r2")
    assert done.counts == {"risk_class_changed": 1}
    event = ledger.events_of_run(con, "r2")[0]
    assert (event["organization_number"], event["details"], event["severity"]) == (
        "835189848",
        "B -> A",
        "info",
    )
    first = {
        (e["organization_number"], e["event"], e["severity"])
        for e in ledger.events_of_run(con, "r1")
    }
    assert first == {
        ("922654263", "risk_class_changed", "act"),
        ("956231035", "score_changed", "watch"),
    }
    assert ledger.record(con, "r3").events_new == 0  # the same marts again: nothing new

    html = report.render(con, run_id="r2")
    assert "Credit scores of the debtors" in html and "Risk-class migrations" in html
    assert "71 → 80" in html and "Berg Bakeri AS" in html
