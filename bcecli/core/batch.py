"""One chunk of valid rows as numpy arrays, and the protocol every accumulator follows.

A ``Batch`` is what the scoring layer hands the core: the rows' labels, predictions,
losses and weights, where they came from (input, path, row numbers), their group ids
and, for ``--worst --keep``, a way to fetch kept values of a few rows. Everything the
accumulators derive from it more than once (the exact sums per group) is computed
once here and shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from bcecli.core.accumulate import ChunkLosses, GroupSums, chunk_sums
from bcecli.core.cached import cached
from bcecli.core.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    BoolArray = npt.NDArray[np.bool_]
    IntArray = npt.NDArray[np.intp]
else:
    np = lazy("numpy")

if TYPE_CHECKING:
    from typing import Self  # Python 3.11; annotations only, so 3.10 runs without it

GroupKey = tuple[Any, ...]


class KeptColumn(Protocol):
    """A ``--keep`` column of a batch's valid rows. Only the worst rows' values are ever
    needed, so they are fetched by index instead of converting whole columns."""

    def take(self, indices: IntArray) -> list[Any]: ...


@dataclass(frozen=True)
class StateConfig:
    """What a scoring state accumulates: which accumulators are on, and their sizes."""

    n_models: int = 1
    by: tuple[str, ...] = ()
    calibration_bins: int | None = None
    worst: int = 0


@dataclass(frozen=True)
class InputRef:
    """Which input rows come from: its place in input order, its path and format."""

    index: int
    path: str
    format: str


@dataclass
class Batch:
    """Consecutive rows of one input after validation (only the valid rows)."""

    values: ChunkLosses
    input: InputRef
    path: str  # the file the rows are in (one file of a dataset input)
    first_row: int  # the input's 1-based row number of the chunk's first row, valid or not
    read: int  # rows read, valid or not
    valid: BoolArray | None = None  # which of the rows read are here; None: all of them
    group_ids: IntArray | None = None  # per row, an index into group_keys
    group_keys: list[GroupKey] = field(default_factory=list)
    keep: Mapping[str, KeptColumn] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.values.y)

    @property
    def skipped(self) -> int:
        return self.read - self.rows

    def row_numbers(self, indices: IntArray) -> list[int]:
        """The input's 1-based row numbers of the batch rows at ``indices``."""
        original = indices if self.valid is None else np.flatnonzero(self.valid)[indices]
        return [self.first_row + int(i) for i in original]

    @cached
    def group_sums(self) -> list[GroupSums]:
        """Exact sums per group (one entry, the whole batch, without --by)."""
        if self.group_ids is None:
            return chunk_sums(self.values)
        return chunk_sums(self.values, self.group_ids, len(self.group_keys))

    @cached
    def total_sums(self) -> GroupSums:
        """Exact sums of the whole batch: the groups' sums added (exactly)."""
        parts = self.group_sums
        if len(parts) == 1:
            return parts[0]
        total = GroupSums(n_models=len(self.values.losses))
        for part in parts:
            total.merge(part)
        return total


class Accumulator(Protocol):
    """One mergeable piece of a scoring state.

    ``update`` adds a batch, ``merge`` another accumulator's rows (exactly, so the
    order of merging never shows), and ``to_state``/``from_state`` round-trip through
    plain JSON data so a partial state can travel between machines.
    """

    name: ClassVar[str]  # its key in a state's to_state()

    @classmethod
    def create(cls, config: StateConfig) -> Self | None:
        """A fresh accumulator for ``config``; None when the config does not ask for it."""
        ...

    def update(self, batch: Batch) -> None: ...

    def merge(self, other: Self) -> None: ...

    def to_state(self) -> dict[str, Any]: ...

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self: ...
