"""The `symetrisk` dlt source: what is loaded from the Symetrisk API, read in one file.

Tables (dataset `symetrisk_raw`, layout in docs/data-contract.md):

- `company`: the calling company and API client (`/self`), merged on `company__id`.
- `relationships`: every consent relationship, SCD2 keyed on `organization_number`, so a
  state change closes the old row and opens a new one.
- `borrowers`: each borrower's detail, re-read only when its relationship is new or changed.
- `accounting_snapshots`: one row per (organization_number, snapshot_date), as Arrow batches,
  merged; per-borrower state asks only for new months plus a lookback window (snapshots.py).
- `accounting_snapshot_versions`: one row per distinct version of a month, merged on
  (organization_number, snapshot_date, updated_at).
- `notifications`: incremental on `id`, newest first, stops at the last id seen.
- `debtors`, `credit_scores`: for a credit-scorer client.

A client reads only what its role allows: the role comes from `/self`, and a 403 on a list's
first page skips that table with one line (see `RunStats.notes`) instead of failing the run.

Configuration follows dlt: `SOURCES__SYMETRISK__BASE_URL`, `__TOKEN_URL`, `__CLIENT_ID`,
`__CLIENT_SECRET` (environment, or `.dlt/config.toml` / `.dlt/secrets.toml`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dlt
import orjson
from dlt.extract.resource import DltResource
from requests import HTTPError
from requests.exceptions import RequestException

from pipelines.orgnr import validate_all

from . import settings
from .client import Api, error_message, error_status
from .errors import SymetriskApiError, SymetriskConfigError
from .pool import bounded_map
from .snapshots import (
    Plan,
    SnapshotBatch,
    classify,
    flatten,
    next_state,
    plan_for,
    versions_table,
)
from .stats import RunStats

__all__ = ["RunStats", "symetrisk"]

SKIPPABLE_STATUS = (403, 404)


@dlt.source(name="symetrisk")
def symetrisk(
    base_url: str = dlt.config.value,
    token_url: str = dlt.config.value,
    client_id: str = dlt.config.value,
    client_secret: str = dlt.secrets.value,
    borrowers: list[str] | None = None,
    lookback_months: int = settings.DEFAULT_LOOKBACK_MONTHS,
    concurrency: int = settings.DEFAULT_CONCURRENCY,
    rate_limit_rps: float = settings.DEFAULT_RATE_LIMIT_RPS,
    read_timeout_s: float = settings.DEFAULT_READ_TIMEOUT_S,
    max_attempts: int = settings.DEFAULT_MAX_ATTEMPTS,
    backoff_factor: float = settings.DEFAULT_BACKOFF_FACTOR,
    full_refresh: bool = False,
    scope: str = settings.DEFAULT_SCOPE,
    batch_rows: int = settings.SNAPSHOT_BATCH_ROWS,
    stats: RunStats | None = None,
) -> list[DltResource]:
    """Symetrisk for one API client. `borrowers` limits the per-borrower tables to those
    organisation numbers (validated before any request); `full_refresh` re-reads every
    borrower's whole history and detail, keeping what is already loaded (revoked borrowers keep
    their history)."""
    only = set(validate_all(list(borrowers))) if borrowers else None
    stats = stats if stats is not None else RunStats()
    api = Api(
        base_url,
        token_url,
        client_id,
        client_secret,
        scope=scope,
        stats=stats,
        concurrency=concurrency,
        rate_limit_rps=rate_limit_rps,
        read_timeout_s=read_timeout_s,
        max_attempts=max_attempts,
        backoff_factor=backoff_factor,
    )
    me = call_self(api, base_url)
    company_info = me.get("company") if isinstance(me.get("company"), dict) else {}
    role = company_info.get("role")
    allowed = settings.ROLE_RESOURCES.get(role, settings.ALL_RESOURCES) if role else None
    loader = _Loader(api, stats, only, lookback_months, concurrency, full_refresh, batch_rows)

    snapshots = loader.accounting_snapshots_resource()
    candidates: dict[str, DltResource] = {
        "company": loader.company_resource(me),
        "relationships": loader.relationships_resource(),
        "borrowers": loader.borrowers_resource(),
        "accounting_snapshots": snapshots,
        "accounting_snapshot_versions": snapshots | loader.versions_transformer(),
        "notifications": loader.notifications_resource(),
        "debtors": loader.debtors_resource(company_info.get("brreg_organization_number")),
        "credit_scores": loader.credit_scores_resource(
            company_info.get("brreg_organization_number")
        ),
    }
    if allowed is None:
        return list(candidates.values())
    skipped = [name for name in candidates if name not in allowed]
    if skipped:
        stats.note(f"skipped {', '.join(skipped)}: not readable by a {role} client")
    return [resource for name, resource in candidates.items() if name in allowed]


def call_self(api: Api, base_url: str) -> dict[str, Any]:
    """GET /self: the first call, so its failures speak about settings."""
    try:
        me = api.get(settings.SELF)
    except SymetriskConfigError:
        raise
    except HTTPError as exc:
        status = error_status(exc)
        if status == 401:
            raise SymetriskConfigError(
                f"the API refused the token ({error_message(exc)}): check "
                f"{settings.SETTING_CLIENT_ID}, {settings.SETTING_CLIENT_SECRET} and "
                f"{settings.SETTING_TOKEN_URL}"
            ) from None
        if status == 404:
            raise SymetriskConfigError(
                f"{base_url} has no {settings.SELF}: check {settings.SETTING_BASE_URL}"
            ) from None
        raise SymetriskApiError(
            f"the API failed on {settings.SELF}: {error_message(exc)}"
        ) from None
    except RequestException as exc:
        raise SymetriskConfigError(
            f"cannot reach the API at {base_url} ({type(exc).__name__}): check "
            f"{settings.SETTING_BASE_URL}"
        ) from None
    if not isinstance(me, dict):
        raise SymetriskConfigError(
            f"{base_url}{settings.SELF} did not answer like Symetrisk: check "
            f"{settings.SETTING_BASE_URL}"
        )
    return me


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


class _Skips:
    """Borrowers skipped for one reason or another, reported as one line per table."""

    def __init__(self, stats: RunStats, table: str) -> None:
        self.stats, self.table = stats, table
        self.by_reason: dict[str, list[str]] = {}

    def add(self, org: str, reason: str) -> None:
        self.by_reason.setdefault(reason, []).append(org)

    def report(self) -> None:
        for reason, orgs in self.by_reason.items():
            example = ", ".join(orgs[:3]) + (" ..." if len(orgs) > 3 else "")
            self.stats.note(f"{self.table}: skipped {len(orgs)} borrower(s) ({reason}): {example}")


class _Loader:
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
        self.started_at = dt.datetime.now(dt.timezone.utc)
        self._lock = threading.Lock()
        self._lists: dict[str, list[dict[str, Any]]] = {}

    # --- shared lists ---------------------------------------------------------------------------

    def list_once(self, table: str, path: str, key: str) -> list[dict[str, Any]]:
        """All items of a list endpoint, read once per run; [] (with a note) on a 403."""
        with self._lock:
            if path not in self._lists:
                self._lists[path] = self._read_list(table, path, key)
            return self._lists[path]

    def _read_list(self, table: str, path: str, key: str) -> list[dict[str, Any]]:
        items: dict[Any, dict[str, Any]] = {}
        try:
            for page in self.api.pages(path):
                for item in page:
                    if isinstance(item, dict):
                        items.setdefault(item.get(key, item.get("organization_number")), item)
        except HTTPError as exc:
            if error_status(exc) != 403:
                raise
            self.stats.note(f"skipped {table}: {error_message(exc)}")
            return []
        return list(items.values())

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
            digest = row_hash(row)
            kind = "new" if "h" not in state else "changed" if state["h"] != digest else "unchanged"
            stats.count("company", kind)
            stats.table("company")
            state["h"] = digest
            if kind != "unchanged" or self.full_refresh:
                yield row

        return company

    def relationships_resource(self) -> DltResource:
        stats = self.stats

        @dlt.resource(
            name="relationships",
            write_disposition={"disposition": "merge", "strategy": "scd2"},
            merge_key="organization_number",
        )
        def relationships() -> Iterator[list[dict[str, Any]]]:
            state = dlt.current.resource_state()
            seen: dict[str, str] = state.setdefault("seen", {})
            stats.table("relationships")
            rows = self.relationships()
            for item in rows:
                org = str(item.get("organization_number"))
                digest = row_hash(item)
                old = seen.get(org)
                stats.count(
                    "relationships",
                    "new" if old is None else "unchanged" if old == digest else "changed",
                )
                seen[org] = digest
            # the whole list every run: SCD2 compares row hashes, unchanged rows stay as they are
            if rows:
                yield rows

        return relationships

    def borrowers_resource(self) -> DltResource:
        stats, api = self.stats, self.api

        def fetch(org: str) -> dict[str, Any]:
            return api.get(settings.BORROWER.format(organization_number=org))

        @dlt.resource(
            name="borrowers", write_disposition="merge", primary_key="organization_number"
        )
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
            skips = _Skips(stats, "borrowers")
            for org in sorted((self.only or set()) - keys.keys()):
                skips.add(org, "not a borrower of this client")
                stats.error(f"{org}: not in {settings.RELATIONSHIPS} of this client")
            batch: list[dict[str, Any]] = []
            for org, detail, error in bounded_map(fetch, todo, self.concurrency):
                if error is not None:
                    self._skip_or_raise(skips, org, error)
                    continue
                stats.count("borrowers", "changed" if org in seen else "new")
                seen[org] = keys[org]
                batch.append(detail)
                if len(batch) >= 1000:
                    yield batch
                    batch = []
            skips.report()
            if batch:
                yield batch

        return borrowers

    def accounting_snapshots_resource(self) -> DltResource:
        stats, api = self.stats, self.api
        lookback = self.lookback_months

        full_refresh = self.full_refresh

        def fetch(plan: Plan) -> list[dict[str, Any]]:
            """Newest first; stop reading at the first month older than the plan wants."""
            wanted: list[dict[str, Any]] = []
            seen: set[str] = set()
            pages = api.pages(
                settings.ACCOUNTING_DATA.format(organization_number=plan.organization_number),
                limit=plan.limit,
            )
            try:
                for page in pages:
                    oldest = None
                    for item in page:
                        date = item.get("snapshot_date") if isinstance(item, dict) else None
                        if not isinstance(date, str) or date in seen:
                            continue
                        seen.add(date)
                        if plan.wants(date):
                            if item.get("organization_number") is None:
                                item["organization_number"] = plan.organization_number
                            wanted.append(item)
                        if oldest is None or date < oldest:
                            oldest = date
                    if plan.cutoff is not None and oldest is not None and oldest <= plan.cutoff:
                        break
            finally:
                pages.close()
            return wanted

        def fetch_and_flatten(job: tuple[Plan, dict[str, Any] | None]) -> BorrowerMonths:
            """In a worker thread: fetch, compare with the borrower's state, flatten the rows
            to write (the per-row Python work stays off the thread that feeds dlt)."""
            plan, state = job
            items = fetch(plan)
            rows, counts = classify(items, state, full_refresh)
            batch = SnapshotBatch()
            batch.add(rows)
            return BorrowerMonths(len(items), counts, next_state(items, state, lookback), batch)

        @dlt.resource(
            name="accounting_snapshots",
            write_disposition="merge",
            primary_key=("organization_number", "snapshot_date"),
        )
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
            skips = _Skips(stats, "accounting_snapshots")
            batch = SnapshotBatch()
            for (plan, _), result, error in bounded_map(fetch_and_flatten, jobs, self.concurrency):
                stats.borrowers_done += 1
                org = plan.organization_number
                if error is not None:
                    self._skip_or_raise(skips, org, error)
                    continue
                stats.snapshots_fetched += result.fetched
                for kind, n in result.counts.items():
                    stats.count("accounting_snapshots", kind, n)
                per_borrower[org] = result.state
                batch.extend(result.rows)
                if len(batch) >= self.batch_rows:
                    yield batch.to_arrow()
                    batch = SnapshotBatch()
            skips.report()
            if len(batch):
                yield batch.to_arrow()
            stats.extract_done = True

        return accounting_snapshots

    def versions_transformer(self) -> DltResource:
        stats = self.stats

        @dlt.transformer(
            name="accounting_snapshot_versions",
            # delete-insert, not insert-only: dlt deduplicates the staging table by key only for
            # delete-insert, and a load package resumed after a kill can stage a job twice
            write_disposition={"disposition": "merge", "strategy": "delete-insert"},
            primary_key=("organization_number", "snapshot_date", "updated_at"),
        )
        def accounting_snapshot_versions(table: Any) -> Iterator[Any]:
            stats.table("accounting_snapshot_versions")
            versions = versions_table(table, self.started_at)
            stats.count("accounting_snapshot_versions", "new", versions.num_rows)
            yield versions

        return accounting_snapshot_versions

    def notifications_resource(self) -> DltResource:
        stats, api = self.stats, self.api

        @dlt.resource(name="notifications", write_disposition="merge", primary_key="id")
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
                if error_status(exc) != 403:
                    raise
                stats.note(f"skipped notifications: {error_message(exc)}")

        return notifications

    def debtors(self, creditor: str) -> list[dict[str, Any]]:
        return self.list_once(
            "debtors", settings.LIST_DEBTORS.format(creditor=creditor), "organization_number"
        )

    def debtors_resource(self, creditor: str | None) -> DltResource:
        stats = self.stats

        @dlt.resource(name="debtors", write_disposition="merge", primary_key="organization_number")
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
                digest = row_hash(item)
                kind = (
                    "new" if org not in seen else "unchanged" if seen[org] == digest else "changed"
                )
                stats.count("debtors", kind)
                seen[org] = digest
                if kind != "unchanged" or self.full_refresh:
                    rows.append(item)
            if rows:
                yield rows

        return debtors

    def credit_scores_resource(self, creditor: str | None) -> DltResource:
        stats, api = self.stats, self.api

        def fetch(debtor: str) -> dict[str, Any]:
            score = api.get(settings.CREDIT_SCORE.format(creditor=creditor, debtor=debtor))
            return {**score, "fetched_at": dt.datetime.now(dt.timezone.utc)}

        @dlt.resource(
            name="credit_scores",
            write_disposition="merge",
            primary_key=("organization_number", "calculated_at"),
        )
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
            skips = _Skips(stats, "credit_scores")
            rows = []
            for org, score, error in bounded_map(fetch, approved, self.concurrency):
                if error is not None:
                    self._skip_or_raise(skips, org, error)
                    continue
                calculated = str(score.get("calculated_at"))
                kind = (
                    "new"
                    if org not in seen
                    else "unchanged"
                    if seen[org] == calculated
                    else "changed"
                )
                stats.count("credit_scores", kind)
                seen[org] = calculated
                rows.append(score)
            skips.report()
            if rows:
                yield rows

        return credit_scores

    # --- errors -------------------------------------------------------------------------------

    def _skip_or_raise(self, skips: _Skips, org: str, error: BaseException) -> None:
        """403/404 for one borrower: skip it (its state stays, so the next run tries again)."""
        status = error_status(error)
        if isinstance(error, HTTPError) and status in SKIPPABLE_STATUS:
            skips.add(org, f"HTTP {status}")
            self.stats.error(f"{org}: {error_message(error)}")
            return
        raise error
