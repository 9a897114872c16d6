"""`make backtest`: the product's own backtest (`symetrisk backtest`) on sandbox portfolios the
warnings were never tuned on, as a bank would run it on its book.

Per seed and length of history: start a sandbox, load it with `symetrisk run` (models
included) into a new DuckDB file, export the sandbox's truth (`GET /sandbox/truth`) as the bank's
defaults file (every failure by the newest month: organisation number, failure month, kind),
and run `symetrisk backtest --defaults FILE --json ...` on it. This driver only adds up what the
command writes (pooling the counts behind each figure), and measures the shares of monitored
borrowers under an open warning from the published warehouse (the marts the brief reads).

The goals (issue #24), on the watchlist: recall at 6 months' lead >= 80 % for gradual decline,
>= 70 % for the other kinds that build over more than 6 months (margin erosion, liquidity
squeeze, lost customer); for the sudden one-off loss (failure within 6 months of the event),
>= 80 % on the watchlist before the failure month (recall at 1 month); false alarms <= 10 % per
company-year; in every month at most 35 % of the borrowers monitored that month
(`fct_portfolio_month.borrowers_monitored`) under an open warning, no single flag over 20 %,
no NACE section with at least 10 monitored borrowers over 50 %.

The last line is `recall_6m=<x> false_alarm_rate=<y> lead_months_median=<z>` for the watchlist
over every seed and history. Thresholds were tuned on TUNING_SEEDS only; the report seeds
were never used for tuning."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import duckdb
import orjson
import requests

from bench.sandbox_process import start_sandbox

BIN = Path(sys.executable).parent
AS_OF = "2026-10-31"
# 7, 11, 13: tuned on (issue #24; 7 also in 0.1); 101, 202 (0.1) and 303, 404, 505 (the second
# and third rounds of #24): report seeds whose misses started a tuning round, so not held out
TUNING_SEEDS = (7, 11, 13, 101, 202, 303, 404, 505)
REPORT_SEEDS = (606, 707, 808)
HISTORIES = (36, 48, 100)
KINDS = ("gradual_decline", "margin_erosion", "liquidity_squeeze", "lost_customer", "one_off_loss")
SUDDEN = ("one_off_loss",)  # failure within 6 months of the event
GOAL_RECALL = {"gradual_decline": 0.80}  # the others that build up: 0.70; sudden: 0.80 at 1 m
RESULTS = Path(__file__).resolve().parent / "results" / "backtest.json"
CLIENT_ID, CLIENT_SECRET = "demo-bank", "demo-bank-secret"  # the sandbox's public demo client
COUNTS = ("defaults", "defaults_scored", "company_years", "false_alarms", "entries_12m",
          "hits_12m", "entries_24m", "hits_24m") + tuple(
    f"{what}_{lead}m" for lead in (1, 3, 6, 12) for what in ("defaults", "warned"))  # fmt: skip


def export_defaults(truth: list[dict], path: Path) -> int:
    """The sandbox's truth as a bank's defaults file: one row per company failed by the newest
    month (its failure month, its kind). Returns the number of rows."""
    failed = sorted(
        (t for t in truth if t["failed_by_as_of"]), key=lambda t: t["organization_number"]
    )
    lines = [f"{t['organization_number']},{t['failure_month']},{t['kind'] or ''}" for t in failed]
    path.write_text("organization_number,default_date,kind\n" + "".join(f"{x}\n" for x in lines))
    return len(lines)


def load(
    seed: int, borrowers: int, months: int, work: Path, concurrency: int
) -> tuple[Path, list[dict]]:
    """Start a sandbox, load it with `symetrisk run` into a new DuckDB file; return the file and
    the sandbox's truth. Exits with the run's output if the run fails."""
    warehouse = work / f"backtest-{seed}-{months}.duckdb"
    process, base = start_sandbox(
        "--borrowers", str(borrowers), "--months", str(months), "--seed", str(seed),
        "--as-of", AS_OF,
    )  # fmt: skip
    try:
        env = {
            **os.environ,
            "SOURCES__SYMETRISK__BASE_URL": f"{base}/api/v1",
            "SOURCES__SYMETRISK__TOKEN_URL": f"{base}/oauth2/token",
            "SOURCES__SYMETRISK__CLIENT_ID": CLIENT_ID,
            "SOURCES__SYMETRISK__CLIENT_SECRET": CLIENT_SECRET,
            "DESTINATION__DUCKDB__CREDENTIALS": str(warehouse),
            "SYMETRISK_PIPELINES_DIR": str(work / f"dlt-{seed}-{months}"),
        }
        run = subprocess.run(
            [str(BIN / "symetrisk"), "run", "--quiet", "--no-report", "--concurrency",
             str(concurrency)],
            env=env, cwd=work, capture_output=True, text=True,
        )  # fmt: skip
        if run.returncode != 0:
            sys.exit(f"backtest: the load of seed {seed} x {months} months failed "
                     f"({run.returncode}):\n{run.stdout}{run.stderr}")  # fmt: skip
        answer = requests.get(f"{base}/sandbox/truth", timeout=120)
        answer.raise_for_status()
        truth = orjson.loads(answer.content)["items"]
    finally:
        process.kill()
        process.wait()
    return warehouse, truth


def backtest(warehouse: Path, defaults: Path, out: Path) -> tuple[str, dict]:
    """`symetrisk backtest` as a bank runs it; its printed table and its JSON."""
    done = subprocess.run(
        [str(BIN / "symetrisk"), "backtest", "--destination", str(warehouse),
         "--defaults", str(defaults), "--json", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"backtest: symetrisk backtest failed ({done.returncode}):\n"
                 f"{done.stdout}{done.stderr}")  # fmt: skip
    return done.stdout, json.loads(out.read_text())


def open_shares(warehouse: Path) -> dict[str, float | str]:
    """The worst month's share of the borrowers monitored that month under any open warning,
    under the worst single flag, and in the worst NACE section with at least 10 monitored
    borrowers; from the published warehouse. The denominator is the product's own
    (`fct_portfolio_month.borrowers_monitored`: consent held, a snapshot that month or in the
    `stale_data_months` before, from `int_monitoring_spells`), and a borrower counts under a
    flag while one of its episodes is open (from `opened_month` until `closed_month`) in a month
    it is monitored. The any-warning share is checked against the mart's
    `borrowers_with_open_warning`."""
    sql = """
        with calendar as (
            select distinct month_number, month_end from analytics.fct_borrower_month
        ),
        monitored as (
            select p.organization_number, c.month_end,
                coalesce(d.nace_section, 'unknown') as nace_section
            from analytics.int_monitoring_spells as p
            join calendar as c
              on c.month_number >= p.monitored_from_number
             and c.month_number < coalesce(p.monitoring_ended_number, p.as_of_number + 1)
            left join analytics.dim_borrower as d using (organization_number)
        ),
        under as (
            select m.organization_number, m.month_end, m.nace_section, e.flag
            from monitored as m
            join analytics.fct_warning_episodes as e
              on e.organization_number = m.organization_number
             and e.opened_month <= m.month_end
             and (e.closed_month is null or m.month_end < e.closed_month)
        ),
        totals as (select month_end, count(*) as n from monitored group by 1),
        sections as (select month_end, nace_section, count(*) as n from monitored group by 1, 2),
        any_count as (
            select month_end, count(distinct organization_number) as k from under group by 1
        ),
        any_share as (
            select a.month_end, a.k / t.n as share
            from any_count as a join totals as t using (month_end)
        ),
        flag_share as (
            select u.month_end, u.flag, count(distinct u.organization_number) / max(t.n) as share
            from under as u join totals as t using (month_end) group by 1, 2
        ),
        section_share as (
            select u.month_end, u.nace_section,
                count(distinct u.organization_number) / max(s.n) as share
            from under as u join sections as s using (month_end, nace_section)
            where s.n >= 10 group by 1, 2
        ),
        mart as (
            select month_end, sum(borrowers_monitored) as n,
                sum(borrowers_with_open_warning) as k
            from analytics.fct_portfolio_month group by 1
        )
        select
            (select max(share) from any_share),
            (select arg_max(flag, share) from flag_share),
            (select max(share) from flag_share),
            (select arg_max(nace_section, share) from section_share),
            (select max(share) from section_share),
            (select count(*) from mart
              full join totals as t using (month_end)
              full join any_count as a using (month_end)
              where mart.n is distinct from t.n
                 or coalesce(mart.k, 0) is distinct from coalesce(a.k, 0))
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        any_, flag, flag_share, section, section_share, differ = con.execute(sql).fetchone()
    if differ:
        sys.exit(
            f"backtest: {warehouse.name}: the monitored borrowers under a warning differ from "
            f"fct_portfolio_month's in {differ} month(s)"
        )
    return {
        "worst_month_any": float(any_ or 0.0),
        "worst_flag": flag or "-",
        "worst_month_flag": float(flag_share or 0.0),
        "worst_section": section or "-",
        "worst_month_section": float(section_share or 0.0),
    }


