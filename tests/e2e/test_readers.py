"""Readers and the scheduled load never lock each other out (pipelines/warehouse/publish.py):
real `symetrisk run` processes against the real sandbox over HTTP, real DuckDB files, and
readers in processes of their own.

- A process holds a read-only connection for the whole test while scheduled runs and a
  standalone `symetrisk models` succeed; it keeps reading the build it opened.
- A reader opening, querying and closing the warehouse every 20 ms through two runs sees no
  error, and every read is one whole build: the row counts of the raw tables and the marts
  equal those of one of the builds, in the order they were published.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.warehouse import WarehouseBusy, open_marts
from pipelines.warehouse.publish import wal_path, working_path
from tests.warehouse_checks import admin, cli_env, sandbox

pytestmark = pytest.mark.e2e

SIZE = {"borrowers": 60, "months": 24, "seed": 11}
# raw snapshots and raw runs; with two marts (COUNTS), one whole build as a reader sees it
RAW_COUNTS = (
    "select (select count(*) from symetrisk_raw.accounting_snapshots), "
    "(select count(*) from symetrisk_raw.runs)"
)
COUNTS = (
    f"{RAW_COUNTS}, (select count(*) from analytics.fct_borrower_month), "
    "(select count(*) from analytics.fct_portfolio_month)"
)

NO_MODELS = ("run", "--quiet", "--no-models")  # where the marts do not matter

HOLDER = """
import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
print(list(con.execute(sys.argv[2]).fetchone()), flush=True)
sys.stdin.readline()  # held until the test says so
print(list(con.execute(sys.argv[2]).fetchone()), flush=True)
"""

POLLER = """
import duckdb, json, os, sys, time
path, sql, stop = sys.argv[1:4]
while not os.path.exists(stop):
    try:
        con = duckdb.connect(path, read_only=True)
        try:
            print(json.dumps({"counts": list(con.execute(sql).fetchone())}), flush=True)
        finally:
            con.close()
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
    time.sleep(0.02)
