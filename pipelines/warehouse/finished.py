"""What a resumed run loaded from the packages an interrupted run left: rows per table, counted
in the warehouse by their `_dlt_load_id`, so the run that finishes the load reports those rows
(the interrupted run never did)."""

from __future__ import annotations

from typing import Any


def count_rows_of_loads(pipeline: Any, load_ids: list[str]) -> dict[str, int]:
    """Rows per data table of the pipeline's dataset that came with one of `load_ids`; {} when
    they cannot be counted (the count is a report, never a reason to fail the run)."""
    try:
        return _count(pipeline, load_ids)
    except Exception:  # noqa: BLE001 - see the docstring
        return {}


def _count(pipeline: Any, load_ids: list[str]) -> dict[str, int]:
    if not load_ids:
        return {}
    counts: dict[str, int] = {}
    marks = ", ".join(f"'{load_id}'" for load_id in load_ids if load_id.replace(".", "").isdigit())
    if not marks:
        return {}
    # the pipeline object may not know its default schema yet when the package came from a
    # run killed before it first saved one: take the schema of the source by name
    name = next(iter(pipeline.schemas.keys()), None) or pipeline.default_schema_name
    schema = pipeline.schemas[name]
    with pipeline.sql_client(schema_name=name) as client:
        for table in schema.data_table_names():
            if "_dlt_load_id" not in schema.get_table_columns(table):
                continue
            qualified = client.make_qualified_table_name(table)
            try:
                rows = client.execute_sql(
                    f"select count(*) from {qualified} where _dlt_load_id in ({marks})"
                )
            except Exception:  # noqa: BLE001 - a table not created yet holds none of these rows
                continue
            if rows and rows[0][0]:
                counts[table] = int(rows[0][0])
    return counts