class Pool:
    """The counts behind the watchlist's figures, added over runs, per group ('all' or a kind),
    and its leads."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
        self.leads: dict[str, list[float]] = defaultdict(list)
        self.shares: list[dict] = []

    def add(self, figures: dict, shares: dict | None = None) -> None:
        for row in figures["rows"]:
            if row["flag"] != "watchlist" or row["dimension"] not in ("all", "kind"):
                continue
            group = row["dimension_value"]
            for name in COUNTS:
                self.counts[group][name] += row[name] or 0
        for case in figures["cases"]:
            warned = case["case_status"] == "scored" and case["lead_months"] is not None
            if case["flag"] == "watchlist" and warned:
                self.leads["all"].append(case["lead_months"])
                self.leads[case["kind"] or "unspecified"].append(case["lead_months"])
        if shares:
            self.shares.append(shares)

    def recall(self, group: str, lead: int) -> float | None:
        c = self.counts.get(group)
        return (
            c[f"warned_{lead}m"] / c[f"defaults_{lead}m"] if c and c[f"defaults_{lead}m"] else None
        )

    def false_alarm_rate(self) -> float | None:
        c = self.counts.get("all")
        return c["false_alarms"] / c["company_years"] if c and c["company_years"] else None

    def lead_median(self, group: str = "all") -> float | None:
        return statistics.median(self.leads[group]) if self.leads.get(group) else None

    def worst(self, key: str) -> float | None:
        return max((s[key] for s in self.shares), default=None)


def fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


def goal_row(name: str, pool: Pool) -> tuple[str, list[bool | None]]:
    """One line of the goals table, and whether each goal is met (None: not measurable). A
    missed goal's cell ends with ✗."""
    cells, met = [], []
    for kind in KINDS:
        lead = 1 if kind in SUDDEN else 6
        goal = 0.80 if kind in SUDDEN else GOAL_RECALL.get(kind, 0.70)
        value = pool.recall(kind, lead)
        n = pool.counts[kind][f"defaults_{lead}m"] if kind in pool.counts else 0
        cells.append(f"{fmt(value)} ({n:g})")
        met.append(None if value is None else value >= goal)
    alarms = pool.false_alarm_rate()
    cells.append(fmt(alarms))
    met.append(None if alarms is None else alarms <= 0.10)
    for key, limit in (("worst_month_any", 0.35), ("worst_month_flag", 0.20),
                       ("worst_month_section", 0.50)):  # fmt: skip
        value = pool.worst(key)
        cells.append(fmt(value))
        met.append(None if value is None else value <= limit)
    cells = [f"{c} ✗" if m is False else c for c, m in zip(cells, met, strict=True)]
    missed = sum(m is False for m in met)
    verdict = (
        "all met"
        if missed == 0 and None not in met
        else (f"{missed} missed" + (", some n/a" if None in met else ""))
    )
    return f"| {name} | " + " | ".join(cells) + f" | {verdict} |", met


