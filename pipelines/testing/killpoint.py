"""Test-only: `SYMETRISK_TEST_KILL_AT=extract|normalize|load` makes `symetrisk run` SIGKILL
itself in the middle of that dlt step, so tests can show a killed run is finished by the next
one (tests/e2e/test_kill.py). Unset, nothing here runs.

It is a dlt progress collector: dlt calls `update` as rows are extracted, as files are
normalized and as load jobs complete, which marks "in the middle" without timing guesses.
`SYMETRISK_TEST_KILL_AT=extract:3` waits for the third such update.

`SYMETRISK_TEST_KILL_AT=committed:relationships` kills in the narrowest gap instead: after the
destination committed a load job of that table and before dlt recorded it
(pipelines/warehouse/resume.py).

`SYMETRISK_TEST_KILL_SIGNAL=INT` sends SIGINT (what Ctrl-C sends) instead of SIGKILL, so tests
can show an interrupted run stops with one line and exit 130."""

from __future__ import annotations

import os
import signal
from typing import Any

from dlt.common.runtime.collector import NullCollector

ENV = "SYMETRISK_TEST_KILL_AT"  # read by the hook, pipelines/testing/__init__.py
SIGNAL_ENV = "SYMETRISK_TEST_KILL_SIGNAL"
STEPS = ("extract", "normalize", "load", "committed")


def kill_signal() -> int:
    return signal.SIGINT if os.environ.get(SIGNAL_ENV) == "INT" else signal.SIGKILL


def collector_for(value: str) -> dict[str, Any]:
    """`progress=` for dlt.pipeline for the variable's value (or nothing, for `committed`)."""
    step, _, nth = value.partition(":")
    if step not in STEPS:
        raise ValueError(f"{ENV} must be one of {', '.join(STEPS)} (optionally :N), got {value!r}")
    if step == "committed":
        if not nth:
            raise ValueError(f"{ENV}=committed needs a table: committed:<table>")
        kill_after_commit(nth)
        return {}
    return {"progress": KillAt(step, int(nth or 1))}


def kill_after_commit(table: str) -> None:
    """Kill the process where dlt records that a load job of `table` committed."""
    from dlt.common.storages.load_package import PackageStorage

    record = PackageStorage.save_pending_transition

    def save_pending_transition(
        self: Any, load_id: str, file_name: str, state: str, *args: Any
    ) -> None:
        if state == "completed" and file_name.startswith(f"{table}."):
            os.kill(os.getpid(), kill_signal())
        record(self, load_id, file_name, state, *args)

    PackageStorage.save_pending_transition = save_pending_transition  # type: ignore[method-assign]


class KillAt(NullCollector):
    def __init__(self, step: str, nth: int = 1) -> None:
        self.kill_step, self.nth, self.seen, self.step = step, nth, 0, None

    def _start(self, step: str) -> None:
        self.step = step

    def _stop(self) -> None:
        self.step = None

    def update(self, name: str, inc: int = 1, *args: Any, **kwargs: Any) -> None:
        if not self.step or not self.step.lower().startswith(self.kill_step):
            return
        if name in ("Resources", "Files") or not inc or kwargs.get("label"):
            return
        self.seen += 1
        if self.seen == self.nth:
            os.kill(os.getpid(), kill_signal())
