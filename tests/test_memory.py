"""Memory is set by fixed byte budgets, not by the input: the look-ahead of each stage
is bounded in bytes (SPEC section 8)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bcecli.io import parallel

MIB = 1 << 20


# -- each stage's look-ahead, in bytes ------------------------------------------------


class Blob:
    """An item that says how large it is."""

    def __init__(self, size: int) -> None:
        self.size = size


def _in_flight(size: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """The most items of ``size`` bytes that ``ordered_map`` holds at once: those taken
    from its source and not yet handed on, and the one its caller has."""
    monkeypatch.setattr(parallel, "STAGE_BYTES", 8 * MIB)
    pulled = 0

    def source() -> Iterator[Blob]:
        nonlocal pulled
        for _ in range(20):
            pulled += 1
            yield Blob(size)

    most = 0
    results = parallel.ordered_map(
        lambda blob: blob, source(), workers=4, size=lambda blob: blob.size
    )
    for taken, _ in enumerate(results, start=1):
        most = max(most, pulled - taken + 1)
    return most


def test_a_stage_keeps_no_more_than_its_byte_budget_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small items: the count bound, one more than the four workers.
    assert _in_flight(1000, monkeypatch) == 5
    # 3 MiB items: the next result, and more behind it while they hold under 8 MiB.
    assert _in_flight(3 * MIB, monkeypatch) == 4
    # Items over the budget: the one the caller works on and the next, never more, so a
    # large chunk size is not multiplied by the workers.
    assert _in_flight(20 * MIB, monkeypatch) == 2
