"""`symetrisk sql`: read-only queries from the shell, with clear errors; read-only for real: no
other databases, files or extensions."""

import duckdb
import pytest

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


@pytest.mark.parametrize(
    "statement",
    [
        "attach '{other}' as other (read_only false); drop table other.keep",
        "attach '{other}' as other",
        "copy (select * from dim_borrower) to '{tmp}/out.csv'",
        "export database '{tmp}/export'",
        "select * from read_csv('{tmp}/plain.csv')",
        "install httpfs",
        "load httpfs",
        "set enable_external_access = true",
        "set lock_configuration = false; attach '{other}' as other",
        "create table dim_copy as select * from dim_borrower",
    ],
)
def test_writes_other_files_and_extensions_are_refused_in_one_line(tmp_path, capsys, statement):
    make_warehouse(tmp_path / "w.duckdb")
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("create table keep as select 1 as x")
    (tmp_path / "plain.csv").write_text("a\n1\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    sql = statement.format(other=other, tmp=tmp_path)
    assert cli.main(["sql", "--database", str(tmp_path / "w.duckdb"), sql]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: refused: `symetrisk sql` is read-only") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no file written
    with duckdb.connect(str(other), read_only=True) as con:
        assert con.execute("select x from keep").fetchall() == [(1,)]
