"""Is the integration alive? Pings the API and shows the calling company and client, the
consent relationships by state and the ones pending for long, the last runs (from the run
journal in dlt's working dir, which records every run, failed ones included, even those that
never reached the warehouse; without one, from the warehouse table `runs`) and how fresh each
approved borrower's newest snapshot is.

The API is checked with the settings of `symetrisk run` (SOURCES__SYMETRISK__*). With no client
id configured only the warehouse is read (the built-in sandbox is started by `symetrisk run`
alone) and consent states come from the last run's `relationships` table. The published warehouse is
opened read-only (a run never holds it); without one, or when another process holds it for
writing, that part says so.

Exit codes, for a monitor:
  0  all well (the API answered, or was not checked; the last run did not fail)
  2  bad arguments (e.g. an invalid organisation number)
  3  the API check failed: not reachable, an error after retries, or credentials refused
  4  the last recorded run failed (outcome `failed` or `models_failed`), or was killed or
     crashed (started, never finished, no longer running): a run refused by the run lock or
     stopped by its settings counts too; a later successful run clears it. Also when the last
     successful run finished longer ago than --max-age-hours (default 36), so a night with no
     run at all is seen
  5  the last recorded run was `partial`: some borrowers were skipped after failures (listed)
  6  the warehouse exists but cannot be read (held for writing by another process, or damaged)
When more than one applies, the lowest wins."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.orgnr import InvalidOrgNumber, validate_all
from pipelines.symetrisk import settings
from pipelines.symetrisk.health_words import STATUS_BUDGET_S, over_budget, status_words
from pipelines.warehouse.destination import add_warehouse_arguments
from pipelines.warehouse.runlock import busy_message
from pipelines.warehouse.runs import OK, PARTIAL
from pipelines.warehouse.runs import TABLE as RUNS_TABLE

OK_EXIT, USAGE_EXIT, API_EXIT, RUN_FAILED_EXIT, RUN_PARTIAL_EXIT = 0, 2, 3, 4, 5
UNREADABLE_EXIT = 6
DEFAULT_PENDING_DAYS = 14
DEFAULT_MAX_AGE_HOURS = 36.0  # a nightly run missed once is seen the next morning

EXAMPLES = """examples:
  symetrisk status                          # exit 0 all well, 3 API down, 4 last run failed
  symetrisk status --runs 10 --stale 20     # more history, more of the stalest borrowers
  symetrisk status --borrowers 810000007    # one borrower's consent and newest snapshot
  symetrisk status --pending-days 7 || mail -s "symetrisk needs a look" ops@bank.example
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        metavar="PATH",
        help="DuckDB warehouse (default: $DESTINATION__DUCKDB__CREDENTIALS or "
        f"{settings.DEFAULT_WAREHOUSE})",
    )
    add_warehouse_arguments(parser)
    parser.add_argument(
        "--pending-days",
        type=int,
        default=DEFAULT_PENDING_DAYS,
        metavar="DAYS",
        help="a consent requested longer ago than this and not answered is listed "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--runs", type=int, default=5, metavar="N", help="last runs shown (default: %(default)s)"
    )
    parser.add_argument(
        "--stale",
        type=int,
        default=5,
        metavar="N",
        help="stalest borrowers shown (default: %(default)s)",
    )
    parser.add_argument(
        "--borrowers", nargs="+", metavar="ORG", help="also show these borrowers one by one"
    )
    parser.add_argument(
        "--max-age-hours",
        type=float,
        default=DEFAULT_MAX_AGE_HOURS,
        metavar="N",
        help="exit 4 when the last successful run finished more than N hours ago "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--sources",
        action="store_true",
        help="also check the dbt sources' freshness (`dbt source freshness` of sql/; a few "
        "seconds of dbt start-up); a stale source makes the exit code 4",
    )


@dataclass
class ApiView:
    checked: bool = False
    ok: bool = False
    line: str = ""
    company: dict[str, Any] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)
    relationships: list[dict[str, Any]] | None = None
    extra: list[str] = field(default_factory=list)


def privacy_warnings(database: str | None, pipelines_dir: str) -> list[str]:
    """Secrets file, warehouse or pipelines dir readable by others (private_files.py)."""
    from pipelines.warehouse.private_files import status_warnings
    from pipelines.warehouse.readers import warehouse_path

    local = database is None or database.endswith(".duckdb")
    return status_warnings(warehouse_path(database) if local else None, pipelines_dir)


