"""The model runner: dependency order from the SQL, clear failures naming the file or the rule,
stand-ins for missing raw tables, one transaction per build, and the `symetrisk models` command."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines import cli
from pipelines.models import SQL_DIR, AssertionFailed, ModelError, build_models, discover


def write_sql(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def tiny_raw(con, duplicate: bool = False) -> None:
    """Two months of one borrower, with only a handful of the contract's columns."""
    con.execute("create schema symetrisk_raw")
    con.execute(
        "create table symetrisk_raw.accounting_snapshots as select * from (values "
        "('923609016', date '2025-01-31', 100.0, 1000.0, 400.0), "
        "('923609016', date '2025-02-28', 120.0, 1100.0, 450.0)) "
        "t(organization_number, snapshot_date, income_statement__month__operating_revenue, "
        "balance_sheet__total_assets, balance_sheet__total_equity)"
    )
    if duplicate:
        con.execute(
            "insert into symetrisk_raw.accounting_snapshots "
            "values ('923609016', date '2025-01-31', 100.0, 1000.0, 400.0)"
        )


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


BASE = {
    "staging/stg_things.sql": "select cast(organization_number as varchar) as org, "
    "cast(snapshot_date as date) as month_end from symetrisk_raw.accounting_snapshots",
    # named so that alphabetical order is the wrong order
    "marts/a_final.sql": "select org, count(*) as n from analytics.z_base group by org",
    "marts/z_base.sql": "-- a comment naming analytics.a_final must not count\n"
    "select * from analytics.stg_things where org <> 'analytics.a_final'",
}


def test_order_comes_from_the_references_in_the_sql(tmp_path, con):
    sql = write_sql(tmp_path / "sql", BASE)
    assert [m.name for m in discover(sql)] == ["stg_things", "z_base", "a_final"]
    tiny_raw(con)
    report = build_models(con, sql_dir=sql)
    assert [(m.name, m.kind, m.rows) for m in report.models] == [
        ("stg_things", "view", 2),
        ("z_base", "table", 2),
        ("a_final", "table", 1),
    ]


def test_a_broken_model_names_its_file_and_keeps_the_previous_build(tmp_path, con):
    tiny_raw(con)
    build_models(con, sql_dir=write_sql(tmp_path / "good", BASE))
    broken = dict(BASE)
    broken["marts/z_base.sql"] = "select no_such_column from analytics.stg_things"
    with pytest.raises(ModelError) as caught:
        build_models(con, sql_dir=write_sql(tmp_path / "bad", broken))
    assert caught.value.path.name == "z_base.sql"
    assert "z_base.sql" in str(caught.value) and "no_such_column" in str(caught.value)
    assert "Binder Error" in caught.value.error
    # the failed build was rolled back: the previous tables are still there, whole
    assert con.execute("select count(*) from analytics.a_final").fetchone()[0] == 1
    assert con.execute("select count(*) from analytics.z_base").fetchone()[0] == 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("selec org from analytics.stg_things", "syntax error"),
        ("select 1; select 2", "holds 2 statements"),
        ("create table x as select 1", "one SELECT"),
        ("select * from analytics.nowhere", "analytics.nowhere, which no model file defines"),
        ("", "is empty"),
    ],
)
def test_a_model_that_is_not_one_good_select_names_its_file(tmp_path, text, message):
    sql = write_sql(tmp_path / "sql", {**BASE, "marts/bad_one.sql": text})
    with pytest.raises(ModelError, match=message) as caught:
        discover(sql)
    assert caught.value.path.name == "bad_one.sql"


def test_a_dependency_cycle_is_refused(tmp_path):
    sql = write_sql(
        tmp_path / "sql",
        {
            "marts/one.sql": "select * from analytics.two",
            "marts/two.sql": "select * from analytics.one",
        },
    )
    with pytest.raises(ModelError, match="cycle: one -> two -> one"):
        discover(sql)


