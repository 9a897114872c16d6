"""Refuse a bad warning-rules, covenants, facilities or defaults file before the models are
built: a bank edits these CSV files (the dbt seeds `warning_rules.csv`, `covenants.csv`, its
loan book `facilities.csv` and its default history `defaults.csv`), and a typo must not
silently switch a warning off, drop a loan or score the backtest on the wrong borrower. Every
bad row is named on a line of its own (file, line, what is wrong), so one run shows them all.

The metrics a rule or covenant may name are the columns of the marts listed in METRICS; a
comparison is one of <, <=, >, >=."""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from datetime import date
from pathlib import Path

from pipelines import orgnr

# Every metric a rule or a covenant may test, with the mart that holds it.
METRICS = {
    "equity_ratio": "fct_borrower_month",
    "current_ratio": "fct_borrower_month",
    "cash_cover_months": "fct_borrower_month",
    "revenue_growth_yoy": "fct_borrower_month",
    "ebitda_margin_t12m": "fct_borrower_month",
    "altman_z": "fct_borrower_month",
    "total_equity": "fct_borrower_month",
    "operating_margin_t12m": "fct_borrower_kpis",
    "net_interest_bearing_debt": "fct_borrower_kpis",
    "nibd_to_ebitda": "fct_borrower_kpis",
    "interest_coverage": "fct_borrower_kpis",
    "ebitda_interest_coverage": "fct_borrower_kpis",
    "cash_cover_months_smoothed": "fct_borrower_kpis",
    "days_sales_outstanding": "fct_borrower_kpis",
    "days_payables_outstanding": "fct_borrower_kpis",
    "inventory_days": "fct_borrower_kpis",
    "working_capital": "fct_borrower_kpis",
    "cash_runway_months": "fct_borrower_kpis",
    "days_payables_change_yoy": "fct_borrower_kpis",
    "public_duties_months": "fct_borrower_kpis",
    "public_duties_change_yoy": "fct_borrower_kpis",
    "cash_cover_months_t12m": "fct_borrower_kpis",
    "cash_runway_months_t12m": "fct_borrower_kpis",
    "nibd_to_ebitda_t12m": "fct_borrower_kpis",
    "revenue_change_month_yoy": "fct_borrower_kpis",
    "days_sales_change_yoy": "fct_borrower_kpis",
    "days_sales_change_6m": "fct_borrower_kpis",
    "net_liquidity_months": "fct_borrower_kpis",
    "net_liquidity_change_yoy": "fct_borrower_kpis",
    "operating_margin_change_yoy": "fct_borrower_kpis",
    "equity_ratio_t12m": "fct_borrower_kpis",
    "equity_ratio_season_adjusted": "fct_borrower_kpis",
    "equity_ratio_peer_percentile": "fct_borrower_peer_position",
    "operating_margin_peer_percentile": "fct_borrower_peer_position",
    "cash_cover_peer_percentile": "fct_borrower_peer_position",
}
COMPARISONS = ("<", "<=", ">", ">=")
RULE_COLUMNS = (
    "flag",
    "metric",
    "comparison",
    "watch_threshold",
    "act_threshold",
    "severe_threshold",  # may be left out (the rules file of 0.1)
    "description",
)
COVENANT_COLUMNS = (
    "organization_number",
    "metric",
    "comparison",
    "threshold",
    "valid_from",
    "valid_to",
)
FACILITY_COLUMNS = (
    "organization_number",
    "facility_id",
    "product",
    "limit_amount",
    "drawn_amount",
    "currency",
    "relationship_manager",
    "valid_from",
    "valid_to",
)
DEFAULT_COLUMNS = ("organization_number", "default_date", "kind")  # kind may be left out
EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}")


