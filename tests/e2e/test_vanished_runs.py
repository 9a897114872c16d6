"""No run vanishes: a SIGKILLed `symetrisk run` is in the run journal from its start, so
`symetrisk status` names it (killed, its start and pid) and exits 4 until a run succeeds; a run
still going is told apart by the run lock; and `--max-age-hours` catches a night with no
successful run at all."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.warehouse import journal
from tests.warehouse_checks import cli_env, sandbox, symetrisk_run

pytestmark = pytest.mark.e2e


def status(sb, work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "status", *args],
        env=cli_env(sb, work),
        cwd=work,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_sigkilled_run_shows_in_status_with_exit_4_until_a_run_succeeds(tmp_path):
    with sandbox(borrowers=10, months=12) as sb:
        killed = symetrisk_run(sb, tmp_path, SYMETRISK_TEST_KILL_AT="extract:2",
                               SOURCES__SYMETRISK__BATCH_ROWS="40")  # fmt: skip
        assert killed.returncode == -signal.SIGKILL
        lines = (tmp_path / "dlt" / journal.FILE_NAME).read_text().splitlines()
        start = json.loads(lines[-1])
        assert start["event"] == "started" and isinstance(start["pid"], int)

        seen = status(sb, tmp_path)
        assert seen.returncode == 4, seen.stdout + seen.stderr
        assert f"killed        pid {start['pid']}, never finished" in seen.stdout
        assert f"started {start['started_at']} as pid {start['pid']} and never finished" in (
            seen.stdout
        )
        assert seen.stdout.strip().endswith("status: last run failed (exit 4)")

        again = symetrisk_run(sb, tmp_path)
        assert again.returncode == 0, again.stderr
        seen = status(sb, tmp_path)
        assert seen.returncode == 0, seen.stdout
        assert "killed" in seen.stdout  # still in the history, no longer the verdict


def test_a_run_still_going_is_not_taken_for_a_killed_one(tmp_path):
    with sandbox(borrowers=6, months=6, latency_ms=150) as sb:
        going = symetrisk_run(sb, tmp_path, wait=False)
        try:
            path = tmp_path / "dlt" / journal.FILE_NAME
            deadline = time.monotonic() + 120
            while not (path.exists() and "started" in path.read_text()):
                assert going.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
            runs = journal.latest(tmp_path / "dlt", 5)
        finally:
            going.wait(timeout=300)
        assert going.returncode == 0
    assert runs[0]["outcome"] == journal.RUNNING and runs[0]["pid"] == going.pid
    assert journal.latest(tmp_path / "dlt", 5)[0]["outcome"] == "ok"


def write_journal(pipelines_dir: Path, finished_hours_ago: float) -> None:
    finished = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=finished_hours_ago)
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    entry = {"run_id": "r1", "started_at": (finished - dt.timedelta(minutes=5)).isoformat(),
             "finished_at": finished.isoformat(), "outcome": "ok", "error": None, "rows": {},
             "requests": 10, "retries": 0, "errors": [], "seconds": 300.0}  # fmt: skip
    start = {"run_id": "r1", "started_at": entry["started_at"], "pid": os.getpid(),
             "event": "started"}  # fmt: skip
    (pipelines_dir / journal.FILE_NAME).write_text(json.dumps(start) + "\n" + json.dumps(entry))


@pytest.mark.parametrize(
    ("hours_ago", "args", "code"),
    [(40, (), 4), (40, ("--max-age-hours", "48"), 0), (2, (), 0), (2, ("--max-age-hours", "1"), 4)],
)
def test_max_age_hours_catches_a_night_without_a_successful_run(tmp_path, hours_ago, args, code):
    write_journal(tmp_path / "dlt", hours_ago)
    with sandbox(borrowers=3, months=3) as sb:
        seen = status(sb, tmp_path, *args)
    assert seen.returncode == code, seen.stdout + seen.stderr
    assert f"{hours_ago:.1f} hours ago" in seen.stdout or f"{hours_ago - 0.1:.1f}" in seen.stdout
    if code == 4:
        assert "no successful run in the last" in seen.stdout.splitlines()[-1]
