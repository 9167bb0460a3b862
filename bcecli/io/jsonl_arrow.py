"""JSON Lines blocks read by pyarrow's JSON reader (C++), giving exactly the columns the
line-by-line parse of ``jsonl_reader`` gives, or None where that is not certain.

The line-by-line parse takes each wanted value as the text it is written with (a JSON
number's own digits, ``true``, a string's characters) and types that text by the CSV
rules (``typed``). pyarrow converts values itself, by the same number parsing, so its
columns are turned into what that text would have given:

- strings go through ``typed`` as they are; booleans are the words true and false
  (kept boolean where the column's type is inferred);
- integers are their own digits, so they are exact as numbers, and as text too except
  a JSON ``-0`` (a block holding one is left to the line-by-line parse);
- floats are pyarrow's parse of the digits, the parse the CSV rules use, so a float or
  inferred column takes them as they are; an inferred column of whole numbers may have
  been written ``1`` (integers) or ``1.0`` (floats), and is read again as integers to
  tell; a text column of floats needs the digits, which are gone, so such a block is
  left to the line-by-line parse.

pyarrow reads some things the standard library refuses (``Inf``, ``-NaN``, two objects
on one line, an object over two lines, nesting past Python's recursion limit), skips
blank lines without saying so, and stops a block at its first type conflict. A block
with any of these, or with a value that is an object or array, goes to the line-by-line
parse, which numbers its rows by line and names any bad line as it always has. The
types of the wanted fields are learnt from the first lines and then from each block read
here, so only those fields are converted; a block whose types changed is inferred whole.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bcecli.core.lazy import lazy
from bcecli.io.compute import pc
from bcecli.io.convert import NUMBER

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pa_json
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pa_json = lazy("pyarrow.json")

# Off: every block is parsed line by line (the tests compare the two).
ENABLED = True

FieldPath = tuple[str, ...]
# A wanted column: its key, its path of keys, and how it is typed (below).
Wanted = tuple[str, FieldPath, str]
# A block's rows: tables of the wanted columns, each with its first line's number.
Runs = list[tuple[int, "pa.Table"]]

# How a needed column is typed: the CSV reader's float, text, or inferred columns.
FLOAT, TEXT, INFER = "float", "text", "infer"
_INTEGER = r"^[+-]?\d{1,18}$"
_BOOLEAN = r"^(true|True|TRUE|false|False|FALSE)$"

# Brackets a line may open before its nesting could reach Python's recursion limit
# (about 1000 levels, less the stack below the parse): more goes line by line.
MAX_BRACKETS = 400
# What pyarrow reads and the standard library refuses or reads otherwise: Inf, -Inf
# and -NaN (NaN itself too, as its bits may differ); one object ending where another
# starts on the same line. Inside a string these only send a block line by line.
_NON_FINITE = re.compile(rb"[:,\[\s-](?:NaN|Inf)")
_TWO_OBJECTS = re.compile(rb"\}[ \t\r]*\{")
_BLANK_INSIDE = re.compile(rb"\n[ \t\r]*\n")
_BLANK_FIRST = re.compile(rb"[ \t\r]*\n")
# A JSON -0, which pyarrow reads as the integer 0 (whose text is 0).
_NEGATIVE_ZERO = re.compile(rb"-0(?![0-9.eE])")


def all_match(array: pa.Array, pattern: str) -> bool:
    """Every value present matches PATTERN."""
    matches = pc.match_substring_regex(array, pattern)
    return not pc.any(pc.and_(pc.invert(matches), pc.is_valid(array))).as_py()


def typed(array: pa.Array, kind: str) -> pa.Array:
    """A text column typed as the CSV reader types it: numbers where every value is one
    (as a float column, or as an inferred column: integers, then floats), booleans where
    every value is a boolean word, text otherwise (the validator then names the value)."""
    if kind == TEXT or array.null_count == len(array):
        return array
    if kind == INFER and all_match(array, _INTEGER):
        return pc.cast(array, pa.int64())
    if all_match(array, NUMBER):
        return pc.cast(pc.utf8_trim_whitespace(array), pa.float64())
    if kind == INFER and all_match(array, _BOOLEAN):
        return pc.cast(array, pa.bool_())
    return array


_WHITESPACE = b" \t\r\n"
_SPACE_OR_CLOSE = b" \t\r}"


class ArrowBlocks:
    """Reads blocks of whole lines with pyarrow, learning the wanted fields' types."""

    def __init__(self, wanted: Sequence[Wanted], seen: dict[FieldPath, pa.DataType]) -> None:
        self.wanted = list(wanted)
        paths = [path for _, path, _ in self.wanted]
        # A path inside another wanted one (a field that is a number on some lines and
        # an object on others) has no Arrow type: such columns go line by line.
        nested = any(a != b and b[: len(a)] == a for a in paths for b in paths)
        self.usable = ENABLED and not nested and len(set(paths)) == len(paths)
        self.types: dict[FieldPath, pa.DataType | None] = {
            path: _declared(seen.get(path), kind) for _, path, kind in self.wanted
        }

    def parse(self, block: bytes, lines_before: int) -> Runs | None:
        """The block's rows as the line-by-line parse gives them, or None where pyarrow
        cannot be relied on for this block. BLOCK must be valid UTF-8 (checked before)."""
        if not self.usable:
            return None
        numbers = _line_numbers(block, lines_before)
        if numbers is None:
            return None
        rows = len(numbers) if isinstance(numbers, np.ndarray) else numbers[1]
        if rows == 0:
            return []
        table = self._read(block, self._schema()) if self._known() else None
        if table is None:
            table = self._read(block, None)
            if table is None:
                return None
            self._learn(table)
        if table.num_rows != rows:
            return None
        columns = [_leaf(table, path) for _, path, _ in self.wanted]
        columns = self._settle_whole_numbers(block, columns, rows)
        arrays = []
        for column, (_, _, kind) in zip(columns, self.wanted):
            array = _exact(column, kind, block, rows)
            if array is None:
                return None
            arrays.append(array)
        names = [key for key, _, _ in self.wanted]
        result = pa.Table.from_arrays(arrays, names=names) if arrays else _no_columns(rows)
        if not isinstance(numbers, np.ndarray):
            return [(numbers[0], result)]
        cuts = [0, *(np.flatnonzero(np.diff(numbers) != 1) + 1).tolist(), rows]
        return [
            (int(numbers[a]), result.slice(a, b - a)) for a, b in zip(cuts, cuts[1:], strict=False)
        ]

    def _known(self) -> bool:
        return all(kind is not None for kind in self.types.values())

    def _schema(self, override: dict[FieldPath, pa.DataType] | None = None) -> pa.Schema:
        """The wanted fields' types as a schema of nested structs."""
        tree: dict[str, object] = {}
        for path, kind in self.types.items():
            node = tree
            for key in path[:-1]:
                node = node.setdefault(key, {})  # type: ignore[assignment]
            node[path[-1]] = (override or {}).get(path, kind)

        def fields(node: dict[str, object]) -> list[pa.Field]:
            return [
                pa.field(key, pa.struct(fields(value)) if isinstance(value, dict) else value)
                for key, value in node.items()
            ]

        return pa.schema(fields(tree))

    def _read(self, block: bytes, schema: pa.Schema | None) -> pa.Table | None:
        """pyarrow's table of BLOCK (inferred without a schema), or None if it fails."""
        parse = pa_json.ParseOptions(
            explicit_schema=schema,
            unexpected_field_behavior="ignore" if schema is not None else "infer",
        )
        options = pa_json.ReadOptions(use_threads=False, block_size=len(block) + 64)
        try:
            return pa_json.read_json(pa.BufferReader(block), options, parse)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None

    def _learn(self, table: pa.Table) -> None:
        """The types of the wanted fields as inferred for a block, for the next ones."""
        for _, path, kind in self.wanted:
            column = _leaf(table, path)
            if column is not None and not pa.types.is_null(column.type):
                self.types[path] = _declared(column.type, kind)

    def _settle_whole_numbers(
        self, block: bytes, columns: list[pa.Array | None], rows: int
    ) -> list[pa.Array | None]:
        """Inferred columns of floats that are all whole numbers, read again as integers:
        written ``1`` they are integers, as the line-by-line parse types them, written
        ``1.0`` (or past 64 bits) the read fails and they stay floats."""
        unsure = [
            path
            for column, (_, path, kind) in zip(columns, self.wanted)
            if kind == INFER
            and column is not None
            and pa.types.is_floating(column.type)
            and _whole(column)
        ]
        if not unsure:
            return columns
        again = self._read(block, self._schema(dict.fromkeys(unsure, pa.int64())))
        if again is None or again.num_rows != rows:
            return columns
        return [
            _leaf(again, path) if path in unsure else column
            for column, (_, path, _) in zip(columns, self.wanted)
        ]


