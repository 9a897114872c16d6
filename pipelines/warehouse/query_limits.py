"""The limits of one `symetrisk sql` query, and running it so that Ctrl-C and the timeout stop
it within seconds on DuckDB and Postgres alike.

The query runs in a worker thread while the main thread waits: the main thread is where Python
delivers Ctrl-C, and a thread blocked inside the database's C code would not see it for as long
as the query runs. On Ctrl-C or at the timeout the main thread asks the database to stop
(DuckDB's `interrupt()`, Postgres' cancel request) and the command ends (exit 130 for Ctrl-C).

Settings (environment or the command's options):
- SYMETRISK_SQL_TIMEOUT_S (--timeout): a statement's longest run, default 300 s; on Postgres
  also its `statement_timeout`;
- SYMETRISK_SQL_MEMORY_LIMIT (--memory-limit): DuckDB's memory_limit, default 1GB;
- SYMETRISK_SQL_MAX_TEMP (--max-temp-size): DuckDB's temp space for queries larger than memory,
  default 0 = none: DuckDB writes no file at all. A size above 0 spills into a private temporary
  directory (0700) removed when the command ends.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MEMORY_LIMIT = "1GB"
DEFAULT_MAX_TEMP = "0"
SETTING_TIMEOUT = "SYMETRISK_SQL_TIMEOUT_S"
SETTING_MEMORY = "SYMETRISK_SQL_MEMORY_LIMIT"
SETTING_TEMP = "SYMETRISK_SQL_MAX_TEMP"
# after asking the database to stop, how long to wait for the query to come back
STOP_GRACE_S = 5.0


class QueryTimeout(Exception):
    """The statement ran past its timeout and was stopped."""


def default_timeout() -> float:
    return float(os.environ.get(SETTING_TIMEOUT) or DEFAULT_TIMEOUT_S)


def default_memory_limit() -> str:
    return os.environ.get(SETTING_MEMORY) or DEFAULT_MEMORY_LIMIT


def default_max_temp() -> str:
    return os.environ.get(SETTING_TEMP) or DEFAULT_MAX_TEMP


def no_temp(size: str) -> bool:
    return size.strip().lower() in ("0", "0b", "0mb", "0gb", "none", "")


def duckdb_limits(memory_limit: str, max_temp: str, temp_dir: str | None) -> dict[str, Any]:
    """DuckDB settings for a reader: memory and temp space, and no temp directory (so no file
    DuckDB may write) unless temp space is allowed."""
    limits: dict[str, Any] = {"memory_limit": memory_limit, "threads": 2}
    if temp_dir is None:
        limits["temp_directory"] = ""
    else:
        limits["temp_directory"] = temp_dir
        limits["max_temp_directory_size"] = max_temp
    return limits


def run_stoppable(work: Callable[[], T], stop: Callable[[], None], timeout_s: float) -> T:
    """`work()` in a worker thread; Ctrl-C (KeyboardInterrupt, raised again) or `timeout_s`
    (QueryTimeout) call `stop()` first and wait a few seconds for the work to give up."""
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def worker() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            outcome["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=worker, name="symetrisk-sql", daemon=True)
    thread.start()
    try:
        finished = done.wait(timeout_s if timeout_s and timeout_s > 0 else None)
    except KeyboardInterrupt:
        _stop(stop, done)
        raise
    if not finished:
        _stop(stop, done)
        raise QueryTimeout(
            f"the statement ran longer than {timeout_s:g} s and was stopped "
            f"(--timeout or {SETTING_TIMEOUT})"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _stop(stop: Callable[[], None], done: threading.Event) -> None:
    # the connection may be gone already; a second Ctrl-C while waiting: leave now
    with contextlib.suppress(Exception):
        stop()
    with contextlib.suppress(KeyboardInterrupt):
        done.wait(STOP_GRACE_S)
