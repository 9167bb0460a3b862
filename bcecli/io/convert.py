"""Arrow columns to float64 and boolean numpy arrays, with masks of what did not convert.

Arrays reach numpy through ``bcecli.io.arrays``, never pyarrow's ``to_numpy``, and
Arrow values are built from buffers, never with ``pa.scalar``/``pa.array`` on Python
objects: each of those imports pandas on first use (0.3 s), and pyarrow swallows a
Ctrl-C that lands during that import, so bce would carry on instead of exiting 130.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bcecli.core.lazy import lazy
from bcecli.core.validate import Problem
from bcecli.io.arrays import bool_values, is_numeric, null_mask, numeric_values
from bcecli.io.compute import pc

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    from bcecli.core.validate import Codes

    FloatArray = npt.NDArray[np.float64]
    BoolArray = npt.NDArray[np.bool_]
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")


# Text that spells a number: what to_float parses as one (JSON Lines types its blocks'
# text columns by it too).
NUMBER = r"(?i)^\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|infinity|nan)\s*$"


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
        looks_numeric = pc.match_substring_regex(array, NUMBER)
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
        # Unchecked: an integer past 2**53 rounds, as float() rounds it, instead of raising.
        array = pc.cast(array, pa.float64(), safe=False)
    missing = null_mask(array)
    values: FloatArray = numeric_values(array)
    if missing is not None:
        values = np.where(missing, np.nan, values)  # not whatever the buffer held
    if missing is not None and unparsed is not None:
        missing = missing & ~unparsed
    return values, missing, unparsed


# The two rules a label column can follow without --pos-label.
NUMBERS = "0/1"
BOOLEANS = "true/false"
# A column's rule as learnt so far: (NUMBERS, BOOLEANS or None; with --pos-label, the
# negative class or None). Plain data, so the Dask engine passes it between tasks.
LabelRule = tuple[str | None, str | None]


class LabelMapper:
    """Maps a label column to booleans (y = 1) and problem codes by one rule per column.

    Without ``pos_label`` the rule is 0/1 (numbers, or text such as ``1`` and ``0.0``)
    or booleans (a boolean column, or the words true and false in any case), whichever
    the column's first label that is one of those follows. With it, that value is
    positive and the first other value is the negative class. Once settled, the rule
    holds for the rest of the column, in every chunk and file: a label outside it (a
    ``yes`` among 0/1, a third class) is invalid wherever it appears.

    ``learn()`` settles the rule and must see the chunks in row order, on one thread;
    ``convert()`` then runs on any thread. A chunk converted before the rule settles
    held no label that could settle it, so it converts alike either way.
    """

    def __init__(self, pos_label: str | None = None) -> None:
        self.pos_label = pos_label
        self.negative: str | None = None  # with pos_label: the other class, once seen
        self.kind: str | None = None  # without: NUMBERS or BOOLEANS, once seen

    @property
    def settled(self) -> bool:
        return (self.kind if self.pos_label is None else self.negative) is not None

    @property
    def rule(self) -> LabelRule:
        """The rule as it stands, for ``convert(column, rule)``."""
        return self.kind, self.negative

    def numbers_seen(self) -> None:
        """Rows with the labels 0 and 1 were scored elsewhere (the C kernel's fast path):
        the rule is 0/1 if nothing settled it before them, as ``learn()`` would find."""
        if self.pos_label is None and self.kind is None:
            self.kind = NUMBERS

    def expected(self, rule: LabelRule) -> str:
        """What a label is not, under the rule a chunk was converted by (``convert``)."""
        kind, negative = rule
        if self.pos_label is not None:
            if negative is None:
                return f"one of two classes ({self.pos_label!r} is the positive one)"
            return f"{self.pos_label!r} or {negative!r}"
        if kind == NUMBERS:
            return "0 or 1, the classes of this column (its first valid label is a number)"
        if kind == BOOLEANS:
            return "true or false, the classes of this column (its first valid label is a boolean)"
        return (
            "0 or 1, nor true or false (pass --pos-label to name the positive class of text labels)"
        )

    def learn(self, column: pa.Array | pa.ChunkedArray) -> None:
        """Settle the rule from this chunk's labels if it is not settled yet."""
        if self.settled:
            return
        array = _label_array(column, self.pos_label)
        if self.pos_label is not None:
            comparable = _comparable(array, self.pos_label)
            if comparable is not None:
                text, pos_label = comparable
                positive = _filled_bool(pc.equal(text, _text_array([pos_label])[0]))
                others = pc.filter(text, bool_array(~positive)).drop_null()
                if len(others):
                    self.negative = str(others[0].as_py())
            return
        _, numbers, booleans = _classify(array, None)
        fits = _either(len(array), numbers, booleans)
        if fits.any():
            first = int(np.argmax(fits))
            self.kind = NUMBERS if numbers is not None and numbers[first] else BOOLEANS

    def convert(
        self, column: pa.Array | pa.ChunkedArray, rule: LabelRule | None = None
    ) -> tuple[BoolArray, Codes | None, LabelRule]:
        """(y, problem codes, the rule applied): a label outside the rule is NOT_A_CLASS.
        The rule is ``rule`` when given (as ``self.rule`` stood earlier), the current one
        otherwise."""
        array = _label_array(column, self.pos_label)
        missing = null_mask(array)
        # Read once: learn() may settle the rule on another thread meanwhile.
        kind, negative = self.rule if rule is None else rule
        if self.pos_label is not None:
            y, bad = self._with_pos_label(array, negative)
        else:
            y, numbers, booleans = _classify(array, kind)
            fits = numbers if kind == NUMBERS else booleans if kind == BOOLEANS else None
            bad = np.ones(len(array), dtype=bool) if fits is None else ~fits
        if missing is not None and bad is not None:
            bad &= ~missing
        codes = _combine(len(array), missing, bad)
        return y, codes, (kind, negative)

    def _with_pos_label(
        self, array: pa.Array, negative: str | None
    ) -> tuple[BoolArray, BoolArray | None]:
        comparable = _comparable(array, self.pos_label or "")
        if comparable is None:
            return np.zeros(len(array), dtype=bool), np.ones(len(array), dtype=bool)
        text, pos_label = comparable
        y = _filled_bool(pc.equal(text, _text_array([pos_label])[0]))
        if negative is None:  # learn() saw no other class up to here
            return y, None
        other = _filled_bool(pc.equal(text, _text_array([negative])[0]))
        return y, ~(y | other)


def _label_array(column: pa.Array | pa.ChunkedArray, pos_label: str | None) -> pa.Array:
    """One plain array of labels: dictionaries decoded, UTF-8 bytes as text, decimals
    as numbers (with --pos-label they compare as text, see _comparable)."""
    array = as_array(column)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if (pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type)) and (
        _valid_utf8(array)
    ):
        array = array.cast(pa.string())
    if pa.types.is_decimal(array.type) and pos_label is None:
        array = pc.cast(array.cast(pa.string()), pa.float64())  # 1.0 and 0.0 as numbers
    return array