def _declared(kind: pa.DataType | None, column: str) -> pa.DataType | None:
    """The type to ask pyarrow for, from one seen: a float column's numbers as floats
    (so -0 stays -0.0); dates and times as the strings they are."""
    if kind is None:
        return None
    if pa.types.is_integer(kind):
        return pa.float64() if column == FLOAT else pa.int64()
    if pa.types.is_floating(kind):
        return pa.float64()
    if pa.types.is_temporal(kind) or pa.types.is_string(kind):
        return pa.string()
    return kind


@functools.cache
def _byte_set(characters: bytes) -> np.ndarray:
    """A lookup table of bytes: True for CHARACTERS."""
    table = np.zeros(256, dtype=bool)
    table[list(characters)] = True
    return table


def _line_numbers(block: bytes, lines_before: int) -> tuple[int, int] | np.ndarray | None:
    """The numbers of the block's non-blank lines: (first, count) where none is blank,
    else an array; None where the block holds what pyarrow and the standard library may
    read differently (``_NON_FINITE``, ``_TWO_OBJECTS``, a line of too many brackets).

    One numpy pass per byte looked for; the regular expressions run only where those
    bytes make them needed."""
    data = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(data == 10)
    lines = len(ends) + (0 if block.endswith(b"\n") else 1)
    if np.count_nonzero((data == 73) | (data == 78)) and _NON_FINITE.search(block):  # I, N
        return None
    opening = np.flatnonzero(data == 123)  # {
    before = data[opening[opening > 0] - 1]
    if _byte_set(_SPACE_OR_CLOSE)[before].any() and _TWO_OBJECTS.search(block):
        return None
    brackets = len(opening) + np.count_nonzero(data == 91)  # [
    if brackets > lines + MAX_BRACKETS:
        opening = np.flatnonzero((data == 123) | (data == 91))
        per_line = np.bincount(np.searchsorted(ends, opening), minlength=lines)
        if int(per_line.max()) > MAX_BRACKETS:
            return None
    space = _byte_set(_WHITESPACE)
    line_starts = data[ends[ends + 1 < len(data)] + 1]
    if not (space[data[0]] or space[line_starts].any()):
        return lines_before + 1, lines
    if not (_BLANK_FIRST.match(block) or _BLANK_INSIDE.search(block)):
        return lines_before + 1, lines
    content = np.flatnonzero(~space[data])
    filled = np.zeros(lines, dtype=bool)
    filled[np.searchsorted(ends, content)] = True
    return np.flatnonzero(filled).astype(np.int64) + lines_before + 1


