"""Run history: every `symetrisk run`, ok or failed, is one row of `symetrisk_raw.runs` and one
line of the run journal, and ends its output with one grep-able key=value line; the secret is
never stored or printed."""

from __future__ import annotations

import json
import shlex

import duckdb
import pytest

from pipelines import cli
from pipelines.symetrisk import RunStats
from pipelines.warehouse.publish import working_path
from pipelines.warehouse.runs import RunRecord
from tests.conftest import use_api

WRONG_SECRET = "wrong-secret-0815"


def key_values(line: str) -> dict[str, str]:
    words = shlex.split(line)
    assert words[0] == "symetrisk-run"
    return dict(word.split("=", 1) for word in words[1:])


def test_closing_line_is_key_value_with_quoted_text_and_no_secret():
    stats = RunStats()
    stats.count("accounting_snapshots", "new", 12)
    stats.count("borrowers", "changed", 2)
    record = RunRecord().finish(stats, "failed", f'token "x" refused for {WRONG_SECRET}')
    record = record.masked([WRONG_SECRET])
    line = record.line()
    assert "\n" not in line and WRONG_SECRET not in line
    values = key_values(line)
    assert values["outcome"] == "failed" and values["run_id"] == record.run_id
    assert values["rows_new"] == "12" and values["rows_changed"] == "2"
    assert values["snapshots_new"] == "12"
    assert values["error"] == 'token "x" refused for ***'


@pytest.mark.e2e
def test_ok_and_failed_runs_are_rows_of_the_runs_table(
    clean_env, monkeypatch, capsys, start_sandbox
):
    with start_sandbox(borrowers=8, months=6) as sb:
        use_api(monkeypatch, sb.base_url)
        assert cli.main(["run", "--quiet", "--no-models"]) == 0
        ok_line = capsys.readouterr().out.strip().splitlines()[-1]
        monkeypatch.setenv("SOURCES__SYMETRISK__CLIENT_SECRET", WRONG_SECRET)
        assert cli.main(["run", "--quiet", "--no-models"]) == 1
        out, err = capsys.readouterr()
        failed_line = out.strip().splitlines()[-1]

    ok, failed = key_values(ok_line), key_values(failed_line)
    assert ok["outcome"] == "ok" and int(ok["requests"]) > 0 and ok["client_id"] == "demo-bank"
    assert failed["outcome"] == "failed" and "SOURCES__SYMETRISK__CLIENT_SECRET" in failed["error"]
    assert WRONG_SECRET not in out + err
    # the failed run published nothing: readers see the ok run's build, its own row included;
    # the loader's working file and the run journal hold both runs
    published = clean_env / "data" / "symetrisk.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select run_id from symetrisk_raw.runs").fetchall() == [(ok["run_id"],)]
    journal = (clean_env / "data" / "dlt" / "runs.jsonl").read_text().splitlines()
    ends = [json.loads(line) for line in journal]
    # each run: a line when it started, one when it ended
    assert [(e["run_id"], e.get("event") or e["outcome"]) for e in ends] == [
        (ok["run_id"], "started"),
        (ok["run_id"], "ok"),
        (failed["run_id"], "started"),
        (failed["run_id"], "failed"),
    ]
    assert json.loads(journal[3])["error"] == failed["error"] and WRONG_SECRET not in journal[3]
    with duckdb.connect(str(working_path(published)), read_only=True) as con:
        runs = con.execute(
            "select run_id, outcome, error, requests, retries, finished_at >= started_at, "
            "cast(\"rows\"->'accounting_snapshots'->>'new' as int), errors, client_id "
            "from symetrisk_raw.runs order by started_at"
        ).fetchall()
        snapshots = con.execute(
            "select count(*) from symetrisk_raw.accounting_snapshots"
        ).fetchone()[0]
        everything = str(con.execute("select * from symetrisk_raw.runs").fetchall())
    assert [r[0] for r in runs] == [ok["run_id"], failed["run_id"]]
    first, second = runs
    assert first[1:6] == ("ok", None, int(ok["requests"]), 0, True)
    assert first[6] == snapshots > 0
    assert json.loads(first[7]) == [] and first[8] == "demo-bank"
    assert second[1] == "failed" and second[2] == failed["error"]
    assert WRONG_SECRET not in everything


def test_a_failed_publish_makes_the_run_failed_in_its_row_the_journal_and_the_line(
    tmp_path, capsys
):
    from pipelines.cli.run import LoadOptions
    from pipelines.warehouse import journal, runs

    options = LoadOptions(
        destination=str(tmp_path / "warehouse.duckdb"),
        pipelines_dir=str(tmp_path / "dlt"),
        client_id="demo-bank",
    )

    def publish() -> None:
        raise OSError(28, "No space left on device")

    record = runs.close(RunRecord(), options, RunStats(), runs.OK, publish=publish)
    out, err = capsys.readouterr()
    assert record.outcome == "failed" and "No space left on device" in record.error
    assert "readers keep the previous build" in err and err.count("\n") == 1
    assert key_values(out.strip().splitlines()[-1])["outcome"] == "failed"
    assert journal.latest(tmp_path / "dlt", 1)[0]["outcome"] == "failed"
    with duckdb.connect(str(working_path(tmp_path / "warehouse.duckdb")), read_only=True) as con:
        rows = con.execute("select run_id, outcome from symetrisk_raw.runs").fetchall()
    assert rows == [(record.run_id, "failed")]  # rewritten, not a second row
