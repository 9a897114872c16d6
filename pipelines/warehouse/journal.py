"""The run journal: one JSON line per `symetrisk run` in `<pipelines dir>/runs.jsonl`, appended
when the run ends, whatever happened to it.

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
    path = journal_path(pipelines_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, default=str) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def latest(pipelines_dir: str | Path, limit: int) -> list[dict[str, Any]] | None:
    """The last `limit` runs, newest first; None when there is no journal. A line that cannot
    be read (a run killed mid-write) is skipped."""
    path = journal_path(pipelines_dir)
    if not path.exists():
        return None
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("outcome"):
            entries.append(entry)
    return entries[::-1][: max(1, limit)]
