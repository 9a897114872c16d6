"""`symetrisk sql`: read-only queries from the shell, with clear errors."""

import duckdb

from pipelines import cli


def make_warehouse(path):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema analytics")
        con.execute("create table analytics.dim_borrower as select '923609016' as org, 'A' as s")


def test_bare_names_resolve_in_the_marts_and_csv_is_plain(tmp_path, capsys):
    make_warehouse(tmp_path / "w.duckdb")
    code = cli.main(
        ["sql", "--database", str(tmp_path / "w.duckdb"), "--csv", "select * from dim_borrower"]
    )
    assert code == 0
    assert capsys.readouterr().out.splitlines() == ["org,s", "923609016,A"]


def test_the_warehouse_is_opened_read_only(tmp_path, capsys):
    make_warehouse(tmp_path / "w.duckdb")
    code = cli.main(["sql", "--database", str(tmp_path / "w.duckdb"), "drop table dim_borrower"])
    assert code == 1
    assert "read-only" in capsys.readouterr().err
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert con.execute("select count(*) from analytics.dim_borrower").fetchall() == [(1,)]


def test_bad_sql_and_a_missing_warehouse_give_one_line(tmp_path, capsys):
    make_warehouse(tmp_path / "w.duckdb")
    assert cli.main(["sql", "--database", str(tmp_path / "w.duckdb"), "select nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert cli.main(["sql", "--database", str(tmp_path / "none.duckdb"), "select 1"]) == 2
    assert "run `make run` first" in capsys.readouterr().err
