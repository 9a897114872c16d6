"""Publishing a build (pipelines/warehouse/publish.py) on real DuckDB files: readers in this
process see each new build, a held connection keeps its own, and nothing is left beside the
published file."""

from __future__ import annotations

import duckdb

from pipelines.warehouse import open_marts
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
