"""Exact, order-independent sums of float64 arrays.

Every float64 is an integer multiple of 2**-1074, so a sum of them is exactly a
Python int in those units. Per chunk we avoid a Python loop over rows: split each
value into a high part (its top 27 mantissa bits) and the exact remainder, and add
both with ``numpy.bincount`` keyed by the binary exponent. Inside one exponent bin
every high part is a multiple of the same power of two and below 2**(e+1), so up to
2**26 of them sum exactly in float64; likewise the low parts. The few non-empty bins
are then folded into one Python int. The result does not depend on how the input
is cut into chunks nor on row order, and the final division is correctly rounded.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import numpy.typing as npt

from bcecli.core.exact import SCALE_BITS, ExactSum

_BINS = 4096  # sign bit + 11 exponent bits
_MAX_ROWS = 1 << 26  # per bincount call, so per-bin float sums stay exact
_HIGH_MASK = np.uint64(((1 << 64) - 1) ^ ((1 << 26) - 1))
_EXP_SHIFT = np.uint64(52)
_HUGE = 2.0**960  # at or above this, 2**26 addends could overflow a bin
_HUGE_SHIFT = 128

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def exact_sum(values: FloatArray) -> ExactSum:
    """The exact sum of a float64 array."""
    return grouped_exact_sums(values, None, 1)[0]


def grouped_exact_sums(
    values: FloatArray, group_ids: IntArray | None, n_groups: int
) -> list[ExactSum]:
    """Exact sums of ``values`` per group id in ``range(n_groups)``.

    ``group_ids`` None means a single group. Arrays of any length are handled in
    slices small enough for the per-bin float sums to stay exact.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    sums = [ExactSum() for _ in range(n_groups)]
    for start in range(0, len(values), _MAX_ROWS):
        part = values[start : start + _MAX_ROWS]
        ids = None if group_ids is None else group_ids[start : start + _MAX_ROWS]
        _accumulate_slice(part, ids, n_groups, sums)
    return sums


def _accumulate_slice(
    values: FloatArray,
    group_ids: IntArray | None,
    n_groups: int,
    sums: list[ExactSum],
    scale_bits: int = 0,
) -> None:
    if not len(values):
        return
    # Two reductions, no mask: max and min propagate NaN and show any infinity, and
    # bound the magnitudes for the overflow check below.
    top, bottom = float(values.max()), float(values.min())
    if not (math.isfinite(top) and math.isfinite(bottom)):
        finite = np.isfinite(values)
        bad = ~finite
        specials = values[bad]
        bad_ids = np.zeros(len(specials), np.intp) if group_ids is None else group_ids[bad]
        for gid, value in zip(bad_ids.tolist(), specials.tolist()):
            sums[gid].special += value
        values = np.where(finite, values, 0.0)
        top, bottom = float(values.max()), float(values.min())
    if top >= _HUGE or bottom <= -_HUGE:
        huge = np.abs(values) >= _HUGE
        # Two values near the top of the float64 range overflow when a bin adds
        # them; scale those down by an exact power of two and scale the units up.
        scaled = np.where(huge, values * 2.0**-_HUGE_SHIFT, 0.0)
        _accumulate_slice(scaled, group_ids, n_groups, sums, scale_bits + _HUGE_SHIFT)
        values = np.where(huge, 0.0, values)
    keys, high, low = _workspace(len(values))
    bits = values.view(np.uint64)
    np.right_shift(bits, _EXP_SHIFT, out=keys.view(np.uint64))
    if group_ids is not None:
        keys += group_ids * _BINS
    np.bitwise_and(bits, _HIGH_MASK, out=high.view(np.uint64))
    np.subtract(values, high, out=low)
    length = _BINS * n_groups
    for bin_sums in (
        np.bincount(keys, weights=high, minlength=length),
        np.bincount(keys, weights=low, minlength=length),
    ):
        nonzero = np.flatnonzero(bin_sums)
        for key, value in zip(nonzero.tolist(), bin_sums[nonzero].tolist()):
            sums[key // _BINS].units += _float_units(value) << scale_bits


_local = threading.local()


def _workspace(n: int) -> tuple[IntArray, FloatArray, FloatArray]:
    """Per-thread scratch arrays, reused across calls.

    Fresh chunk-sized temporaries on every call cost more in page faults than
    the arithmetic itself (measured 4x slower on this kind of machine).
    """
    buffers: tuple[IntArray, FloatArray, FloatArray] | None = getattr(_local, "buffers", None)
    if buffers is None or len(buffers[0]) < n:
        size = max(n, 1024)
        buffers = (np.empty(size, np.intp), np.empty(size), np.empty(size))
        _local.buffers = buffers
    keys, high, low = buffers
    return keys[:n], high[:n], low[:n]


def _float_units(value: float) -> int:
    """A finite float as an exact integer count of 2**-1074."""
    numerator, denominator = value.as_integer_ratio()
    return numerator << (SCALE_BITS - (denominator.bit_length() - 1))
