"""One `symetrisk run` at a time per warehouse and per dlt working dir.

An OS file lock (`fcntl.flock`) on a lock file beside the DuckDB warehouse
(`<file>.duckdb.lock`) and in the dlt working dir (`symetrisk-run.lock`): the kernel drops it
when the process ends, however it ends, so a killed run never leaves a stale lock behind. The
lock file holds the owner's pid and start time, for the message a second run prints."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from pipelines.symetrisk.errors import SymetriskError

DIR_LOCK_NAME = "symetrisk-run.lock"


class RunLockedError(SymetriskError):
    """Another run holds the lock; the message names it and what to do."""


@contextlib.contextmanager
def run_lock(warehouse: str | Path | None, pipelines_dir: str | Path) -> Iterator[None]:
    """Hold the locks of the warehouse file (None: not a local file) and of the dlt working
    dir, or raise RunLockedError at once, without waiting."""
    targets = {Path(pipelines_dir).resolve() / DIR_LOCK_NAME: Path(pipelines_dir)}
    if warehouse:
        path = Path(warehouse).resolve()
        targets[path.with_name(path.name + ".lock")] = Path(warehouse)
    with contextlib.ExitStack() as stack:
        for lock_path, target in targets.items():
            stack.enter_context(_locked(lock_path, target))
        yield


@contextlib.contextmanager
def _locked(lock_path: Path, target: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise RunLockedError(
                f"another symetrisk run ({owner}) is using {target}; wait for it to finish "
                f"(this run changed nothing; the lock is {lock_path})"
            ) from None
        started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {started}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
