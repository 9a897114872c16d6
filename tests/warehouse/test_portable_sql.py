"""The models port beyond the warehouses run here: dbt compiles the project, and every compiled
model and test parses with sqlglot in the Snowflake and BigQuery dialects; none of the DuckDB
habits that kept the old SQL from porting (QUALIFY, json_object, isfinite, FILTER, a subquery
without an alias) is left outside a dispatch macro."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from pipelines.symetrisk import contract
from pipelines.warehouse import dbt_build


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("compile")
    database = work / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema symetrisk_raw")
        for statement in contract.duckdb_statements("symetrisk_raw"):
            con.execute(statement)
    target = dbt_build.duckdb_target(database)
    result = dbt_build.invoke(target, ["compile"], "symetrisk_raw", work)
    assert result.success, result.exception
    found = {
        str(path.relative_to(work / "target" / "compiled")): path.read_text()
        for path in (work / "target" / "compiled").rglob("*.sql")
    }
    assert any("fct_borrower_month" in name for name in found)
    return found


@pytest.mark.parametrize("dialect", ["snowflake", "bigquery", "postgres"])
def test_every_compiled_model_parses_in_other_warehouses_dialects(compiled, dialect):
    failures = {}
    for name, sql in compiled.items():
        try:
            sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE)
        except sqlglot.errors.ParseError as exc:
            failures[name] = str(exc).splitlines()[0]
    assert not failures, failures


def test_no_duckdb_only_habit_is_left_in_the_sql():
    habits = {
        "qualify": r"\bqualify\b",
        "json_object outside a macro": r"\bjson_object\(",
        "isfinite outside a macro": r"\bisfinite\(",
        "filter (where": r"\bfilter\s*\(\s*where\b",
        "anti join": r"\banti\s+join\b",
        "cast as double (not portable)": r"\bas\s+double\)",
    }
    project = dbt_build.PROJECT_DIR
    for path in [*project.glob("models/**/*.sql"), *project.glob("tests/*.sql")]:
        text = re.sub(r"--[^\n]*", "", Path(path).read_text()).lower()
        for name, pattern in habits.items():
            assert not re.search(pattern, text), f"{path.relative_to(project)}: {name}"
