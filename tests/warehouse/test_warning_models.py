"""Warning episodes, rules from the seed, covenants, peers and the credit KPIs, against values
computed independently in Python over the same constructed borrowers as test_models.py.

Each rule of seeds/warning_rules.csv fires on a borrower built for it and not on a healthy
twin; a covenant written for this test is breached on purpose; a bad rules or covenants file
stops the build with one line per bad row."""

from __future__ import annotations

import csv
import shutil
import statistics
from datetime import date

import duckdb
import numpy as np
import pytest
import yaml

from pipelines.warehouse import dbt_build
from tests.warehouse.test_models import (
    AS_OF,
    BORROWERS,
    BY_KEY,
    BY_ORG,
    add_months,
    div,
    expected_months,
    fetch,
    month_end,
    months_between,
    same,
    write_raw,
)

pytestmark = pytest.mark.slow

SEEDS = dbt_build.PROJECT_DIR / "seeds"
VARS = yaml.safe_load((dbt_build.PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
OPEN_MONTHS, CLOSE_MONTHS = VARS["warning_open_months"], VARS["warning_close_months"]
NEW_KPIS = [
    "operating_margin_t12m",
    "net_interest_bearing_debt",
    "nibd_to_ebitda",
    "interest_coverage",
    "ebitda_interest_coverage",
    "cash_cover_months_smoothed",
    "days_sales_outstanding",
    "days_payables_outstanding",
    "inventory_days",
    "working_capital",
    "cash_runway_months",
    "days_payables_change_yoy",
    "public_duties_months",
    "public_duties_change_yoy",
    "cash_cover_months_t12m",
    "cash_runway_months_t12m",
    "nibd_to_ebitda_t12m",
    "revenue_month",
    "revenue_change_month_yoy",
    "days_sales_3m",
    "days_sales_change_yoy",
    "days_sales_recent",
    "days_sales_change_6m",
    "net_liquidity_months",
    "net_liquidity_change_yoy",
    "operating_margin_change_yoy",
    "equity_ratio_t12m",
    "equity_ratio_season_adjusted",
]


def covenant_rows() -> list[list[str]]:
    """Covenants for this test: `healthy` promised an equity ratio of at least 0.99 in 2025
    (breached on purpose: its ratio is about 0.8) and net debt under 4 x EBITDA from 2024 (kept);
    `leveraged` net debt under 6 x EBITDA (breached while it is above)."""
    healthy, leveraged = BY_KEY["healthy"].org, BY_KEY["leveraged"].org
    return [
        [healthy, "equity_ratio", ">=", "0.99", "2025-01-01", "2025-12-31"],
        [healthy, "nibd_to_ebitda", "<=", "4", "2024-01-01", ""],
        [leveraged, "nibd_to_ebitda", "<=", "6", "2024-01-01", ""],
    ]


def project_with_covenants(tmp_path, rows: list[list[str]], rules: str | None = None):
    """A copy of the dbt project whose seeds hold these covenants (and rules, if given)."""
    project = tmp_path / "sql"
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages")  # a symlink back to sql/
    shutil.copytree(dbt_build.PROJECT_DIR, project, ignore=ignore)
    with (project / "seeds" / "covenants.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["organization_number", "metric", "comparison", "threshold", "valid_from", "valid_to"]
        )
        writer.writerows(rows)
    if rules is not None:
        (project / "seeds" / "warning_rules.csv").write_text(rules)
    return project


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("warnings")
    path = tmp / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        write_raw(con)
    project = project_with_covenants(tmp, covenant_rows())
    dbt_build.build(dbt_build.duckdb_target(path), "symetrisk_raw", project_dir=project)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


# --- the expected values, in plain Python ------------------------------------------------------


def expected_kpis() -> dict[tuple[str, date], dict]:
    out = {}
    for b in BORROWERS:
        rows = {(r["year"], r["month"]): r for r in b.snapshot_rows()}

        def line(ym, name, rows=rows):
            r = rows.get(ym)
            if r is None:
                return None
            key = f"income_statement__month__{name}"
            return r[key] if key in r else r[f"balance_sheet__{name}"]

        for ym in rows:
            year = [add_months(ym, -j) for j in range(12)]
            three = [add_months(ym, -j) for j in range(3)]
            full = all(line(m, "operating_revenue") is not None for m in year)
            all3 = all(m in rows for m in three)

            def total(name, year=year, full=full):
                return sum(line(m, name) for m in year) if full else None

            rev, op = total("operating_revenue"), total("operating_result")
            ebitda = op + total("depreciation") if full else None
            fin, cogs = total("financial_expenses"), total("cost_of_goods_sold")
            purchases = cogs + total("other_operating_expenses") if full else None
            cash = line(ym, "cash_and_bank")
            nibd = (
                line(ym, "long_term_liabilities") + line(ym, "other_short_term_liabilities") - cash
            )
            burn = (
                statistics.mean(
                    line(m, "operating_result") + line(m, "depreciation") for m in three
                )
                if all3
                else None
            )
            payables3 = (
                statistics.mean(line(m, "accounts_payable") for m in three) if all3 else None
            )
            opex12 = [line(m, "operating_expenses") for m in year]
            cash3 = [line(m, "cash_and_bank") for m in three]
            smoothed = (
                None
                if None in opex12 or None in cash3 or div(1, statistics.mean(opex12)) is None
                else statistics.mean(cash3) / statistics.mean(opex12)
            )
            duties3 = (
                statistics.mean(line(m, "public_duties_payable") for m in three) if all3 else None
            )
            receivables3 = (
                statistics.mean(line(m, "accounts_receivable") for m in three) if all3 else None
            )
            revenue3 = [line(m, "operating_revenue") for m in three] if all3 else [None]
            sales3 = None if None in revenue3 else statistics.mean(revenue3)
            cash12 = [line(m, "cash_and_bank") for m in year]
            opex_avg = None if None in opex12 else statistics.mean(opex12)
            equity12 = [line(m, "total_equity") for m in year]
            assets12 = [line(m, "total_assets") for m in year]
            nibd12 = [
                None
                if line(m, "cash_and_bank") is None
                else line(m, "long_term_liabilities")
                + line(m, "other_short_term_liabilities")
                - line(m, "cash_and_bank")
                for m in year
            ]
            e = {
                "operating_margin_t12m": div(op, rev),
                "net_interest_bearing_debt": nibd,
                "nibd_to_ebitda": div(nibd, ebitda),
                "interest_coverage": div(op, fin),
                "ebitda_interest_coverage": div(ebitda, fin),
                "cash_cover_months_smoothed": smoothed,
                "days_sales_outstanding": None
                if div(1, rev) is None
                else line(ym, "accounts_receivable") / rev * 365,
                "days_payables_outstanding": None
                if div(1, purchases) is None
                else line(ym, "accounts_payable") / purchases * 365,
                "inventory_days": None
                if div(1, cogs) is None or line(ym, "inventory") is None
                else line(ym, "inventory") / cogs * 365,
                "working_capital": line(ym, "total_current_assets")
                - line(ym, "total_short_term_liabilities"),
                "cash_runway_months": cash / -burn if burn is not None and burn < 0 else None,
                "days_payables_3m": None
                if payables3 is None or div(1, purchases) is None
                else payables3 / purchases * 365,
                "public_duties_months": None
                if duties3 is None or div(1, rev) is None
                else duties3 / (rev / 12),
                "cash_cover_months_t12m": None
                if None in cash12 or div(1, opex_avg) is None
                else statistics.mean(cash12) / opex_avg,
                "cash_runway_months_t12m": cash / (-ebitda / 12)
                if ebitda is not None and ebitda < 0
                else None,
                "nibd_to_ebitda_t12m": None
                if None in nibd12 or div(1, ebitda) is None
                else statistics.mean(nibd12) / ebitda,
                "revenue_month": line(ym, "operating_revenue"),
                "equity_ratio_t12m": None
                if None in assets12 or div(1, statistics.mean(assets12)) is None
                else statistics.mean(equity12) / statistics.mean(assets12),
                "days_sales_3m": None
                if receivables3 is None or div(1, rev) is None
                else receivables3 / rev * 365,
                "days_sales_recent": None
                if receivables3 is None or div(1, sales3) is None
                else receivables3 / sales3 * 365 / 12,
                "net_liquidity_months": None
                if div(1, opex_avg) is None
                else (cash - line(ym, "other_short_term_liabilities")) / opex_avg,
                "_equity_ratio": div(line(ym, "total_equity"), line(ym, "total_assets")),
                "_ym": ym,
            }
            out[(b.org, month_end(ym))] = e
        for ym in rows:
            e = out[(b.org, month_end(ym))]
            prior = out.get((b.org, month_end(add_months(ym, -12)))) or {}
            for name, base in (
                ("days_payables_change_yoy", "days_payables_3m"),
                ("public_duties_change_yoy", "public_duties_months"),
                ("revenue_change_month_yoy", "revenue_month"),
                ("days_sales_change_yoy", "days_sales_3m"),
            ):
                before = prior.get(base)
                e[name] = (
                    None if e[base] is None or div(1, before) is None else e[base] / before - 1
                )
            half = out.get((b.org, month_end(add_months(ym, -6)))) or {}
            changes = [
                None if e[k] is None or div(1, half.get(k)) is None else e[k] / half[k] - 1
                for k in ("days_sales_recent", "days_sales_3m")
            ]
            e["days_sales_change_6m"] = None if None in changes else min(changes)
            for name, base in (
                ("net_liquidity_change_yoy", "net_liquidity_months"),
                ("operating_margin_change_yoy", "operating_margin_t12m"),
            ):
                before, now = prior.get(base), e[base]
                e[name] = None if now is None or before is None else now - before
            # the month's equity ratio, or the year's moved by the change on the same month a
            # year before when that is higher (both known)
            now, before, year = (
                e["_equity_ratio"],
                prior.get("_equity_ratio"),
                e["equity_ratio_t12m"],
            )
            e["equity_ratio_season_adjusted"] = (
                now
                if now is None or before is None or year is None
                else max(now, year + now - before)
            )
    return out


def read_rules() -> list[dict]:
    with (SEEDS / "warning_rules.csv").open(newline="") as f:
        rules = list(csv.DictReader(f))
    for r in rules:
        for level in ("watch_threshold", "act_threshold", "severe_threshold"):
            r[level] = float(r[level]) if r.get(level) else None
    return rules


def past(value: float, comparison: str, threshold: float | None) -> bool:
    if threshold is None:
        return False
    return {
        "<": value < threshold,
        "<=": value <= threshold,
        ">": value > threshold,
        ">=": value >= threshold,
    }[comparison]


STALE = VARS["stale_data_months"]
LAPSE = VARS["monitoring_lapse_months"]


def spells_of(b, reported: list[tuple[int, int]]) -> list[dict]:
    """The borrower's spells of monitoring, in loops: runs of reported months (before a
    revocation) with at most STALE silent months between two; each ends at the revocation or in
    the month after STALE silent months, whichever comes first (None while monitored)."""
    revoked = (b.revoked.year, b.revoked.month) if b.revoked else None
    months = [ym for ym in sorted(reported) if revoked is None or ym < revoked]
    spells: list[dict] = []
    for ym in months:
        if spells and months_between(spells[-1]["months"][-1], ym) - 1 <= STALE:
            spells[-1]["months"].append(ym)
        else:
            spells.append({"months": [ym]})
    for spell, nxt in zip(spells, [*spells[1:], None], strict=True):
        last = spell["months"][-1]
        spell["next"] = nxt and nxt["months"][0]
        silent = months_between(last, spell["next"] or add_months(AS_OF, 1)) - 1
        stop = add_months(last, STALE + 1) if silent > STALE else None
        spell["revoked"] = revoked if revoked and revoked > last else None
        if spell["revoked"] and (stop is None or spell["revoked"] <= stop):
            spell["end"], spell["reason"] = spell["revoked"], "consent_revoked"
        else:
            spell["end"], spell["reason"] = stop, stop and "stopped_reporting"
    return spells


def expected_episodes(
    metrics: dict[tuple[str, date], dict],
    open_months: int = OPEN_MONTHS,
    close_months: int = CLOSE_MONTHS,
) -> list[dict]:
    """Episodes by the rules of the seed and of fct_warning_episodes' header, in loops."""
    by_org: dict[str, list[tuple[date, dict]]] = {}
    for (org, end), e in metrics.items():
        by_org.setdefault(org, []).append((end, e))
    spells = {org: spells_of(BY_ORG[org], [e["_ym"] for _, e in m]) for org, m in by_org.items()}
    episodes = []
    for rule in read_rules():
        for org, months in by_org.items():
            values = {e["_ym"]: e for _, e in months}
            for spell in spells[org]:
                current, run = None, 0
                for ym in spell["months"]:
                    end, e = month_end(ym), values[ym]
                    value = e.get(rule["metric"])
                    if value is None:
                        continue
                    c = rule["comparison"]
                    severe = past(value, c, rule["severe_threshold"])
                    level = (
                        2
                        if severe or past(value, c, rule["act_threshold"])
                        else 1
                        if past(value, c, rule["watch_threshold"])
                        else 0
                    )
                    # hysteresis: open_months in a row past a threshold open, close_months in a
                    # row back inside close; a month past the severe threshold opens at once
                    run = run + 1 if bool(level) == (current is None) else 0
                    if current is None and (run >= open_months or severe):
                        current = {"org": org, "flag": rule["flag"], "opened": end,
                                   "closed": None, "reason": None, "act": None,
                                   "opening_value": value}  # fmt: skip
                        episodes.append(current)
                        run = 0
                    if current is not None and level == 2 and current["act"] is None:
                        current["act"] = end
                    if current is not None and run >= close_months:
                        current["closed"], current["reason"] = end, "back_inside"
                        current = None
                        run = 0
                if current is not None and spell["end"]:
                    # monitoring ended: the episode closes with it
                    current["closed"], current["reason"] = month_end(spell["end"]), spell["reason"]
    for org, org_spells in spells.items():
        for spell in org_spells:
            if spell["reason"] != "stopped_reporting":
                continue
            stop, lapse = spell["end"], add_months(spell["end"], LAPSE)
            closed = reason = None
            if spell["revoked"] and spell["revoked"] < lapse:
                closed, reason = spell["revoked"], "consent_revoked"
            elif spell["next"] and spell["next"] < lapse:
                closed, reason = spell["next"], "reporting_resumed"
            elif lapse <= AS_OF:
                closed, reason = lapse, "lapsed"
            opened = month_end(stop)
            episodes.append({"org": org, "flag": "stale_data", "opened": opened,
                             "closed": closed and month_end(closed), "reason": reason,
                             "act": opened, "opening_value": float(STALE + 1)})  # fmt: skip
    for b in BORROWERS:
        if b.revoked:
            revoked = (b.revoked.year, b.revoked.month)
            lapsed = add_months(revoked, LAPSE) <= AS_OF
            episodes.append({"org": b.org, "flag": "consent_revoked",
                             "opened": month_end(revoked),
                             "closed": month_end(add_months(revoked, LAPSE)) if lapsed else None,
                             "reason": "lapsed" if lapsed else None,
                             "act": None, "opening_value": None})  # fmt: skip
    return episodes


@pytest.fixture(scope="module")
def metrics():
    months = expected_months()
    kpis = expected_kpis()
    return kpis, {key: {**months[key], **kpis[key]} for key in months}


@pytest.fixture(scope="module")
def expected(metrics):
    kpis, values = metrics
    return kpis, expected_episodes(values)


# --- KPIs ---------------------------------------------------------------------------------------


def test_the_new_kpis_are_exercised(expected):
    kpis, _ = expected
    for column in NEW_KPIS:
        values = [e[column] for e in kpis.values()]
        assert any(v is not None for v in values), column
    assert any(e["cash_runway_months"] is None for e in kpis.values())  # profitable months


@pytest.mark.parametrize("column", NEW_KPIS)
def test_kpi_equals_python(warehouse, expected, column):
    rows = fetch(warehouse, f"select organization_number, month_end, {column} from "
                            "analytics.fct_borrower_kpis")  # fmt: skip
    got = {(r["organization_number"], r["month_end"]): r[column] for r in rows}
    assert set(got) == set(expected[0])
    wrong = [
        (BY_ORG[org].key, end, got[(org, end)], e[column])
        for (org, end), e in expected[0].items()
        if not same(got[(org, end)], e[column])
    ]
    assert not wrong, f"{column}: (borrower, month, sql, python) {wrong[:5]}"


# --- episodes and events ------------------------------------------------------------------------


def episode_key(e: dict) -> tuple:
    return (e["org"], e["flag"], e["opened"])


def test_episodes_equal_python(warehouse, expected):
    rows = fetch(warehouse, "select * from analytics.fct_warning_episodes "
                            "where flag not like 'covenant_%'")  # fmt: skip
    got = {(r["organization_number"], r["flag"], r["opened_month"]): r for r in rows}
    assert len(got) == len(rows)
    want = {episode_key(e): e for e in expected[1]}
    missing = sorted((BY_ORG[o].key, f, m) for o, f, m in want.keys() - got.keys())
    extra = sorted((BY_ORG[o].key, f, m) for o, f, m in got.keys() - want.keys())
    assert not missing and not extra, f"missing {missing[:5]}; unexpected {extra[:5]}"
    for key, e in want.items():
        r = got[key]
        assert r["closed_month"] == e["closed"], key
        assert r["closed_reason"] == e["reason"], key
        assert r["act_month"] == e["act"], key
        assert r["peak_severity"] == ("act" if e["act"] else "watch"), key
        assert same(r["opening_value"], e["opening_value"]), key


def test_persistence_is_set_by_dbt_vars(tmp_path, metrics):
    """With warning_open_months = warning_close_months = 1 an episode opens in the first month
    past a threshold and closes in the first back inside; the default (3 and 3) gives fewer,
    longer episodes on the same borrowers."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        write_raw(con)
    project = project_with_covenants(tmp_path, covenant_rows())
    config = project / "dbt_project.yml"
    config.write_text(
        config.read_text()
        .replace("warning_open_months: 3", "warning_open_months: 1")
        .replace("warning_close_months: 3", "warning_close_months: 1")
    )
    dbt_build.build(dbt_build.duckdb_target(path), "symetrisk_raw", project_dir=project)
    with duckdb.connect(str(path), read_only=True) as con:
        rows = fetch(con, "select * from analytics.fct_warning_episodes "
                          "where flag not like 'covenant_%'")  # fmt: skip
    got = {(r["organization_number"], r["flag"], r["opened_month"]): r["closed_month"]
           for r in rows}  # fmt: skip
    want = {episode_key(e): e["closed"] for e in expected_episodes(metrics[1], 1, 1)}
    assert got == want
    assert len(want) > len(expected_episodes(metrics[1]))


def test_events_are_openings_and_escalations(warehouse, expected):
    rows = fetch(warehouse, "select * from analytics.fct_early_warnings "
                            "where flag not like 'covenant_%'")  # fmt: skip
    got = sorted((r["organization_number"], r["flag"], r["month_end"], r["event"], r["severity"])
                 for r in rows)  # fmt: skip
    want = []
    for e in expected[1]:
        opened_at_act = e["act"] == e["opened"]
        want.append((e["org"], e["flag"], e["opened"], "opened",
                     "act" if opened_at_act else "watch"))  # fmt: skip
        if e["act"] and not opened_at_act:
            want.append((e["org"], e["flag"], e["act"], "escalated", "act"))
    assert got == sorted(want)


FLAG_PAIRS = {
    "negative_equity": ("negative_equity", "healthy_thin_margin"),
    "low_equity_ratio": ("thin_equity", "healthy_thin_margin"),
    "revenue_decline_yoy": ("declining", "healthy"),
    "revenue_drop_month_yoy": ("declining", "healthy"),
    "operating_loss_t12m": ("negative_equity", "healthy"),
    "margin_decline_yoy": ("negative_equity", "healthy"),
    "liquidity_drain": ("burning", "healthy"),
    "short_cash_runway": ("burning", "healthy"),
    "low_interest_coverage": ("sliding", "healthy_thin_margin"),
    "payables_stretch": ("stretching", "healthy"),
    "receivables_stretch": ("slow_payers", "healthy"),
    "receivables_surge": ("slow_payers", "healthy"),
    "public_duties_arrears": ("duties_arrears", "healthy"),
    "stale_data": ("stale_gap", "gappy"),
    "consent_revoked": ("revoked", "healthy"),
}


def test_every_rule_of_the_seed_has_a_borrower_and_a_twin():
    assert {r["flag"] for r in read_rules()} | {"stale_data", "consent_revoked"} == set(FLAG_PAIRS)


@pytest.mark.parametrize("flag", sorted(FLAG_PAIRS))
def test_each_rule_fires_on_its_borrower_and_not_on_its_healthy_twin(warehouse, flag):
    fired = {
        BY_ORG[org].key
        for (org,) in warehouse.execute(
            "select distinct organization_number from analytics.fct_warning_episodes "
            "where flag = ?",
            [flag],
        ).fetchall()
    }
    trigger, twin = FLAG_PAIRS[flag]
    assert trigger in fired
    assert twin not in fired


def test_a_state_that_lasts_is_one_episode_not_a_row_a_month(warehouse):
    rows = fetch(warehouse, "select * from analytics.fct_warning_episodes where flag = "
                            f"'low_equity_ratio' and organization_number = "
                            f"'{BY_KEY['thin_equity'].org}'")  # fmt: skip
    assert len(rows) == 1 and rows[0]["closed_month"] is None and rows[0]["months_flagged"] > 20


# --- covenants ----------------------------------------------------------------------------------


def test_covenant_tests_hold_value_headroom_and_breach(warehouse, expected):
    months = expected_months()
    kpis = expected[0]
    rows = fetch(warehouse, "select * from analytics.fct_covenant_tests")
    healthy, leveraged = BY_KEY["healthy"].org, BY_KEY["leveraged"].org
    equity = [r for r in rows if r["organization_number"] == healthy
              and r["metric"] == "equity_ratio"]  # fmt: skip
    # one row per month of 2025 the borrower reported, each breached by about 0.2
    assert sorted(r["month_end"] for r in equity) == [month_end((2025, m)) for m in range(1, 13)]
    for r in equity:
        want = months[(healthy, r["month_end"])]["equity_ratio"]
        assert same(r["value"], want) and same(r["headroom"], want - 0.99)
        assert r["breached"] is True
    debt = [r for r in rows if r["metric"] == "nibd_to_ebitda"]
    assert {r["organization_number"] for r in debt} == {healthy, leveraged}
    for r in debt:
        want = kpis[(r["organization_number"], r["month_end"])]["nibd_to_ebitda"]
        limit = 4.0 if r["organization_number"] == healthy else 6.0
        assert same(r["value"], want)
        assert r["breached"] is (None if want is None else want > limit)
    assert not any(r["breached"] for r in debt if r["organization_number"] == healthy)
    assert any(r["breached"] for r in debt if r["organization_number"] == leveraged)


def test_a_covenant_breach_opens_an_act_episode(warehouse):
    rows = fetch(warehouse, "select * from analytics.fct_warning_episodes "
                            "where flag like 'covenant_%'")  # fmt: skip
    by = {(BY_ORG[r["organization_number"]].key, r["flag"]): r for r in rows}
    breach = by[("healthy", "covenant_equity_ratio")]
    assert breach["opened_month"] == date(2025, 1, 31)
    assert breach["peak_severity"] == "act" and breach["act_month"] == date(2025, 1, 31)
    assert ("leveraged", "covenant_nibd_to_ebitda") in by
    assert ("healthy", "covenant_nibd_to_ebitda") not in by


# --- peers --------------------------------------------------------------------------------------


def test_peer_distribution_and_position_equal_python(warehouse):
    months = expected_months()
    month = month_end(add_months(AS_OF, -1))
    by_section: dict[str, list[tuple[str, float]]] = {}
    for (org, end), e in months.items():
        if end == month and e["equity_ratio"] is not None:
            by_section.setdefault(BY_ORG[org].nace_section, []).append((org, e["equity_ratio"]))
    peers = {r["nace_section"]: r for r in fetch(
        warehouse, "select * from analytics.fct_peer_month where metric = 'equity_ratio' "
                   f"and month_end = '{month}'")}  # fmt: skip
    positions = {r["organization_number"]: r for r in fetch(
        warehouse, "select * from analytics.fct_borrower_peer_position "
                   f"where month_end = '{month}'")}  # fmt: skip
    checked = 0
    for section, members in by_section.items():
        values = sorted(v for _, v in members)
        p = peers[section]
        assert p["borrowers"] == len(values)
        for q, column in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90")):
            assert same(p[column], float(np.percentile(values, q * 100))), (section, column)
        for org, v in members:
            rank = sum(x < v for x in values) / (len(values) - 1) if len(values) > 1 else 0.0
            want = rank if len(values) >= 5 else None
            assert same(positions[org]["equity_ratio_peer_percentile"], want), (section, org)
            checked += want is not None
    assert checked >= 5  # at least one section big enough to rank


def test_a_peer_relative_rule_fires_on_the_bottom_of_its_industry(tmp_path):
    """A rule a bank may add: equity ratio in the bottom decile of its industry (watch)."""
    rules = (SEEDS / "warning_rules.csv").read_text() + (
        'peer_bottom_decile_equity,equity_ratio_peer_percentile,<,0.10,,,"bottom decile"\n'
    )
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        write_raw(con)
    project = project_with_covenants(tmp_path, [], rules)
    dbt_build.build(dbt_build.duckdb_target(path), "symetrisk_raw", project_dir=project)
    with duckdb.connect(str(path), read_only=True) as con:
        fired = {BY_ORG[o].key for (o,) in con.execute(
            "select distinct organization_number from analytics.fct_warning_episodes "
            "where flag = 'peer_bottom_decile_equity'").fetchall()}  # fmt: skip
        lowest = con.execute(
            "select organization_number from analytics.fct_borrower_peer_position "
            "where equity_ratio_peer_percentile = 0 order by month_end desc limit 1"
        ).fetchone()
    assert BY_ORG[lowest[0]].key in fired
    assert "healthy" not in fired


# --- the portfolio ------------------------------------------------------------------------------


def test_portfolio_month_counts_open_episodes_over_the_monitored(warehouse, expected):
    """Shares are over the borrowers monitored that month (consent held, a snapshot that month
    or in the STALE months before it), not over every borrower that ever reported; a borrower
    that stopped or revoked counts as out of sight while its stale_data or consent_revoked
    episode is open."""
    months = expected_months()
    rows = fetch(warehouse, "select * from analytics.fct_portfolio_month")
    episodes = expected[1] + [
        {"org": r["organization_number"], "flag": r["flag"], "opened": r["opened_month"],
         "closed": r["closed_month"], "act": r["act_month"]}
        for r in fetch(warehouse, "select * from analytics.fct_warning_episodes "
                                  "where flag like 'covenant_%'")
    ]  # fmt: skip
    reported: dict[str, list] = {}
    for org, end in months:
        reported.setdefault(org, []).append(months[(org, end)]["_ym"])
    calendar = sorted({e["_ym"] for e in months.values()})
    monitored = {
        (org, month_end(ym))
        for org, yms in reported.items()
        for spell in spells_of(BY_ORG[org], yms)
        for ym in calendar
        if spell["months"][0] <= ym and (spell["end"] is None or ym < spell["end"])
    }

    def open_in(e, end, act_only=False):
        return (
            e["opened"] <= end
            and (e["closed"] is None or e["closed"] > end)
            and (not act_only or (e["act"] is not None and e["act"] <= end))
        )

    sight = {"stale_data", "consent_revoked"}
    out_of_sight = {
        (e["org"], month_end(ym))
        for e in episodes
        if e.get("flag") in sight
        for ym in calendar
        if open_in(e, month_end(ym))
    } - monitored
    assert any(org == BY_KEY["stopped"].org for org, _ in out_of_sight)
    assert not any(org == BY_KEY["stopped"].org and end == month_end(AS_OF)
                   for org, end in monitored)  # fmt: skip
    groups = {(end, BY_ORG[org].nace_section) for org, end in {*months, *monitored, *out_of_sight}}
    assert {(r["month_end"], r["nace_section"]) for r in rows} == groups
    for r in rows:
        end = r["month_end"]

        def members(keys, end=end, section=r["nace_section"]):
            return [o for o, m in keys if m == end and BY_ORG[o].nace_section == section]

        watched = members(monitored)

        def under(org, act_only=False, end=end):
            return any(e["org"] == org and open_in(e, end, act_only) for e in episodes)

        assert r["borrowers"] == len(members(months))
        assert r["borrowers_monitored"] == len(watched)
        assert r["borrowers_with_open_warning"] == sum(under(o) for o in watched)
        assert r["borrowers_on_watchlist"] == sum(under(o, True) for o in watched)
        assert r["borrowers_out_of_sight"] == len(members(out_of_sight))
        if watched:
            assert same(r["share_with_open_warning"],
                        r["borrowers_with_open_warning"] / len(watched))  # fmt: skip
            assert same(r["share_on_watchlist"], r["borrowers_on_watchlist"] / len(watched))
        else:
            assert r["share_with_open_warning"] is None


# --- bad rules and covenants --------------------------------------------------------------------


def test_a_bad_rules_or_covenants_file_stops_the_build_one_line_per_bad_row(tmp_path):
    rules = (SEEDS / "warning_rules.csv").read_text() + "typo,equity_ration,<,0.1,,,x\n"
    covenants = [
        ["912345603", "equity_ratio", ">=", "0.2", "2025-01-01", ""],
        [BY_KEY["healthy"].org, "equity_ratio", ">=", "0.2", "2024-01-01", ""],
        [BY_KEY["healthy"].org, "equity_ratio", ">=", "0.3", "2025-01-01", ""],
    ]
    project = project_with_covenants(tmp_path, covenants, rules)
    with pytest.raises(dbt_build.BuildFailed) as raised:
        dbt_build.build(dbt_build.duckdb_target(tmp_path / "w.duckdb"), "symetrisk_raw",
                        project_dir=project)  # fmt: skip
    lines = raised.value.problems
    assert len(lines) == 3
    typo_line = len((SEEDS / "warning_rules.csv").read_text().splitlines()) + 1
    assert lines[0].startswith(
        f"warning_rules.csv line {typo_line}: unknown metric 'equity_ration'"
    )
    assert lines[1].startswith("covenants.csv line 2: organization_number '912345603'")
    assert lines[2] == (
        f"covenants.csv line 4: equity_ratio covenant of {BY_KEY['healthy'].org} overlaps "
        "the one on line 3"
    )