def _classify(
    array: pa.Array, kind: str | None
) -> tuple[BoolArray, BoolArray | None, BoolArray | None]:
    """(y, rows holding 0 or 1, rows holding true or false); None where no row can.

    Text is looked at only for the rule ``kind`` once that is known (for both before
    it is): parsed as numbers under 0/1, compared with the words under booleans.
    Missing rows hold neither.
    """
    n = len(array)
    missing = null_mask(array)
    if pa.types.is_boolean(array.type):
        valid = np.ones(n, dtype=bool) if missing is None else ~missing
        return _filled_bool(array), None, valid
    if is_numeric(array.type):
        values = numeric_values(array)
        y = values == 1
        numbers = y | (values == 0)
        if missing is not None:  # the buffer under a null holds anything
            y &= ~missing
            numbers &= ~missing
        return y, numbers, None
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return np.zeros(n, dtype=bool), None, None  # nested, dates...: no rule takes them
    y = np.zeros(n, dtype=bool)
    numbers = booleans = None
    if kind != BOOLEANS:
        # Text that reads as the number 0 or 1 (1, 0.0, 1e0), as pyarrow's own type
        # guess would read it in a block without other text.
        values = to_float(array)[0]
        y = values == 1
        numbers = y | (values == 0)
    if kind != NUMBERS:
        folded = pc.utf8_lower(pc.utf8_trim_whitespace(array))
        is_true = _filled_bool(pc.equal(folded, _text_array(["true"])[0]))
        booleans = is_true | _filled_bool(pc.equal(folded, _text_array(["false"])[0]))
        y |= is_true
    return y, numbers, booleans


def _either(n: int, first: BoolArray | None, second: BoolArray | None) -> BoolArray:
    if first is None:
        return np.zeros(n, dtype=bool) if second is None else second
    return first if second is None else first | second


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
        numbers = pc.cast(numbers, pa.float64(), safe=False)  # 2**53 + 1 rounds, as in float()
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
