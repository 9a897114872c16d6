"""The run journal: JSON lines per `symetrisk run` in `<pipelines dir>/runs.jsonl`: one when the
run starts (its id, start time and pid, under the run lock), one when it ends, whatever happened
to it. A run whose start line has no end line was killed (SIGKILL, the OOM killer, a reboot) or
crashed, unless it is still going: its pid is alive and is the one the run lock file names.

The warehouse's `runs` table records a run only once the run can write the warehouse, and
readers see it only once a build is published. A run refused by the run lock, stopped by bad
settings or arguments, or unable to write the warehouse at all still ends here, so
`symetrisk status` can name the failed night (exit 4) until a later run succeeds. Lines are
appended in the order runs end; the last line is the latest outcome."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

FILE_NAME = "runs.jsonl"
FIELDS = (
    "run_id",
    "started_at",
    "finished_at",
    "outcome",
    "error",
    "rows",
    "requests",
    "retries",
    "errors",
    "credit",
)


def journal_path(pipelines_dir: str | Path) -> Path:
    return Path(pipelines_dir) / FILE_NAME


def append(record: Any, pipelines_dir: str | Path, warehouse: str | None) -> None:
    """Add `record` (a runs.RunRecord, secrets already masked) as one line; one write with
    O_APPEND, so runs ending at once never interleave."""
    entry = {name: getattr(record, name, None) for name in FIELDS}
    entry["seconds"] = record.seconds
    entry["warehouse"] = warehouse
    for name in ("started_at", "finished_at"):
        if isinstance(entry[name], dt.datetime):
            entry[name] = entry[name].isoformat()
    _write(journal_path(pipelines_dir), entry)


# a run's outcomes; runs.py hands them on, since the journal is the leaf both read
OK, FAILED, MODELS_FAILED = "ok", "failed", "models_failed"
PARTIAL = (
    "partial"  # some borrowers were skipped for failures (listed in `errors`), the rest loaded
)
KILLED = "killed"  # started, never finished, not running: killed or crashed
RUNNING = "running"  # started, not finished, its process still holds the run lock


def started(record: Any, pipelines_dir: str | Path) -> None:
    """Record that `record`'s run started (before it reads or writes anything)."""
    entry = {
        "run_id": record.run_id,
        "started_at": record.started_at.isoformat(),
        "pid": os.getpid(),
        "event": "started",
    }
    _write(journal_path(pipelines_dir), entry)


def _write(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, default=str) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def latest(pipelines_dir: str | Path, limit: int) -> list[dict[str, Any]] | None:
    """The last `limit` runs, newest first; None when there is no journal. A run that started
    and never ended is there too, with outcome KILLED, or RUNNING when its process still holds
    the run lock. A line that cannot be read (a run killed mid-write) is skipped."""
    path = journal_path(pipelines_dir)
    if not path.exists():
        return None
    ordered: dict[str, tuple[int, dict[str, Any]]] = {}
    unnamed: list[tuple[int, dict[str, Any]]] = []
    for position, line in enumerate(path.read_text(errors="replace").splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        run_id = entry.get("run_id")
        if entry.get("event") == "started" and run_id:
            ordered.setdefault(run_id, (position, _unfinished(entry, pipelines_dir)))
        elif entry.get("outcome"):
            if run_id:
                ordered[run_id] = (position, entry)
            else:
                unnamed.append((position, entry))
    entries = sorted([*ordered.values(), *unnamed], key=lambda item: item[0])
    return [entry for _, entry in entries][::-1][: max(1, limit)]


def _unfinished(entry: dict[str, Any], pipelines_dir: str | Path) -> dict[str, Any]:
    pid = entry.get("pid")
    going = isinstance(pid, int) and holds_run_lock(pid, pipelines_dir)
    return {
        **entry,
        "outcome": RUNNING if going else KILLED,
        "error": None
        if going
        else f"started {entry.get('started_at')} as pid {pid} and never finished: killed "
        "(SIGKILL, out of memory, a reboot) or crashed; the next run finishes its load",
    }


def holds_run_lock(pid: int, pipelines_dir: str | Path) -> bool:
    """True when process `pid` is alive and is the owner the run lock file names. (The lock
    file keeps the last owner's line after it ends; the kernel frees the lock itself.)"""
    from pipelines.warehouse.runlock import DIR_LOCK_NAME

    try:
        owner = (Path(pipelines_dir) / DIR_LOCK_NAME).read_text(errors="replace")
    except OSError:
        return False
    if not owner.startswith(f"pid {pid},"):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def last_success(pipelines_dir: str | Path) -> tuple[bool, str | None]:
    """(whether the journal exists, when its newest `ok` or `partial` run finished)."""
    everything = latest(pipelines_dir, 10**9)
    if everything is None:
        return False, None
    for entry in everything:
        if entry.get("outcome") in (OK, PARTIAL):
            return True, entry.get("finished_at") or entry.get("started_at")
    return True, None
