"""Publishing a build (pipelines/warehouse/publish.py) on real DuckDB files: readers in this
process see each new build, a held connection keeps its own, nothing is left beside the
published file, and a publish and a seed (a reflink where the filesystem can, else a copy)
give the same rows."""

from __future__ import annotations

import os

import duckdb

from pipelines.warehouse import open_marts
from pipelines.warehouse import publish as publishing
from pipelines.warehouse.publish import prepare_working, publish, wal_path, working_path


def build(working, value: int) -> None:
    with duckdb.connect(str(working)) as con:
        con.execute("create schema if not exists analytics")
        con.execute("create or replace table analytics.marts as select ? as build", [value])


def test_each_open_sees_the_newest_build_and_a_held_one_keeps_its_own(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    working = prepare_working(published)
    assert working == tmp_path / ".warehouse.work.duckdb" and not working.exists()
    build(working, 1)
    publish(working, published)
    held = open_marts(str(published))
    assert held.execute("select build from marts").fetchall() == [(1,)]

    build(working, 2)
    done = publish(working, published)
    assert done.bytes == published.stat().st_size > 0
    # DuckDB would hand this process the old database for the same path while `held` is open
    fresh = open_marts(str(published))
    assert fresh.execute("select build from marts").fetchall() == [(2,)]
    assert held.execute("select build from marts").fetchall() == [(1,)]
    held.close()
    fresh.close()


def test_no_log_and_no_stale_copy_is_left_beside_the_published_file(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    build(working_path(published), 1)
    killed_copy = tmp_path / ".warehouse.duckdb.part-999999"
    killed_copy.write_bytes(b"half a copy")
    wal_path(published).write_bytes(b"an old loader's log")
    publish(working_path(published), published)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".warehouse.work.duckdb",
        "warehouse.duckdb",
    ]
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select build from analytics.marts").fetchall() == [(1,)]


def loaded(working, months: int) -> None:
    """A working file as a load leaves it: dlt's state table and raw rows, and a mart."""
    with duckdb.connect(str(working)) as con:
        con.execute("create schema if not exists symetrisk_raw")
        con.execute("create schema if not exists analytics")
        con.execute(
            "create or replace table symetrisk_raw._dlt_pipeline_state as "
            "select 1 as version, 'state' as state"
        )
        con.execute(
            "create or replace table symetrisk_raw.accounting_snapshots as select "
            "'9' || lpad((i % 7)::varchar, 8, '0') as organization_number, "
            "date '2020-01-31' + to_months(i // 7) as snapshot_date, i * 1.5 as revenue "
            f"from range({months * 7}) t(i)"
        )
        con.execute(
            "create or replace table analytics.marts as select organization_number, "
            "count(*) as months, sum(revenue) as revenue "
            "from symetrisk_raw.accounting_snapshots group by all"
        )


TABLES = ["symetrisk_raw._dlt_pipeline_state", "symetrisk_raw.accounting_snapshots",
          "analytics.marts"]  # fmt: skip


def same_rows(left, right) -> None:
    """Every table holds the same rows in both files: EXCEPT ALL both ways is empty."""
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        for table in TABLES:
            for a, b in (("l", "r"), ("r", "l")):
                extra = con.execute(
                    f"select count(*) from (select * from {a}.{table} "
                    f"except all select * from {b}.{table})"
                ).fetchone()[0]
                assert extra == 0, f"{table}: {extra} row(s) in {a} only"
            assert con.execute(f"select count(*) from l.{table}").fetchone()[0] > 0


def test_a_publish_and_a_seed_give_the_same_rows_and_later_writes_stay_apart(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    working = prepare_working(published)
    loaded(working, 24)
    done = publish(working, published)
    assert isinstance(done.cloned, bool)  # a reflink on btrfs or XFS, a copy on ext4
    assert working.exists() and working.stat().st_ino != published.stat().st_ino
    same_rows(working, published)
    before = tmp_path / "before.duckdb"
    before.write_bytes(published.read_bytes())

    # the next night writes the working file only: the published build keeps its rows
    loaded(working, 25)
    same_rows(before, published)
    working.unlink()  # a deleted working file is seeded again from the published build
    seeded = prepare_working(published)
    seed = publishing.last_seed
    assert seed.path == seeded == working and seed.bytes == published.stat().st_size
    same_rows(published, seeded)
    loaded(seeded, 26)
    same_rows(before, published)
    publish(seeded, published)
    with duckdb.connect(str(published), read_only=True) as con:
        count = con.execute("select count(*) from symetrisk_raw.accounting_snapshots").fetchone()
    assert count == (26 * 7,)


def test_without_a_reflink_a_seed_and_a_publish_copy(tmp_path, monkeypatch):
    published = tmp_path / "warehouse.duckdb"
    loaded(published, 3)
    monkeypatch.setattr(publishing, "_clone", lambda source, target: False)
    working = prepare_working(published)
    assert publishing.last_seed.cloned is False
    same_rows(published, working)
    loaded(working, 4)
    assert publish(working, published).cloned is False
    same_rows(working, published)
    assert sorted(p.name for p in tmp_path.iterdir()) == [working.name, published.name]


def test_an_empty_file_at_the_working_path_is_seeded_over_not_loaded_into(tmp_path):
    """The DuckDB CLI opened at the (absent) working path creates an empty database: the next
    run must start from the published build, not from nothing."""
    published = tmp_path / "warehouse.duckdb"
    loaded(published, 3)
    working = working_path(published)
    duckdb.connect(str(working)).close()
    assert prepare_working(published) == working
    same_rows(published, working)

    # a working file with dlt's state is the loader's own: kept, whatever it holds
    loaded(working, 4)
    prepare_working(published)
    with duckdb.connect(str(working), read_only=True) as con:
        assert (
            con.execute("select count(*) from symetrisk_raw.accounting_snapshots").fetchone()[0]
            == 4 * 7
        )


def test_a_stateless_published_file_never_replaces_the_working_file(tmp_path):
    """Before any load (`symetrisk request-access` on a new warehouse) neither file has dlt's
    state: the working file keeps what was written into it."""
    published = tmp_path / "warehouse.duckdb"
    build(published, 1)
    working = working_path(published)
    build(working, 2)
    mtime = os.stat(working).st_mtime_ns
    prepare_working(published)
    assert os.stat(working).st_mtime_ns == mtime
    with duckdb.connect(str(working), read_only=True) as con:
        assert con.execute("select build from analytics.marts").fetchall() == [(2,)]
