"""`symetrisk sql` on DuckDB: no file access at all, `./.tmp` included (DuckDB's default temp
directory, which it allows even with external access off), memory and temp space as settings,
one statement that is a query, a statement timeout, and Ctrl-C honoured in a separate process."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from pipelines import cli


def make_warehouse(path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema analytics")
        con.execute("create table analytics.dim_borrower as select 'A' as org, 1 as n")


@pytest.mark.parametrize(
    "statement",
    [
        "copy (select * from dim_borrower) to '.tmp/out.csv'",
        "copy (select * from dim_borrower) to '{tmp}/.tmp/out.parquet' (format parquet)",
        "export database '.tmp/export'",
        "select * from read_csv('.tmp/plain.csv')",
        "select 1; copy (select 1) to '.tmp/two.csv'",
        "set temp_directory = '.tmp'",
        "pragma memory_limit = '100GB'",
    ],
)
def test_dot_tmp_is_no_way_out(tmp_path, monkeypatch, capsys, statement):
    make_warehouse(tmp_path / "w.duckdb")
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "plain.csv").write_text("a\n1\n")
    monkeypatch.chdir(tmp_path)
    sql = statement.format(tmp=tmp_path)
    assert cli.main(["sql", "--database", "w.duckdb", sql]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: refused: `symetrisk sql` is read-only"), err
    assert err.count("\n") == 1
    assert sorted(p.name for p in (tmp_path / ".tmp").iterdir()) == ["plain.csv"]


def test_the_limits_are_settings_and_no_temp_directory_by_default(tmp_path, monkeypatch, capsys):
    make_warehouse(tmp_path / "w.duckdb")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYMETRISK_SQL_MEMORY_LIMIT", "300MB")
    query = (
        "select current_setting('memory_limit') as m, current_setting('temp_directory') as t, "
        "current_setting('allowed_directories')::varchar as a, "
        "current_setting('enable_external_access') as e"
    )
    assert cli.main(["sql", "--csv", "--database", "w.duckdb", query]) == 0
    memory, temp, allowed, external = capsys.readouterr().out.splitlines()[1].split(",")
    assert memory.startswith("286.1 MiB") and temp == "" and allowed == "[]"
    assert external == "False"
    # temp space when asked for: a private directory of its own, removed afterwards
    query = "select current_setting('temp_directory') as t"
    args = ["sql", "--csv", "--max-temp-size", "1GB", "--database", "w.duckdb", query]
    assert cli.main(args) == 0
    temp_dir = capsys.readouterr().out.splitlines()[1]
    assert "symetrisk-sql-" in temp_dir and not Path(temp_dir).exists()


def test_the_statement_timeout_interrupts_duckdb(tmp_path, monkeypatch, capsys):
    make_warehouse(tmp_path / "w.duckdb")
    monkeypatch.chdir(tmp_path)
    slow = "select sum(a.range * b.range) from range(1000000000) a, range(1000) b"
    assert cli.main(["sql", "--timeout", "1", "--database", "w.duckdb", slow]) == 1
    err = capsys.readouterr().err
    assert err == (
        "error: the statement ran longer than 1 s and was stopped "
        "(--timeout or SYMETRISK_SQL_TIMEOUT_S)\n"
    )


def test_ctrl_c_stops_a_long_duckdb_query(tmp_path):
    make_warehouse(tmp_path / "w.duckdb")
    slow = "select sum(a.range * b.range) from range(1000000000) a, range(1000) b"
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "sql", "--database", "w.duckdb", slow],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # started: DuckDB's threads are busy (the process has used CPU time)
    import psutil

    watched = psutil.Process(process.pid)
    pause = threading.Event()
    while process.poll() is None and sum(watched.cpu_times()[:2]) < 3 and not pause.wait(0.2):
        pass
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)  # a bound: the query alone runs for minutes
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "symetrisk sql: interrupted"
    assert "Traceback" not in err
