"""Ordered, bounded parallel map: parse blocks on both cores while the caller computes.

pyarrow's CSV parser releases the GIL, so threads are enough. Results come back in
input order and at most ``ahead`` items are in flight, which bounds memory.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

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
