"""The mergeable scoring state: every accumulator, registered in one place.

A state is made of accumulators (``bcecli.core.batch.Accumulator``), one per kind
of fact the report needs. A batch updates each; states merge accumulator by
accumulator; ``to_state()`` is plain JSON data, so a partial state can be scored
on one machine and merged on another. A new kind of fact is one new accumulator
class, listed in ``ACCUMULATORS``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from bcecli.core.accumulate import GroupSums
from bcecli.core.batch import Accumulator, Batch, GroupKey, InputRef, StateConfig
from bcecli.core.calibration import CalibrationSums
from bcecli.core.groups import GroupedSums
from bcecli.core.inputs import InputCounts, InputStats
from bcecli.core.loss_histogram import LossHistogramSums
from bcecli.core.population import PopulationSums
from bcecli.core.worst import WorstRows

# Every accumulator a state may hold, in the order they update and serialise.
ACCUMULATORS: tuple[type[Accumulator], ...] = (
    PopulationSums,
    GroupedSums,
    CalibrationSums,
    LossHistogramSums,
    WorstRows,
    InputCounts,
)

STATE_VERSION = 3  # 3: the loss histogram

A = TypeVar("A", bound=Accumulator)


class StateVersionError(ValueError):
    """A partial state written by another version of the state format."""


class ScoreState:
    """Everything a report needs, mergeable: the accumulators ``config`` asks for."""

    def __init__(self, config: StateConfig) -> None:
        self.config = config
        self.parts: dict[str, Accumulator] = {}
        for kind in ACCUMULATORS:
            part = kind.create(config)
            if part is not None:
                self.parts[kind.name] = part

    def open_input(self, ref: InputRef) -> InputStats:
        """Give an input its place (and zero counts) before any of its rows arrive."""
        return self._part(InputCounts).open(ref)

    def update(self, batch: Batch) -> None:
        for part in self.parts.values():
            part.update(batch)

    def add_sums(self, ref: InputRef, sums: GroupSums, histogram: LossHistogramSums) -> None:
        """Add rows of ``ref`` scored straight into exact sums (the C kernel's fast path):
        the population's sums, their loss histogram and the counts. What the state's other
        accumulators keep of those rows (groups, bins, worst rows) the caller adds through
        their own methods."""
        self._part(PopulationSums).sums.merge(sums)
        self._part(LossHistogramSums).merge(histogram)
        self._part(InputCounts).count(ref, sums.rows, 0)

    def merge(self, other: ScoreState) -> None:
        """Add another pass's state: exact sums add exactly, so order never shows."""
        for name, part in self.parts.items():
            theirs = other.parts.get(name)
            if theirs is not None:
                part.merge(theirs)

    def to_state(self) -> dict[str, Any]:
        """A plain, JSON-able dict; group keys must hold JSON-able values to survive JSON."""
        return {
            "version": STATE_VERSION,
            "config": {
                "n_models": self.config.n_models,
                "by": list(self.config.by),
                "calibration_bins": self.config.calibration_bins,
                "worst": self.config.worst,
            },
            **{name: part.to_state() for name, part in self.parts.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ScoreState:
        if state.get("version") != STATE_VERSION:
            raise StateVersionError(
                f"A partial score state of version {state.get('version')!r} cannot be read "
                f"by this bce (version {STATE_VERSION}); use the same bce everywhere."
            )
        config = state["config"]
        result = cls(
            StateConfig(
                n_models=int(config["n_models"]),
                by=tuple(config["by"]),
                calibration_bins=config["calibration_bins"],
                worst=int(config["worst"]),
            )
        )
        for kind in ACCUMULATORS:
            if kind.name in result.parts:
                result.parts[kind.name] = kind.from_state(state[kind.name])
        return result

    def _part(self, kind: type[A]) -> A:
        part = self.parts[kind.name]
        assert isinstance(part, kind)
        return part

    def _optional(self, kind: type[A]) -> A | None:
        return self._part(kind) if kind.name in self.parts else None

    # -- what the report reads ------------------------------------------------------

    @property
    def total(self) -> GroupSums:
        return self._part(PopulationSums).sums

    @property
    def groups(self) -> dict[GroupKey, GroupSums]:
        grouped = self._optional(GroupedSums)
        return {} if grouped is None else grouped.groups

    @property
    def calibration(self) -> CalibrationSums | None:
        return self._optional(CalibrationSums)

    @property
    def loss_histogram(self) -> LossHistogramSums:
        return self._part(LossHistogramSums)

    @property
    def worst(self) -> WorstRows | None:
        return self._optional(WorstRows)

    @property
    def skipped(self) -> int:
        return self._part(InputCounts).skipped

    def input_stats(self) -> list[InputStats]:
        """Per-input counts in input order."""
        return self._part(InputCounts).in_order()
