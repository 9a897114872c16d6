"""End to end: `symetrisk backtest` on a warehouse `symetrisk run` loaded from the real sandbox,
with a hand-made defaults file. Every figure it prints and writes is worked out again here, in
Python, from fct_warning_episodes, fct_borrower_month and dim_borrower of the published build
and the file alone, month by month (not from the backtest marts). Bad rows are refused one
line each, and the published warehouse is left as it was."""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb
import pytest
import requests

from pipelines import orgnr
from tests.conftest import start_sandbox
from tests.warehouse_checks import cli_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOOKBACK, LEADS = 24, (1, 3, 6, 12)
OPEN = 10**9  # an open spell's end


def month(d: date | str) -> int:
    d = date.fromisoformat(d) if isinstance(d, str) else d
    return d.year * 12 + d.month


def band(history: int | None) -> str:
    if history is None:
        return "unknown"
    for limit, name in ((12, "under 12 months"), (24, "12-23 months"), (36, "24-35 months"),
                        (60, "36-59 months")):  # fmt: skip
        if history < limit:
            return name
    return "60 months or more"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> tuple[Path, Path, list[dict]]:
    """(work dir, published warehouse, the sandbox's truth) of 250 borrowers x 48 months."""
    work = tmp_path_factory.mktemp("backtest")
    with start_sandbox(borrowers=250, months=48, seed=9) as sb:
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "run", "--quiet"],
            env=cli_env(sb, work), cwd=work, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        truth = requests.get(sb.base_url + "/sandbox/truth", timeout=60).json()["items"]
    return work, work / "warehouse.duckdb", truth


def backtest(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "backtest", *args],
        env=cli_env_no_api(work), cwd=work, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def cli_env_no_api(work: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "SYMETRISK_"))}
    return {**env, "SYMETRISK_DBT_DIR": str(work / "dbt-cache")}


def hand_made_defaults(path: Path, truth: list[dict], published: Path) -> list[tuple]:
    """The file: the borrowers of the warehouse that failed (half of them without a kind), a
    healthy borrower said to default with a long history, one with too short a history, one
    after the warehouse's newest month, and a valid organisation number it does not hold."""
    with duckdb.connect(str(published), read_only=True) as con:
        first = dict(
            con.execute(
                "select organization_number, min(month_end) from analytics.fct_borrower_month "
                "group by 1 order by 1"
            ).fetchall()
        )
        newest = con.execute("select max(month_end) from analytics.fct_borrower_month").fetchone()[
            0
        ]
    rows = []
    failed = [t for t in truth if t["failed_by_as_of"] and t["organization_number"] in first]
    for i, t in enumerate(sorted(failed, key=lambda t: t["organization_number"])):
        rows.append((t["organization_number"], t["failure_month"], t["kind"] if i % 2 else ""))
    healthy = sorted(
        org
        for org in first
        if not any(t["organization_number"] == org and t["fails"] for t in truth)
    )
    long_history = next(org for org in healthy if first[org] == min(first.values()))
    short_history = next(org for org in healthy if month(first[org]) > month(newest) - 20)
    after = next(org for org in healthy if org not in (long_history, short_history))
    rows += [
        (long_history, "2025-08-15", "fraud"),
        (short_history, newest.isoformat(), ""),
        (after, "2027-03-31", "bankruptcy"),
    ]
    stranger = next(
        f"91{n:06d}{orgnr.check_digit(f'91{n:06d}')}"
        for n in range(1000, 9999)
        if orgnr.check_digit(f"91{n:06d}") is not None and f"91{n:06d}" not in first
    )
    rows.append((stranger, "2025-01-31", ""))
    path.write_text(
        "organization_number,default_date,kind\n" + "".join(f"{o},{d},{k}\n" for o, d, k in rows)
    )
    return rows


