"""`symetrisk status` as a monitor uses it, against the real sandbox over HTTP: exit 0 when all is
well, 3 when the API is down, 4 when the last run failed; without settings or a warehouse it says
what it did not check."""

from __future__ import annotations

import datetime as dt
import socket
import time

import pytest

from pipelines import cli
from tests.conftest import fetch_all, session_for, use_api

ASKED = "912345602"  # a valid number outside the sandbox portfolio


def last_run_id(out: str) -> str | None:
    """The run id named on status's `last run` line."""
    line = next((x for x in out.splitlines() if x.startswith("last run   ")), "")
    return line.split()[2] if line else None


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["status", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out


def test_no_settings_no_warehouse_checks_nothing_and_says_so(clean_env, capsys):
    code, out = status(capsys)
    assert code == 0
    assert "API        not checked: no SOURCES__SYMETRISK__CLIENT_ID configured" in out
    assert "used only by `symetrisk run`" in out
    assert "warehouse  none yet at data/symetrisk.duckdb" in out
    assert out.strip().endswith("status: ok (exit 0)")


@pytest.mark.e2e
def test_api_down_is_exit_3(clean_env, monkeypatch, capsys):
    use_api(monkeypatch, f"http://127.0.0.1:{closed_port()}", CLIENT_SECRET="secret-not-shown-42")
    started = time.monotonic()
    code, out = status(capsys)
    assert code == 3
    assert "API        DOWN: cannot reach" in out and "secret-not-shown-42" not in out
    assert out.strip().endswith("status: API check failed (exit 3)")
    assert time.monotonic() - started < 15


@pytest.mark.e2e
def test_all_well_then_failed_run_then_well_again(clean_env, monkeypatch, capsys, start_sandbox):
    with start_sandbox(borrowers=20, months=8) as sb:
        use_api(monkeypatch, sb.base_url)
        # a consent asked for at the sandbox's clock (2026-04-01), long before today
        with session_for(sb) as bank:
            body = {"borrowers": [{"organization_number": ASKED}]}
            bank.post(sb.api_url + "/request-access", json=body, timeout=10).raise_for_status()
        assert cli.main(["run", "--quiet", "--no-models"]) == 0
        code, out = status(capsys)
        assert code == 0, out
        assert "API        ok:" in out
        assert "company    Sandbox Sparebank (bank" in out and "client demo-bank" in out
        assert "demo-bank-secret" not in out
        assert "consents   access_approved " in out and "(from the API)" in out
        assert "freshness  newest month loaded 2026-03" in out
        assert "runs       last 1 (run journal data/dlt/runs.jsonl" in out and " ok " in out

        # consents asked for more than 14 days ago (by the real clock) and still unanswered
        with session_for(sb) as bank:
            rels = fetch_all(bank, sb.api_url + "/relationships")
        now = dt.datetime.now(dt.timezone.utc)
        waiting = sorted(
            r["organization_number"]
            for r in rels
            if r["relationship_state"] == "access_requested"
            and now - dt.datetime.fromisoformat(r["requested_at"].replace("Z", "+00:00"))
            > dt.timedelta(days=15)
        )
        assert ASKED in waiting
        listed = sorted(line.split()[0] for line in out.splitlines() if "  requested 20" in line)
        assert listed == waiting
        assert "pending    none waiting" in status(capsys, "--pending-days", "100000")[1]

        use_api(monkeypatch, sb.base_url, CLIENT_SECRET="wrong-secret-17")
        assert cli.main(["run", "--quiet", "--no-models"]) == 1
        use_api(monkeypatch, sb.base_url)
        code, out = status(capsys)
        assert code == 4, out
        assert "failed" in out and "error: the token endpoint refused" in out
        failed_id = last_run_id(out)
        assert failed_id and "failed: the token endpoint refused" in out
        assert out.strip().endswith("status: last run failed (exit 4)")

        use_api(monkeypatch, sb.base_url, CLIENT_SECRET="wrong-secret-17")
        code, out = status(capsys)
        assert code == 3 and "API        FAILED: the token endpoint refused" in out

        use_api(monkeypatch, sb.base_url)
        assert cli.main(["run", "--quiet", "--no-models"]) == 0
        assert status(capsys)[0] == 0

    # the API gone, the warehouse still answers
    monkeypatch.delenv("SOURCES__SYMETRISK__CLIENT_ID")
    code, out = status(capsys)
    assert code == 0
    assert "(from the warehouse, as of the last run)" in out and "last 3" in out


@pytest.mark.e2e
def test_a_run_failed_at_configuration_is_exit_4_until_a_run_succeeds(
    clean_env, monkeypatch, capsys, start_sandbox
):
    """The very first run fails on its settings, before any warehouse exists: status names it
    and exits 4; the next good run clears it."""
    with start_sandbox(borrowers=6, months=6) as sb:
        use_api(monkeypatch, sb.base_url, BORROWERS="not-a-list-of-numbers")
        assert cli.main(["run", "--quiet", "--no-models"]) == 1
        failed = capsys.readouterr().out.strip().splitlines()[-1]
        run_id = failed.split("run_id=")[1].split()[0]
        assert not (clean_env / "data" / "symetrisk.duckdb").exists()
        code, out = status(capsys)
        assert code == 4, out
        assert f"last run   {run_id} failed: " in out and "SOURCES__SYMETRISK__BORROWERS" in out
        assert "warehouse  none yet" in out
        assert out.strip().endswith("status: last run failed (exit 4)")

        monkeypatch.delenv("SOURCES__SYMETRISK__BORROWERS")
        assert cli.main(["run", "--quiet", "--no-models"]) == 0
        code, out = status(capsys)
        assert code == 0 and "last 2 (run journal" in out, out


def test_an_unwritable_warehouse_is_one_line_exit_3_and_status_exit_4(clean_env, capsys):
    """A warehouse on a disk the loader cannot write (/sys refuses new files, even to root):
    one line naming the file, exit 3, nothing started; recorded, so status exits 4."""
    code = cli.main(["run", "--quiet", "--destination", "/sys/symetrisk/warehouse.duckdb"])
    out, err = capsys.readouterr()
    assert code == 3
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "cannot write /sys/symetrisk/warehouse.duckdb.lock (" in err
    assert "need a writable directory" in err
    assert "outcome=failed" in out.strip().splitlines()[-1]
    code, out = status(capsys, "--database", "/sys/symetrisk/warehouse.duckdb")
    assert code == 4 and "cannot write /sys/symetrisk/warehouse.duckdb.lock" in out, out
