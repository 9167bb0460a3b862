"""What the per-row terms of the exact sums (``bcecli.core.metrics.MODEL_TERMS``) are
made of, computed once per chunk and prediction column."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bcecli.core.cached import cached
from bcecli.core.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
else:
    np = lazy("numpy")


class RowTerms:
    """What the per-row terms of ``MODEL_TERMS`` are made of, each computed once a chunk.

    Without weights ``weighted(x)`` is ``x`` itself, so terms that only differ by a
    weight are the same array, summed once.
    """

    def __init__(
        self,
        *,
        p: FloatArray,
        target: FloatArray,
        loss: FloatArray,
        first_loss: FloatArray,
        w: FloatArray | None,
    ) -> None:
        self.p = p
        self.target = target
        self.loss = loss
        self.first_loss = first_loss
        self.w = w
        # Computed first, before any other term: the order of these chunk-sized
        # allocations decides whether the allocator reuses the same pages chunk after
        # chunk or hands them back to the kernel (three times the page faults).
        self.error_sq: FloatArray = np.square(p - target)

    def weighted(self, values: FloatArray) -> FloatArray:
        return values if self.w is None else self.w * values

    @staticmethod
    def square(values: FloatArray) -> FloatArray:
        return np.square(values)

    @cached
    def weighted_loss(self) -> FloatArray:
        return self.weighted(self.loss)

    @cached
    def weighted_diff(self) -> FloatArray:
        return self.weighted(self.loss - self.first_loss)
