"""Arrow columns to float64 and boolean numpy arrays, with masks of what did not convert.

Arrays reach numpy through ``bcecli.io.arrays``, never pyarrow's ``to_numpy``, and
Arrow values are built from buffers, never with ``pa.scalar``/``pa.array`` on Python
objects: each of those imports pandas on first use (0.3 s), and pyarrow swallows a
Ctrl-C that lands during that import, so bce would carry on instead of exiting 130.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from bcecli.core.validate import Codes, Problem
from bcecli.io.arrays import bool_values, is_numeric, null_mask, numeric_values
from bcecli.io.compute import pc

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_NUMBER = r"(?i)^\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|infinity|nan)\s*$"
_TRUE = ("1", "1.0", "true", "t", "yes")
_FALSE = ("0", "0.0", "false", "f", "no")


def as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


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
            unparsed = _filled_bool(bad)
            array = pc.if_else(looks_numeric, array, pa.nulls(len(array), kind))
        array = pc.cast(pc.utf8_trim_whitespace(array), pa.float64())
    elif pa.types.is_dictionary(kind):
        return to_float(array.dictionary_decode())
    elif (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)) and _valid_utf8(array):
        return to_float(array.cast(pa.string()))
    elif pa.types.is_decimal(kind):
        # Through text: pyarrow's decimal-to-float cast is not correctly rounded
        # (0.7 becomes 0.7000000000000001); parsing the digits is.
        return to_float(array.cast(pa.string()))
    elif pa.types.is_boolean(kind) or not (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_null(kind)
    ):
        # Not a number at all: every row is unparsed, reported with its value.
        return np.full(len(array), np.nan), null_mask(array), _filled_bool(pc.is_valid(array))
    elif not pa.types.is_float64(kind):
        array = pc.cast(array, pa.float64())
    missing = null_mask(array)
    values: FloatArray = numeric_values(array)
    if missing is not None:
        values = np.where(missing, np.nan, values)  # not whatever the buffer held
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
        if (pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type)) and (
            _valid_utf8(array)
        ):
            array = array.cast(pa.string())
        if pa.types.is_decimal(array.type) and self.pos_label is None:
            array = pc.cast(array.cast(pa.string()), pa.float64())  # 1.0 and 0.0 as numbers
        missing = null_mask(array)
        if self.pos_label is not None:
            y, bad = self._with_pos_label(array)
        elif pa.types.is_boolean(array.type):
            y, bad = _filled_bool(array), None
        elif is_numeric(array.type):
            values = numeric_values(array)
            y = values == 1
            bad = ~(y | (values == 0))
            if missing is not None:
                y &= ~missing  # the buffer under a null holds anything
        elif pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            folded = pc.utf8_lower(pc.utf8_trim_whitespace(array))
            y = _filled_bool(pc.is_in(folded, value_set=_text_array(_TRUE)))
            bad = ~(y | _filled_bool(pc.is_in(folded, value_set=_text_array(_FALSE))))
        else:
            y = np.zeros(len(array), dtype=bool)
            bad = np.ones(len(array), dtype=bool)
        if missing is not None and bad is not None:
            bad &= ~missing
        codes = _combine(len(array), missing, bad)
        return y, codes

    def _with_pos_label(self, array: pa.Array) -> tuple[BoolArray, BoolArray | None]:
        comparable = _comparable(array, self.pos_label or "")
        if comparable is None:
            return np.zeros(len(array), dtype=bool), np.ones(len(array), dtype=bool)
        text, pos_label = comparable
        y = _filled_bool(pc.equal(text, _text_array([pos_label])[0]))
        if self.negative is None:
            # unique() keeps first appearances in order: the first other value seen
            # becomes the negative class.
            others = pc.unique(pc.filter(text, bool_array(~y))).drop_null()
            if len(others):
                self.negative = str(others[0].as_py())
        if self.negative is None:
            return y, None
        negative = _filled_bool(pc.equal(text, _text_array([self.negative])[0]))
        return y, ~(y | negative)


def _comparable(array: pa.Array, pos_label: str) -> tuple[pa.Array, str] | None:
    """Labels and --pos-label as text that compares as the user means it.

    Numbers compare as numbers (``--pos-label 1.0`` matches 1, and a CSV column of
    ``1.0``/``0.0`` that pyarrow read as floats), booleans case-insensitively.
    """
    kind = array.type
    if pa.types.is_boolean(kind):
        folded = pos_label.strip().lower()
        return pc.cast(array, pa.string()), {"1": "true", "0": "false"}.get(folded, folded)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        numbers = array.cast(pa.string()) if pa.types.is_decimal(kind) else array
        numbers = pc.cast(numbers, pa.float64())
        try:
            wanted = float(pos_label)
        except ValueError:
            wanted = None
        # One formatting for both sides: pyarrow's own float-to-text cast.
        text = pc.cast(numbers, pa.string())
        if wanted is None:
            return text, pos_label
        wanted_array = pa.Array.from_buffers(
            pa.float64(), 1, [None, pa.py_buffer(np.array([wanted], np.float64).tobytes())]
        )
        return text, str(pc.cast(wanted_array, pa.string())[0].as_py())
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        try:
            array = pc.cast(array, pa.string())
        except pa.ArrowException:
            return None  # no text form (nested types): every row is reported
    return pc.utf8_trim_whitespace(array), pos_label.strip()


def bool_array(mask: BoolArray) -> pa.Array:
    """A numpy mask as an Arrow boolean array (for ``Table.filter``), without pandas."""
    bits = np.packbits(np.asarray(mask, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits.tobytes())])


def _text_array(values: Sequence[str]) -> pa.Array:
    """Python strings as an Arrow string array, without pandas."""
    encoded = [value.encode("utf-8") for value in values]
    offsets = np.cumsum([0, *map(len, encoded)], dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(values), buffers)


def _valid_utf8(array: pa.Array) -> bool:
    try:
        array.cast(pa.string())
    except pa.ArrowInvalid:
        return False
    return True


def _filled_bool(array: pa.Array | Any) -> BoolArray:
    """A boolean array's values as numpy, with False for nulls."""
    # Not pc.fill_null(array, False): making that scalar imports pandas (see above).
    array = as_array(array)
    values = bool_values(array)
    missing = null_mask(array)
    return values if missing is None else values & ~missing


def _combine(n: int, missing: BoolArray | None, bad: BoolArray | None) -> Codes | None:
    if (missing is None or not missing.any()) and (bad is None or not bad.any()):
        return None
    codes = np.zeros(n, np.int8)
    if bad is not None:
        codes[bad] = Problem.NOT_A_CLASS
    if missing is not None:
        codes[missing] = Problem.MISSING
    return codes
