"""Ordered, bounded parallel map: parse blocks on both cores while the caller computes;
and read-ahead: an iterator advanced on another thread while the caller computes.

pyarrow's CSV parser and Parquet decoder release the GIL, so threads are enough.
Results come back in input order and at most ``ahead`` items are in flight, which
bounds memory.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def ordered_map(
    function: Callable[[T], R], items: Iterable[T], *, workers: int, ahead: int | None = None
) -> Generator[R, None, None]:
    """``map(function, items)`` on a thread pool, in order, with bounded look-ahead.

    With one worker it runs inline (no thread), which keeps standard input
    streaming: a block is parsed and handed on as soon as it has been read.
    """
    if workers <= 1:
        yield from map(function, items)
        return
    limit = ahead if ahead is not None else workers + 1
    pending: deque[Future[R]] = deque()
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bce-parse")
    try:
        source = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                pending.append(executor.submit(function, item))
            if not pending:
                return
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def read_ahead(items: Iterable[T], *, ahead: int) -> Generator[T, None, None]:
    """The items of ``items`` in order, the next ``ahead`` produced on a worker thread
    while the caller works on this one.

    For an iterator that must run in order (a Parquet row group decoded batch by
    batch), where ``ordered_map`` is for independent items.
    """
    source = iter(items)
    end = object()

    def step() -> object:
        return next(source, end)

    pending: deque[Future[object]] = deque()
    # One worker runs the steps in turn, so the iterator is never entered twice at once.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bce-read")
    try:
        while True:
            while len(pending) < ahead:
                pending.append(executor.submit(step))
            item = pending.popleft().result()
            if item is end:
                return
            yield cast(T, item)
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)
