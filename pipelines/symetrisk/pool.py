"""Bounded concurrency for per-borrower calls: at most `workers` calls in flight (each thread
with its own HTTP session, all under the one rate limit in client.py), results handed back as
they finish, and never more than a few results waiting, so memory does not grow with the
portfolio. Stopping early (an error, the generator closed) cancels what has not started."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def bounded_map(
    fn: Callable[[T], R], items: Iterable[T], workers: int
) -> Iterator[tuple[T, R | None, BaseException | None]]:
    """Yield `(item, result, None)` or `(item, None, error)` for every item, in finishing order."""
    workers = max(1, workers)
    stop = threading.Event()

    def call(item: T) -> R:
        if stop.is_set():
            raise RuntimeError("cancelled")
        return fn(item)

    iterator = iter(items)
    pending: dict[Future[R], T] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="symetrisk") as pool:
        try:
            for item in iterator:
                pending[pool.submit(call, item)] = item
                if len(pending) >= workers * 2:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    item = pending.pop(future)
                    for next_item in iterator:
                        pending[pool.submit(call, next_item)] = next_item
                        break
                    error = future.exception()
                    if error is None:
                        yield item, future.result(), None
                    else:
                        yield item, None, error
        finally:
            stop.set()
            for future in pending:
                future.cancel()
