"""Accounting snapshots: what to ask for per borrower, what changed, and how rows become Arrow.

State per borrower (the `accounting_snapshots` resource state, committed by dlt with the rows):
`{"n": newest snapshot_date, "r": {snapshot_date: content hash}}` for the re-read window.
Revisions are found by a hash of the snapshot as the API sent it, since the public docs define
no `updated_at`; 8 hex characters keep dlt's state small, and the rare collision is healed by
the next revision or a `--full-refresh` (docs/data-contract.md)."""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import hashlib
import secrets
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from . import settings

# --- state and lookback arithmetic ----------------------------------------------------------


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def shift_month_end(date: dt.date, months: int) -> dt.date:
    """The month-end `months` months after (negative: before) the month of `date`."""
    index = date.year * 12 + (date.month - 1) + months
    return month_end(index // 12, index % 12 + 1)


def months_between(older: dt.date, newer: dt.date) -> int:
    return (newer.year * 12 + newer.month) - (older.year * 12 + older.month)


@dataclass(frozen=True)
class Plan:
    """What to ask one borrower for. `cutoff` None means its whole history."""

    organization_number: str
    limit: int
    cutoff: str | None  # oldest snapshot_date wanted (ISO date), inclusive

    def wants(self, snapshot_date: str) -> bool:
        return self.cutoff is None or snapshot_date >= self.cutoff


def plan_for(
    organization_number: str,
    state: dict[str, Any] | None,
    lookback_months: int,
    today: dt.date,
    full_refresh: bool = False,
) -> Plan:
    newest = (state or {}).get("n")
    if full_refresh or not newest:
        return Plan(organization_number, settings.MAX_PAGE_SIZE, None)
    newest_date = dt.date.fromisoformat(newest)
    # months we have not seen yet: at least one, more if the borrower has been away a while
    expected_new = max(1, months_between(newest_date, month_end(today.year, today.month)))
    lookback = max(0, lookback_months)
    cutoff = shift_month_end(newest_date, 1 - lookback) if lookback else None
    if cutoff is None:
        cutoff = shift_month_end(newest_date, 1)
    limit = min(settings.MAX_PAGE_SIZE, lookback + expected_new)
    return Plan(organization_number, limit, cutoff.isoformat())


def content_hash(item: Any) -> str:
    """A short hash of a snapshot's whole content (keys sorted at every level), so the same
    snapshot gives the same hash whatever the key order of the answer."""
    text = orjson.dumps(item, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(text, digest_size=4).hexdigest()


class SnapshotDataError(ValueError):
    """A snapshot the warehouse cannot hold (no usable snapshot_date, no data object)."""


def check_item(item: Any) -> str:
    """The item's snapshot_date if it is a snapshot the warehouse can hold, else raise. Only
    what the docs define is required: `snapshot_date` (an ISO date) and `data` (an object)."""
    if not isinstance(item, dict):
        raise SnapshotDataError(f"a snapshot that is not an object ({type(item).__name__})")
    date = item.get("snapshot_date")
    try:
        dt.date.fromisoformat(date) if isinstance(date, str) else None
    except ValueError:
        date = None
    if not isinstance(date, str) or len(date) != 10:
        shown = item.get("snapshot_date")
        raise SnapshotDataError(
            f"snapshot id {item.get('id')!r} has no usable snapshot_date ({shown!r})"
        )
    if not isinstance(item.get("data"), dict):
        raise SnapshotDataError(f"snapshot {date} has no data object")
    return date


def months_wanted(pages: Generator[list[Any], None, None], plan: Plan) -> list[dict[str, Any]]:
    """The items of a borrower's pages (newest first) that `plan` wants, each month once; stops
    asking for pages at the first page that reaches back to the plan's cut-off."""
    wanted: list[dict[str, Any]] = []
    seen: set[str] = set()
    try:
        for page in pages:
            oldest = None
            for item in page:
                date = check_item(item)
                if date in seen:
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


def classify(
    items: Iterable[dict[str, Any]], state: dict[str, Any] | None, full_refresh: bool = False
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Split fetched items (newest first) into rows to write and counts by kind."""
    newest = (state or {}).get("n") or ""
    recent = (state or {}).get("r") or {}
    rows: list[dict[str, Any]] = []
    counts = {"new": 0, "changed": 0, "unchanged": 0, "reloaded": 0}
    for item in items:
        date = item.get("snapshot_date") or ""
        if date > newest:
            kind = "new"
        elif date in recent:
            if recent[date] == content_hash(item):
                counts["unchanged"] += 1
                continue
            kind = "changed"
        elif full_refresh:
            kind = "reloaded"
        else:
            kind = "new"  # a month inside the window we did not have (a back-filled gap)
        counts[kind] += 1
        rows.append(item)
    return rows, counts


def next_state(
    items: list[dict[str, Any]], state: dict[str, Any] | None, lookback_months: int
) -> dict[str, Any]:
    """The borrower's state after `items` (every fetched item, newest first) landed."""
    newest = (state or {}).get("n") or ""
    for item in items:
        date = item.get("snapshot_date")
        if date:
            newest = max(newest, date)
    if not newest:
        return dict(state or {})
    lookback = max(1, lookback_months)
    keep_from = shift_month_end(dt.date.fromisoformat(newest), 1 - lookback).isoformat()
    recent = {d: h for d, h in ((state or {}).get("r") or {}).items() if d >= keep_from}
    for item in items:
        date = item.get("snapshot_date")
        if date and date >= keep_from:
            recent[date] = content_hash(item)  # hashed only inside the window: a few per borrower
    return {"n": newest, "r": dict(sorted(recent.items()))}


# --- flattening to Arrow ---------------------------------------------------------------------

TOP_KEYS = frozenset(("id", "organization_number", "snapshot_date", "updated_at", "data"))
DATA_SCALARS = ("symetrisk_real_time_accounts_format_version", "year", "month", "currency")
DATA_KEYS = frozenset((*DATA_SCALARS, "income_statement", "balance_sheet"))
INCOME_KEYS = frozenset(settings.INCOME_LINES)
BALANCE_KEYS = frozenset(settings.BALANCE_LINES)
STATEMENT_KEYS = frozenset(("month", "year_to_date"))

MONTH_COLUMNS = tuple(f"income_statement__month__{k}" for k in settings.INCOME_LINES)
YTD_COLUMNS = tuple(f"income_statement__year_to_date__{k}" for k in settings.INCOME_LINES)
BALANCE_COLUMNS = tuple(f"balance_sheet__{k}" for k in settings.BALANCE_LINES)
TOP_COLUMNS = ("id", "organization_number", "snapshot_date", "updated_at")
_TOP_VALUES = itemgetter(*TOP_COLUMNS)
_SCALAR_VALUES = itemgetter(*DATA_SCALARS)
_INCOME_VALUES = itemgetter(*settings.INCOME_LINES)
_BALANCE_VALUES = itemgetter(*settings.BALANCE_LINES)
UTC_TS = pa.timestamp("us", tz="UTC")
KNOWN_TYPES: dict[str, pa.DataType] = {
    "organization_number": pa.string(),
    "snapshot_date": pa.date32(),
    "id": pa.int64(),
    "updated_at": UTC_TS,
    "symetrisk_real_time_accounts_format_version": pa.string(),
    "year": pa.int64(),
    "month": pa.int64(),
    "currency": pa.string(),
    **{c: pa.float64() for c in (*MONTH_COLUMNS, *YTD_COLUMNS, *BALANCE_COLUMNS)},
}
EMPTY: dict[str, Any] = {}


def flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """dlt's rule: nested keys joined with `__`; lists kept as JSON text."""
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(inner, f"{prefix}__{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        out[prefix] = orjson.dumps(value).decode()
    else:
        out[prefix] = value


def _is_standard(item: dict[str, Any]) -> bool:
    if item.keys() != TOP_KEYS:
        return False
    data = item["data"]
    if not isinstance(data, dict) or data.keys() != DATA_KEYS:
        return False
    income, balance = data["income_statement"], data["balance_sheet"]
    return (
        isinstance(income, dict)
        and income.keys() == STATEMENT_KEYS
        and isinstance(income["month"], dict)
        and income["month"].keys() == INCOME_KEYS
        and isinstance(income["year_to_date"], dict)
        and income["year_to_date"].keys() == INCOME_KEYS
        and isinstance(balance, dict)
        and balance.keys() == BALANCE_KEYS
    )


class SnapshotBatch:
    """Snapshot rows gathered column by column, turned into an Arrow table when full."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in KNOWN_TYPES}
        self.extra: dict[str, list[Any]] = {}
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, items: list[dict[str, Any]]) -> None:
        if not items:
            return
        run: list[dict[str, Any]] = []
        for item in items:
            if isinstance(item, dict) and _is_standard(item):
                run.append(item)
                continue
            self._add_standard(run)
            run = []
            self._add_odd(item)
        self._add_standard(run)

    def _add_standard(self, standard: list[dict[str, Any]]) -> None:
        """Rows of the documented shape: column by column, no per-row dict building."""
        if not standard:
            return
        # one itemgetter call per row and group picks all its values at once; zip(*) turns the
        # rows into columns, both in C (measured: a third of the per-key list comprehensions)
        datas = [i["data"] for i in standard]
        statements = [d["income_statement"] for d in datas]
        groups = (
            (TOP_COLUMNS, _TOP_VALUES, standard),
            (DATA_SCALARS, _SCALAR_VALUES, datas),
            (MONTH_COLUMNS, _INCOME_VALUES, [s["month"] for s in statements]),
            (YTD_COLUMNS, _INCOME_VALUES, [s["year_to_date"] for s in statements]),
            (BALANCE_COLUMNS, _BALANCE_VALUES, [d["balance_sheet"] for d in datas]),
        )
        cols = self.columns
        for names, values_of, rows in groups:
            for name, values in zip(names, zip(*map(values_of, rows), strict=True), strict=True):
                cols[name].extend(values)
        self._pad_extra(len(standard))
        self.size += len(standard)

    def extend(self, other: SnapshotBatch) -> None:
        """Append another batch's rows (built in a worker thread) column by column."""
        if not other.size:
            return
        for name, values in self.columns.items():
            values.extend(other.columns[name])
        for name in other.extra.keys() - self.extra.keys():
            self.extra[name] = [None] * self.size
        for name, values in self.extra.items():
            theirs = other.extra.get(name)
            values.extend(theirs if theirs is not None else [None] * other.size)
        self.size += other.size

    def _pad_extra(self, n: int) -> None:
        for values in self.extra.values():
            values.extend([None] * n)

    def _add_odd(self, item: Any) -> None:
        """A row with keys added, missing or of another shape: the generic (slow) path."""
        flat: dict[str, Any] = {}
        if isinstance(item, dict):
            top = {k: v for k, v in item.items() if k != "data"}
            flatten(top, "", flat)
            data = item.get("data")
            if isinstance(data, dict):
                flatten(data, "", flat)
            elif data is not None:
                flat["data"] = data
        for name, values in self.columns.items():
            values.append(flat.pop(name, None))
        for name, values in self.extra.items():
            values.append(flat.pop(name, None))
        for name, value in flat.items():
            self.extra[name] = [None] * self.size + [value]
        self.size += 1

    def to_arrow(self) -> pa.Table:
        arrays: dict[str, pa.Array] = {}
        for name, values in self.columns.items():
            array, variant = _typed_array(values, KNOWN_TYPES[name])
            arrays[name] = array
            if variant is not None and variant.null_count < len(variant):
                arrays[f"{name}__v_text"] = variant
        for name, values in self.extra.items():
            if name in arrays:
                continue
            array = _inferred_array(values)
            if array is not None:
                arrays[name] = array
        table = with_required(pa.table(arrays), ("organization_number", "snapshot_date"))
        return with_row_ids(table)


def _typed_array(values: list[Any], type_: pa.DataType) -> tuple[pa.Array, pa.Array | None]:
    """`values` as `type_`; values that will not convert go to a text variant column."""
    try:
        if type_ in (pa.date32(), UTC_TS):
            return pa.array(values, pa.string()).cast(type_), None
        return pa.array(values, type_), None
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        pass
    good: list[Any] = []
    bad: list[Any] = []
    for value in values:
        converted = _convert(value, type_)
        good.append(converted)
        bad.append(None if converted is not None or value is None else _as_text(value))
    return pa.array(good, type_), pa.array(bad, pa.string())


def _convert(value: Any, type_: pa.DataType) -> Any:
    """One value as a Python object of `type_`, or None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    if type_ == pa.float64():
        return float(value) if isinstance(value, int | float) else None
    if type_ == pa.int64():
        return value if isinstance(value, int) else None
    if type_ == pa.string():
        return value if isinstance(value, str) else None
    if not isinstance(value, str):
        return None
    try:
        if type_ == pa.date32():
            return dt.date.fromisoformat(value[:10])
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _inferred_array(values: list[Any]) -> pa.Array | None:
    """A new column's array by inference; None when all null (the column comes with a value)."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array([None if v is None else _as_text(v) for v in values], pa.string())
    if pa.types.is_null(array.type):
        return None
    return array


def with_required(table: pa.Table, names: tuple[str, ...]) -> pa.Table:
    """Mark key columns not-null in the Arrow schema, as dlt's primary-key hints have them."""
    fields = [f.with_nullable(False) if f.name in names else f for f in table.schema]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


VERSION_KEY = "content_hash"


def with_hashes(snapshots: pa.Table, hashes: list[str]) -> pa.Table:
    """The snapshot rows with their content hashes (row order) as the column `content_hash`."""
    return snapshots.append_column(
        pa.field(VERSION_KEY, pa.string()), pa.array(hashes, pa.string())
    )


def versions_table(snapshots: pa.Table, first_seen_at: dt.datetime) -> pa.Table:
    """accounting_snapshot_versions rows for the snapshot rows being written (with_hashes):
    a version is one distinct content of a month."""
    columns = {
        "organization_number": snapshots.column("organization_number"),
        "snapshot_date": snapshots.column("snapshot_date"),
        VERSION_KEY: snapshots.column(VERSION_KEY),
        "updated_at": snapshots.column("updated_at"),
        "id": snapshots.column("id"),
        # one value repeated, made in C: 6.7 -> 2 ms a 20,000-row batch
        "first_seen_at": pa.repeat(pa.scalar(first_seen_at, UTC_TS), snapshots.num_rows),
    }
    for name, source in settings.VERSION_MEASURES.items():
        columns[name] = snapshots.column(source)
    table = with_required(pa.table(columns), ("organization_number", "snapshot_date", VERSION_KEY))
    return with_row_ids(table)


ROW_ID = "_dlt_id"
ROW_ID_LENGTH = 22  # as dlt's own: 16 random bytes in URL-safe base64, unpadded


def with_row_ids(table: pa.Table) -> pa.Table:
    """`table` with dlt's row id column `_dlt_id`: random, unique, made for the whole table at
    once. dlt's normalizer would otherwise make them one by one in Python and rewrite every
    Parquet file to add them (measured: three quarters of the normalize step); load.py tells it
    the Arrow tables carry their own."""
    n = table.num_rows
    # 18 random bytes are exactly 24 base64 characters: one encode for all rows, cut per row
    text = base64.urlsafe_b64encode(secrets.token_bytes(18 * n))
    offsets = np.arange(0, 24 * n + 1, 24, dtype=np.int32)
    ids = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text))
    ids = pc.utf8_slice_codeunits(ids, 0, ROW_ID_LENGTH)
    return table.append_column(pa.field(ROW_ID, pa.string(), nullable=False), ids)
