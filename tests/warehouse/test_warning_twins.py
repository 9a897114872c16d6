"""The warnings against built borrowers, each against a twin that differs in one thing.

Each borrower's monthly accounts are built here (tests/warehouse/test_models.py's builder),
written as the raw tables the models read, and the real dbt project is built in-process into a
DuckDB file with the default rules of sql/seeds/warning_rules.csv:

- a borrower that stops reporting, or revokes its consent, has its episodes closed with that
  reason; its twin that keeps reporting keeps them open;
- a healthy hotel's off-season raises nothing, while its twin that loses money over the year is
  warned, and the same hotel under the rules of 0.1 (runway on three months' burn) was warned
  every winter;
- a thin hotel whose equity dips below zero every winter raises negative equity only in its
  first winter (its season not yet known), while on the month's equity ratio it did every
  winter;
- a one-off loss that wipes out the equity goes to act in the month it is booked (without the
  severe threshold: two months later);
- a lost large customer is flagged within 2 months; a soft patch of the same company raises no
  revenue warning;
- customers paying ever later at a company with 20 months of history are seen by
  `receivables_surge`, before a year-on-year change can be measured; its twin whose
  receivables hold is not, nor is a hotel whose receivables follow its season.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime, timezone

import duckdb
import pytest

from pipelines.warehouse import dbt_build
from tests.warehouse.test_models import (
    AS_OF,
    Borrower,
    add_months,
    fetch,
    month_end,
    org_number,
    write_raw,
)
from tests.warehouse.test_warning_models import (
    LAPSE,
    OPEN_MONTHS,
    SEEDS,
    STALE,
    project_with_covenants,
)

pytestmark = pytest.mark.slow

UTC = timezone.utc
FIRST = (2023, 1)
EVENT = 24  # k of the month a sudden event is booked: January 2025
EVENT_MONTH = month_end(add_months(FIRST, EVENT))


def calendar_month(k: int) -> int:
    return add_months(FIRST, k)[1]


def hotel_revenue(k: int) -> float:
    """A hotel's summer season: July 1.6 M, January 0.4 M, 1 M a month on average."""
    return 1_000_000.0 * (1 + 0.6 * math.cos(2 * math.pi * (calendar_month(k) - 7) / 12))


# a thin borrower: equity about 5 % of assets, break-even (low_equity_ratio watch all along)
THIN = {
    "revenue": lambda k: 90_000.0,
    "opex": lambda k: 90_000.0,
    "retained0": 200_000.0,
    "fixed_assets": 3_000_000.0,
    "inventory": 1_000_000.0,
    "receivables": 1_500_000.0,
    "long_term": 3_500_000.0,
    "payables": 1_500_000.0,
    "duties": 200_000.0,
    "other_short_term": 300_000.0,
    "nace_section": "F",
}


def _loss() -> float:
    """The equity of the month before the event plus a tenth of the assets (a default
    borrower's accounts), so that the loss wipes the equity out."""
    rows = {r["_k"]: r for r in Borrower("before", org="999999999").snapshot_rows()}
    before = rows[EVENT - 1]
    return before["balance_sheet__total_equity"] + 0.1 * before["balance_sheet__total_assets"]


LOSS = _loss()


def one_off_loss(k: int) -> float:
    return 850_000.0 + (LOSS if k == EVENT else 0.0)


YOUNG = add_months(AS_OF, -19)  # a borrower with 20 months of history up to AS_OF


def young_receivables(k: int) -> float:
    return 500_000.0 * (1 + 0.15 * max(0, k - 9))


