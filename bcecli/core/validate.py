"""Per-chunk validity of labels, predictions and weights: numpy in, problem codes out.

Each check returns an int8 array of problem codes (0 = fine) or None when every
row is fine, so the common case costs one vectorised pass and no allocation.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

from bcecli.core.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    BoolArray = npt.NDArray[np.bool_]
    Codes = npt.NDArray[np.int8]
else:
    np = lazy("numpy")


class Problem(IntEnum):
    OK = 0
    MISSING = 1
    NOT_A_NUMBER = 2  # text that does not parse as a number
    OUTSIDE_UNIT = 3  # probability outside [0, 1] or NaN
    NOT_FINITE = 4
    NEGATIVE = 5
    NOT_A_CLASS = 6  # a label that is not one of the two classes


def _codes(n: int, *masks: tuple[BoolArray | None, Problem]) -> Codes | None:
    """Combine masks into codes; earlier masks win where several apply."""
    codes: Codes | None = None
    for mask, problem in reversed(masks):
        if mask is None or not mask.any():
            continue
        if codes is None:
            codes = np.zeros(n, np.int8)
        codes[mask] = problem
    return codes


def check_prob(
    p: FloatArray, missing: BoolArray | None, unparsed: BoolArray | None
) -> Codes | None:
    # NaN fails both comparisons, so ~(0 <= p <= 1) also catches it.
    outside = ~((p >= 0.0) & (p <= 1.0))
    return _codes(
        len(p),
        (missing, Problem.MISSING),
        (unparsed, Problem.NOT_A_NUMBER),
        (outside, Problem.OUTSIDE_UNIT),
    )


def check_logit(
    z: FloatArray, missing: BoolArray | None, unparsed: BoolArray | None
) -> Codes | None:
    return _codes(
        len(z),
        (missing, Problem.MISSING),
        (unparsed, Problem.NOT_A_NUMBER),
        (~np.isfinite(z), Problem.NOT_FINITE),
    )


def check_weight(
    w: FloatArray, missing: BoolArray | None, unparsed: BoolArray | None
) -> Codes | None:
    return _codes(
        len(w),
        (missing, Problem.MISSING),
        (unparsed, Problem.NOT_A_NUMBER),
        (~np.isfinite(w), Problem.NOT_FINITE),
        (w < 0.0, Problem.NEGATIVE),
    )


def describe(column: str, problem: Problem, value: object, *, what: str = "") -> str:
    """``prob = 1.7 is outside [0, 1]``: one clause naming the column and the value."""
    shown = _show(value)
    if problem == Problem.MISSING:
        return f"{column} is missing"
    if problem == Problem.NOT_A_NUMBER:
        return f"{column} = {shown} is not a number"
    if problem == Problem.OUTSIDE_UNIT:
        return f"{column} = {shown} is outside [0, 1]"
    if problem == Problem.NOT_FINITE:
        return f"{column} = {shown} is not finite"
    if problem == Problem.NEGATIVE:
        return f"{column} = {shown} is negative"
    if problem == Problem.NOT_A_CLASS:
        return f"{column} = {shown} is not {what or 'a valid label'}"
    return f"{column} = {shown} is invalid"


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if value == value else "NaN"
    return str(value)