def recompute(published: Path, defaults: list[tuple]) -> dict[tuple[str, str, str], dict]:
    """Every figure of fct_backtest_breakdown, from the episodes and the months, month by
    month: keyed by (flag, dimension, value)."""
    with duckdb.connect(str(published), read_only=True) as con:
        months = con.execute(
            "select organization_number, month_end from analytics.fct_borrower_month"
        ).fetchall()
        sections = dict(
            con.execute("select organization_number, nace_section from analytics.dim_borrower")
        .fetchall())  # fmt: skip
        episodes = con.execute(
            "select organization_number, flag, opened_month, act_month, closed_month "
            "from analytics.fct_warning_episodes"
        ).fetchall()
    present: dict[str, set[int]] = defaultdict(set)
    for org, end in months:
        present[org].add(month(end))
    first = {org: min(ms) for org, ms in present.items()}
    newest = max(max(ms) for ms in present.values())
    intervals: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for org, flag, opened, act, closed in episodes:
        end = month(closed) if closed else OPEN
        intervals[(org, flag)].append((month(opened), end))
        intervals[(org, "any_warning")].append((month(opened), end))
        if act:
            intervals[(org, "watchlist")].append((month(act), end))
    flags = {flag for _, flag in intervals} | {"watchlist", "any_warning"}

    def under(org: str, flag: str, m: int) -> bool:
        return any(a <= m < b for a, b in intervals.get((org, flag), ()))

    spell_starts: dict[tuple[str, str], list[int]] = {}

    def starts(org: str, flag: str) -> list[int]:
        """The months a spell of `flag` begins (under it, and not the month before)."""
        if (org, flag) not in spell_starts:
            lo = min((a for a, _ in intervals.get((org, flag), ())), default=newest + 1)
            spell_starts[(org, flag)] = [
                m
                for m in range(lo, newest + 1)
                if under(org, flag, m) and not under(org, flag, m - 1)
            ]
        return spell_starts[(org, flag)]

    defaulted = {o: month(d) for o, d, _ in defaults}
    kinds = {o: k or "unspecified" for o, _, k in defaults}
    groups: dict[tuple[str, str, str], dict] = defaultdict(
        lambda: {"cases": [], "years": [], "entries": []}
    )
    for flag in flags:
        groups[(flag, "all", "all")]  # every flag has its row
        for org, day, _ in defaults:
            d = month(day)
            history = d - first[org] if org in first else None
            if org not in first:
                status = "not_in_warehouse"
            elif d > newest:
                status = "after_newest_month"
            else:
                status = "scored" if history >= 13 else "history_too_short"
            lead = None
            if status == "scored":
                warned = [m for m in range(d - LOOKBACK, d) if under(org, flag, m)]
                lead = d - warned[0] if warned else None
            case = {"status": status, "history": history, "lead": lead}
            keys = [("all", "all"), ("kind", kinds[org])]
            if status not in ("not_in_warehouse", "after_newest_month"):
                keys += [
                    ("nace_section", sections.get(org) or "unknown"),
                    ("history", band(history)),
                ]
            for dim, value in keys:
                groups[(flag, dim, value)]["cases"].append(case)
        for org in first:
            if org in defaulted:
                continue
            for k in range(1, 100):
                end = newest - 12 * k
                start = end - 11
                if end < min(first.values()):
                    break
                if not any(start <= m <= end for m in present[org]):
                    continue
                history = start - first[org]
                alarm = any(start <= m <= end for m in starts(org, flag))
                year = {"measurable": history >= 12, "alarm": alarm}
                for dim, value in (("all", "all"), ("nace_section", sections.get(org) or "unknown"),
                                   ("history", band(history))):  # fmt: skip
                    groups[(flag, dim, value)]["years"].append(year)
        for org in first:
            for a in starts(org, flag):
                history = a - first[org]
                d = defaulted.get(org)
                entry = {"measurable": history >= 12}
                for n in (12, 24):
                    entry[n] = None if a + n > newest else (d is not None and a <= d <= a + n)
                for dim, value in (("all", "all"), ("nace_section", sections.get(org) or "unknown"),
                                   ("history", band(history))):  # fmt: skip
                    groups[(flag, dim, value)]["entries"].append(entry)
    figures = {}
    for key, g in groups.items():
        scored = [c for c in g["cases"] if c["status"] == "scored"]
        f = {"defaults": len(g["cases"]), "defaults_scored": len(scored)}
        for lead in LEADS:
            eligible = [c for c in scored if c["history"] >= lead + 12]
            hits = [c for c in eligible if c["lead"] is not None and c["lead"] >= lead]
            f[f"defaults_{lead}m"], f[f"warned_{lead}m"] = len(eligible), len(hits)
            f[f"recall_{lead}m"] = len(hits) / len(eligible) if eligible else None
        leads = [c["lead"] for c in scored if c["lead"] is not None]
        f["lead_months_median"] = statistics.median(leads) if leads else None
        years = [y for y in g["years"] if y["measurable"]]
        f["company_years"] = len(years)
        f["false_alarms"] = sum(y["alarm"] for y in years)
        not_kind = key[1] != "kind"
        f["false_alarm_rate"] = f["false_alarms"] / len(years) if years and not_kind else None
        for n in (12, 24):
            known = [e[n] for e in g["entries"] if e["measurable"] and e[n] is not None]
            f[f"entries_{n}m"], f[f"hits_{n}m"] = len(known), sum(known)
            f[f"precision_{n}m"] = sum(known) / len(known) if known and not_kind else None
        figures[key] = f
    return figures


