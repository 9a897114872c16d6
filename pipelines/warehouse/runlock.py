"""One `symetrisk run` at a time per warehouse and per dlt working dir.

An OS file lock (`fcntl.flock`) on a lock file beside the DuckDB warehouse
(`<file>.duckdb.lock`) and in the dlt working dir (`symetrisk-run.lock`): the kernel drops it
when the process ends, however it ends, so a killed run never leaves a stale lock behind. The
lock file holds the owner's pid and start time, for the message a second run prints.

Every other way the warehouse can be busy or unwritable (another process holding a DuckDB file,
a directory or disk that cannot be written) is one line from `busy_message`: the file, the
holding process where DuckDB names it, and what to do. The commands exit with BUSY_EXIT then."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path

from pipelines.symetrisk.errors import SymetriskError
from pipelines.warehouse.publish import working_path

DIR_LOCK_NAME = "symetrisk-run.lock"
BUSY_EXIT = 3  # documented in the README's exit codes
DUCKDB_LOCK = re.compile(
    r'Could not set lock on file "(?P<file>[^"]+)": Conflicting lock is held in '
    r"(?P<program>.+?) \(PID (?P<pid>\d+)\)"
)


class RunLockedError(SymetriskError):
    """Another run holds the lock; the message names it and what to do."""


@contextlib.contextmanager
def run_lock(warehouse: str | Path | None, pipelines_dir: str | Path | None) -> Iterator[None]:
    """Hold the locks of the warehouse file (None: not a local file) and of the dlt working
    dir (None: `symetrisk models`, which does not use it), or raise RunLockedError at once,
    without waiting."""
    targets = {}
    if pipelines_dir is not None:
        targets[Path(pipelines_dir).resolve() / DIR_LOCK_NAME] = Path(pipelines_dir)
    if warehouse:
        path = Path(warehouse).resolve()
        targets[path.with_name(path.name + ".lock")] = Path(warehouse)
    with contextlib.ExitStack() as stack:
        for lock_path, target in targets.items():
            stack.enter_context(_locked(lock_path, target))
        if warehouse:
            _check_not_held(working_path(warehouse))
        yield


def _check_not_held(database: Path) -> None:
    """Raise RunLockedError when another process (not a run: we hold the run lock) has the
    loader's working file open, before the run does anything."""
    import duckdb

    if not database.exists():
        return
    try:
        duckdb.connect(str(database)).close()
    except duckdb.Error as exc:
        message = busy_message(exc)
        if message:
            raise RunLockedError(message) from None


@contextlib.contextmanager
def _locked(lock_path: Path, target: Path) -> Iterator[None]:
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RunLockedError(unwritable(lock_path, exc)) from None
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


def unwritable(path: Path | str, exc: OSError) -> str:
    reason = exc.strerror or type(exc).__name__
    return (
        f"cannot write {path} ({reason}): the warehouse and dlt's working dir need a writable "
        "directory; fix its permissions or disk, or point --destination / --pipelines-dir "
        "elsewhere (nothing was loaded)"
    )


def busy_message(exc: BaseException, reading: bool = False) -> str | None:
    """One line for a DuckDB file held by another process, or a file that cannot be written;
    None for any other error. `reading`: the caller only wanted to read the file."""
    import duckdb

    if isinstance(exc, RunLockedError):
        return str(exc)
    if isinstance(exc, PermissionError | IsADirectoryError) or (
        isinstance(exc, OSError) and exc.errno in (30, 28)  # EROFS, ENOSPC
    ):
        return unwritable(exc.filename or "the warehouse", exc)
    if not isinstance(exc, duckdb.Error):
        return None
    found = DUCKDB_LOCK.search(str(exc))
    if not found:
        text = str(exc)
        if "Permission denied" in text or "Read-only file system" in text:
            return f"cannot write the warehouse: {text.splitlines()[0]}"
        return None
    holder = f"{found['program']} (pid {found['pid']})"
    if reading:
        return (
            f"{found['file']} is open for writing by {holder}; readers cannot open it until "
            "that process closes it (open it read-only there, e.g. `duckdb -readonly`, and "
            "let only `symetrisk run` write the warehouse)"
        )
    return (
        f"{found['file']} is held by {holder}; close that process or its connection and run "
        "again (this run changed nothing there)"
    )