def main(args: argparse.Namespace) -> int:
    try:
        if args.borrowers:
            validate_all(args.borrowers)
    except InvalidOrgNumber as exc:
        print(f"symetrisk status: {exc}", file=sys.stderr)
        return USAGE_EXIT
    api = check_api()
    for text in [api.line, *api.extra]:
        print(text)
    destination = getattr(args, "destination", None)
    if destination and not destination.endswith(".duckdb"):
        warehouse = Warehouse.open_remote(destination, args.dataset, args.pipelines_dir)
    else:
        warehouse = Warehouse.open(destination or args.database, args.dataset)
    print(warehouse.line)
    for line in privacy_warnings(destination or args.database, args.pipelines_dir):
        print(line)
    relationships, source = api.relationships, "the API"
    if relationships is None and warehouse.con is not None:
        relationships, source = warehouse.relationships(), "the warehouse, as of the last run"
    show_consents(relationships, source, args.pending_days)
    last_failed = show_journal(args.pipelines_dir, args.runs)
    too_old = show_last_success(args.pipelines_dir, warehouse, getattr(args, "max_age_hours", None))
    if warehouse.con is not None:
        if last_failed is None:
            last_failed = show_runs(warehouse, args.runs)
        approved = [
            r["organization_number"]
            for r in relationships or []
            if r.get("relationship_state") == settings.APPROVED
        ]
        show_freshness(warehouse, approved, args.stale)
        if args.borrowers:
            show_borrowers(warehouse, relationships or [], args.borrowers)
        warehouse.con.close()
        # after closing: dbt opens the warehouse itself
        sources_stale = getattr(args, "sources", False) and not show_sources(warehouse, args)
    else:
        sources_stale = False
    code = OK_EXIT
    if api.checked and not api.ok:
        code = API_EXIT
    elif last_failed == PARTIAL:
        code = RUN_PARTIAL_EXIT
    elif last_failed or sources_stale or too_old:
        code = RUN_FAILED_EXIT
    elif warehouse.unreadable:
        code = UNREADABLE_EXIT
    verdict = {
        OK_EXIT: "ok",
        API_EXIT: "API check failed",
        RUN_FAILED_EXIT: "last run failed",
        RUN_PARTIAL_EXIT: "last run skipped borrowers",
        UNREADABLE_EXIT: "warehouse cannot be read",
    }
    if code == RUN_FAILED_EXIT and not last_failed:
        verdict[code] = (
            f"no successful run in the last {args.max_age_hours:g} hours"
            if too_old
            else "a source is stale past its error threshold"
        )
    print(f"status: {verdict[code]} (exit {code})")
    return code


# --- the API ---------------------------------------------------------------------------------


def check_api() -> ApiView:
    from pipelines.symetrisk.configured import api_config

    view = ApiView()
    config = api_config()
    if not config.client_id:
        view.line = (
            f"API        not checked: no {settings.SETTING_CLIENT_ID} configured (the built-in "
            "sandbox is used only by `symetrisk run`)"
        )
        return view
    view.checked = True
    where = config.base_url or "(no base URL)"
    done = threading.Thread(target=_check, args=(view, config, where), daemon=True)
    done.start()
    done.join(STATUS_BUDGET_S)  # bounded, whatever the retries (health_words.py)
    if done.is_alive():
        view.ok, view.line = False, f"API        DOWN: {over_budget(where)}"
    return view


def _check(view: ApiView, config: Any, where: str) -> None:
    from requests import HTTPError
    from requests.exceptions import RequestException

    from pipelines.symetrisk.configured import connect
    from pipelines.symetrisk.errors import SymetriskError

    api = None
    try:
        api = connect(config, quick=True)
        started = time.monotonic()
        api.get(settings.PING)
        ms = (time.monotonic() - started) * 1000
        me = api.get(settings.SELF)
        view.ok = True
        view.line = f"API        ok: {where} answered {settings.PING} in {ms:,.0f} ms"
        me = me if isinstance(me, dict) else {}
        view.company, view.client = me.get("company") or {}, me.get("client") or {}
        describe_caller(view, config.client_id)
        read_relationships(api, view)
    except (SymetriskError, HTTPError, RequestException) as exc:
        down, text = status_words(exc, where)
        if view.ok:  # /ping answered; a later read failed
            view.extra.append(f"           (could not read everything: {text})")
        else:
            view.line = f"API        {'DOWN' if down else 'FAILED'}: {text}"
    finally:
        if api is not None:
            api.close()


