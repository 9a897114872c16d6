"""Faults over real HTTP: the sandbox throttling, failing, stalling, dropping connections and
cutting bodies short all at once, and two runs on one warehouse. Each load must end with a
warehouse equal, value for value, to a clean run's against an identical fault-free sandbox."""

from __future__ import annotations

import time
from datetime import date

import pytest

from pipelines import cli
from tests.warehouse_checks import admin, assert_same_warehouse, dump, load, sandbox, symetrisk_run

pytestmark = pytest.mark.e2e

SIZE = {"borrowers": 15, "months": 24, "seed": 11, "as_of": date(2026, 3, 31)}
ALL_FAULTS = {
    "throttle_rps": 10,  # 429 with Retry-After past a burst of 10
    "error_rate": 0.1,  # 500, 502, 503 (503 with Retry-After)
    "broken_json_rate": 0.08,  # a 200 whose body is cut short
    "drop_rate": 0.08,  # the connection closed without an answer
    "stall_rate": 0.06,  # an answer 3 s late, past the 1 s read timeout below
    "stall_ms": 3000,
}
FAST = {"backoff_factor": 0.05, "max_attempts": 10}


@pytest.mark.slow
def test_every_fault_at_once_full_then_incremental_equal_a_clean_run(tmp_path):
    clean, faulty = tmp_path / "clean", tmp_path / "faulty"
    seen = {"429": 0, "5xx": 0, "broken": 0, "unanswered": 0}
    with sandbox(**SIZE) as reference, sandbox(**SIZE, **ALL_FAULTS) as sb:
        for step in ("full", "incremental"):
            if step == "incremental":
                admin(reference, "/advance-month")
                admin(sb, "/advance-month")
            load(reference, clean)
            stats = load(sb, faulty, read_timeout=1.0, source_options=FAST)
            assert assert_same_warehouse(
                faulty / "warehouse.duckdb", clean / "warehouse.duckdb"
            ) > 100, step  # fmt: skip
            by_status = stats.requests_by_status
            answered = sum(by_status.values())
            failed = sum(n for code, n in by_status.items() if code != 200)
            seen["429"] += by_status.get(429, 0)
            seen["5xx"] += sum(by_status.get(code, 0) for code in (500, 502, 503))
            seen["unanswered"] += stats.requests - answered  # dropped or timed out
            # every failed attempt was retried; retries beyond those were for cut-short bodies
            seen["broken"] += stats.retries - failed - (stats.requests - answered)
        dropped = sum(
            counts.get("dropped", 0)
            for counts in admin(sb, "/requests", "GET")["by_endpoint"].values()
        )
    assert all(n > 0 for n in seen.values()), seen
    assert 0 < dropped < seen["unanswered"], "both drops and read timeouts happened"


def test_retries_spent_is_one_line_and_loads_nothing(tmp_path):
    with sandbox(**SIZE) as sb:
        load(sb, tmp_path)
        before = dump(tmp_path / "warehouse.duckdb")
        admin(sb, "/advance-month")
        admin(sb, "/faults", error_rate=1.0)
        run = symetrisk_run(sb, tmp_path, SOURCES__SYMETRISK__MAX_ATTEMPTS="2")
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith("symetrisk run failed: the API kept failing on GET /self"), lines
    assert "after every retry" in lines[-1] and "Traceback" not in run.stderr
    assert dump(tmp_path / "warehouse.duckdb") == before


def test_two_runs_at_once_the_second_stops_at_once_the_first_is_unharmed(tmp_path, capsys):
    clean, work = tmp_path / "clean", tmp_path / "work"
    with sandbox(**SIZE) as reference, sandbox(**SIZE, latency_ms=150) as sb:
        load(reference, clean)
        first = symetrisk_run(sb, work, "--concurrency", "2", wait=False)
        lock = work / "dlt" / "symetrisk-run.lock"
        deadline = time.monotonic() + 30
        while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        capsys.readouterr()  # only the second run's own output is judged below
        code = cli.main(
            ["run", "--quiet", "--no-models", "--destination", str(work / "warehouse.duckdb"),
             "--pipelines-dir", str(work / "dlt")]
        )  # fmt: skip
        out, err = capsys.readouterr()
        assert first.poll() is None, "the first run should still be running"
        first_out, first_err = first.communicate(timeout=120)
    # it stopped at once: it returned while the first run was still loading (no timing asserted)
    assert code == 3, code
    assert err.count("\n") == 1 and "another symetrisk run (pid " in err, err
    assert str(first.pid) in err and "wait for it to finish" in err
    assert first.returncode == 0, first_err
    assert assert_same_warehouse(work / "warehouse.duckdb", clean / "warehouse.duckdb") > 100