"""


def run(sb, work: Path, *args: str) -> subprocess.CompletedProcess:
    """A scheduled `symetrisk run` (models included) in a process of its own."""
    command = [sys.executable, "-m", "pipelines.cli", *(args or ("run", "--quiet"))]
    done = subprocess.run(
        command, env=cli_env(sb, work), cwd=work, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return done


def counts(database: Path, sql: str = COUNTS) -> tuple[int, ...]:
    with duckdb.connect(str(database), read_only=True) as con:
        return tuple(con.execute(sql).fetchone())


@pytest.mark.slow
def test_a_held_reader_and_a_20ms_poller_never_fail_and_see_whole_builds(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    with sandbox(**SIZE) as sb:
        run(sb, tmp_path)
        builds = [counts(published)]
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(published), COUNTS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert tuple(json.loads(holder.stdout.readline())) == builds[0]
            stop = tmp_path / "stop-polling"
            poller = subprocess.Popen(
                [sys.executable, "-c", POLLER, str(published), COUNTS, str(stop)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2):  # two nights: a month closes, the scheduled run loads it
                admin(sb, "/advance-month")
                run(sb, tmp_path)
                builds.append(counts(published))
            stop.touch()
            polled, poller_err = poller.communicate(timeout=60)
            assert poller.returncode == 0, poller_err

            # a standalone model build publishes too, with the reader still holding its file
            run(sb, tmp_path, "models")
            assert counts(published) == builds[-1]

            holder.stdin.write("\n")
            holder.stdin.flush()
            still = tuple(json.loads(holder.stdout.readline()))
            assert holder.wait(timeout=30) == 0, holder.stderr.read()
        finally:
            holder.kill()

    # the three builds differ: new months in raw and marts, one more run row each time
    assert builds[0] < builds[1] < builds[2], builds
    assert still == builds[0], "the held connection keeps reading the build it opened"
    reads = [json.loads(line) for line in polled.splitlines()]
    errors = [r["error"] for r in reads if "error" in r]
    seen = [tuple(r["counts"]) for r in reads if "counts" in r]
    print(f"\npolling every 20 ms: {len(reads)} reads, {len(errors)} errors, builds {builds}")
    assert errors == []
    assert set(seen) <= set(builds[1:]) | {builds[0]}, set(seen) - set(builds)
    order = [builds.index(s) for s in seen]
    assert order == sorted(order), "a reader never goes back to an older build"
    assert order[0] <= 1 and order[-1] == 2, "the poller read through the runs"
    assert not wal_path(published).exists()


@pytest.mark.slow
def test_first_run_after_an_upgrade_starts_from_the_published_file_and_its_log(tmp_path):
    """Before this design the loader wrote the published file itself, and left dlt's state and
    sometimes a write-ahead log there. The first run seeds its working file from both, loads
    incrementally, and leaves no log beside the published file."""
    published = tmp_path / "warehouse.duckdb"
    with sandbox(**{**SIZE, "borrowers": 20}) as sb:
        run(sb, tmp_path, *NO_MODELS)
        before = counts(published, RAW_COUNTS)
        working_path(published).unlink()  # the old layout: the published file only
        # an old loader killed after committing: its last change lives in the log only
        writer = subprocess.run(
            [
                sys.executable,
                "-c",
                "import duckdb, os, signal, sys; con = duckdb.connect(sys.argv[1]); "
                "con.execute('create table symetrisk_raw.from_the_log as select 42 as x'); "
                "os.kill(os.getpid(), signal.SIGKILL)",
                str(published),
            ],
            capture_output=True,
        )
        assert writer.returncode == -signal.SIGKILL
        assert wal_path(published).exists()
        again = run(sb, tmp_path, *NO_MODELS)
    assert "snapshots_new=0" in again.stdout  # state came along: nothing loaded twice
    after = counts(published, RAW_COUNTS)
    assert after[0] == before[0] and after[1] == before[1] + 1
    assert not wal_path(published).exists()
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select x from symetrisk_raw.from_the_log").fetchall() == [(42,)]


def test_a_foreign_writer_is_one_line_naming_it_and_the_run_still_publishes(tmp_path, capsys):
    """Someone opens the published file for writing (the DuckDB CLI without -readonly):
    readers get one line naming the process, `status` exits 6, and the run publishes anyway.
    Someone opens the loader's working file: the run stops with one line naming it, exit 3."""
    from pipelines import cli

    published = tmp_path / "warehouse.duckdb"
    holder = [
        sys.executable,
        "-c",
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
        "sys.stdin.readline()",
    ]
    with sandbox(**{**SIZE, "borrowers": 10}) as sb:
        run(sb, tmp_path, *NO_MODELS)
        writer = subprocess.Popen(
            [*holder, str(published)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert writer.stdout.readline().strip() == "open"
            capsys.readouterr()
            assert cli.main(["sql", "--database", str(published), "select 1"]) == 3
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and f"(pid {writer.pid})" in err
            assert str(published) in err and "duckdb -readonly" in err
            with pytest.raises(WarehouseBusy, match=rf"\(pid {writer.pid}\)"):
                open_marts(str(published))
            code = cli.main(["status", "--database", str(published), "--pipelines-dir", "x"])
            out = capsys.readouterr().out
            assert code == 6 and f"(pid {writer.pid})" in out, out
            run(
                sb, tmp_path, *NO_MODELS
            )  # publishes by rename: the writer's lock is on the old file
        finally:
            writer.kill()
            writer.wait()

        working = working_path(published)
        writer = subprocess.Popen(
            [*holder, str(working)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert writer.stdout.readline().strip() == "open"
            env = cli_env(sb, tmp_path)
            done = subprocess.run(
                [sys.executable, "-m", "pipelines.cli", *NO_MODELS],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            writer.kill()
            writer.wait()
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert str(working) in lines[0] and f"(pid {writer.pid})" in lines[0]
    assert "outcome=failed" in done.stdout
    assert os.path.exists(published)
