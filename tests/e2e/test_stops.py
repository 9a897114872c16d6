"""Every stop in plain words: Ctrl-C (SIGINT, sent by pipelines/testing/killpoint.py at a chosen dlt
step), then the run that finishes the load and reports the rows it loaded from the interrupted
run's package."""

from __future__ import annotations

import os
import re

import pytest

from tests.warehouse_checks import DATASET, dump, load, sandbox, symetrisk_run

pytestmark = pytest.mark.e2e

SIZE = {"borrowers": 12, "months": 18, "seed": 9}
FINISHING = "finishing 1 load package(s) left by an interrupted run"


def run_line(stdout: str) -> dict[str, str]:
    line = next(x for x in stdout.splitlines() if x.startswith("symetrisk-run "))
    return dict(re.findall(r"(\w+)=(\S+)", line))


@pytest.mark.parametrize("step", ["extract:2", "load"])
def test_ctrl_c_is_one_line_exit_130_and_the_next_run_reports_what_it_finishes(step, tmp_path):
    interrupt = {"SYMETRISK_TEST_KILL_AT": step, "SYMETRISK_TEST_KILL_SIGNAL": "INT"}
    with sandbox(**SIZE) as sb:
        stopped = symetrisk_run(sb, tmp_path, SOURCES__SYMETRISK__BATCH_ROWS="40", **interrupt)
        assert stopped.returncode == 130, stopped.stderr
        lines = stopped.stderr.strip().splitlines()
        assert lines[-1] == "symetrisk run: interrupted; the next run finishes this load", lines
        assert "Traceback" not in stopped.stderr and "Signal" not in stopped.stderr
        assert run_line(stopped.stdout)["outcome"] == "failed"

        again = symetrisk_run(sb, tmp_path)
        assert again.returncode == 0, again.stderr
        clean = tmp_path / "clean"
        load(sb, clean)
    assert dump(tmp_path / "warehouse.duckdb") == dump(clean / "warehouse.duckdb")
    rows_in_warehouse = sum(len(rows) - 1 for rows in dump(tmp_path / "warehouse.duckdb").values())
    reported = int(run_line(again.stdout)["rows_new"])
    if step == "load":
        # the package held the whole first load; the rerun loaded it and found nothing newer
        assert FINISHING in again.stderr
        assert reported == rows_in_warehouse, (reported, rows_in_warehouse, DATASET)
    else:
        # interrupted during extract: nothing was kept, the rerun loads everything itself
        assert FINISHING not in again.stderr
        assert reported == rows_in_warehouse


# --- bad arguments and settings: one line each, naming the option and a value that works -------


@pytest.mark.parametrize(
    ("args", "named", "works"),
    [
        (["--rate-limit", "-5"], "--rate-limit", "0 or more"),
        (["--concurrency", "x"], "--concurrency", "whole number of 1 or more"),
        (["--lookback-months", "-1"], "--lookback-months", "0 or more"),
        (["--read-timeout", "0"], "--read-timeout", "e.g. 30"),
        (["--destination", "x.db"], "--destination x.db", "--destination data/symetrisk.duckdb"),
    ],
    ids=["rate", "concurrency", "lookback", "timeout", "unknown-destination"],
)
def test_bad_run_argument_is_one_line_exit_2(args, named, works, clean_env, capsys):
    from pipelines import cli

    try:
        code = cli.main(["run", "--quiet", "--no-models", *args])
    except SystemExit as exc:  # argparse's own exit
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert named in err and works in err, err
    assert "_positive" not in err and "Traceback" not in err and "usage:" not in err
    assert "UnknownDestination" not in err
    assert not (clean_env / "data" / "symetrisk.duckdb").exists()


@pytest.mark.parametrize("destination", ["afile/w.duckdb", "/proc/w.duckdb"])
def test_impossible_or_read_only_destination_is_one_line(destination, clean_env, capsys):
    """A DuckDB path under a file, or on a file system that takes no new files: the run lock
    says so before anything starts (pipelines/warehouse/runlock.py), exit 3."""
    from pipelines import cli

    (clean_env / "afile").write_text("not a folder")
    code = cli.main(["run", "--quiet", "--no-models", "--destination", destination])
    out, err = capsys.readouterr()
    assert code == 3, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "w.duckdb.lock" in err and "--destination" in err, err


def test_url_without_scheme_names_the_setting_and_a_url_that_works(monkeypatch, capsys, tmp_path):
    from tests.warehouse_checks import run_in_process

    with sandbox(borrowers=3, months=3) as sb:
        code, out, err = run_in_process(
            monkeypatch, capsys, sb, tmp_path, BASE_URL="api.symetrisk.com/api/v1"
        )
    assert code == 1
    assert err.strip().splitlines() == [
        "symetrisk run failed: SOURCES__SYMETRISK__BASE_URL=api.symetrisk.com/api/v1 is not a "
        "URL starting with https:// or http://; for example "
        "SOURCES__SYMETRISK__BASE_URL=https://api.symetrisk.com/api/v1"
    ]


def test_missing_destination_credential_names_the_real_setting(monkeypatch, capsys, tmp_path):
    from tests.warehouse_checks import run_in_process

    for name in list(os.environ):
        if name.startswith("DESTINATION__POSTGRES"):
            monkeypatch.delenv(name)
    with sandbox(borrowers=3, months=3) as sb:
        code, out, err = run_in_process(
            monkeypatch, capsys, sb, tmp_path, "--destination", "postgres"
        )
    assert code == 1
    # one line: the runs table cannot be written there either, but the run journal keeps the
    # failed run for `status`, so no second line says so
    assert [x for x in err.splitlines() if x.startswith(("symetrisk run", "run history"))] == [
        next(x for x in err.splitlines() if x.startswith("symetrisk run failed: "))
    ], err
    line = next(x for x in err.splitlines() if x.startswith("symetrisk run failed: "))
    assert line.startswith("symetrisk run failed: missing setting(s) "), line
    assert "DESTINATION__POSTGRES__CREDENTIALS" in line and "SOURCES__" not in line, line


def test_sandbox_port_0_prints_the_port_it_took_and_a_bad_port_is_refused(capsys):
    import subprocess
    import sys
    import time

    import requests

    from pipelines import cli

    with pytest.raises(SystemExit) as exc:
        cli.main(["sandbox", "--port", "99999"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "--port" in err and "0 for any free port" in err
    command = [sys.executable, "-m", "pipelines.cli", "sandbox", "--port", "0", "--borrowers", "3"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        base = next(x.split()[-1] for x in lines if "base URL:" in x)
        port = int(base.rsplit(":", 1)[1])
        assert port != 0
        for _ in range(300):  # it prints before it serves; wait for it to answer
            try:
                answer = requests.get(f"{base}/openapi.json", timeout=30)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_ctrl_c_inside_dbt_stops_the_model_build_as_ctrl_c(monkeypatch, tmp_path):
    """dbt hands a KeyboardInterrupt back as its result instead of raising it; the build raises
    it again, so `symetrisk models` and `symetrisk run` stop with their one line and exit 130
    (checked by hand: SIGINT to `symetrisk models` -> `symetrisk models: interrupted`, 130)."""
    from types import SimpleNamespace

    from pipelines.warehouse import dbt_build

    interrupted = SimpleNamespace(result=None, exception=KeyboardInterrupt())
    monkeypatch.setattr(dbt_build, "invoke", lambda *args, **kwargs: interrupted)
    with pytest.raises(KeyboardInterrupt):
        dbt_build.build(dbt_build.duckdb_target(str(tmp_path / "w.duckdb")), "symetrisk_raw")
