"""Publishing a build: the loader and the model build write a working DuckDB file of their own,
and readers open only the published file, which is replaced whole by an atomic rename
(docs/operations.md, "Readers and the nightly run").

The working file persists between runs: it holds dlt's state, the merged history and whatever a
killed run left half-loaded. When it is missing and a published file exists (the first run
after an upgrade, or a deleted working file), it is seeded from the published file, its
write-ahead log included."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

WORK_SUFFIX = ".work"


@dataclass
class Published:
    """What one publish cost."""

    path: Path
    seconds: float
    bytes: int


def working_path(published: str | Path) -> Path:
    """The loader's own file beside the published one: `dir/.name.work.duckdb`."""
    path = Path(published)
    return path.with_name(f".{path.stem}{WORK_SUFFIX}{path.suffix}")


def wal_path(database: str | Path) -> Path:
    return Path(f"{database}.wal")


def prepare_working(published: str | Path) -> Path:
    """The working file of `published`, seeded from the published file when it has none yet.
    Call it only while holding the run lock (pipelines/warehouse/runlock.py)."""
    published = Path(published)
    working = working_path(published)
    if working.exists() or not published.exists():
        return working
    _copy(published, working)
    if wal_path(published).exists():  # written by a loader that wrote the published file itself
        _copy(wal_path(published), wal_path(working))
    return working


def publish(working: str | Path, published: str | Path) -> Published:
    """Checkpoint `working` (no connection to it may be open in this process) and replace
    `published` with a copy of it, atomically. Raises OSError or duckdb.Error; the published
    file is then untouched."""
    import duckdb

    started = time.perf_counter()
    working, published = Path(working), Path(published)
    with duckdb.connect(str(working)) as con:
        con.execute("checkpoint")
    if wal_path(working).exists():
        raise RuntimeError(f"{working} still has a write-ahead log after a checkpoint")
    for stale in published.parent.glob(f".{published.name}.part-*"):
        stale.unlink(missing_ok=True)  # a copy a killed publish left (we hold the run lock)
    # a log left beside the published file by an older loader would be replayed into the new
    # build by the next reader: it goes just before the new file arrives
    _copy(working, published, before_replace=lambda: wal_path(published).unlink(missing_ok=True))
    _fsync_dir(published.parent)
    return Published(published, time.perf_counter() - started, published.stat().st_size)


def _copy(source: Path, target: Path, before_replace: Callable[[], None] | None = None) -> None:
    """Copy `source` to `target` through a temporary name in the target's directory, flushed to
    disk before it replaces `target` in one rename."""
    part = target.with_name(f".{target.name}.part-{os.getpid()}")
    try:
        shutil.copyfile(source, part)
        with open(part, "rb+") as handle:
            os.fsync(handle.fileno())
        if before_replace:
            before_replace()
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
