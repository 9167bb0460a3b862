"""Byte ranges of one line-oriented file, each read as the whole file's reader reads it.

A file with one record per line (CSV, TSV, JSON Lines) can be cut anywhere: a range ``[start, end)``
holds the lines that *start* in it, past the file's header, so any set of cut points
shares the lines out exactly once, whole. A range's reader seeks to ``start - 1``, skips
to just past the first line end at or after it (the line begun before ``start`` is the
previous range's), and reads on to the end of the last line that starts before ``end``.
Rows are numbered from 1 within the range; the Dask engine shifts them by the row
numbers the ranges before it used (``WorstRows.renumber``): their rows for CSV, whose
blank lines are no rows, and their lines for JSON Lines, whose rows are numbered by
line (its range reader's ``numbers_used()``).

Which formats can be cut, and each one's range reader, is ``RANGE_READERS``; a format's
whole-file reader says where its data starts (``line_layout()``), or None when the
file cannot be cut (compressed, classic Mac line ends). Only uncompressed files are
cut: a compressed stream has no place to start reading but its beginning.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from bcecli.errors import InputError, UsageError, shown_path
from bcecli.io import filesystems
from bcecli.io.reader_base import Reader, reason
from bcecli.io.sources import Source

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_SPLIT_BYTES = 64 << 20  # about one Dask task per 64 MiB of a file
SPLIT_VARIABLE = "BCE_DASK_SPLIT_BYTES"  # bytes per task, in place of DEFAULT_SPLIT_BYTES
MIN_SPLIT_BYTES = 1  # tests cut tiny files into many ranges

# Each format whose files can be cut into byte ranges, and the class that reads one
# range ("module:Class", imported only when a range of that format is read). A new
# line-oriented format is a row here and a ``line_layout()`` on its reader.
RANGE_READERS = {
    "csv": "bcecli.io.csv_reader:CsvRangeReader",
    "tsv": "bcecli.io.csv_reader:CsvRangeReader",
    "jsonl": "bcecli.io.jsonl_reader:JsonlRangeReader",
}


@dataclass(frozen=True)
class LineLayout:
    """What a reader that has read a file's header knows of where its lines are."""

    size: int  # the file's bytes
    data_start: int  # the offset of its first data line (past a BOM, blank lines, the header)
    row_bytes: float  # the mean length of the lines read with the header, to size blocks


@dataclass(frozen=True)
class ByteRange:
    """The data lines of a file that start at an offset in ``[start, end)``."""

    start: int
    end: int
    layout: LineLayout
    names: tuple[str, ...]  # the header as written (column names), read once by the planner


def line_layout(reader: Reader) -> LineLayout | None:
    """Where the reader's data lines are, if its file can be cut into ranges."""
    if reader.source.format not in RANGE_READERS or reader.source.compression:
        return None
    find = getattr(reader, "line_layout", None)
    layout: LineLayout | None = None if find is None else find()
    return layout


def split_bytes_setting(value: int | None = None) -> int:
    """Bytes per range: ``value``, else ``$BCE_DASK_SPLIT_BYTES``, else 64 MiB."""
    if value is not None:
        if value < MIN_SPLIT_BYTES:
            raise UsageError(f"The split size must be a positive number of bytes, not {value}.")
        return value
    text = os.environ.get(SPLIT_VARIABLE)
    if text is None:
        return DEFAULT_SPLIT_BYTES
    try:
        parsed = int(text.strip().replace("_", ""))
    except ValueError:
        parsed = 0
    if parsed < MIN_SPLIT_BYTES:
        raise UsageError(f"{SPLIT_VARIABLE} must be a positive number of bytes, not {text!r}.")
    return parsed