def portfolio() -> list[Borrower]:
    borrowers = [
        # monitoring ends: the thin borrower that keeps reporting, that stops (last snapshot
        # April 2025), that revokes its consent (June 2025) and that stopped long ago
        Borrower("thin_reporting", **THIN),
        Borrower("thin_stopped", months=28, **THIN),
        Borrower("thin_revoked", revoked=datetime(2025, 6, 10, 9, tzinfo=UTC), **THIN),
        Borrower("thin_gone", months=12, **THIN),
        # seasonality: a sound hotel (5 % margin over the year, losses every winter) and its
        # twin with the same season that loses money over the year
        Borrower(
            "hotel",
            revenue=hotel_revenue,
            opex=lambda k: 700_000.0 + 0.25 * hotel_revenue(k),
            retained0=2_000_000.0,
            nace_section="I",
        ),
        Borrower(
            "hotel_losing",
            revenue=hotel_revenue,
            opex=lambda k: 760_000.0 + 0.25 * hotel_revenue(k) + (40_000.0 if k >= 12 else 0),
            retained0=2_000_000.0,
            nace_section="I",
        ),
        # a thin, profitable hotel: its equity, positive over the year, dips below zero every
        # winter and recovers every summer
        Borrower(
            "hotel_thin",
            revenue=hotel_revenue,
            opex=lambda k: 700_000.0 + 0.25 * hotel_revenue(k),
            retained0=300_000.0,
            fixed_assets=6_000_000.0,
            long_term=7_000_000.0,
            nace_section="I",
        ),
        # a one-off loss (a claim, a called guarantee) larger than the equity, and the same
        # company without it
        Borrower("one_off_loss", opex=one_off_loss),
        Borrower("no_loss"),
        # a large customer lost at once (40 % of the revenue; costs follow slowly), half the
        # revenue lost, a soft patch (15 % less), and the same company as it was
        Borrower(
            "lost_customer",
            revenue=lambda k: 1_000_000.0 * (0.6 if k >= EVENT else 1.0),
            opex=lambda k: 850_000.0 * (0.9 if k >= EVENT + 3 else 1.0),
        ),
        Borrower(
            "lost_half",
            revenue=lambda k: 1_000_000.0 * (0.45 if k >= EVENT else 1.0),
            opex=lambda k: 850_000.0 * (0.8 if k >= EVENT + 3 else 1.0),
        ),
        Borrower(
            "soft_patch",
            revenue=lambda k: 1_000_000.0 * (0.85 if EVENT <= k < EVENT + 6 else 1.0),
            opex=lambda k: 820_000.0,
        ),
        Borrower("steady"),
        # receivables from its 10th month on up 15 % of their level a month (customers paying
        # ever later), 20 months of history in all; its twin as it was; a sound hotel whose
        # receivables are half a month of its season's sales
        Borrower("young_squeeze", start=YOUNG, months=20, receivables=young_receivables),
        Borrower("young_steady", start=YOUNG, months=20),
        Borrower(
            "hotel_receivables",
            revenue=hotel_revenue,
            opex=lambda k: 700_000.0 + 0.25 * hotel_revenue(k),
            receivables=lambda k: 0.5 * hotel_revenue(k),
            retained0=2_000_000.0,
            nace_section="I",
        ),
    ]
    for i, b in enumerate(borrowers):
        b.org = org_number(200 + i)
    return borrowers


BORROWERS = portfolio()
BY_KEY = {b.key: b for b in BORROWERS}
BY_ORG = {b.org: b for b in BORROWERS}


def build(tmp_path, rules: str | None = None) -> duckdb.DuckDBPyConnection:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        write_raw(con, book=BORROWERS)
    project = project_with_covenants(tmp_path, [], rules)
    dbt_build.build(dbt_build.duckdb_target(path), "symetrisk_raw", project_dir=project)
    return duckdb.connect(str(path), read_only=True)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = build(tmp_path_factory.mktemp("twins"))
    yield con
    con.close()


def episodes(con, key: str, flag: str | None = None) -> list[dict]:
    rows = fetch(con, "select * from analytics.fct_warning_episodes where organization_number = "
                      f"'{BY_KEY[key].org}' order by flag, opened_month")  # fmt: skip
    return [r for r in rows if flag is None or r["flag"] == flag]


