"""Arrow columns to float64 and boolean numpy arrays, with masks of what did not convert."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from bcecli.core.validate import Codes, Problem

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_NUMBER = r"(?i)^\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|infinity|nan)\s*$"
_TRUE = ("1", "1.0", "true", "t", "yes")
_FALSE = ("0", "0.0", "false", "f", "no")


def as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _null_mask(array: pa.Array) -> BoolArray | None:
    if array.null_count == 0:
        return None
    mask: BoolArray = array.is_null().to_numpy(zero_copy_only=False)
    return mask


def to_float(
    column: pa.Array | pa.ChunkedArray,
) -> tuple[FloatArray, BoolArray | None, BoolArray | None]:
    """(values, missing, unparsed): text is parsed where it holds a number."""
    array = as_array(column)
    unparsed: BoolArray | None = None
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        looks_numeric = pc.match_substring_regex(array, _NUMBER)
        bad = pc.and_(pc.invert(looks_numeric), pc.is_valid(array))
        if pc.any(bad).as_py():
            unparsed = bad.to_numpy(zero_copy_only=False)
            array = pc.if_else(looks_numeric, array, pa.scalar(None, kind))
        array = pc.cast(pc.utf8_trim_whitespace(array), pa.float64())
    elif pa.types.is_dictionary(kind):
        return to_float(array.dictionary_decode())
    elif pa.types.is_boolean(kind) or not (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_null(kind)
    ):
        # Not a number at all: every row is unparsed, reported with its value.
        values = np.full(len(array), np.nan)
        return (
            values,
            _null_mask(array),
            np.asarray(pc.is_valid(array).to_numpy(zero_copy_only=False)),
        )
    elif not pa.types.is_float64(kind):
        array = pc.cast(array, pa.float64())
    missing = _null_mask(array)
    values: FloatArray = np.ascontiguousarray(
        array.to_numpy(zero_copy_only=False), dtype=np.float64
    )
    if missing is not None and unparsed is not None:
        missing = missing & ~unparsed
    return values, missing, unparsed


class LabelMapper:
    """Maps a label column to booleans (y = 1) and problem codes, chunk after chunk.

    Without ``pos_label``: 0/1 (as integers, floats or text), booleans and true/false.
    With it: that value is positive and the first other value seen is the negative
    class, so a third class is invalid wherever it appears.
    """

    def __init__(self, pos_label: str | None = None) -> None:
        self.pos_label = pos_label
        self.negative: str | None = None

    @property
    def expected(self) -> str:
        if self.pos_label is None:
            return "0 or 1 (pass --pos-label to name the positive class of text labels)"
        if self.negative is None:
            return f"one of two classes ({self.pos_label!r} is the positive one)"
        return f"{self.pos_label!r} or {self.negative!r}"

    def convert(self, column: pa.Array | pa.ChunkedArray) -> tuple[BoolArray, Codes | None]:
        array = as_array(column)
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        missing = _null_mask(array)
        if self.pos_label is not None:
            y, bad = self._with_pos_label(array)
        elif pa.types.is_boolean(array.type):
            y, bad = _filled_bool(array), None
        elif pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
            values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
            y = values == 1.0
            bad = ~(y | (values == 0.0))
        elif pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            folded = pc.utf8_lower(pc.utf8_trim_whitespace(array))
            y = _filled_bool(pc.is_in(folded, pa.array(_TRUE)))
            bad = ~(y | _filled_bool(pc.is_in(folded, pa.array(_FALSE))))
        else:
            y = np.zeros(len(array), dtype=bool)
            bad = np.ones(len(array), dtype=bool)
        if missing is not None and bad is not None:
            bad &= ~missing
        codes = _combine(len(array), missing, bad)
        return y, codes

    def _with_pos_label(self, array: pa.Array) -> tuple[BoolArray, BoolArray | None]:
        text = array if pa.types.is_string(array.type) else pc.cast(array, pa.string())
        text = pc.utf8_trim_whitespace(text)
        positive = pc.fill_null(pc.equal(text, pa.scalar(self.pos_label)), False)
        y = _filled_bool(positive)
        if self.negative is None:
            # unique() keeps first appearances in order: the first other value seen
            # becomes the negative class.
            others = pc.unique(pc.filter(text, pc.invert(positive))).drop_null()
            if len(others):
                self.negative = str(others[0].as_py())
        if self.negative is None:
            return y, None
        negative = _filled_bool(pc.equal(text, pa.scalar(self.negative)))
        return y, ~(y | negative)


def _filled_bool(array: pa.Array | Any) -> BoolArray:
    filled = pc.fill_null(array, False)
    result: BoolArray = np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
    return result


def _combine(n: int, missing: BoolArray | None, bad: BoolArray | None) -> Codes | None:
    if (missing is None or not missing.any()) and (bad is None or not bad.any()):
        return None
    codes = np.zeros(n, np.int8)
    if bad is not None:
        codes[bad] = Problem.NOT_A_CLASS
    if missing is not None:
        codes[missing] = Problem.MISSING
    return codes
