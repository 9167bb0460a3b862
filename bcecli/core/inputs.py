"""Per-input counts (rows scored, rows skipped as invalid), kept one way for every engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from bcecli.core.batch import Batch, InputRef, StateConfig

if TYPE_CHECKING:
    from typing import Self  # Python 3.11; annotations only, so 3.10 runs without it


@dataclass
class InputStats:
    path: str
    format: str
    rows: int = 0
    skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "rows": self.rows,
            "skipped": self.skipped,
        }


class InputCounts:
    """Counts by input index. An input is opened before its first chunk, so an input
    with no rows still has its (zero) counts and its place in input order."""

    name: ClassVar[str] = "inputs"

    def __init__(self) -> None:
        self.inputs: dict[int, InputStats] = {}

    @classmethod
    def create(cls, config: StateConfig) -> Self:
        return cls()

    def open(self, ref: InputRef) -> InputStats:
        stats = self.inputs.get(ref.index)
        if stats is None:
            stats = self.inputs[ref.index] = InputStats(ref.path, ref.format)
        return stats

    def count(self, ref: InputRef, rows: int, skipped: int) -> None:
        stats = self.open(ref)
        stats.rows += rows
        stats.skipped += skipped

    def update(self, batch: Batch) -> None:
        self.count(batch.input, batch.rows, batch.skipped)

    def merge(self, other: Self) -> None:
        for index, theirs in other.inputs.items():
            self.count(InputRef(index, theirs.path, theirs.format), theirs.rows, theirs.skipped)

    @property
    def skipped(self) -> int:
        return sum(stats.skipped for stats in self.inputs.values())

    def in_order(self) -> list[InputStats]:
        return [self.inputs[index] for index in sorted(self.inputs)]

    def to_state(self) -> dict[str, Any]:
        return {"inputs": [[index, stats.to_dict()] for index, stats in self.inputs.items()]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        result = cls()
        for index, stats in state["inputs"]:
            result.inputs[int(index)] = InputStats(
                str(stats["path"]), str(stats["format"]), int(stats["rows"]), int(stats["skipped"])
            )
        return result
