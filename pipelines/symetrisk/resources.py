"""The resources of the `symetrisk` source and what they share: the API, the counters, and the
relationship and debtor lists (read once, used by several resources). One borrower whose calls
keep failing or whose data cannot be loaded is skipped (`RunStats.failed`, the run ends
`partial`) and keeps its old state; when most borrowers fail, the API is taken to be down and
the run fails. A 403 on a list, or a 404 on an undocumented path, skips that table with one
line (`RunStats.notes`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import dlt
import orjson
from dlt.extract.resource import DltResource
from requests import HTTPError

from pipelines.orgnr import problem

from . import contract, settings
from .client import Api
from .company import call_self, company_of, optional_path_note
from .errors import LimitExceeded, SymetriskApiError, SymetriskConfigError
from .pool import bounded_map
from .responses import error_message, error_status
from .snapshots import (
    Plan,
    SnapshotBatch,
    SnapshotDataError,
    classify,
    content_hash,
    flatten,
    months_wanted,
    next_state,
    plan_for,
    versions_table,
    with_hashes,
)
from .stats import RunStats
from .untrusted import NewColumns, check_item_depth, check_snapshots

SKIPPABLE_STATUS = (403, 404)


# The two big tables are merged without dlt's deduplication of the staging rows (a window over
# every row, half the merge's time): a run writes each key once, and a staging table is loaded
# exactly once even when a killed run is resumed (pipelines/warehouse/resume.py).
DEDUPLICATED_MERGE: Any = {
    "disposition": "merge",
    "strategy": "delete-insert",
    "deduplicated": True,
}


def row_hash(row: Any) -> str:
    return hashlib.blake2b(
        orjson.dumps(row, option=orjson.OPT_SORT_KEYS), digest_size=8
    ).hexdigest()


@dataclass
class BorrowerMonths:
    """One borrower's answer, ready for the batch: counts, its next state, its rows."""

    fetched: int
    counts: dict[str, int]
    state: dict[str, Any]
    rows: SnapshotBatch
    hashes: list[str]  # each row's content hash, in row order


class Skips:
    """Borrowers skipped for one reason or another, reported as one line per table, and the
    failures among them counted against the share that means the API is down."""

    def __init__(self, stats: RunStats, table: str) -> None:
        self.stats, self.table = stats, table
        self.by_reason: dict[str, list[str]] = {}
        self.tried = 0
        self.failures: list[BaseException] = []

    def add(self, org: str, reason: str) -> None:
        self.by_reason.setdefault(reason, []).append(org)

    def fail(self, org: str, error: BaseException) -> None:
        """Skip `org` for a failure; raise `error` when so many failed that the API is down."""
        self.failures.append(error)
        general, detail = failure_reason(error)
        self.add(org, general)
        self.stats.fail(org, self.table, detail)
        failed = len(self.failures)
        if (
            failed >= settings.PARTIAL_MIN_FAILURES
            and failed > settings.PARTIAL_MAX_FAILED_SHARE * self.tried
        ):
            raise error

    def finish(self) -> None:
        """After the last borrower: every one of them failed means the API is down."""
        if self.failures and len(self.failures) >= self.tried:
            raise self.failures[0]
        self.report()

    def report(self) -> None:
        for reason, orgs in self.by_reason.items():
            example = ", ".join(orgs[:3]) + (" ..." if len(orgs) > 3 else "")
            self.stats.note(f"{self.table}: skipped {len(orgs)} borrower(s) ({reason}): {example}")


def failure_reason(error: BaseException) -> tuple[str, str]:
    """(the reason shared by all borrowers failing alike, this borrower's own detail)."""
    if isinstance(error, SnapshotDataError):
        return f"data that cannot be loaded: {error}; kept its old state", str(error)
    if isinstance(error, LimitExceeded):
        return f"{error}; kept its old state", str(error)
    if isinstance(error, SymetriskApiError):
        return "the API kept failing after every retry; kept its old state", str(error).split(
            "; nothing of this run"
        )[0]
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return "an error; kept its old state", f"{type(error).__name__}: {text}"