def rules_with(changes: dict[str, dict[str, str]]) -> str:
    """The default rules file with some fields of some rules changed."""
    with (SEEDS / "warning_rules.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, **changes.get(row["flag"], {})})
    return out.getvalue()


# --- monitoring ends -----------------------------------------------------------------------


def test_a_stopped_or_revoked_borrowers_episodes_close_with_their_reason(warehouse):
    (kept,) = episodes(warehouse, "thin_reporting", "low_equity_ratio")
    assert kept["closed_month"] is None and kept["closed_reason"] is None

    # the last snapshot is April 2025; after STALE silent months it is no longer monitored
    stopped_at = month_end(add_months((2025, 4), STALE + 1))
    (stopped,) = episodes(warehouse, "thin_stopped", "low_equity_ratio")
    assert stopped["opened_month"] == kept["opened_month"]
    assert (stopped["closed_month"], stopped["closed_reason"]) == (stopped_at, "stopped_reporting")
    (stale,) = episodes(warehouse, "thin_stopped", "stale_data")
    assert stale["opened_month"] == stopped_at and stale["closed_month"] is None

    (revoked,) = episodes(warehouse, "thin_revoked", "low_equity_ratio")
    assert (revoked["closed_month"], revoked["closed_reason"]) == (
        date(2025, 6, 30),
        "consent_revoked",
    )
    (consent,) = episodes(warehouse, "thin_revoked", "consent_revoked")
    assert consent["opened_month"] == date(2025, 6, 30) and consent["closed_month"] is None

    # stopped in December 2023: its stale_data lapsed LAPSE months after it opened
    (gone,) = episodes(warehouse, "thin_gone", "stale_data")
    opened = month_end(add_months((2023, 12), STALE + 1))
    assert gone["opened_month"] == opened
    assert (gone["closed_month"], gone["closed_reason"]) == (
        month_end(add_months((2024, 3), LAPSE)),
        "lapsed",
    )
    assert all(e["closed_month"] is not None for e in episodes(warehouse, "thin_gone"))


def test_the_shares_count_only_the_monitored(warehouse):
    rows = fetch(warehouse, "select * from analytics.fct_portfolio_month where nace_section = 'F' "
                            f"and month_end = '{month_end(AS_OF)}'")  # fmt: skip
    (newest,) = rows
    # thin_reporting is the only one of the four still seen; the stopped and the revoked ones
    # are out of sight (their stale_data and consent_revoked are open), thin_gone's has lapsed
    assert newest["borrowers_monitored"] == 1
    assert newest["borrowers_with_open_warning"] == 1
    assert newest["share_with_open_warning"] == 1.0
    assert newest["borrowers_out_of_sight"] == 2


# --- seasonality ---------------------------------------------------------------------------


def test_a_healthy_hotels_off_season_raises_nothing(warehouse):
    assert episodes(warehouse, "hotel") == []
    # it does lose money every winter: the season is there to be misread
    hotel = BY_KEY["hotel"].org
    winter = fetch(warehouse, "select month_end, operating_result from "
                              "analytics.fct_borrower_month where organization_number = "
                              f"'{hotel}' and month(month_end) in (12, 1, 2)")  # fmt: skip
    assert winter and all(r["operating_result"] < 0 for r in winter)
    # the twin with the same season that loses money over the year is warned
    assert {e["flag"] for e in episodes(warehouse, "hotel_losing")} >= {"operating_loss_t12m"}


def test_the_hotel_was_warned_by_a_runway_on_three_months(tmp_path):
    """The same hotel under the runway of 0.1 (cash over three months' average EBITDA loss) is
    warned in its off-season, and the warning stands through the profitable summer (the
    runway is unknown while profitable, and an unknown month closes nothing): the test above
    can fail."""
    con = build(tmp_path, rules_with({"short_cash_runway": {"metric": "cash_runway_months"}}))
    try:
        (runway,) = episodes(con, "hotel", "short_cash_runway")
    finally:
        con.close()
    assert runway["opened_month"].month in (12, 1, 2, 3)
    assert runway["closed_month"] is None


def test_a_thin_hotels_winter_is_not_negative_equity(warehouse):
    hotel = BY_KEY["hotel_thin"].org
    sql = "select month_end, equity_ratio from analytics.fct_borrower_month"
    months = fetch(warehouse, f"{sql} where organization_number = '{hotel}' order by month_end")
    winters = {
        year: [r["equity_ratio"] for r in months
               if r["month_end"].year == year and r["month_end"].month in (2, 3, 4)]
        for year in (2023, 2024, 2025)
    }  # fmt: skip
    assert all(w and max(w) < 0 for w in winters.values())  # below zero every winter
    summers = [r["equity_ratio"] for r in months if r["month_end"].month in (7, 8, 9)]
    assert summers and min(summers) > 0.05
    # only the first winter, before a year of history tells the season
    (first,) = episodes(warehouse, "hotel_thin", "negative_equity")
    assert first["opened_month"] == date(2023, 1, 31) and first["closed_month"] is not None


def test_the_thin_hotel_was_negative_equity_every_winter_on_the_months_ratio(tmp_path):
    con = build(tmp_path, rules_with({"negative_equity": {"metric": "equity_ratio"}}))
    try:
        opened = [e["opened_month"] for e in episodes(con, "hotel_thin", "negative_equity")]
    finally:
        con.close()
    assert [m.year for m in opened] == [2023, 2024, 2025]


# --- severe events -------------------------------------------------------------------------


def test_a_one_off_loss_goes_to_act_in_the_month_it_is_booked(warehouse):
    (equity,) = episodes(warehouse, "one_off_loss", "negative_equity")
    assert equity["opened_month"] == EVENT_MONTH
    assert equity["act_month"] == EVENT_MONTH and equity["peak_severity"] == "act"
    assert equity["opening_value"] < 0
    assert episodes(warehouse, "no_loss") == []


def test_without_the_severe_threshold_the_loss_waits_for_the_persistence(tmp_path):
    con = build(tmp_path, rules_with({"negative_equity": {"severe_threshold": ""}}))
    try:
        (equity,) = episodes(con, "one_off_loss", "negative_equity")
    finally:
        con.close()
    assert equity["opened_month"] == month_end(add_months(FIRST, EVENT + 2))


def test_a_lost_large_customer_is_flagged_within_2_months(warehouse):
    within = month_end(add_months(FIRST, EVENT + 2))
    lost = episodes(warehouse, "lost_customer", "revenue_drop_month_yoy")
    assert lost and lost[0]["opened_month"] <= within
    assert lost[0]["peak_severity"] == "act"
    # half the revenue gone: at act in the month itself
    (half,) = episodes(warehouse, "lost_half", "revenue_drop_month_yoy")
    assert half["opened_month"] == EVENT_MONTH and half["act_month"] == EVENT_MONTH
    # a soft patch of 15 % raises no revenue warning (its margin, down 7 points over the
    # year, is another matter), and the company as it was raises nothing
    revenue = {"revenue_drop_month_yoy", "revenue_decline_yoy"}
    assert not [e for e in episodes(warehouse, "soft_patch") if e["flag"] in revenue]
    assert episodes(warehouse, "steady") == []


# --- receivables on a short history ---------------------------------------------------------


def test_customers_paying_later_are_seen_before_a_year_on_year_change_can_be(warehouse):
    (surge,) = episodes(warehouse, "young_squeeze", "receivables_surge")
    # 18 months of history for a 6-month change on the 12 months' sales, then the persistence
    first_known = month_end(add_months(YOUNG, 17))
    assert first_known <= surge["opened_month"] <= month_end(add_months(YOUNG, 17 + OPEN_MONTHS))
    assert surge["act_month"] is not None and surge["closed_month"] is None
    # the year-on-year change needs 24 months: not there yet
    assert episodes(warehouse, "young_squeeze", "receivables_stretch") == []
    assert episodes(warehouse, "young_steady") == []
    hotel = {e["flag"] for e in episodes(warehouse, "hotel_receivables")}
    assert not hotel & {"receivables_surge", "receivables_stretch"}, hotel