def _leaf(table: pa.Table, path: FieldPath) -> pa.Array | None:
    """The column at PATH (None where pyarrow has no such field: all missing); a null
    object on the way makes the value missing, as it does line by line."""
    if path[0] not in table.column_names:
        return None
    column = table.column(path[0])
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    for key in path[1:]:
        if not pa.types.is_struct(array.type) or array.type.get_field_index(key) < 0:
            return None  # not an object in this block, or without the key: missing
        array = pc.struct_field(array, key)
    return array


def _whole(array: pa.Array) -> bool:
    """Every float present is a whole number (so may have been written as an integer)."""
    values = array.drop_null()
    if len(values) == 0:
        return True
    return bool(pc.all(pc.equal(pc.trunc(values), values)).as_py())


def _exact(array: pa.Array | None, kind: str, block: bytes, rows: int) -> pa.Array | None:
    """The column the line-by-line parse gives for pyarrow's ARRAY (None: no such field,
    all missing), or None if unsure."""
    if array is None or array.null_count == len(array):
        return pa.nulls(rows, pa.string())
    kind_of = array.type
    if pa.types.is_string(kind_of):
        return typed(array, kind)
    if pa.types.is_boolean(kind_of):
        return array if kind == INFER else typed(pc.cast(array, pa.string()), kind)
    if pa.types.is_int64(kind_of):
        if kind != INFER and _NEGATIVE_ZERO.search(block):
            return None
        bounds = pc.min_max(array)
        largest = max(-bounds["min"].as_py(), bounds["max"].as_py())
        if kind == INFER and largest < 10**18:
            return array
        if kind == FLOAT and largest <= 2**53:
            return pc.cast(array, pa.float64())
        return typed(pc.cast(array, pa.string()), kind)
    if pa.types.is_float64(kind_of):
        return None if kind == TEXT else array
    return None


def _no_columns(rows: int) -> pa.Table:
    """A table of ROWS rows and no column (a pass that needs none, as row counting)."""
    return pa.table({"_": pa.nulls(rows)}).drop_columns(["_"])
