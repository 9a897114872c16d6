"""`symetrisk run` killed with SIGKILL during extract, normalize and load (the moment picked by
pipelines/testing/killpoint.py), then run again: the warehouse equals a clean run's, no row lost
or doubled, and the pipeline state never says a month was loaded that is not in the warehouse."""

from __future__ import annotations

import io
import re
import shutil
import signal
from datetime import date

import pytest

from tests.warehouse_checks import (
    admin,
    assert_same_warehouse,
    load,
    local_state,
    sandbox,
    state_ahead_of_data,
    symetrisk_run,
    warehouse_state,
)

pytestmark = pytest.mark.e2e

SIZE = {"borrowers": 15, "months": 24, "seed": 5, "as_of": date(2026, 3, 31)}
FINISHING = "finishing 1 load package(s) left by an interrupted run"
RELOADING = re.compile(r"^reloading staging table\(s\) (.*): a load job", re.M)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The warehouses of a clean full load and of the incremental load a month later."""
    base = tmp_path_factory.mktemp("clean")
    with sandbox(**SIZE) as sb:
        load(sb, base / "full")
        shutil.copytree(base / "full", base / "next")
        admin(sb, "/advance-month")
        load(sb, base / "next")
    return {"full": base / "full" / "warehouse.duckdb", "next": base / "next" / "warehouse.duckdb"}


@pytest.mark.parametrize(
    "step",
    ["extract", "normalize", "load", "committed:relationships", "committed:accounting_snapshots"],
)
def test_killed_run_is_finished_by_the_next_run(step, tmp_path, clean):
    # extract: killed at the 4th batch of rows, with small batches so it is mid-stream;
    # committed: after DuckDB committed a staging copy of the SCD2 table (or of the snapshots,
    # merged without deduplication), before dlt recorded it
    kill = {"SYMETRISK_TEST_KILL_AT": "extract:4" if step == "extract" else step}
    with sandbox(**SIZE) as sb:
        # the full load, killed, then `symetrisk run` again
        killed = symetrisk_run(sb, tmp_path, SOURCES__SYMETRISK__BATCH_ROWS="40", **kill)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert_state_not_ahead(tmp_path, step)
        again = symetrisk_run(sb, tmp_path)
        assert again.returncode == 0, again.stderr
        assert (FINISHING in again.stderr) == (step != "extract")
        if step.startswith("committed"):  # a kill at "load" may land in that gap too
            assert step.partition(":")[2] in reloaded(again.stderr)
        assert assert_same_warehouse(tmp_path / "warehouse.duckdb", clean["full"]) > 100
        if step == "normalize":
            return  # in an incremental load it leaves what a kill during load leaves
        # a month later, the incremental load killed, then run again (in this process)
        admin(sb, "/advance-month")
        killed = symetrisk_run(sb, tmp_path, **kill)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert_state_not_ahead(tmp_path, step)
        out = io.StringIO()
        load(sb, tmp_path, out=out)
        assert (FINISHING in out.getvalue()) == (step != "extract")
        if step.startswith("committed"):  # a kill at "load" may land in that gap too
            assert step.partition(":")[2] in reloaded(out.getvalue())
        assert assert_same_warehouse(tmp_path / "warehouse.duckdb", clean["next"]) > 100
    assert not state_ahead_of_data(warehouse_state(tmp_path), tmp_path)
    assert not state_ahead_of_data(local_state(tmp_path), tmp_path)


def reloaded(output: str) -> list[str]:
    """The staging tables a resumed run said it emptied and loaded again."""
    found = RELOADING.search(output)
    return found.group(1).split(", ") if found else []


def assert_state_not_ahead(work, step):
    """The state stored in the warehouse never runs ahead of its data; the local state may
    only when the package holding that data waits in the working dir for the next run."""
    assert not state_ahead_of_data(warehouse_state(work), work)
    folders = ("load/normalized", "normalize/extracted")
    pending = [
        package
        for folder in folders
        for package in (work / "dlt" / "symetrisk" / folder).glob("*")
        if package.name.replace(".", "").isdigit()  # a load id
    ]
    # on a failure, which packages wait where (with their files), to tell a leftover from a new one
    named = [f"{p.relative_to(work)}: {sorted(f.name for f in p.rglob('*'))}" for p in pending]
    if step == "extract":
        assert not state_ahead_of_data(local_state(work), work)
        assert not pending, named
    else:
        assert len(pending) == 1, named
