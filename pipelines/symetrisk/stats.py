"""What one run did, counted while it happens: requests and retries (from the HTTP session),
rows new/changed/unchanged per table (from the resources), borrowers done, and the lines a
person should read (skipped resources, skipped borrowers). The CLI shows it as progress and as
the closing summary; issue 8's run history stores it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

ROW_KINDS = ("new", "changed", "unchanged", "reloaded")


@dataclass
class RunStats:
    started: float = field(default_factory=time.monotonic)
    requests: int = 0
    retries: int = 0
    requests_by_status: dict[int, int] = field(default_factory=dict)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    borrowers_total: int = 0
    borrowers_done: int = 0
    snapshots_fetched: int = 0
    wire_bytes: int = 0  # response bodies as received (compressed), the GETs
    extract_done: bool = False
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    info_notes: set[str] = field(default_factory=set)
    # borrowers skipped because their calls kept failing or their data could not be loaded:
    # organization_number -> reason; any makes the run `partial`
    failed: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def request(self, retry: bool) -> None:
        with self._lock:
            self.requests += 1
            if retry:
                self.retries += 1

    def wire(self, n: int) -> None:
        with self._lock:
            self.wire_bytes += n

    def status(self, code: int) -> None:
        with self._lock:
            self.requests_by_status[code] = self.requests_by_status.get(code, 0) + 1

    def count(self, table: str, kind: str, n: int = 1) -> None:
        if not n:
            return
        table_rows = self.rows.setdefault(table, dict.fromkeys(ROW_KINDS, 0))
        table_rows[kind] += n

    def table(self, table: str) -> dict[str, int]:
        """Declare a table so it shows in the summary even when nothing changed."""
        return self.rows.setdefault(table, dict.fromkeys(ROW_KINDS, 0))

    def note(self, line: str, info: bool = False) -> None:
        """A line for the person running the load; `info`: expected every run (a table the
        role may not read), so `--quiet` leaves it out; the others are warnings."""
        self.notes.append(line)
        if info:
            self.info_notes.add(line)

    def error(self, line: str) -> None:
        self.errors.append(line)

    def fail(self, org: str, table: str, reason: str) -> None:
        """A borrower skipped for a failure (not for a 403/404): the run ends `partial`."""
        self.failed.setdefault(org, f"{table}: {reason}")
        self.errors.append(f"{org}: {table}: {reason}")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started