class Resources:
    """The resources of one source instance and what they share: the API, the counters, and the
    relationship and debtor lists (fetched once, read by several resources)."""

    def __init__(
        self,
        api: Api,
        stats: RunStats,
        only: set[str] | None,
        lookback_months: int,
        concurrency: int,
        full_refresh: bool,
        batch_rows: int,
    ) -> None:
        self.api = api
        self.stats = stats
        self.only = only
        self.lookback_months = lookback_months
        self.concurrency = concurrency
        self.full_refresh = full_refresh
        self.batch_rows = max(1, batch_rows)
        self.max_new_columns = settings.DEFAULT_MAX_NEW_COLUMNS
        self.max_depth = settings.DEFAULT_MAX_DEPTH
        self.started_at = dt.datetime.now(dt.timezone.utc)
        self._lock = threading.RLock()
        self._lists: dict[str, list[dict[str, Any]]] = {}
        self._refused: dict[str, str] = {}
        self._failed: dict[str, BaseException] = {}
        self._announced: set[str] = set()

    def start(self, base_url: str, relationships: bool) -> Future[dict[str, Any]]:
        """/self, then (with `relationships`, for a bank) the relationship list, read in a thread
        while the run goes on starting (pandas' import, the warehouse opening), since the
        resources wait for that list first. /self's answer or error comes back through the
        future; an error of the list is raised where a resource reads the list, as if it had
        been read there."""
        future: Future[dict[str, Any]] = Future()

        def first_calls() -> None:
            try:
                me = call_self(self.api, base_url, self.stats)
            except BaseException as exc:  # noqa: BLE001 - raised by future.result()
                future.set_exception(exc)
                return
            future.set_result(me)
            if not relationships or company_of(me).get("role") not in (None, "bank"):
                return
            with self._lock:  # re-entrant: list_once takes it too
                try:
                    self.list_once("relationships", settings.RELATIONSHIPS, "id", announce=False)
                except BaseException as exc:  # noqa: BLE001 - raised by list_once() later
                    self._failed[settings.RELATIONSHIPS] = exc

        threading.Thread(target=first_calls, name="symetrisk-first-calls", daemon=True).start()
        return future

    # --- shared lists ---------------------------------------------------------------------------

    def list_once(
        self, table: str, path: str, key: str, announce: bool = True
    ) -> list[dict[str, Any]]:
        """All items of a list endpoint, read once per run; [] on a 403 or 404, with one note
        (once, when a resource asks: role inference reads lists quietly)."""
        with self._lock:
            if path in self._failed:
                raise self._failed.pop(path)
            if path not in self._lists:
                self._lists[path] = self._read_list(table, path, key)
            refusal = self._refused.get(path)
            if announce and refusal and path not in self._announced:
                self._announced.add(path)
                self.stats.note(refusal)
            return self._lists[path]

    def _read_list(self, table: str, path: str, key: str) -> list[dict[str, Any]]:
        items: dict[Any, dict[str, Any]] = {}
        bad: list[str] = []
        try:
            for item in self.api.list_items(path):
                if isinstance(item, dict):
                    reason = self._bad_item(item, table)
                    if reason:
                        bad.append(reason)
                        continue
                    items.setdefault(item.get(key, item.get("organization_number")), item)
        except HTTPError as exc:
            status = error_status(exc)
            if status == 403:
                self._refused[path] = f"skipped {table}: {error_message(exc)}"
            elif status == 404:
                name = settings.PATH_NAMES.get(path.split("/")[1], path)
                self._refused[path] = optional_path_note(table, path, name)
            else:
                raise
            return []
        for reason in bad:
            self.stats.note(f"{table}: skipped {reason}")
        return list(items.values())

    def _bad_item(self, item: dict[str, Any], table: str) -> str | None:
        """Why a list item from the API is skipped: its organisation number is not one (it
        would go into URL paths), or it nests too deep. The run ends `partial`."""
        org = item.get("organization_number")
        why = problem(org)
        if why is None:
            try:
                check_item_depth(item, self.max_depth, f"the item of {org}")
            except LimitExceeded as exc:
                why = str(exc)
        if why is None:
            return None
        shown = repr(org)[:60]
        self.stats.fail(shown, table, f"organisation number {shown} from the API {why}")
        return f"organisation number {shown} from the API: it {why}"

    def answered(self, path: str) -> bool:
        return path in self._lists and path not in self._refused

    def infer_role(self, creditor: str | None) -> str | None:
        """The client's role when /self names none (the docs define no role): a bank when
        /relationships answers, a credit scorer when its /list-debtors answers."""
        self.list_once("relationships", settings.RELATIONSHIPS, "id", announce=False)
        if self.answered(settings.RELATIONSHIPS):
            return "bank"
        if creditor:
            path = settings.api_path(settings.LIST_DEBTORS, creditor=creditor)
            self.list_once("debtors", path, "organization_number", announce=False)
            if self.answered(path):
                return "credit_scorer"
        return None

    def relationships(self) -> list[dict[str, Any]]:
        return self.list_once("relationships", settings.RELATIONSHIPS, "id")

    def wanted(self, org: Any) -> bool:
        return isinstance(org, str) and (self.only is None or org in self.only)

    # --- resources ----------------------------------------------------------------------------

    def company_resource(self, me: dict[str, Any]) -> DltResource:
        stats = self.stats

        @dlt.resource(name="company", write_disposition="merge", primary_key="company__id")
        def company() -> Iterator[dict[str, Any]]:
            state = dlt.current.resource_state()
            row: dict[str, Any] = {}
            flat_source = dict(me)
            client = flat_source.get("client")
            if isinstance(client, dict) and isinstance(client.get("scopes"), list):
                client = {**client, "scopes": " ".join(map(str, client["scopes"]))}
                flat_source["client"] = client
            flatten(flat_source, "", row)
            stats.table("company")
            kind = self.track("company", state, "h", row_hash(row))
            if kind != "unchanged" or self.full_refresh:
                yield row

        return company

    def relationships_resource(self) -> DltResource:
        stats = self.stats

        @dlt.resource(
            name="relationships",
            write_disposition={"disposition": "merge", "strategy": "scd2"},
            merge_key="organization_number",
            columns=contract.columns("relationships"),
        )
        @contract.materialized
        def relationships() -> Iterator[list[dict[str, Any]]]:
            state = dlt.current.resource_state()
            seen: dict[str, str] = state.setdefault("seen", {})
            stats.table("relationships")
            rows = self.relationships()
            for item in rows:
                self.track(
                    "relationships", seen, str(item.get("organization_number")), row_hash(item)
                )
            # the whole list every run: SCD2 compares row hashes, unchanged rows stay as they are
            if rows:
                yield rows

        return relationships

    def borrowers_resource(self) -> DltResource:
        stats, api = self.stats, self.api

        def fetch(org: str) -> dict[str, Any]:
            return api.get(settings.api_path(settings.BORROWER, organization_number=org))

        @dlt.resource(
            name="borrowers",
            parallelized=True,
            write_disposition="merge",
            primary_key="organization_number",
            columns=contract.columns("borrowers"),
        )
        @contract.materialized
        def borrowers() -> Iterator[list[dict[str, Any]]]:
            state = dlt.current.resource_state()
            seen: dict[str, str] = state.setdefault("rel", {})
            stats.table("borrowers")
            keys: dict[str, str] = {}
            for rel in self.relationships():
                org = rel.get("organization_number")
                if self.wanted(org):
                    keys[org] = row_hash(rel)
            todo = [o for o, k in keys.items() if self.full_refresh or seen.get(o) != k]
            stats.count("borrowers", "unchanged", len(keys) - len(todo))
            skips = Skips(stats, "borrowers")
            for org in sorted((self.only or set()) - keys.keys()):
                skips.add(org, "not a borrower of this client")
                stats.error(f"{org}: not in {settings.RELATIONSHIPS} of this client")
            batch: list[dict[str, Any]] = []
            for org, detail in self.answers(fetch, todo, "borrowers", "BORROWER", skips):
                stats.count("borrowers", "changed" if org in seen else "new")
                seen[org] = keys[org]
                batch.append(detail)
                if len(batch) >= 1000:
                    yield batch
                    batch = []
            if batch:
                yield batch

        return borrowers

    def accounting_snapshots_resource(self) -> DltResource:
        stats, api = self.stats, self.api
        lookback = self.lookback_months

        full_refresh = self.full_refresh

        def fetch(plan: Plan) -> list[dict[str, Any]]:
            org = plan.organization_number
            path = settings.api_path(settings.ACCOUNTING_DATA, organization_number=org)
            return months_wanted(api.pages(path, limit=plan.limit), plan)

        def fetch_and_flatten(job: tuple[Plan, dict[str, Any] | None]) -> BorrowerMonths:
            """In a worker thread: fetch, compare with the borrower's state, flatten the rows
            to write (the per-row Python work stays off the thread that feeds dlt)."""
            plan, state = job
            items = fetch(plan)
            check_snapshots(items, self.max_depth)
            rows, counts = classify(items, state, full_refresh)
            batch = SnapshotBatch()
            batch.add(rows)
            hashes = [content_hash(row) for row in rows]
            return BorrowerMonths(
                len(items), counts, next_state(items, state, lookback), batch, hashes
            )

        @dlt.resource(
            name="accounting_snapshots",
            parallelized=True,
            write_disposition=DEDUPLICATED_MERGE,
            primary_key=("organization_number", "snapshot_date"),
            columns=contract.columns("accounting_snapshots"),
        )
        @contract.materialized
        def accounting_snapshots() -> Iterator[Any]:
            state = dlt.current.resource_state()
            per_borrower: dict[str, dict[str, Any]] = state.setdefault("borrowers", {})
            stats.table("accounting_snapshots")
            stats.table("accounting_snapshot_versions")
            approved = list(
                dict.fromkeys(
                    rel["organization_number"]
                    for rel in self.relationships()
                    if rel.get("relationship_state") == settings.APPROVED
                    and self.wanted(rel.get("organization_number"))
                )
            )
            today = dt.datetime.now(dt.timezone.utc).date()
            jobs = [
                (
                    plan_for(org, per_borrower.get(org), lookback, today, full_refresh),
                    per_borrower.get(org),
                )
                for org in approved
            ]
            stats.borrowers_total = len(jobs)
            columns = NewColumns(self.snapshot_columns(), self.max_new_columns)
            skips = Skips(stats, "accounting_snapshots")
            batch, hashes = SnapshotBatch(), []
            for (plan, _), result, error in bounded_map(fetch_and_flatten, jobs, self.concurrency):
                stats.borrowers_done += 1
                skips.tried += 1
                org = plan.organization_number
                if error is None:
                    try:
                        columns.admit(result.rows.extra)
                    except (LimitExceeded, SnapshotDataError) as exc:
                        error = exc
                if error is not None:
                    self._skip_or_raise(skips, org, error)  # its state stays as it was
                    continue
                stats.snapshots_fetched += result.fetched
                for kind, n in result.counts.items():
                    stats.count("accounting_snapshots", kind, n)
                per_borrower[org] = result.state
                batch.extend(result.rows)
                hashes.extend(result.hashes)
                if len(batch) >= self.batch_rows:
                    yield with_hashes(batch.to_arrow(), hashes)
                    batch, hashes = SnapshotBatch(), []
            skips.finish()
            if len(batch):
                yield with_hashes(batch.to_arrow(), hashes)
            stats.extract_done = True

        return accounting_snapshots

    def snapshot_columns(self) -> list[str]:
        """The columns the snapshots table has in dlt's schema (none on a first run)."""
        try:
            table = dlt.current.source_schema().tables.get("accounting_snapshots") or {}
        except Exception:  # noqa: BLE001 - outside a pipeline (unit tests): no schema yet
            return []
        return list((table.get("columns") or {}).keys())

    def versions_transformer(self) -> DltResource:
        stats = self.stats

        @dlt.transformer(
            name="accounting_snapshot_versions",
            write_disposition=DEDUPLICATED_MERGE,
            primary_key=("organization_number", "snapshot_date", "content_hash"),
            columns=contract.columns("accounting_snapshot_versions"),
        )
        def accounting_snapshot_versions(table: Any) -> Iterator[Any]:
            stats.table("accounting_snapshot_versions")
            if contract.is_empty_marker(table):
                yield table  # no snapshots this run: the table is still created
                return
            versions = versions_table(table, self.started_at)
            stats.count("accounting_snapshot_versions", "new", versions.num_rows)
            yield versions

        return accounting_snapshot_versions

    def notifications_resource(self) -> DltResource:
        stats, api = self.stats, self.api

        @dlt.resource(
            name="notifications", parallelized=True, write_disposition="merge", primary_key="id"
        )
        def notifications(
            last_id: dlt.sources.incremental[int] = dlt.sources.incremental(  # noqa: B008
                "id", row_order="desc"
            ),
        ) -> Iterator[list[dict[str, Any]]]:
            stats.table("notifications")
            start = last_id.start_value
            try:
                for page in api.pages(settings.NOTIFICATIONS):
                    fresh = [n for n in page if start is None or n.get("id", 0) > start]
                    stats.count("notifications", "new", len(fresh))
                    if fresh:
                        yield fresh
                    if len(fresh) < len(page):
                        return  # newest first: the rest was loaded before
            except HTTPError as exc:
                if error_status(exc) == 404:
                    stats.note(
                        optional_path_note("notifications", settings.NOTIFICATIONS, "NOTIFICATIONS")
                    )
                    return
                if error_status(exc) != 403:
                    raise
                stats.note(f"skipped notifications: {error_message(exc)}")

        return notifications

    def debtors(self, creditor: str) -> list[dict[str, Any]]:
        return self.list_once(
            "debtors",
            settings.api_path(settings.LIST_DEBTORS, creditor=creditor),
            "organization_number",
        )

    def debtors_resource(self, creditor: str | None) -> DltResource:
        stats = self.stats

        @dlt.resource(
            name="debtors",
            write_disposition="merge",
            primary_key="organization_number",
            columns=contract.columns("debtors"),
        )
        @contract.materialized
        def debtors() -> Iterator[list[dict[str, Any]]]:
            stats.table("debtors")
            if not creditor:
                stats.note("skipped debtors: /self names no organisation number for this client")
                return
            state = dlt.current.resource_state()
            seen: dict[str, str] = state.setdefault("seen", {})
            rows = []
            for item in self.debtors(creditor):
                org = str(item.get("organization_number"))
                kind = self.track("debtors", seen, org, row_hash(item))
                if kind != "unchanged" or self.full_refresh:
                    rows.append(item)
            if rows:
                yield rows

        return debtors

    def credit_scores_resource(self, creditor: str | None) -> DltResource:
        stats, api = self.stats, self.api

        def fetch(debtor: str) -> dict[str, Any]:
            path = settings.api_path(settings.CREDIT_SCORE, creditor=creditor, debtor=debtor)
            score = api.get(path)
            return {**score, "fetched_at": dt.datetime.now(dt.timezone.utc)}

        @dlt.resource(
            name="credit_scores",
            write_disposition="merge",
            primary_key=("organization_number", "calculated_at"),
            columns=contract.columns("credit_scores"),
        )
        @contract.materialized
        def credit_scores() -> Iterator[list[dict[str, Any]]]:
            stats.table("credit_scores")
            if not creditor:
                return
            state = dlt.current.resource_state()
            seen: dict[str, Any] = state.setdefault("calculated_at", {})
            approved = [
                d["organization_number"]
                for d in self.debtors(creditor)
                if d.get("relationship_state") == settings.APPROVED
                and self.wanted(d.get("organization_number"))
            ]
            rows = []
            for org, score in self.answers(fetch, approved, "credit_scores", "CREDIT_SCORE"):
                self.track("credit_scores", seen, org, str(score.get("calculated_at")))
                rows.append(score)
            if rows:
                yield rows

        return credit_scores

    # --- the two patterns the resources share ------------------------------------------------

    def track(self, table: str, seen: dict[str, Any], key: str, value: Any) -> str:
        """Count `key` of `table` as new, changed or unchanged by what `seen` (the resource's
        state) held for it, and keep `value` there for the next run."""
        old = seen.get(key)
        seen[key] = value
        kind = "new" if old is None else "unchanged" if old == value else "changed"
        self.stats.count(table, kind)
        return kind

    def answers(
        self,
        fetch: Callable[[str], Any],
        orgs: list[str],
        table: str,
        path_name: str,
        skips: Skips | None = None,
    ) -> Iterator[tuple[str, Any]]:
        """(borrower, answer) for each borrower `fetch` answered, in parallel. A borrower's error
        skips it (`_skip_or_raise`). While nothing has answered, 404s are held back: as many as
        `PARTIAL_MIN_FAILURES` (or all) mean the path itself is missing (it is undocumented),
        and the table is skipped with one line instead of every borrower."""
        skips = skips or Skips(self.stats, table)
        answered = 0
        not_found: list[tuple[str, BaseException]] = []
        for org, answer, error in bounded_map(fetch, orgs, self.concurrency):
            skips.tried += 1
            if error is not None and error_status(error) == 404 and not answered:
                not_found.append((org, error))
                if len(not_found) >= min(len(orgs), settings.PARTIAL_MIN_FAILURES):
                    path = getattr(settings, path_name)
                    self.stats.note(optional_path_note(table, path, path_name))
                    return
                continue
            if error is not None:
                self._skip_or_raise(skips, org, error)
                continue
            answered += 1
            yield org, answer
        for org, error in not_found:
            self._skip_or_raise(skips, org, error)
        skips.finish()

    # --- errors -------------------------------------------------------------------------------

    def _skip_or_raise(self, skips: Skips, org: str, error: BaseException) -> None:
        """One borrower's error: skip it, its state stays so the next run tries again. A 403/404
        is reported; calls that kept failing or data that cannot be loaded make the run
        `partial`. A setting to fix (SymetriskConfigError) stops the run."""
        status = error_status(error)
        if isinstance(error, HTTPError) and status in SKIPPABLE_STATUS:
            skips.add(org, f"HTTP {status}")
            self.stats.error(f"{org}: {error_message(error)}")
            return
        if isinstance(error, SymetriskConfigError) or not isinstance(error, Exception):
            raise error
        skips.fail(org, error)
