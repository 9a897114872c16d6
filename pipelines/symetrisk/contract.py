"""The raw tables' columns and types, declared on the dlt resources (docs/data-contract.md).

dlt creates a column only for a value it has seen, and a table only for a resource that yielded
rows. The dbt models read every documented column of every table, so each resource declares its
columns here (each exists even while all its values are null), and a resource that yields nothing
in a run (a bank client's debtors and credit scores) still has its table created, empty
(`materialized`, `empty_resource`). Dates inside the API's objects arrive as text (dlt does not
detect them) and are declared so; the staging models cast them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from . import settings
from .snapshots import BALANCE_COLUMNS, MONTH_COLUMNS, YTD_COLUMNS

TEXT, BIGINT, DOUBLE, BOOL, DATE, TS = "text", "bigint", "double", "bool", "date", "timestamp"


def _columns(**types: str) -> dict[str, dict[str, Any]]:
    return {name: {"data_type": kind, "nullable": True} for name, kind in types.items()}


COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    "relationships": _columns(
        id=BIGINT,
        organization_number=TEXT,
        company_name=TEXT,
        relationship_state=TEXT,
        requested_at=TS,
        approved_at=TS,
        revoked_at=TS,
        denied_at=TS,
        updated_at=TS,
    ),
    "borrowers": _columns(
        organization_number=TEXT,
        name=TEXT,
        nace_code=TEXT,
        nace_section=TEXT,
        founded_date=TEXT,
        municipality=TEXT,
        accounting_system=TEXT,
        connection_status=TEXT,
        consented_to_share_data=BOOL,
        relationship_state=TEXT,
        first_snapshot_date=TEXT,
        last_snapshot_date=TEXT,
    ),
    "accounting_snapshots": _columns(
        organization_number=TEXT,
        snapshot_date=DATE,
        id=BIGINT,
        updated_at=TS,
        content_hash=TEXT,
        symetrisk_real_time_accounts_format_version=TEXT,
        year=BIGINT,
        month=BIGINT,
        currency=TEXT,
        **dict.fromkeys((*MONTH_COLUMNS, *YTD_COLUMNS, *BALANCE_COLUMNS), DOUBLE),
    ),
    "accounting_snapshot_versions": _columns(
        organization_number=TEXT,
        snapshot_date=DATE,
        content_hash=TEXT,
        updated_at=TS,
        id=BIGINT,
        first_seen_at=TS,
        **dict.fromkeys(settings.VERSION_MEASURES, DOUBLE),
    ),
    "debtors": _columns(
        organization_number=TEXT,
        name=TEXT,
        relationship_state=TEXT,
        requested_at=TS,
        approved_at=TS,
    ),
    "credit_scores": _columns(
        organization_number=TEXT,
        score=BIGINT,
        risk_class=TEXT,
        probability_of_default=DOUBLE,
        calculated_at=TS,
        based_on_snapshot_date=TEXT,
        fetched_at=TS,
    ),
}

# each table's key (its primary or merge key), never null
KEYS: dict[str, tuple[str, ...]] = {
    "relationships": ("organization_number",),
    "borrowers": ("organization_number",),
    "accounting_snapshots": ("organization_number", "snapshot_date"),
    "accounting_snapshot_versions": ("organization_number", "snapshot_date", "content_hash"),
    "debtors": ("organization_number",),
    "credit_scores": ("organization_number", "calculated_at"),
}
for _table, _keys in KEYS.items():
    for _key in _keys:
        COLUMNS[_table][_key]["nullable"] = False


def columns(table: str) -> dict[str, dict[str, Any]]:
    """The declared columns of a raw table, for `@dlt.resource(columns=...)`."""
    return {name: dict(spec) for name, spec in COLUMNS[table].items()}


def materialized(generator: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """Wrap a resource's generator so that a run yielding nothing still creates its table."""

    @functools.wraps(generator)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yielded = False
        for item in generator(*args, **kwargs):
            yielded = True
            yield item
        if not yielded:
            yield dlt.mark.materialize_table_schema()

    return wrapper


def is_empty_marker(item: Any) -> bool:
    return isinstance(item, list) and not item


def empty_resource(resource: DltResource) -> DltResource:
    """A stand-in for a resource this client may not read: the same table, created empty."""

    def nothing() -> Iterator[Any]:
        yield dlt.mark.materialize_table_schema()

    return dlt.resource(
        nothing,
        name=resource.name,
        table_name=resource.name,
        write_disposition="merge",
        primary_key=KEYS[resource.name],
        columns=columns(resource.name),
    )


DUCKDB_TYPES = {
    TEXT: "varchar",
    BIGINT: "bigint",
    DOUBLE: "double",
    BOOL: "boolean",
    DATE: "date",
    TS: "timestamptz",
}


# columns dlt itself adds to a table (SCD2 validity), which the models read too
DLT_COLUMNS = {"relationships": _columns(_dlt_valid_from=TS, _dlt_valid_to=TS)}


def duckdb_statements(schema: str) -> list[str]:
    """SQL that gives a DuckDB schema every declared table and column, as dlt would create them
    (tables empty, columns null). For benchmarks and tests that write raw tables themselves."""
    statements = []
    for table, declared in COLUMNS.items():
        name = f'"{schema}"."{table}"'
        statements.append(
            f"create table if not exists {name} (_dlt_load_id varchar, _dlt_id varchar)"
        )
        for column, spec in {**declared, **DLT_COLUMNS.get(table, {})}.items():
            kind = DUCKDB_TYPES[spec["data_type"]]
            statements.append(f'alter table {name} add column if not exists "{column}" {kind}')
    return statements
