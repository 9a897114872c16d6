"""`make backtest`, the driver over `symetrisk backtest`: the truth it exports as a bank's
defaults file, its pooling of the command's figures worked out by hand, and the whole harness
at toy scale against a real sandbox process and a real load."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # bench/ is not part of the installed package

from bench.backtest import COUNTS, Pool, export_defaults, goal_row  # noqa: E402
from pipelines.warehouse.rules_check import check_defaults  # noqa: E402


def test_the_truth_becomes_a_defaults_file_the_checks_accept(tmp_path):
    truth = [
        {"organization_number": "923609024", "failed_by_as_of": True, "fails": True,
         "failure_month": "2025-03-31", "kind": "lost_customer"},
        {"organization_number": "912345602", "failed_by_as_of": False, "fails": True,
         "failure_month": "2027-01-31", "kind": "one_off_loss"},  # after the newest month
        {"organization_number": "923609016", "failed_by_as_of": False, "fails": False,
         "failure_month": None, "kind": None},
    ]  # fmt: skip
    path = tmp_path / "defaults.csv"
    assert export_defaults(truth, path) == 1
    assert list(csv.DictReader(path.open())) == [
        {"organization_number": "923609024", "default_date": "2025-03-31", "kind": "lost_customer"}
    ]
    assert check_defaults(path) == []


def row(group: str, dimension: str = "kind", **counts: float) -> dict:
    return {"flag": "watchlist", "dimension": dimension, "dimension_value": group,
            **dict.fromkeys(COUNTS, 0), **counts}  # fmt: skip


def test_runs_are_pooled_by_their_counts_and_goals_judged_per_kind():
    first = {
        "rows": [
            row("all", "all", defaults_6m=10, warned_6m=9, defaults_1m=12, warned_1m=11,
                company_years=100, false_alarms=5),
            row("gradual_decline", defaults_6m=6, warned_6m=6),
            row("one_off_loss", defaults_1m=4, warned_1m=3),
            {**row("I", "nace_section"), "defaults_6m": 99},  # not pooled: a breakdown
            {**row("all", "all"), "flag": "low_cash_cover", "defaults_6m": 99},  # another flag
        ],
        "cases": [
            {"flag": "watchlist", "case_status": "scored", "lead_months": 4, "kind": "one_off_loss"},  # noqa: E501
            {"flag": "watchlist", "case_status": "scored", "lead_months": 12, "kind": None},
            {"flag": "watchlist", "case_status": "scored", "lead_months": None, "kind": None},
            {"flag": "any_warning", "case_status": "scored", "lead_months": 30, "kind": None},
        ],
    }  # fmt: skip
    second = {
        "rows": [
            row("all", "all", defaults_6m=10, warned_6m=5, company_years=100, false_alarms=25),
            row("gradual_decline", defaults_6m=4, warned_6m=1),
        ],
        "cases": [{"flag": "watchlist", "case_status": "scored", "lead_months": 20, "kind": None}],
    }
    pool = Pool()
    pool.add(first, {"worst_month_any": 0.30, "worst_month_flag": 0.10, "worst_month_section": 0.2})
    pool.add(
        second, {"worst_month_any": 0.36, "worst_month_flag": 0.15, "worst_month_section": 0.4}
    )
    assert pool.recall("all", 6) == pytest.approx(14 / 20)
    assert pool.recall("gradual_decline", 6) == pytest.approx(7 / 10)
    assert pool.recall("one_off_loss", 1) == pytest.approx(3 / 4)
    assert pool.recall("margin_erosion", 6) is None  # not measured: n/a, never 0
    assert pool.false_alarm_rate() == pytest.approx(30 / 200)
    assert pool.lead_median() == 12  # of 4, 12 and 20
    assert pool.worst("worst_month_any") == 0.36
    line, met = goal_row("all", pool)
    # gradual 70 % < 80 %, margin/squeeze/lost n/a, one-off 75 % < 80 %, alarms 15 % > 10 %,
    # worst month 36 % > 35 %, one flag 15 % <= 20 %, one section 40 % <= 50 %
    assert met == [False, None, None, None, False, False, False, True, True]
    assert line.startswith(
        "| all | 70.0% (10) ✗ | n/a (0) | n/a (0) | n/a (0) | 75.0% (4) ✗ | 15.0% ✗ | 36.0% ✗ |"
    )
    assert line.endswith("| 4 missed, some n/a |")


@pytest.mark.slow
def test_backtest_runs_at_toy_scale_and_ends_with_the_line_a_script_reads(tmp_path):
    results = tmp_path / "backtest.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.backtest", "--borrowers", "80", "--histories", "48",
         "--seeds", "3", "4", "--concurrency", "4", "--results", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.strip().splitlines()
    assert re.fullmatch(
        r"recall_6m=(n/a|[01]\.\d{3}) false_alarm_rate=(n/a|[01]\.\d{3}) "
        r"lead_months_median=(n/a|[\d.]+)",
        lines[-1],
    ), lines[-1]
    assert "## seed 3, 48 months" in run.stdout and "## seed 4, 48 months" in run.stdout
    assert "| 48 months, all seeds |" in run.stdout and "| all |" in run.stdout
    # each run's table is the command's own, ending with its own greppable line
    assert run.stdout.count("\nrecall_6m=") == 3
    figures = json.loads(results.read_text())
    assert figures["seeds"] == [3, 4]
    assert figures["tuning_seeds"] == [7, 11, 13, 101, 202, 303, 404, 505]
    assert [(r["seed"], r["months"]) for r in figures["runs"]] == [(3, 48), (4, 48)]
    watch = figures["watchlist"]

    def shown(value, spec):
        return "n/a" if value is None else format(value, spec)

    assert lines[-1] == (
        f"recall_6m={shown(watch['recall_6m'], '.3f')} "
        f"false_alarm_rate={shown(watch['false_alarm_rate'], '.3f')} "
        f"lead_months_median={shown(watch['lead_months_median'], 'g')}"
    )
