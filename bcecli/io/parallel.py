"""Ordered, bounded parallel map: parse blocks on both cores while the caller computes;
and read-ahead: an iterator advanced on another thread while the caller computes.

pyarrow's CSV parser and Parquet decoder release the GIL, so threads are enough.
Results come back in input order. What is in flight is bounded in items and, for
``ordered_map``, in bytes: what a stage holds is set by ``STAGE_BYTES`` and the chunk
size, however long the input and however many workers there are.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")

# Bytes of items a stage takes on beyond the one whose result its caller gets next.
# One always, so the stage works while its caller does (they would take turns
# otherwise); more while they add up to less than this. With the default chunk of
# narrow rows (about 4 MiB) that is two working while the caller works, as many as two
# cores can use; chunks of 8 MiB or more go one at a time, not one per worker.
STAGE_BYTES = 8 << 20


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def ordered_map(
    function: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    ahead: int | None = None,
    size: Callable[[T], int] | None = None,
) -> Generator[R, None, None]:
    """``map(function, items)`` on a thread pool, in order, with bounded look-ahead.

    At most ``ahead`` items are in flight (one more than the workers by default) and,
    given each item's ``size`` in bytes, those beyond the next result stop at
    ``STAGE_BYTES``. With one worker it runs inline (no thread), which keeps standard
    input streaming: a block is parsed and handed on as soon as it has been read.
    """
    if workers <= 1:
        yield from map(function, items)
        return
    limit = ahead if ahead is not None else workers + 1
    pending: deque[tuple[Future[R], int]] = deque()
    beyond = 0  # bytes of the items in flight behind pending[0]
    # An error from ``items`` while taking one ahead: raised in its place, after the
    # results of the items before it, as the inline map would (a later block's parse
    # error must not overtake an earlier chunk's invalid row).
    failure: Exception | None = None
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bce-parse")
    try:
        source = iter(items)
        exhausted = False
        while True:
            while (
                not exhausted
                and len(pending) < limit
                and (len(pending) < 2 or beyond < STAGE_BYTES)
            ):
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                except Exception as error:
                    failure = error
                    exhausted = True
                    break
                cost = size(item) if size is not None else 0
                pending.append((executor.submit(function, item), cost))
                del item  # the future's alone: it goes once the work is done
                if len(pending) > 1:
                    beyond += cost
            if not pending:
                if failure is not None:
                    try:
                        raise failure
                    finally:
                        failure = None  # no cycle through this frame
                return
            head = pending.popleft()[0]
            if pending:
                beyond -= pending[0][1]
            result = head.result()
            del head
            yield result
            del result  # the caller's alone: not held here while the next items come
    finally:
        for future, _ in pending:
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
            del item  # the caller's alone: not held here while the next one is produced
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)
