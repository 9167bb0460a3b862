"""JSON Lines (``.jsonl``, ``.ndjson``, or ``.json`` of one object per line), from a
file, optionally compressed, or standard input.

The text is read in blocks of whole lines, as CSV is (``csv_reader``), so memory is
bounded by the block and a row's number is its 1-based line number in the file, across
blocks and compression. Blank lines hold no row but are counted: the rows around one
go to separate chunks, each numbered from its own first line.

A block is read by pyarrow's JSON reader (``jsonl_arrow``) where that gives exactly
what this module's own parse gives, which takes the rest: each line parsed by the
standard library's ``json`` with numbers kept as written, only the needed fields taken
out of it; a nested field is addressed by its dotted name (``scores.churn`` for
``{"scores": {"churn": 0.3}}``). Values become text as a CSV would hold them (``true``
for a JSON true, ``0.10`` for a JSON 0.10) and are typed by the CSV rules: predictions
and weights as numbers, ``--by`` columns as text, others (the label, kept columns) as
pyarrow's CSV reader infers them. So a JSON number gives exactly the float the same
digits give in a CSV, and types may differ from line to line without failing the
block. A missing key or ``null`` is a missing value.

The columns are the fields of the first lines (up to ``SAMPLE_LINES`` of the first
read, nested objects flattened to dotted names, in the order first seen): what column
detection looks through and ``bce rows`` writes back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from bcecli.core.lazy import lazy
from bcecli.errors import InputError, UsageError
from bcecli.io import jsonl_arrow
from bcecli.io.csv_reader import (
    BLOCK_RANGE,
    FIRST_READ,
    HEADER_LIMIT,
)
from bcecli.io.jsonl_arrow import FLOAT, INFER, TEXT, FieldPath, Runs, Wanted, typed
from bcecli.io.parallel import default_workers, ordered_map
from bcecli.io.ranges import ByteRange, LineLayout, RangeText
from bcecli.io.reader_base import (
    Chunk,
    column_keys,
    reason,
    slice_rows,
)
from bcecli.io.sniff import binary_kind
from bcecli.io.sources import Source
from bcecli.io.text_stream import TextStream

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")

# The columns are the fields of at most this many lines of the first read.
SAMPLE_LINES = 1000
# A block's bytes: each of its lines becomes Python objects while it is parsed, many
# times the text, so blocks stay at CSV's smallest (1 MiB: 8 MiB blocks took 80 MB more
# peak memory, for no speed). A chunk holds at most one block's rows.
BLOCK_BYTES = BLOCK_RANGE[0]
_BOM = b"\xef\xbb\xbf"
_WHOLE = re.compile(r"-?\d+")


class JsonNumber(str):
    """A JSON number (or NaN/Infinity) as written: ``json`` hands these the literal."""


class JsonlReader(TextStream):
    """JSON Lines from a file (optionally compressed) or standard input."""

    def __init__(self, source: Source, *, no_header: bool = False) -> None:
        if no_header:
            raise UsageError(
                "--no-header does not apply to JSON Lines, whose fields are named by their "
                "keys; leave it out."
            )
        super().__init__(source)
        self._bom = False  # the file starts with a UTF-8 byte order mark
        try:
            self.column_names, self._paths, self._seen = self._fields()
        except BaseException:
            self.close()
            raise

    def _fields(self) -> tuple[list[str], list[FieldPath], dict[FieldPath, pa.DataType]]:
        """The columns (dotted names, and each one's path of keys) of the first lines,
        and the Arrow type of each one's first value there (to read blocks by).

        Reads until a whole non-blank line is in (all a pipe has sent so far, or the
        first read of a file); what is read stays pending for the chunks."""
        buffer = b""
        while not self._eof:
            buffer += self._read(FIRST_READ)
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
                self._bom = True
            binary = binary_kind(buffer)
            if binary:
                raise InputError(f"{self.name} is {binary[0]}, not JSON Lines; {binary[1]}.")
            cut = buffer.rfind(b"\n")
            if cut >= 0 and buffer[: cut + 1].strip():
                break
            if len(buffer) >= HEADER_LIMIT:
                raise InputError(
                    f"{self.name} has no line end in its first {HEADER_LIMIT >> 20} MiB, "
                    "so it is not JSON Lines; pass one JSON object per line."
                )
        if not buffer.strip():
            raise InputError(f"{self.name} is empty; bce needs JSON Lines, one object per line.")
        self._pending = buffer
        whole = buffer if self._eof else buffer[: buffer.rfind(b"\n") + 1]
        names: list[str] = []
        paths: list[FieldPath] = []
        seen: dict[FieldPath, pa.DataType] = {}
        sampled = 0
        for number, line in enumerate(self._decode(whole, 0).split("\n"), start=1):
            if sampled >= SAMPLE_LINES:
                break
            if not line.strip():
                continue
            sampled += 1
            for path, value in _leaves(self._record(line, number), ()):
                if path not in seen:
                    paths.append(path)
                    names.append(".".join(path))
                if seen.get(path, pa.null()) == pa.null():
                    seen[path] = _arrow_type(value)
        return names, paths, seen

    def line_layout(self) -> LineLayout | None:
        """Where the lines start in the file, for reading it in byte ranges
        (``bcecli.io.ranges``): from its first byte (past a byte order mark), since every
        line, blank ones too, has its number; None where it cannot be cut (standard
        input, a compressed file)."""
        if self.source.compression or self._stored is None:
            return None
        extent = self.extent(self.source)
        if extent is None:
            return None
        return LineLayout(extent.size, len(_BOM) if self._bom else 0, BLOCK_BYTES)

    # -- parsing -------------------------------------------------------------------

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        paths = dict(zip(column_keys(self.column_names), self._paths))
        wanted = [
            (
                key,
                paths[key],
                FLOAT if key in float_columns else TEXT if key in text_columns else INFER,
            )
            for key in columns
        ]
        fast = jsonl_arrow.ArrowBlocks(wanted, self._seen)

        def blocks() -> Iterator[tuple[bytes, int, int | None]]:
            """Each block, its count of lines before, and where it ends as stored."""
            lines_before = 0
            for block, end in self._measured(self._blocks(BLOCK_BYTES), 0):
                yield block, lines_before, end
                lines_before += block.count(b"\n")

        def read(item: tuple[bytes, int, int | None]) -> tuple[bytes, int, int | None, Runs | None]:
            return (*item, self._fast(fast, item[0], item[1]))

        # pyarrow's parse releases the GIL: blocks are read on both cores (one at a time
        # from standard input, so each goes on as soon as it is in).
        workers = 1 if self.source.is_stdin else default_workers()
        start = 0  # the stored position before this block: its chunks share out the rest
        for block, lines_before, end, runs in ordered_map(
            read, blocks(), workers=workers, size=lambda item: len(item[0])
        ):
            if runs is None:
                runs = self._parse(block, lines_before, wanted)
            del block
            rows = sum(table.num_rows for _, table in runs)
            done = 0
            for first_line, table in runs:
                for offset, piece in slice_rows(table, chunk_size):
                    done += piece.num_rows
                    through = None if end is None else start + (end - start) * done // rows
                    yield Chunk(self.source.path, first_line + offset, piece, through)
                    del piece
            if end is not None:
                start = end

    def _fast(self, fast: jsonl_arrow.ArrowBlocks, block: bytes, lines_before: int) -> Runs | None:
        """The block's rows read by pyarrow (``jsonl_arrow``), or None where it leaves the
        block to ``_parse``. Text that is not UTF-8 fails here as it does there."""
        if not fast.usable:
            return None
        if not block.isascii():  # ASCII is UTF-8: decoding it only to check would copy it
            self._decode(block, lines_before)
        return fast.parse(block, lines_before)

    def _parse(self, block: bytes, lines_before: int, wanted: list[Wanted]) -> Runs:
        """The block's rows as tables of the wanted columns, one per run of lines without
        a blank line between them, each with its first line's number."""
        values: list[list[str | None]] = [[] for _ in wanted]
        numbers: list[int] = []
        for index, line in enumerate(self._decode(block, lines_before).split("\n")):
            if not line.strip():
                continue
            number = lines_before + index + 1
            record = self._record(line, number)
            numbers.append(number)
            for column, (_, path, _) in zip(values, wanted):
                column.append(_text(_lookup(record, path)))
        if not numbers:
            return []
        arrays = [
            typed(_string_array(column), kind) for column, (_, _, kind) in zip(values, wanted)
        ]
        names = [key for key, _, _ in wanted]
        table = pa.Table.from_arrays(arrays, names=names) if arrays else _no_columns(len(numbers))
        lines = np.asarray(numbers, dtype=np.int64)
        cuts = [0, *(np.flatnonzero(np.diff(lines) != 1) + 1).tolist(), len(numbers)]
        return [(numbers[a], table.slice(a, b - a)) for a, b in zip(cuts, cuts[1:], strict=False)]

    def _decode(self, block: bytes, lines_before: int) -> str:
        try:
            return block.decode("utf-8")
        except UnicodeDecodeError as error:
            line = lines_before + block.count(b"\n", 0, error.start) + 1
            raise InputError(
                f"{self.name} line {line} is not UTF-8 text; convert the file to UTF-8 "
                "(for example with iconv -f latin1 -t utf-8)."
            ) from None

    def _record(self, line: str, number: int) -> dict[str, Any]:
        """The object on line NUMBER; an error names the line when it is not one."""
        try:
            record = json.loads(
                line, parse_float=JsonNumber, parse_int=JsonNumber, parse_constant=JsonNumber
            )
        except RecursionError:
            raise InputError(
                f"{self.name} line {number}: the JSON nests too deeply to read."
            ) from None
        except ValueError as error:
            where = f"line {number} is not JSON"
            if number == 1 and line.strip() in ("{", "["):
                raise InputError(
                    f"{self.name} {where} on its own: it looks like one pretty-printed JSON "
                    "document, and bce reads JSON Lines, one object per line (jq -c '.[]' "
                    "writes an array that way)."
                ) from None
            detail = getattr(error, "msg", reason(error))
            column = getattr(error, "colno", None)
            at = f" at column {column}" if column is not None else ""
            raise InputError(
                f"{self.name} {where} ({detail}{at}): {line.strip()[:60]!r}. Fix that line; "
                "bce reads JSON Lines, one object per line."
            ) from None
        if not isinstance(record, dict):
            kind = "an array" if isinstance(record, list) else "a single value"
            hint = " (jq -c '.[]' writes an array's objects one per line)" if number == 1 else ""
            raise InputError(
                f"{self.name} line {number} holds {kind}, not a JSON object; bce reads JSON "
                f"Lines, one object per line{hint}."
            )
        return record


class JsonlRangeReader(JsonlReader):
    """The rows of one byte range of a JSON Lines file (``bcecli.io.ranges``): the lines
    that start in it, numbered from the range's first line as 1, parsed as the whole
    file's reader parses them. Its columns and their first types come from the file's
    first lines, as the whole file's reader finds them. ``numbers_used()`` is how many
    line numbers the range spans (blank lines too), by which the Dask engine shifts the
    row numbers of the ranges after it. No quote can hide a line end: a JSON string
    holds none."""

    def __init__(self, source: Source, byte_range: ByteRange) -> None:
        super().__init__(source)
        self.close()
        if tuple(self.column_names) != byte_range.names:
            raise InputError(f"{self.name} changed while it was being read; score it again.")
        self._pending = b""
        self._stored = None  # progress is counted by the tasks, not by position
        self._text = RangeText(source, byte_range)
        self._lines = 0

    def close(self) -> None:
        text = getattr(self, "_text", None)
        if text is not None:
            text.close()
        else:
            super().close()

    def line_layout(self) -> LineLayout | None:
        return None  # a range is not cut again

    def numbers_used(self) -> int:
        return self._lines

    def _blocks(self, block_bytes: int) -> Iterator[bytes]:
        for block, _ in self._text.blocks(block_bytes):
            self._lines += block.count(b"\n") + (not block.endswith(b"\n"))
            yield block


def _leaves(record: dict[str, Any], prefix: FieldPath) -> Iterator[tuple[FieldPath, Any]]:
    """The paths and values of a record's fields, nested objects opened up (an empty one
    is a leaf)."""
    for key, value in record.items():
        path = (*prefix, key)
        if isinstance(value, dict) and value:
            yield from _leaves(value, path)
        else:
            yield path, value


def _arrow_type(value: Any) -> pa.DataType:
    """The Arrow type pyarrow reads a JSON value as (null where it has no plain one)."""
    if isinstance(value, JsonNumber):
        return pa.int64() if _WHOLE.fullmatch(value) else pa.float64()
    if isinstance(value, str):
        return pa.string()
    if isinstance(value, bool):
        return pa.bool_()
    return pa.null()


def _lookup(record: dict[str, Any], path: FieldPath) -> Any:
    """The value at PATH, or None where a key on the way is missing."""
    value: Any = record
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str | None:
    """A JSON value as a CSV field would hold it: None for null."""
    if value is None or isinstance(value, str):  # a string, or a JsonNumber as written
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _compact(value)


def _compact(value: Any) -> str:
    """An object or array as compact JSON text, numbers as written."""
    if isinstance(value, JsonNumber):
        return str(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(key)}:{_compact(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_compact(item) for item in value) + "]"
    return json.dumps(value)


def _string_array(values: list[str | None]) -> pa.Array:
    """Python strings (None: missing) as an Arrow string array, built from buffers:
    ``pa.array`` on Python objects imports pandas (see ``bcecli.io.convert``)."""
    encoded = [b"" if value is None else value.encode("utf-8", "replace") for value in values]
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([len(item) for item in encoded], out=offsets[1:])
    kind = pa.large_string() if offsets[-1] >= 1 << 31 else pa.string()
    if kind == pa.string():
        offsets = offsets.astype(np.int32)
    present = np.fromiter((value is not None for value in values), dtype=bool, count=len(values))
    nulls = len(values) - int(present.sum())
    validity = None
    if nulls:
        validity = pa.py_buffer(np.packbits(present, bitorder="little").tobytes())
    buffers = [validity, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(kind, len(values), buffers, null_count=nulls)


def _no_columns(rows: int) -> pa.Table:
    """A table of ROWS rows and no column (a pass that needs none, as row counting)."""
    return pa.table({"_": pa.nulls(rows)}).drop_columns(["_"])
