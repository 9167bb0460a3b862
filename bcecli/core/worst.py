"""The K highest-loss rows across chunks, in bounded memory, deterministic under ties."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(order=True)
class WorstRow:
    """Sorted by highest loss first, then input order, then row number."""

    sort_key: tuple[float, int, int] = field(repr=False)
    path: str = field(compare=False)
    row: int = field(compare=False)
    label: int = field(compare=False)
    prob: float = field(compare=False)
    log_loss: float = field(compare=False)
    keep: dict[str, Any] = field(compare=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "row": self.row,
            "label": self.label,
            "prob": self.prob,
            "log_loss": self.log_loss,
            "keep": self.keep,
        }


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
    """Keeps the k worst rows seen so far."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.rows: list[WorstRow] = []

    def floor(self) -> float:
        """The smallest loss that can still enter (-inf while not full)."""
        return self.rows[-1].log_loss if len(self.rows) >= self.k else -np.inf

    def add(self, candidates: list[WorstRow]) -> None:
        self.rows = sorted(self.rows + candidates)[: self.k]

    def merge(self, other: WorstRows) -> None:
        self.add(other.rows)
