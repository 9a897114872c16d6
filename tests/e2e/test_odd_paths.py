"""Odd but valid paths: a warehouse file and a pipelines dir whose names hold `=` (as
`env=prod/dlt`, which DuckDB would read as a hive partition), spaces and non-ASCII letters.
`symetrisk run` loads, builds the models and publishes there; `symetrisk status` reads it."""

from __future__ import annotations

import duckdb
import pytest

from pipelines import cli
from pipelines.warehouse import journal

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_paths_with_equals_spaces_and_non_ascii_work(clean_env, capsys):
    warehouse = clean_env / "env=prod" / "lager æøå" / "symetrisk.duckdb"
    pipelines = clean_env / "env=prod" / "dlt tilstand ø"
    where = ["--destination", str(warehouse), "--pipelines-dir", str(pipelines)]
    code = cli.main(["run", "--sandbox-borrowers", "8", "--sandbox-months", "6", *where])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in out + err and "Binder Error" not in out + err
    assert "models: " in out and "FAILED" not in out
    with duckdb.connect(str(warehouse), read_only=True) as con:
        snapshots = con.execute("select count(*) from symetrisk_raw.accounting_snapshots")
        assert snapshots.fetchone()[0] > 0
        assert con.execute("select count(*) from analytics.fct_borrower_trend").fetchone()[0] > 0
    assert journal.latest(pipelines, 1)[0]["outcome"] == "ok"
    code = cli.main(["status", *where])
    out, _ = capsys.readouterr()
    assert code == 0 and str(warehouse) in out, out
