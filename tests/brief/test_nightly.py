"""The run's step around publishing: it publishes exactly once, and a failed publish stays the
run's failure (the credit step never swallows it)."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.brief.nightly import around_publish


def test_without_marts_it_only_publishes(tmp_path):
    working = tmp_path / "work.duckdb"
    duckdb.connect(str(working)).close()
    calls = []
    keys = around_publish(str(working), str(tmp_path / "w.duckdb"), "r1", lambda: calls.append(1))
    assert calls == [1] and keys == {}


def test_a_failed_publish_is_raised_once(tmp_path):
    working = tmp_path / "work.duckdb"
    duckdb.connect(str(working)).close()
    calls = []

    def publish():
        calls.append(1)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        around_publish(str(working), str(tmp_path / "w.duckdb"), "r1", publish)
    assert calls == [1]


def test_a_ledger_that_cannot_be_written_still_publishes_and_says_so(tmp_path, capsys):
    working = tmp_path / "work.duckdb"
    with duckdb.connect(str(working)) as con:  # marts there, but not the columns the ledger reads
        con.execute("create schema analytics")
        for table in ("fct_warning_episodes", "fct_early_warnings", "dim_borrower",
                      "fct_snapshot_revisions", "fct_borrower_month"):  # fmt: skip
            con.execute(f"create table analytics.{table} (x integer)")
    calls = []
    keys = around_publish(str(working), str(tmp_path / "w.duckdb"), "r1", lambda: calls.append(1))
    assert calls == [1] and keys == {"credit_recorded": 0}
    assert capsys.readouterr().err.startswith("credit events not recorded: ")
