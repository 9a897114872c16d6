"""Publishing a build: the loader and the model build write a working DuckDB file of their own,
and readers open only the published file, which is replaced whole by an atomic rename
(docs/operations.md, "Readers and the nightly run").

The working file persists between runs: it holds dlt's state, the merged history and whatever a
killed run left half-loaded. When it is missing and a published file exists (the first run
after an upgrade, or a deleted working file), it is seeded from the published file, its
write-ahead log included; a working file without dlt's state beside a published file that has
it (the empty database the DuckDB CLI creates at a path that does not exist) is seeded over.

Both copies, the publish and the seed, are reflinks where the filesystem has them (btrfs, XFS:
the blocks are shared until written, so a publish copies nothing) and byte copies elsewhere
(ext4): one copy per published build, the least a rename-published build needs while readers
may hold the previous one and the working file stays."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

WORK_SUFFIX = ".work"


def working_path(published: str | Path) -> Path:
    """The loader's own file beside the published one: `dir/.name.work.duckdb`."""
    path = Path(published)
    return path.with_name(f".{path.stem}{WORK_SUFFIX}{path.suffix}")


def wal_path(database: str | Path) -> Path:
    return Path(f"{database}.wal")


@dataclass
class Seeded:
    """The last seeding of a working file in this process (None: none yet)."""

    path: Path
    seconds: float
    bytes: int
    cloned: bool  # a reflink, not a copy


last_seed: Seeded | None = None


def prepare_working(published: str | Path) -> Path:
    """The working file of `published`, seeded from the published file when it has none yet.
    Call it only while holding the run lock (pipelines/warehouse/runlock.py)."""
    global last_seed
    published = Path(published)
    working = working_path(published)
    if not published.exists() or (working.exists() and not _stray(working, published)):
        return working
    started = time.perf_counter()
    wal_path(working).unlink(missing_ok=True)  # a stray file's log, if any
    cloned = _copy(published, working)
    if wal_path(published).exists():  # written by a loader that wrote the published file itself
        _copy(wal_path(published), wal_path(working))
    last_seed = Seeded(working, time.perf_counter() - started, working.stat().st_size, cloned)
    return working


def _stray(working: Path, published: Path) -> bool:
    """Whether `working` holds no dlt state while `published` does: not a loader's working file
    (dlt writes its state tables on a run's first load) but, say, the empty database the DuckDB
    CLI creates at a path that does not exist. A file another process holds, or one DuckDB
    cannot open, is left to the run lock and the run to report."""
    return _has_state(working) is False and _has_state(published) is True


def _has_state(database: Path) -> bool | None:
    import duckdb

    try:
        with duckdb.connect(str(database), read_only=True) as con:
            return con.execute(
                "select count(*) > 0 from information_schema.tables "
                "where table_name = '_dlt_pipeline_state'"
            ).fetchone()[0]
    except duckdb.Error:
        return None


@dataclass
class Published:
    """What one publish cost."""

    path: Path
    seconds: float
    bytes: int
    cloned: bool = False  # a reflink, not a copy


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
    cloned = _copy(
        working, published, before_replace=lambda: wal_path(published).unlink(missing_ok=True)
    )
    _fsync_dir(published.parent)
    return Published(published, time.perf_counter() - started, published.stat().st_size, cloned)


def _copy(source: Path, target: Path, before_replace: Callable[[], None] | None = None) -> bool:
    """Copy `source` to `target` through a temporary name in the target's directory, flushed to
    disk before it replaces `target` in one rename. A reflink where the filesystem can (True),
    else a byte copy."""
    part = target.with_name(f".{target.name}.part-{os.getpid()}")
    try:
        cloned = _clone(source, part)
        if not cloned:
            shutil.copyfile(source, part)
        _fsync(part)
        if before_replace:
            before_replace()
        os.replace(part, target)
        return cloned
    finally:
        part.unlink(missing_ok=True)


FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)


def _clone(source: Path, target: Path) -> bool:
    """Reflink `source` to a new `target` (shared blocks, copied when written); False where the
    filesystem or the platform cannot, `target` then absent."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        return False
    with open(source, "rb") as src, open(target, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return True
        except OSError:
            pass
    target.unlink(missing_ok=True)
    return False


def _fsync(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