def goals_table(rows: list[tuple[str, Pool]]) -> str:
    head = (
        "| run | gradual decline >= 80 % at 6 m | margin erosion >= 70 % at 6 m "
        "| liquidity squeeze >= 70 % at 6 m | lost customer >= 70 % at 6 m "
        "| one-off loss >= 80 % before failure | false alarms <= 10 % / company-year "
        "| worst month, any warning <= 35 % | worst month, one flag <= 20 % "
        "| worst month, one NACE section <= 50 % | goals |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    return head + "\n" + "\n".join(goal_row(name, pool)[0] for name, pool in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--borrowers", type=int, default=1000)
    parser.add_argument("--histories", type=int, nargs="+", default=list(HISTORIES),
                        help="months of history of each portfolio")  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=list(REPORT_SEEDS))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args(argv)
    tuned = sorted(set(args.seeds) & set(TUNING_SEEDS))
    if tuned:
        print(f"# note: seed(s) {', '.join(map(str, tuned))} were used for tuning: not a test")
    work = Path(tempfile.mkdtemp(prefix="symetrisk-backtest-"))
    print(
        f"# backtest: seeds {', '.join(map(str, args.seeds))} (tuned on "
        f"{', '.join(map(str, TUNING_SEEDS))}), {args.borrowers:,} borrowers x "
        f"{', '.join(map(str, args.histories))} months as of {AS_OF}, work dir {work}"
    )
    total, by_history, by_seed = Pool(), defaultdict(Pool), defaultdict(Pool)
    runs: list[tuple[str, Pool]] = []
    results = []
    for months in args.histories:
        for seed in args.seeds:
            warehouse, truth = load(seed, args.borrowers, months, work, args.concurrency)
            defaults = work / f"defaults-{seed}-{months}.csv"
            count = export_defaults(truth, defaults)
            table, figures = backtest(warehouse, defaults, work / f"backtest-{seed}-{months}.json")
            shares = open_shares(warehouse)
            print(f"\n## seed {seed}, {months} months ({count} failures in the defaults file)\n")
            print(table.rstrip())
            print(
                f"\nworst month under any open warning {shares['worst_month_any']:.1%}; one flag "
                f"{shares['worst_month_flag']:.1%} ({shares['worst_flag']}); one NACE section "
                f"{shares['worst_month_section']:.1%} ({shares['worst_section']})"
            )
            run = Pool()
            for pool in (run, total, by_history[months], by_seed[seed]):
                pool.add(figures, shares)
            runs.append((f"seed {seed}, {months} months", run))
            watch = [r for r in figures["rows"] if r["flag"] == "watchlist"]
            results.append(
                {"seed": seed, "months": months, "failures": count, "shares": shares, "rows": watch}
            )
    rows = runs + [(f"{m} months, all seeds", by_history[m]) for m in args.histories]
    rows += [(f"seed {s}, all histories", by_seed[s]) for s in args.seeds]
    rows.append(("all", total))
    print("\n## goals (watchlist; in brackets the defaults scored at that lead)\n")
    print(goals_table(rows))
    print("\n## watchlist by kind, all runs\n")
    print("| kind | recall 1 m | recall 3 m | recall 6 m | recall 12 m | median lead (m) |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in (*KINDS, "all"):
        recalls = " | ".join(fmt(total.recall(kind, lead)) for lead in (1, 3, 6, 12))
        median = total.lead_median(kind)
        print(f"| {kind} | {recalls} | {'n/a' if median is None else f'{median:g}'} |")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(
        json.dumps(
            {
                "seeds": args.seeds,
                "tuning_seeds": list(TUNING_SEEDS),
                "borrowers": args.borrowers,
                "histories": args.histories,
                "as_of": AS_OF,
                "runs": results,
                "watchlist": {
                    "recall_6m": total.recall("all", 6),
                    "false_alarm_rate": total.false_alarm_rate(),
                    "lead_months_median": total.lead_median(),
                },
            },
            indent=1,
            default=str,
        )
    )
    recall, alarms, median = total.recall("all", 6), total.false_alarm_rate(), total.lead_median()
    print(
        f"\nrecall_6m={'n/a' if recall is None else f'{recall:.3f}'} "
        f"false_alarm_rate={'n/a' if alarms is None else f'{alarms:.3f}'} "
        f"lead_months_median={'n/a' if median is None else f'{median:g}'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