def describe_caller(view: ApiView, client_id: str) -> None:
    c = view.company
    scopes = view.client.get("scopes") or []
    short = " ".join(str(s).rsplit("/", 1)[-1] for s in scopes) or "?"
    view.extra.append(
        f"company    {c.get('name')} ({c.get('role')}, {c.get('brreg_organization_number')}); "
        f"client {view.client.get('client_id') or client_id}, scopes: {short}"
    )


def read_relationships(api: Any, view: ApiView) -> None:
    role = view.company.get("role")
    if role == "bank":
        path = settings.RELATIONSHIPS
    elif role == "credit_scorer":
        org = view.company.get("brreg_organization_number")
        path = settings.api_path(settings.LIST_DEBTORS, creditor=org)
    else:
        if role == "partner":
            partner = api.get(settings.PARTNER)
            scorers = partner.get("credit_scorers") if isinstance(partner, dict) else None
            scorers = scorers if isinstance(scorers, list) else []
            view.extra.append(f"scorers    {len(scorers)} credit scorer(s) under this partner")
        return
    view.relationships = [item for page in api.pages(path) for item in page]


# --- the warehouse ---------------------------------------------------------------------------


@dataclass
class Warehouse:
    path: str
    dataset: str
    con: Any = None
    line: str = ""
    unreadable: bool = False

    @classmethod
    def open(cls, database: str | None, dataset: str) -> Warehouse:
        import duckdb

        from pipelines.warehouse.destination import default_database

        path = database or default_database()
        found = cls(path, dataset)
        if not path.startswith("md:") and not Path(path).exists():
            found.line = f"warehouse  none yet at {path} (`symetrisk run` creates it)"
            return found
        try:
            found.con = duckdb.connect(path, read_only=True)
        except duckdb.Error as exc:
            first = busy_message(exc, reading=True) or str(exc).strip().splitlines()[0]
            found.line = f"warehouse  cannot be read: {first}"
            found.unreadable = True
            return found
        found.line = f"warehouse  {path}"
        return found

    @classmethod
    def open_remote(cls, destination: str, dataset: str, pipelines_dir: str) -> Warehouse:
        """A Postgres (or other dlt destination) warehouse, read-only; see warehouse/remote.py."""
        from pipelines.warehouse.remote import RemoteError, connect

        found = cls(destination, dataset)
        try:
            found.con = connect(destination, dataset, pipelines_dir)
        except RemoteError as exc:
            found.line = f"warehouse  cannot be read: {exc}"
            found.unreadable = True
            return found
        found.line = f"warehouse  {found.con.where}"
        return found

    def has(self, table: str) -> bool:
        sql = "select count(*) from information_schema.tables where table_schema = ? and "
        sql += "table_name = ?"
        return bool(self.con.execute(sql, [self.dataset, table]).fetchone()[0])

    def table(self, name: str) -> str:
        return f'"{self.dataset}"."{name}"'

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def relationships(self) -> list[dict[str, Any]] | None:
        if not self.has("relationships"):
            return None
        return self.query(
            "select organization_number, relationship_state, cast(requested_at as varchar) "
            f"as requested_at from {self.table('relationships')} where _dlt_valid_to is null"
        )


# --- the sections ----------------------------------------------------------------------------


def show_sources(warehouse: Warehouse, args: argparse.Namespace) -> bool:
    """The dbt sources' freshness (sql/models/staging/_sources.yml); False when one is stale
    past its error threshold or cannot be checked."""
    from pipelines.warehouse import dbt_build

    try:
        if isinstance(getattr(warehouse.con, "where", None), str):  # a remote warehouse
            import dlt

            pipeline = dlt.pipeline(
                pipeline_name=settings.PIPELINE_NAME,
                destination=warehouse.path,
                dataset_name=args.dataset,
                pipelines_dir=str(Path(args.pipelines_dir).resolve()),
            )
            target = dbt_build.target_for(pipeline)
        else:
            target = dbt_build.duckdb_target(str(Path(warehouse.path).resolve()))
        found = dbt_build.freshness(target, args.dataset)
    except Exception as exc:  # noqa: BLE001 - one line, never the credentials
        print(f"sources    cannot be checked: {type(exc).__name__}")
        return False
    ok = True
    for i, f in enumerate(found):
        age = "never loaded" if f.age_hours is None else f"{f.age_hours:,.1f} h old"
        print(f"{'sources' if i == 0 else '':<10} {f.source:<40} {f.status:<6} {age}")
        ok = ok and f.status in ("pass", "warn")
    return ok


def parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def show_consents(rels: list[dict[str, Any]] | None, source: str, pending_days: int) -> None:
    if rels is None:
        print("consents   none known (none from the API, no relationships table in the warehouse)")
        return
    by_state = Counter(r.get("relationship_state") for r in rels)
    order = [settings.APPROVED, settings.REQUESTED, settings.REVOKED, settings.DENIED]
    states = sorted(by_state, key=lambda s: (order.index(s) if s in order else 9, str(s)))
    counts = ", ".join(f"{s} {by_state[s]}" for s in states) or "none"
    print(f"consents   {counts} (from {source})")
    now = dt.datetime.now(dt.timezone.utc)
    pending = []
    for r in rels:
        asked = parse_time(r.get("requested_at"))
        if r.get("relationship_state") == settings.REQUESTED and asked:
            days = (now - asked).days
            if days > pending_days:
                pending.append((days, str(r.get("organization_number")), asked))
    if not pending:
        print(f"pending    none waiting more than {pending_days} days")
        return
    pending.sort(reverse=True)
    print(f"pending    {len(pending)} borrower(s) asked more than {pending_days} days ago:")
    for days, org, asked in pending[:10]:
        print(f"             {org}  requested {asked:%Y-%m-%d} ({days} days ago)")
    if len(pending) > 10:
        print(f"             ... and {len(pending) - 10} more")


def show_runs(warehouse: Warehouse, limit: int) -> bool | str:
    """Print the last runs; True when the last one failed, PARTIAL when it was partial (and
    then the borrowers it skipped)."""
    if not warehouse.has(RUNS_TABLE):
        print(f"runs       none recorded yet ({warehouse.dataset}.{RUNS_TABLE})")
        return False
    runs = warehouse.query(
        'select run_id, started_at, seconds, outcome, error, cast("rows" as varchar) as rows, '
        'requests, retries, cast("errors" as varchar) as errors '
        f"from {warehouse.table(RUNS_TABLE)} "
        "order by started_at desc limit ?",
        [max(1, limit)],
    )
    if not runs:
        print("runs       none recorded yet")
        return False
    print(f"runs       last {len(runs)} ({warehouse.dataset}.{RUNS_TABLE}, newest first):")
    return report_runs(runs)


def show_journal(pipelines_dir: str, limit: int) -> bool | str | None:
    """Print the last runs from the run journal and return as show_runs does; None when there
    is no journal (the warehouse's `runs` table is shown instead)."""
    from pipelines.warehouse import journal

    try:
        runs = journal.latest(pipelines_dir, limit)
    except OSError as exc:
        print(f"runs       the run journal cannot be read: {exc}")
        return None
    if not runs:
        return None
    print(f"runs       last {len(runs)} (run journal {journal.journal_path(pipelines_dir)}, "
          "newest first):")  # fmt: skip
    return report_runs(runs)


def show_last_success(
    pipelines_dir: str, warehouse: Warehouse, max_age_hours: float | None
) -> bool:
    """Print when the last successful run finished; True when that is longer ago than
    `max_age_hours`. Nothing is judged when no run was ever recorded."""
    from pipelines.warehouse import journal

    if max_age_hours is None:
        return False
    try:
        known, finished = journal.last_success(pipelines_dir)
    except OSError:
        known, finished = False, None
    if not known and warehouse.con is None:
        return False
    if not known:
        try:
            if not warehouse.has(RUNS_TABLE):
                return False
            finished = warehouse.con.execute(
                f"select cast(max(finished_at) as varchar) from {warehouse.table(RUNS_TABLE)} "
                "where outcome in (?, ?)",
                [OK, PARTIAL],
            ).fetchone()[0]
        except Exception:  # noqa: BLE001 - a table it cannot read: nothing to judge by
            return False
    when = parse_time(finished)
    if when is None:
        print(f"success    no successful run recorded (limit {max_age_hours:g} hours)")
        return True
    hours = max(0.0, (dt.datetime.now(dt.timezone.utc) - when).total_seconds() / 3600)
    old = hours > max_age_hours
    print(
        f"success    last successful run finished {when:%Y-%m-%d %H:%M}Z, {hours:,.1f} hours ago"
        + (f": older than {max_age_hours:g} hours (--max-age-hours)" if old else "")
    )
    return old


def as_json(value: Any, empty: Any) -> Any:
    return json.loads(value or "null") or empty if isinstance(value, str | None) else value