def plan_ranges(layout: LineLayout, names: Sequence[str], split_bytes: int) -> list[ByteRange]:
    """The file's data cut into ranges of about ``split_bytes``; one range if it is no
    bigger (an empty list if it holds no data bytes)."""
    start, size = layout.data_start, layout.size
    if size <= start:
        return []
    count = max(1, -(-(size - start) // split_bytes))
    cuts = [start + (size - start) * index // count for index in range(count + 1)]
    return [ByteRange(a, b, layout, tuple(names)) for a, b in zip(cuts, cuts[1:]) if a < b]


def open_range(source: Source, byte_range: ByteRange) -> Reader:
    """A reader of one range of ``source`` (the ``Reader`` protocol, rows from 1)."""
    module, _, name = RANGE_READERS[source.format].partition(":")
    reader: Reader = getattr(importlib.import_module(module), name)(source, byte_range)
    return reader


class RangeText:
    """The whole lines that start in one byte range of a file, as blocks.

    ``blocks(block_bytes)`` yields blocks of whole lines (the last one of the file may
    lack its line end; a last piece of only white space is dropped, as the whole
    file's reader drops it), each with the file offset just past it.
    ``check_block`` sees every block before it is handed on (a format's own test of
    what a cut there could change, such as a CSV quote left open at a line end).
    """

    def __init__(
        self,
        source: Source,
        byte_range: ByteRange,
        check_block: Callable[[bytes, int], None] | None = None,
    ) -> None:
        self.source = source
        self.range = byte_range
        self._check = check_block
        self._file = _open_at(source)

    def close(self) -> None:
        self._file.close()

    def _read(self, size: int) -> bytes:
        try:
            return bytes(self._file.read(size))
        except (OSError, ValueError) as error:
            raise InputError(
                f"{shown_path(self.source.path)}: cannot read the file ({reason(error)}); "
                "it may be truncated or corrupt."
            ) from None
        except Exception as error:  # pyarrow's errors from an object store
            raise filesystems.read_error(self.source.path, error) from None

    def _first_line(self, block_bytes: int) -> tuple[int, bytes]:
        """(offset of the range's first line, the bytes read from there on); offset
        ``end`` or beyond when no line starts in the range."""
        start, end = self.range.start, self.range.end
        data_start = self.range.layout.data_start
        if start <= data_start:
            self._file.seek(data_start)
            return data_start, b""
        # A line starts at p when the byte before p is a line end: look for one in
        # [start - 1, end - 1), reading no further than the range.
        at = start - 1
        self._file.seek(at)
        while at < end - 1:
            data = self._read(min(block_bytes, end - 1 - at))
            if not data:
                break
            newline = data.find(b"\n")
            if newline >= 0:
                return at + newline + 1, data[newline + 1 :]
            at += len(data)
        return end, b""

    def blocks(self, block_bytes: int) -> Iterator[tuple[bytes, int]]:
        first, tail = self._first_line(block_bytes)
        end = self.range.end
        if first >= end:
            return
        at = first  # the file offset of tail[0]
        eof = False
        while True:
            # The range's text ends with the first line end at or after end - 1.
            stop = tail.find(b"\n", max(end - 1 - at, 0))
            if stop >= 0 or eof:
                last = tail[: stop + 1] if stop >= 0 else tail
                yield from self._cut(last, at, block_bytes, at_eof=stop < 0)
                return
            if len(tail) >= block_bytes:
                cut = tail.rfind(b"\n")
                if cut >= 0:
                    yield self._checked(tail[: cut + 1], at + cut + 1)
                    at += cut + 1
                    tail = tail[cut + 1 :]
                    continue
            data = self._read(block_bytes)
            if not data:
                eof = True
            tail += data

    def _cut(
        self, text: bytes, at: int, block_bytes: int, *, at_eof: bool
    ) -> Iterator[tuple[bytes, int]]:
        """The range's last text in blocks of whole lines; a last piece without a line
        end only if it holds more than white space."""
        start = 0
        while start < len(text):
            cut = text.rfind(b"\n", start, start + block_bytes)
            if cut < 0:
                cut = text.find(b"\n", start + block_bytes)
            if cut < 0:
                piece = text[start:]
                if not at_eof or piece.strip():
                    yield self._checked(piece, at + len(text))
                return
            yield self._checked(text[start : cut + 1], at + cut + 1)
            start = cut + 1

    def _checked(self, block: bytes, through: int) -> tuple[bytes, int]:
        if self._check is not None:
            self._check(block, through)
        return block, through


def _open_at(source: Source) -> IO[bytes] | pa.NativeFile:
    """The file, open for reading at any offset (ranged reads on an object store)."""
    if filesystems.is_url(source.path):
        return filesystems.open_file(source.path)
    try:
        return open(source.path, "rb", buffering=0)  # noqa: SIM115 - closed by RangeText
    except OSError as error:
        raise InputError(f"{source.path}: cannot open it ({reason(error)}).") from None
