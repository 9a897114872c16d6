"""The backtest (`make backtest`): its scoring on constructed borrowers with figures worked out
by hand, and the whole harness at toy scale against a real sandbox process and a real load."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # bench/ is not part of the installed package

from bench.backtest import (  # noqa: E402
    WATCHLIST,
    Episode,
    Truth,
    episodes_from_rows,
    score,
    score_all,
)

FIRST, NEWEST = 1000, 1059  # a 60-month timeline; scored from month 1024


def test_scores_on_constructed_borrowers_match_hand_figures():
    presence = {
        "fails_warned": set(range(FIRST, 1048)),
        "fails_unwarned": set(range(FIRST, 1054)),
        "healthy_alarmed": set(range(FIRST, NEWEST + 1)),
        "healthy_quiet": set(range(FIRST, NEWEST + 1)),
        "fails_later": set(range(FIRST, NEWEST + 1)),
    }
    truth = Truth(
        failure={"fails_warned": 1050, "fails_unwarned": 1055},
        later={"fails_later"},
        never={"healthy_alarmed", "healthy_quiet"},
    )
    episodes = [
        Episode("fails_warned", "f", 1040, None, "act", 1040),  # open until the failure
        Episode("healthy_alarmed", "f", 1040, 1043, "act", 1040),  # months 1040-1042
        Episode("fails_later", "f", 1030, None, "act", 1030),  # neither side
    ]
    s = score(episodes, presence, truth, FIRST, NEWEST)
    assert (s.failures, s.warned_6, s.warned_12, s.leads) == (2, 1, 0, [10])
    # whole years 86 and 87 (months 1032-1055): 2 healthy companies x 2 years, one alarm
    assert (s.alarm_years, s.company_years) == (1, 4)
    # 36 scored months x 2 healthy companies, 3 of them under warning
    assert (s.healthy_open, s.healthy_months) == (3, 72)
    # months 1040-1042: 5 present, fails_warned, healthy_alarmed and fails_later under warning
    assert s.worst_month_share == pytest.approx(3 / 5)
    m = s.metrics()
    assert (m["recall_6m"], m["recall_12m"], m["lead_months_median"]) == (0.5, 0.0, 10)
    assert m["false_alarm_rate"] == 0.25


def test_watch_episodes_stay_off_the_watchlist_until_they_reach_act():
    presence = {"a": set(range(FIRST, 1048))}
    truth = Truth(failure={"a": 1050})
    episodes = [Episode("a", "f", 1030, None, "act", 1045), Episode("a", "g", 1020, None, "watch")]
    scores = score_all(episodes, presence, truth, FIRST, NEWEST)
    assert scores[WATCHLIST].leads == [5]
    assert scores["g"].leads == [24]  # the flag itself, watch or act, from 24 months before


def test_month_rows_become_episodes_closing_only_on_later_data():
    presence = {"a": set(range(FIRST, 1020)), "b": set(range(FIRST, 1010))}
    rows = [("a", "f", m) for m in (1001, 1002, 1003, 1007, 1019)] + [("b", "f", 1009)]
    assert episodes_from_rows(rows, presence) == [
        Episode("a", "f", 1001, 1004, "act", 1001),
        Episode("a", "f", 1007, 1008, "act", 1007),
        Episode("a", "f", 1019, None, "act", 1019),
        Episode("b", "f", 1009, None, "act", 1009),
    ]


def test_backtest_runs_at_toy_scale_and_ends_with_the_line_a_script_reads(tmp_path):
    results = tmp_path / "backtest.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.backtest", "--borrowers", "60", "--months", "48",
         "--seeds", "3", "4", "--concurrency", "4", "--results", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.strip().splitlines()
    assert re.fullmatch(
        r"recall_6m=[01]\.\d{3} false_alarm_rate=[01]\.\d{3} lead_months_median=[\d.]+", lines[-1]
    ), lines[-1]
    assert "## seed 3" in run.stdout and "## seed 4" in run.stdout and "## all seeds" in run.stdout
    assert f"| {WATCHLIST} |" in run.stdout and "## goals (all seeds)" in run.stdout
    figures = json.loads(results.read_text())
    assert figures["seeds"] == [3, 4] and WATCHLIST in figures["flags"]
    watchlist = figures["flags"][WATCHLIST]
    assert lines[-1] == (
        f"recall_6m={watchlist['recall_6m']:.3f} "
        f"false_alarm_rate={watchlist['false_alarm_rate']:.3f} "
        f"lead_months_median={watchlist['lead_months_median']:g}"
    )
