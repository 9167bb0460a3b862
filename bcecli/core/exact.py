"""An exact sum of float64 values as a Python number: no numpy, so the document types
and the metrics' formulas can be imported without it. The numpy kernels that fill it
are in ``bcecli.core.exactsum``."""

from __future__ import annotations

import math
from fractions import Fraction

SCALE_BITS = 1074  # 2**-1074 is the smallest subnormal: the unit of every float64


class ExactSum:
    """A sum of float64 values carried exactly: ``units * 2**-1074``.

    Non-finite terms are kept apart in ``special`` (their float sum, which does not
    depend on order: inf + inf = inf, inf - inf = nan).
    """

    __slots__ = ("units", "special")

    def __init__(self, units: int = 0, special: float = 0.0) -> None:
        self.units = units
        self.special = special

    @classmethod
    def from_int(cls, value: int) -> ExactSum:
        return cls(value << SCALE_BITS)

    def copy(self) -> ExactSum:
        return ExactSum(self.units, self.special)

    def add(self, other: ExactSum) -> None:
        self.units += other.units
        self.special += other.special

    def fraction(self) -> Fraction:
        """The exact finite part as a Fraction."""
        return Fraction(self.units, 1 << SCALE_BITS)

    @property
    def finite(self) -> bool:
        return self.special == 0.0

    def __float__(self) -> float:
        if not self.finite:
            return self.special
        return _fraction_to_float(self.fraction())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExactSum):
            return NotImplemented
        return self.units == other.units and (
            self.special == other.special
            or (math.isnan(self.special) and math.isnan(other.special))
        )

    def __repr__(self) -> str:
        return f"ExactSum({float(self)!r})"

    def to_state(self) -> tuple[int, float]:
        return (self.units, self.special)

    @classmethod
    def from_state(cls, state: tuple[int, float]) -> ExactSum:
        return cls(int(state[0]), float(state[1]))


def _fraction_to_float(value: Fraction) -> float:
    """Correctly rounded; inf where the exact value is beyond float64."""
    try:
        return float(value)
    except OverflowError:
        return math.copysign(math.inf, value)


def ratio(numerator: ExactSum, denominator: ExactSum) -> float | None:
    """numerator / denominator, correctly rounded; None when undefined."""
    if not numerator.finite or not denominator.finite:
        value = float(numerator) / float(denominator) if float(denominator) else math.nan
        return value if math.isfinite(value) else None
    if denominator.units == 0:
        return None
    return _fraction_to_float(Fraction(numerator.units, denominator.units))
