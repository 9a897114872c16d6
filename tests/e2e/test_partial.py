"""One broken borrower spoils nothing: a borrower whose calls keep failing (the sandbox's
`failing_borrowers` switch) or whose data cannot be loaded is skipped with its reason, every
other borrower loads and equals the API, the skipped one keeps its old state, and the run ends
`partial` with its own exit code, a runs row that lists it, and a status that shows it. When
nearly every borrower fails, the API is down and the run fails as before."""

from __future__ import annotations

import json
import subprocess
import sys

import orjson
import pytest

from pipelines.cli.run import PARTIAL_EXIT
from pipelines.cli.status import RUN_PARTIAL_EXIT
from pipelines.sandbox.portfolio import Rendered
from tests.warehouse_checks import (
    Api,
    admin,
    assert_snapshots_equal_api,
    borrower_state,
    cli_env,
    dump,
    local_state,
    newest_landed,
    query,
    sandbox,
    symetrisk_run,
)

pytestmark = pytest.mark.e2e

SIZE = {"borrowers": 16, "months": 14, "seed": 3}
FEW_ATTEMPTS = {"SOURCES__SYMETRISK__MAX_ATTEMPTS": "3"}


def last_run(work) -> dict:
    sql = (
        "select outcome, error, cast(errors as varchar) from symetrisk_raw.runs "
        "order by started_at desc limit 1"
    )
    outcome, error, errors = query(work, sql)[0]
    return {"outcome": outcome, "error": error, "errors": json.loads(errors)}


def test_one_borrower_failing_leaves_every_other_loaded_and_its_state_kept(tmp_path):
    with sandbox(**SIZE) as sb:
        api = Api(sb)
        first = symetrisk_run(sb, tmp_path)
        assert first.returncode == 0, first.stderr
        approved = api.approved()
        broken = approved[3]
        state_before = borrower_state(local_state(tmp_path))[broken]
        admin(sb, "/advance-month")
        admin(sb, "/faults", failing_borrowers=[broken])

        run = symetrisk_run(sb, tmp_path, **FEW_ATTEMPTS)
        assert run.returncode == PARTIAL_EXIT, run.stderr
        line = run.stderr.strip().splitlines()[-1]
        assert line.startswith("symetrisk run partial: 1 borrower(s) skipped after failures"), line
        assert broken in line and "Traceback" not in run.stderr
        assert "outcome=partial" in run.stdout
        # every other borrower is loaded and equal to the API, the new month included
        others = [o for o in approved if o != broken]
        assert assert_snapshots_equal_api(api, tmp_path, others) > 100
        # the broken one keeps its old state and rows: the next run tries it again
        assert borrower_state(local_state(tmp_path))[broken] == state_before
        assert newest_landed(tmp_path)[broken] == state_before
        recorded = last_run(tmp_path)
        assert recorded["outcome"] == "partial"
        assert any(e.startswith(f"{broken}: accounting_snapshots: ") for e in recorded["errors"])

        status = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "status"],
            env=cli_env(sb, tmp_path),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert status.returncode == RUN_PARTIAL_EXIT, status.stdout + status.stderr
        assert "skipped    by the last run" in status.stdout and broken in status.stdout

        admin(sb, "/faults", failing_borrowers=[])
        again = symetrisk_run(sb, tmp_path)
        assert again.returncode == 0, again.stderr
        assert assert_snapshots_equal_api(api, tmp_path, approved) > 100


def test_a_borrower_whose_data_cannot_be_loaded_is_skipped(tmp_path):
    with sandbox(**SIZE) as sb:
        api = Api(sb)
        approved = api.approved()
        broken = approved[0]
        portfolio = sb.sandbox.portfolio
        rendered = portfolio.rendered(broken)
        newest = orjson.loads(rendered.items[0])
        newest["snapshot_date"] = "last month"
        key = next(k for k, v in portfolio._rendered.items() if v is rendered)
        items = [orjson.dumps(newest), *rendered.items[1:]]
        portfolio._rendered[key] = Rendered(items=items, latest=rendered.latest)

        run = symetrisk_run(sb, tmp_path)
        assert run.returncode == PARTIAL_EXIT, run.stderr
        assert broken in run.stderr.strip().splitlines()[-1]
        assert "data that cannot be loaded" in run.stderr
        assert "'last month'" in json.dumps(last_run(tmp_path)["errors"])
        assert broken not in newest_landed(tmp_path)
        assert assert_snapshots_equal_api(api, tmp_path, approved[1:]) > 100


def test_nearly_every_borrower_failing_fails_the_run_and_loads_nothing(tmp_path):
    with sandbox(**SIZE) as sb:
        api = Api(sb)
        assert symetrisk_run(sb, tmp_path).returncode == 0
        before = dump(tmp_path / "warehouse.duckdb")
        admin(sb, "/advance-month")
        admin(sb, "/faults", failing_borrowers=api.approved())
        run = symetrisk_run(sb, tmp_path, **FEW_ATTEMPTS)
    assert run.returncode == 1, run.stderr
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("symetrisk run failed: the API kept failing on GET /"), line
    assert "nothing of this run was loaded" in line and "Traceback" not in run.stderr
    assert dump(tmp_path / "warehouse.duckdb") == before