class RulesError(ValueError):
    """A rules or covenants file was refused; `lines` holds one sentence per bad row."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _rows(path: Path, columns: tuple[str, ...]) -> tuple[list[tuple[int, dict]], list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = tuple(name.strip() for name in reader.fieldnames or ())
        if header != columns:
            return [], [
                f"{path.name}: the header must be {','.join(columns)}, is {','.join(header)}"
            ]
        rows = [
            (reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k})
            for row in reader
        ]
    return rows, []


def _metric_problem(metric: str) -> str | None:
    if metric not in METRICS:
        return f"unknown metric {metric!r} (known: {', '.join(sorted(METRICS))})"
    return None


def read_rules(path: Path) -> tuple[list[tuple[int, dict]], list[str]]:
    """A rules file's rows (line, row with a `severe_threshold`, "" when the file has no such
    column), or the problem with its header."""
    short = tuple(c for c in RULE_COLUMNS if c != "severe_threshold")
    with path.open(newline="", encoding="utf-8") as f:
        header = tuple(name.strip() for name in (csv.DictReader(f).fieldnames or ()))
    if header == short:
        rows, problems = _rows(path, short)
        return [(line, {**row, "severe_threshold": ""}) for line, row in rows], problems
    rows, problems = _rows(path, RULE_COLUMNS)
    if problems:
        problems = [
            f"{path.name}: the header must be {','.join(RULE_COLUMNS)} (severe_threshold may "
            f"be left out), is {','.join(header)}"
        ]
    return rows, problems


def check_rules(path: Path) -> list[str]:
    """The problems of a warning-rules file, one line per bad row."""
    rows, problems = read_rules(path)
    seen: dict[str, int] = {}
    for line, row in rows:
        wrong = []
        flag = row["flag"]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", flag):
            wrong.append(f"flag {flag!r} must be lower-case letters, digits and _")
        elif flag in seen:
            wrong.append(f"flag {flag!r} is already defined on line {seen[flag]}")
        else:
            seen[flag] = line
        if (metric_problem := _metric_problem(row["metric"])) is not None:
            wrong.append(metric_problem)
        comparison = row["comparison"]
        if comparison not in COMPARISONS:
            wrong.append(f"comparison {comparison!r} must be one of {' '.join(COMPARISONS)}")
        levels = {}
        for level in ("watch", "act", "severe"):
            text = row[f"{level}_threshold"]
            if text:
                value = _number(text)
                if value is None:
                    wrong.append(f"{level}_threshold {text!r} is not a number")
                else:
                    levels[level] = value
        if not row["watch_threshold"] and not row["act_threshold"]:
            wrong.append("needs a watch_threshold, an act_threshold or both")
        if "act" in levels and "watch" in levels and comparison in COMPARISONS:
            act, watch = levels["act"], levels["watch"]
            if not (act <= watch if "<" in comparison else act >= watch):
                wrong.append(
                    f"act_threshold {levels['act']:g} must be past watch_threshold "
                    f"{levels['watch']:g} in the direction of {comparison}"
                )
        if "severe" in levels and comparison in COMPARISONS:
            # a severe breach is an act breach that does not wait: at or past the act level
            below = next((name for name in ("act", "watch") if name in levels), None)
            severe = levels["severe"]
            if below and not (
                severe <= levels[below] if "<" in comparison else severe >= levels[below]
            ):
                wrong.append(
                    f"severe_threshold {severe:g} must be at or past {below}_threshold "
                    f"{levels[below]:g} in the direction of {comparison}"
                )
        problems += [f"{path.name} line {line}: {w}" for w in wrong]
    return problems


def check_covenants(path: Path) -> list[str]:
    """The problems of a covenants file, one line per bad row (an overlap names both rows)."""
    rows, problems = _rows(path, COVENANT_COLUMNS)
    periods: dict[tuple[str, str], list[tuple[date, date, int]]] = defaultdict(list)
    for line, row in rows:
        wrong = []
        org = row["organization_number"]
        if (reason := orgnr.problem(org)) is not None:
            wrong.append(f"organization_number {org!r} {reason}")
        if (metric_problem := _metric_problem(row["metric"])) is not None:
            wrong.append(metric_problem)
        if row["comparison"] not in COMPARISONS:
            wrong.append(f"comparison {row['comparison']!r} must be one of {' '.join(COMPARISONS)}")
        if _number(row["threshold"]) is None:
            wrong.append(f"threshold {row['threshold']!r} is not a number")
        start, end = _period(row, wrong)
        if not wrong and start and end:
            key = (org, row["metric"])
            for other_start, other_end, other_line in periods[key]:
                if start <= other_end and other_start <= end:
                    wrong.append(
                        f"{row['metric']} covenant of {org} overlaps the one on line {other_line}"
                    )
            periods[key].append((start, end, line))
        problems += [f"{path.name} line {line}: {w}" for w in wrong]
    return problems


def check_facilities(path: Path) -> list[str]:
    """The problems of a loan book (facilities file), one line per bad row: a facility id used
    twice names both rows."""
    rows, problems = _rows(path, FACILITY_COLUMNS)
    seen: dict[str, int] = {}
    for line, row in rows:
        wrong = []
        org = row["organization_number"]
        if (reason := orgnr.problem(org)) is not None:
            wrong.append(f"organization_number {org!r} {reason}")
        facility = row["facility_id"]
        if not facility:
            wrong.append("facility_id is empty")
        elif facility in seen:
            wrong.append(f"facility_id {facility!r} is already used on line {seen[facility]}")
        else:
            seen[facility] = line
        if not row["product"]:
            wrong.append("product is empty")
        amounts = {}
        for name in ("limit_amount", "drawn_amount"):
            value = _number(row[name])
            if value is None:
                wrong.append(f"{name} {row[name]!r} is not a number")
            elif value < 0:
                wrong.append(f"{name} {row[name]} is negative")
            else:
                amounts[name] = value
        if len(amounts) == 2 and amounts["drawn_amount"] > amounts["limit_amount"] * 1.1:
            wrong.append(
                f"drawn_amount {row['drawn_amount']} is more than 10 % over the limit "
                f"{row['limit_amount']} (a unit mix-up?)"
            )
        if not re.fullmatch(r"[A-Za-z]{3}", row["currency"]):
            wrong.append(f"currency {row['currency']!r} must be a 3-letter code such as NOK")
        manager = row["relationship_manager"]
        if manager and not EMAIL.fullmatch(manager):
            wrong.append(f"relationship_manager {manager!r} is not an email address")
        start, end = _period(row, wrong)
        problems += [f"{path.name} line {line}: {w}" for w in wrong]
    return problems


def read_defaults(path: Path) -> tuple[list[tuple[int, dict]], list[str]]:
    """A defaults file's rows (line, row with a `kind`, "" when the file has no such column),
    or the problem with its header."""
    short = DEFAULT_COLUMNS[:2]
    with path.open(newline="", encoding="utf-8") as f:
        header = tuple(name.strip() for name in (csv.DictReader(f).fieldnames or ()))
    if header == short:
        rows, problems = _rows(path, short)
        return [(line, {**row, "kind": ""}) for line, row in rows], problems
    rows, problems = _rows(path, DEFAULT_COLUMNS)
    if problems:
        problems = [
            f"{path.name}: the header must be {','.join(DEFAULT_COLUMNS)} (kind may be left out), "
            f"is {','.join(header)}"
        ]
    return rows, problems


def check_defaults(path: Path) -> list[str]:
    """The problems of a defaults file (the bank's default history, for the backtest), one line
    per bad row: one default per borrower (a second names the first's line), a date, and a
    kind, if any, in lower-case letters, digits and _."""
    rows, problems = read_defaults(path)
    seen: dict[str, int] = {}
    for line, row in rows:
        wrong = []
        org = row["organization_number"]
        if (reason := orgnr.problem(org)) is not None:
            wrong.append(f"organization_number {org!r} {reason}")
        elif org in seen:
            wrong.append(
                f"organization_number {org} already has a default on line {seen[org]} "
                "(one row per borrower: its first default)"
            )
        else:
            seen[org] = line
        if _date(row["default_date"]) is None:
            wrong.append(f"default_date {row['default_date']!r} is not a date (YYYY-MM-DD)")
        kind = row["kind"]
        if kind and not re.fullmatch(r"[a-z0-9_]+", kind):
            wrong.append(f"kind {kind!r} must be lower-case letters, digits and _")
        problems += [f"{path.name} line {line}: {w}" for w in wrong]
    return problems


def _period(row: dict[str, str], wrong: list[str]) -> tuple[date | None, date | None]:
    """A row's `valid_from` and `valid_to` (empty: open-ended), each None when it is not a
    date; what is wrong with them is added to `wrong`."""
    start = _date(row["valid_from"])
    end = _date(row["valid_to"]) if row["valid_to"] else date.max
    if start is None:
        wrong.append(f"valid_from {row['valid_from']!r} is not a date (YYYY-MM-DD)")
    if end is None:
        wrong.append(f"valid_to {row['valid_to']!r} is not a date (YYYY-MM-DD) or empty")
    if start and end and end < start:
        wrong.append(f"valid_to {row['valid_to']} is before valid_from {row['valid_from']}")
    return start, end


def check(seeds: Path) -> None:
    """Raise RulesError naming every bad row of seeds/warning_rules.csv, covenants.csv,
    facilities.csv and defaults.csv (the loan book and the default history are optional: a
    bank without one has no file)."""
    problems = []
    for name, checker in (("warning_rules.csv", check_rules), ("covenants.csv", check_covenants)):
        path = seeds / name
        if path.exists():
            problems += checker(path)
        else:
            problems.append(f"{name}: missing from {seeds}")
    if (seeds / "facilities.csv").exists():
        problems += check_facilities(seeds / "facilities.csv")
    if (seeds / "defaults.csv").exists():
        problems += check_defaults(seeds / "defaults.csv")
    if problems:
        raise RulesError(problems)
