"""One process-wide "stop now" for the threads of a run: set by Ctrl-C (dlt's signal flag while
dlt runs its steps, `request_stop()` elsewhere), read by the transport (aborting requests in
flight and cutting retry waits short) and the thread pool (starting nothing new)."""

from __future__ import annotations

import threading

from dlt.common.runtime import signals

_STOP = threading.Event()


def request_stop() -> None:
    _STOP.set()


def clear() -> None:
    """Before a new run in the same process (tests, notebooks)."""
    _STOP.clear()


def requested() -> bool:
    return _STOP.is_set() or signals.was_signal_received()


def sleep(seconds: float) -> None:
    """time.sleep that ends early when a stop is requested (checked every 0.2 s)."""
    end = _now() + seconds
    while not requested():
        left = end - _now()
        if left <= 0:
            return
        _STOP.wait(min(left, 0.2))


def _now() -> float:
    import time

    return time.monotonic()
