"""The accumulator of the whole population's exact sums (every valid row of every input)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from bcecli.core.accumulate import GroupSums
from bcecli.core.batch import Batch, StateConfig

if TYPE_CHECKING:
    from typing import Self  # Python 3.11; annotations only, so 3.10 runs without it


class PopulationSums:
    name: ClassVar[str] = "total"

    def __init__(self, sums: GroupSums) -> None:
        self.sums = sums

    @classmethod
    def create(cls, config: StateConfig) -> Self:
        return cls(GroupSums(n_models=config.n_models))

    def update(self, batch: Batch) -> None:
        if batch.rows:
            self.sums.merge(batch.total_sums)

    def merge(self, other: Self) -> None:
        self.sums.merge(other.sums)

    def to_state(self) -> dict[str, Any]:
        return self.sums.to_state()

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        return cls(GroupSums.from_state(state))