def test_a_failing_assertion_is_reported_with_its_rule_and_rows(tmp_path, con):
    tiny_raw(con)
    sql = write_sql(
        tmp_path / "sql",
        {
            **BASE,
            "tests/every_month_is_january.sql": "select org, month_end from analytics.z_base "
            "where month(month_end) <> 1",
            "tests/passes.sql": "select * from analytics.z_base where false",
        },
    )
    with pytest.raises(AssertionFailed) as caught:
        build_models(con, sql_dir=sql)
    failure = caught.value
    assert [a.name for a in failure.failures] == ["every_month_is_january"]
    assert failure.failures[0].failing_rows == 1
    assert "every_month_is_january" in str(failure) and "2025-02-28" in str(failure)
    assert [a.passed for a in failure.report.assertions] == [False, True]
    # the models were built all the same, so the failing rows can be looked at
    assert con.execute("select count(*) from analytics.z_base").fetchone()[0] == 2


def test_the_real_assertions_catch_a_duplicate_month(con):
    tiny_raw(con, duplicate=True)
    with pytest.raises(AssertionFailed) as caught:
        build_models(con)
    assert "borrower_month_is_unique" in [a.name for a in caught.value.failures]


def test_the_real_models_build_on_an_empty_or_partial_warehouse(con):
    report = build_models(con)  # no raw schema at all: every raw table stood in for
    assert all(m.rows == 0 for m in report.models)
    assert any("has no tables" in note for note in report.stand_ins)
    tiny_raw(con)
    report = build_models(con)  # one raw table with five columns; the rest stood in for
    months = {m.name: m.rows for m in report.models}
    assert months["fct_borrower_month"] == 2 and months["dim_borrower"] == 1
    assert all(a.passed for a in report.assertions)
    row = con.execute(
        "select equity_ratio, revenue_t12m from analytics.fct_borrower_month order by month_end"
    ).fetchone()
    assert row == (0.4, None)
    # the raw schema itself was not written to
    assert (
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'symetrisk_raw'"
        ).fetchone()[0]
        == 1
    )


def test_a_build_inside_the_callers_transaction_leaves_the_commit_to_the_caller(con):
    tiny_raw(con)
    con.execute("begin transaction")
    build_models(con, assertions=False, transaction=False)
    con.execute("rollback")
    assert (
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'analytics'"
        ).fetchone()[0]
        == 0
    )


def test_the_command_exits_2_when_the_warehouse_is_missing(tmp_path, capsys):
    code = cli.main(["models", "--database", str(tmp_path / "nothing.duckdb")])
    assert code == 2
    assert "make run" in capsys.readouterr().err


def test_the_command_builds_and_prints_a_summary(tmp_path, capsys):
    path = tmp_path / "w.duckdb"
    connection = duckdb.connect(str(path))
    tiny_raw(connection)
    connection.close()
    assert cli.main(["models", "--database", str(path)]) == 0
    out = capsys.readouterr().out
    assert "fct_borrower_month" in out and "rows" in out and "assertions passed" in out


def test_the_command_names_a_broken_file_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "w.duckdb"
    connection = duckdb.connect(str(path))
    tiny_raw(connection)
    connection.close()
    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    (sql / "marts" / "fct_borrower_trend.sql").write_text(
        "select missing_thing from analytics.fct_borrower_month"
    )
    code = cli.main(["models", "--database", str(path), "--sql-dir", str(sql)])
    err = capsys.readouterr().err
    assert code == 1
    assert "fct_borrower_trend.sql" in err and "missing_thing" in err
    assert "Traceback" not in err


def test_the_command_reports_a_failed_assertion_by_name(tmp_path, capsys):
    path = tmp_path / "w.duckdb"
    connection = duckdb.connect(str(path))
    tiny_raw(connection, duplicate=True)
    connection.close()
    assert cli.main(["models", "--database", str(path)]) == 1
    captured = capsys.readouterr()
    assert "borrower_month_is_unique" in captured.err
    assert "FAIL" in captured.out


def test_raw_columns_named_against_the_contract_fail_loudly(con):
    # e.g. a loader that keeps dlt's `data__` prefix: every figure would silently read as null
    con.execute("create schema symetrisk_raw")
    con.execute(
        "create table symetrisk_raw.accounting_snapshots as select '923609016' as "
        "organization_number, date '2025-01-31' as snapshot_date, "
        "100.0 as data__income_statement__month__operating_revenue"
    )
    with pytest.raises(AssertionFailed) as caught:
        build_models(con)
    assert [a.name for a in caught.value.failures] == ["snapshot_figures_came_through"]
    assert any("operating_revenue" in note for note in caught.value.report.stand_ins)
