"""The incremental floor asks each borrower for what our loader asks (bench/floor.py): the same
`limit` and cut-off as `plan_for`, for any newest month, lookback and date."""

import datetime as dt
import itertools

from bench.floor import incremental_plan
from pipelines.symetrisk.snapshots import plan_for


def test_the_floor_plans_each_borrower_as_the_loader_does():
    newest = ["2019-02-28", "2024-12-31", "2026-01-31", "2026-10-31", "2026-11-30"]
    today = [dt.date(2026, 11, 3), dt.date(2026, 12, 4), dt.date(2027, 1, 1)]
    checked = 0
    for date, lookback, day in itertools.product(newest, [0, 1, 3, 12], today):
        ours = plan_for("999999999", {"n": date}, lookback, day)
        assert incremental_plan(date, lookback, day) == (ours.limit, ours.cutoff), (
            date,
            lookback,
            day,
        )
        checked += 1
    assert checked == 60
