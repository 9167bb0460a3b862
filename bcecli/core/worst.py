"""The K highest-loss rows across chunks, in bounded memory, deterministic under ties."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from bcecli.core.batch import Batch, StateConfig
from bcecli.core.entries import WorstEntry
from bcecli.core.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.intp]
else:
    np = lazy("numpy")


if TYPE_CHECKING:
    from typing import Self  # Python 3.11; annotations only, so 3.10 runs without it


@dataclass(order=True)
class WorstRow:
    """Sorted by highest loss first, then input order (input, file of a dataset, row).

    The key is unique per row, so the K kept are the same whatever order partial
    results merge in (a dataset's files are read in path order).
    """

    sort_key: tuple[float, int, str, int] = field(repr=False)
    path: str = field(compare=False)
    row: int = field(compare=False)
    label: int = field(compare=False)
    prob: float = field(compare=False)
    log_loss: float = field(compare=False)
    keep: dict[str, Any] = field(compare=False, default_factory=dict)

    def to_dict(self) -> WorstEntry:
        return {
            "path": self.path,
            "row": self.row,
            "label": self.label,
            "prob": self.prob,
            "log_loss": self.log_loss,
            "keep": self.keep,
        }

    def to_state(self) -> dict[str, Any]:
        # The report's entry plus the input's index, which the sort key needs back.
        return {**self.to_dict(), "input": self.sort_key[1]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> WorstRow:
        loss = float(state["log_loss"])
        path = str(state["path"])
        row = int(state["row"])
        return cls(
            sort_key=(-loss, int(state["input"]), path, row),
            path=path,
            row=row,
            label=int(state["label"]),
            prob=float(state["prob"]),
            log_loss=loss,
            keep=dict(state["keep"]),
        )


def top_candidates(losses: FloatArray, k: int) -> IntArray:
    """Indices of at most k rows a global top-k could need from this chunk.

    Rows strictly above the chunk's k-th largest loss, then ties at it in row order.
    """
    n = len(losses)
    if k <= 0 or n == 0:
        return np.empty(0, np.intp)
    if n <= k:
        return np.arange(n, dtype=np.intp)
    threshold = np.partition(losses, n - k)[n - k]
    above = np.flatnonzero(losses > threshold)
    ties = np.flatnonzero(losses == threshold)[: k - len(above)]
    return np.sort(np.concatenate([above, ties]))


class WorstRows:
    """Keeps the k worst rows seen so far (by the first prediction column's loss)."""

    name: ClassVar[str] = "worst"

    def __init__(self, k: int) -> None:
        self.k = k
        self.rows: list[WorstRow] = []

    @classmethod
    def create(cls, config: StateConfig) -> Self | None:
        return cls(config.worst) if config.worst else None

    def update(self, batch: Batch) -> None:
        values = batch.values
        loss = values.losses[0]
        picked = top_candidates(loss, self.k)
        picked = picked[loss[picked] >= self.floor()]
        if not len(picked):
            return
        rows = batch.row_numbers(picked)
        kept = {name: column.take(picked) for name, column in batch.keep.items()}
        candidates = []
        for position, (index, row) in enumerate(zip(picked.tolist(), rows)):
            value = float(loss[index])
            candidates.append(
                WorstRow(
                    sort_key=(-value, batch.input.index, batch.path, row),
                    path=batch.path,
                    row=row,
                    label=int(values.y[index]),
                    prob=float(values.probs[0][index]),
                    log_loss=value,
                    keep={name: kept[name][position] for name in kept},
                )
            )
        self.add(candidates)

    def floor(self) -> float:
        """The smallest loss that can still enter (-inf while not full)."""
        return self.rows[-1].log_loss if len(self.rows) >= self.k else -np.inf

    def add(self, candidates: list[WorstRow]) -> None:
        self.rows = sorted(self.rows + candidates)[: self.k]

    def merge(self, other: Self) -> None:
        self.add(other.rows)

    def renumber(self, rows_before: int) -> None:
        """Shift every row number by ``rows_before``: rows counted within a byte range of
        a file (``bcecli.io.ranges``) become the file's, once the rows of the ranges
        before it are known. The order kept is unchanged (all rows move alike)."""
        for row in self.rows:
            row.row += rows_before
            loss, index, path, _ = row.sort_key
            row.sort_key = (loss, index, path, row.row)

    def to_state(self) -> dict[str, Any]:
        return {"k": self.k, "rows": [row.to_state() for row in self.rows]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        worst = cls(int(state["k"]))
        worst.rows = [WorstRow.from_state(row) for row in state["rows"]]
        return worst