def report_runs(runs: list[dict[str, Any]]) -> bool | str:
    """Print `runs` (newest first); True when the newest failed or was killed (and which and
    why), PARTIAL when it was partial (and the borrowers it skipped). A run still going is
    shown and judged by the one before it."""
    from pipelines.warehouse import journal

    for run in runs:
        rows = as_json(run.get("rows"), {})
        new = sum(r.get("new", 0) for r in rows.values())
        changed = sum(r.get("changed", 0) for r in rows.values())
        started = parse_time(run["started_at"])
        when = f"{started:%Y-%m-%d %H:%M}Z" if started else "?"
        if run["outcome"] in (journal.KILLED, journal.RUNNING):
            pid = run.get("pid")
            state = "still going" if run["outcome"] == journal.RUNNING else "never finished"
            print(f"             {when}  {run['outcome']:<13} pid {pid}, {state}")
            continue
        line = (
            f"             {when}  {run['outcome']:<13} {run.get('seconds') or 0:>7,.1f} s  "
            f"{new:,} new, {changed:,} changed rows; {run.get('requests') or 0:,} requests, "
            f"{run.get('retries') or 0:,} retries"
        )
        if run.get("error"):
            line += f"\n               error: {run['error']}"
        print(line)
    finished = [run for run in runs if run["outcome"] != journal.RUNNING]
    if not finished:
        return False
    last = finished[0]
    credit = last.get("credit") or {}
    if credit.get("alerts_failed"):
        print(
            f"alerts     the last run could not deliver {credit['alerts_failed']} alert "
            "message(s); the next run sends them again (see docs/brief.md)"
        )
    if last["outcome"] not in (OK, PARTIAL):
        print(f"last run   {last['run_id']} {last['outcome']}: {last.get('error') or '?'}")
    if last["outcome"] == PARTIAL:
        skipped = as_json(last.get("errors"), [])
        print(f"skipped    by the last run ({len(skipped)}; the next run tries them again):")
        for text in skipped[:20]:
            print(f"             {text}")
        if len(skipped) > 20:
            print(f"             ... and {len(skipped) - 20} more")
        return PARTIAL
    return last["outcome"] != OK


def months_between(older: dt.date, newer: dt.date) -> int:
    return (newer.year - older.year) * 12 + newer.month - older.month


def newest_snapshots(warehouse: Warehouse) -> dict[str, tuple[dt.date, int]]:
    if not warehouse.has("accounting_snapshots"):
        return {}
    rows = warehouse.con.execute(
        "select organization_number, max(snapshot_date), count(*) from "
        f"{warehouse.table('accounting_snapshots')} group by 1"
    ).fetchall()
    return {org: (newest, months) for org, newest, months in rows}


def days_ago(days: int) -> str:
    """An age in days for people; never negative (a date ahead of this machine's clock)."""
    if days >= 0:
        return f"{days} days ago"
    return f"dated {-days} days ahead of this machine's clock"


def show_freshness(warehouse: Warehouse, approved: list[str], stale: int) -> None:
    newest = newest_snapshots(warehouse)
    if not newest:
        print("freshness  no snapshots loaded yet")
        return
    reference = max(date for date, _ in newest.values())
    age = (dt.datetime.now(dt.timezone.utc).date() - reference).days
    scope = set(approved) if approved else set(newest)
    behind = {org: months_between(newest[org][0], reference) for org in scope if org in newest}
    missing = sorted(scope - set(newest))
    buckets = Counter(min(m, 3) for m in behind.values())
    label = {0: "current", 1: "1 month behind", 2: "2 months behind", 3: "3+ months behind"}
    parts = [f"{label[b]} {buckets[b]}" for b in sorted(buckets)]
    if missing:
        parts.append(f"no snapshot loaded yet {len(missing)}")
    who = "approved borrowers" if approved else "borrowers"
    print(
        f"freshness  newest month loaded {reference:%Y-%m} ({days_ago(age)}); "
        f"{who}: {', '.join(parts)}"
    )
    stalest = sorted(((m, org) for org, m in behind.items() if m > 0), reverse=True)[:stale]
    for months, org in stalest:
        print(f"             {org}  newest {newest[org][0]:%Y-%m} ({months} months behind)")
    for org in missing[:stale]:
        print(f"             {org}  approved, no snapshot loaded yet (the next run loads it)")


def show_borrowers(warehouse: Warehouse, rels: list[dict[str, Any]], orgs: list[str]) -> None:
    states = {r.get("organization_number"): r.get("relationship_state") for r in rels}
    newest = newest_snapshots(warehouse)
    for org in orgs:
        state = states.get(org, "no relationship")
        if org in newest:
            date, months = newest[org]
            loaded = f"{months} months loaded, newest {date:%Y-%m}"
        else:
            loaded = "no snapshots loaded"
        print(f"borrower   {org}: {state}; {loaded}")