def test_every_figure_of_the_backtest_equals_a_recomputation(warehouse, tmp_path):
    work, published, truth = warehouse
    before = hashlib.sha256(published.read_bytes()).hexdigest()
    defaults_file = tmp_path / "bank-defaults.csv"
    defaults = hand_made_defaults(defaults_file, truth, published)
    assert len(defaults) >= 8
    out_json = tmp_path / "backtest.json"
    done = backtest(work, "--destination", str(published), "--defaults", str(defaults_file),
                    "--json", str(out_json))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert hashlib.sha256(published.read_bytes()).hexdigest() == before  # scored in a copy
    got = {(r["flag"], r["dimension"], r["dimension_value"]): r
           for r in json.loads(out_json.read_text())["rows"]}  # fmt: skip
    want = recompute(published, defaults)
    assert set(got) == set(want)
    checked = 0
    for key, figures in want.items():
        for name, value in figures.items():
            if value is None:
                assert got[key][name] is None, (key, name)
            else:
                assert got[key][name] == pytest.approx(value), (key, name, got[key][name], value)
            checked += 1
    assert checked > 1000
    # the figures say what could not be measured, and never read 0 for it
    short = got[("watchlist", "history", "under 12 months")]
    assert short["false_alarm_rate"] is None and short["false_alarm_status"] == "window_too_short"
    kind = got[("watchlist", "kind", "fraud")]
    assert kind["false_alarm_status"] == "not_applicable" and kind["precision_12m"] is None
    watch = got[("watchlist", "all", "all")]
    assert watch["defaults"] == len(defaults) and watch["defaults_scored"] == len(defaults) - 3
    assert watch["recall_status"] == "measured" and watch["false_alarm_status"] == "measured"
    # the table, and the last line a script reads
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == (
        f"recall_6m={watch['recall_6m']:.3f} false_alarm_rate={watch['false_alarm_rate']:.3f} "
        f"lead_months_median={watch['lead_months_median']:g}"
    )
    assert f"{len(defaults)} defaults, {len(defaults) - 3} scored" in lines[0]
    assert "1 after newest month" in lines[0] and "1 history too short" in lines[0]
    assert "1 not in warehouse" in lines[0]
    row = next(line for line in lines if line.startswith("| watchlist |"))
    assert f"| {watch['recall_6m']:.1%} |" in row
    assert "watchlist by nace_section:" in done.stdout and "watchlist by kind:" in done.stdout


def test_without_a_default_history_nothing_reads_as_measured(warehouse):
    work, published, _ = warehouse
    done = backtest(work, "--destination", str(published))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == (
        "recall_6m=n/a false_alarm_rate=n/a lead_months_median=n/a"
    )
    row = next(line for line in done.stdout.splitlines() if line.startswith("| watchlist |"))
    assert "%" not in row and "recall: no_defaults" in row and "false_alarm: no_defaults" in row


def test_bad_rows_are_refused_one_line_each_and_nothing_changes(warehouse, tmp_path):
    work, published, _ = warehouse
    before = hashlib.sha256(published.read_bytes()).hexdigest()
    bad = tmp_path / "defaults.csv"
    bad.write_text(
        "organization_number,default_date,kind\n"
        "912345602,2024-03-31,bankruptcy\n"
        "912345603,2024-03-31,\n"
        "912345602,2025-01-01,\n"
        "923609016,31.03.2024,\n"
        "923609024,2024-01-31,Lost Customer\n"
    )
    done = backtest(work, "--destination", str(published), "--defaults", str(bad))
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert [re.match(r"error: defaults.csv line (\d+): ", line)[1] for line in lines] == [
        "3", "4", "5", "6",
    ]  # fmt: skip
    assert "Traceback" not in done.stderr
    assert hashlib.sha256(published.read_bytes()).hexdigest() == before
    missing = backtest(work, "--destination", str(published), "--defaults", str(tmp_path / "no"))
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    nowhere = backtest(work, "--destination", str(tmp_path / "none.duckdb"))
    assert nowhere.returncode == 2 and len(nowhere.stderr.strip().splitlines()) == 1
