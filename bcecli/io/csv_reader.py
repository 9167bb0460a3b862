"""Delimited text (CSV, TSV), from a file, optionally compressed, or standard input.

The text is read as byte blocks cut at line ends and each block is parsed by pyarrow
on its own. That keeps row numbers exact, lets a block with a bad value be parsed
again leniently without restarting the stream, and lets standard input be scored
as its lines arrive. A block holds about chunk-size rows, so the chunk size bounds
the text and the tables held at once.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from bcecli.core.lazy import lazy
from bcecli.errors import InputError, shown_path
from bcecli.io.compute import pc
from bcecli.io.parallel import default_workers, ordered_map
from bcecli.io.ranges import ByteRange, LineLayout, RangeText
from bcecli.io.reader_base import (
    Chunk,
    TextBlock,
    column_keys,
    reason,
    slice_rows,
)
from bcecli.io.sniff import binary_kind, delimiter_hint, is_utf8, looks_like_json
from bcecli.io.sources import Source
from bcecli.io.text_stream import TextStream

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.csv as pacsv
else:
    pa = lazy("pyarrow")
    pacsv = lazy("pyarrow.csv")


# A block's bytes: the chunk size times the rows' length, as the first read shows it,
# within these bounds. The default chunk size of short rows makes about 4 MiB; under
# 1 MiB each parse's fixed cost shows (64 KiB blocks parse 3x slower).
BLOCK_RANGE = (1 << 20, 1 << 26)
# The header, the binary-file check and the sample of row lengths come from reads this
# size; blocks are cut from what they read past the header.
FIRST_READ = 1 << 22
HEADER_LIMIT = 1 << 24  # a first line longer than 16 MiB is not a header
_BOM = b"\xef\xbb\xbf"
_BLANK_LINES = re.compile(rb"[\r\n]*")


class CsvReader(TextStream):
    """Delimited text from a file (optionally compressed) or standard input."""

    def __init__(self, source: Source, *, no_header: bool = False) -> None:
        super().__init__(source)
        self._first_line_bytes = 0
        try:
            first_line = self._read_first_line()
            self.column_names = self._header(first_line, no_header)
        except BaseException:
            self.close()
            raise

    def _read_first_line(self) -> bytes:
        """The header line (or first row); blank lines and a UTF-8 BOM before it are dropped."""
        buffer = bytearray(self._pending)
        start = 0
        while True:
            start = _skip_blank_lines(buffer, len(_BOM) if buffer.startswith(_BOM) else 0)
            newline = buffer.find(b"\n", start)
            if _only_cr_line_ends(buffer, start, newline):
                self._cr_line_ends = True
                buffer = bytearray(buffer.replace(b"\r", b"\n"))
                continue
            if newline >= 0 or self._eof or len(buffer) - start >= HEADER_LIMIT:
                break
            buffer += self._read(FIRST_READ)
        data = bytes(buffer[start:])
        binary = binary_kind(data)
        if binary:
            raise InputError(f"{self.name} is {binary[0]}, not delimited text; {binary[1]}.")
        if b"\n" not in data and not self._eof:
            raise InputError(
                f"{self.name} has no line end in its first {HEADER_LIMIT >> 20} MiB, "
                "so it is not delimited text; pass a CSV, TSV or Parquet file."
            )
        line = data.partition(b"\n")[0]
        if not line.strip():
            raise InputError(f"{self.name} is empty; bce needs a header line and rows.")
        self._pending = data
        self._first_line_bytes = len(line) + 1
        return line

    def _header(self, first_line: bytes, no_header: bool) -> list[str]:
        try:
            text = first_line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise InputError(
                f"{self.name} is not UTF-8 text; convert it to UTF-8 "
                "(for example with iconv) or pass a Parquet file."
            ) from None
        if looks_like_json(text):
            raise InputError(
                f"{self.name} holds JSON Lines, not delimited text; pass --input-format "
                "jsonl or name the file .jsonl."
            )
        delimiter = self.source.delimiter
        try:
            fields = next(csv.reader([text], delimiter=delimiter), [])
        except csv.Error:
            # A stray CR or quote: split plainly, pyarrow will judge the rows.
            fields = text.split(delimiter)
        if len(fields) < 2:
            message = f"{self.name}: found a single column in {text[:60]!r}."
            hint = delimiter_hint(text, delimiter)
            if hint:
                message += f" Is the delimiter {hint[0]}? Pass -d {hint[1]}."
            else:
                message += " bce needs at least a label and a prediction column."
            raise InputError(message)
        if no_header:
            return [str(i) for i in range(1, len(fields) + 1)]
        self._pending = self._pending.partition(b"\n")[2]
        # As written, repeats included: the parser addresses columns by column_keys.
        return [name.strip() for name in fields]

    def _block_bytes(self, chunk_size: int) -> int:
        """Bytes for a block of about ``chunk_size`` rows, judged by the rows read so far."""
        sample = self._pending
        rows = sample.count(b"\n")
        if rows:
            row_bytes = (sample.rfind(b"\n") + 1) / rows
        else:  # no whole row read yet (standard input, or one long row): the first line's
            row_bytes = max(len(sample), self._first_line_bytes)
        low, high = BLOCK_RANGE
        return max(low, min(high, int(chunk_size * row_bytes)))

    # -- parsing -------------------------------------------------------------------

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        parser = self.block_parser(columns, float_columns, text_columns)

        def parse(
            item: tuple[bytes, int | None],
        ) -> tuple[tuple[bytes, int | None], pa.Table | None]:
            # Row numbers are known only in order: a failing block is parsed again
            # below, in order, to name its row. A parsed block is kept with its table
            # too: freed on the worker as soon as it was parsed, glibc handed the top
            # of its heap back and faulted it in again for the next (4% slower).
            try:
                return item, parser.parse(item[0], 0)
            except InputError:
                return item, None

        # Standard input stays on one thread so each block is handed on as soon as
        # its lines arrive; files are parsed on every core while this one computes.
        workers = 1 if self.source.is_stdin else default_workers()
        blocks = self.text_blocks(chunk_size)
        rows_before = 0
        start = 0  # the stored position before this block: its pieces share out the rest
        for (block, end), parsed in ordered_map(
            parse, blocks, workers=workers, size=lambda item: len(item[0])
        ):
            table = parser.parse(block, rows_before) if parsed is None else parsed
            for offset, piece in slice_rows(table, chunk_size):
                through = None
                if end is not None:
                    through = start + (end - start) * (offset + piece.num_rows) // table.num_rows
                yield Chunk(self.source.path, rows_before + offset + 1, piece, through)
                del piece  # the caller's alone: gone once scored
            rows_before += table.num_rows
            if end is not None:
                start = end

    def delimited_text(self) -> CsvReader:
        return self

    def line_layout(self) -> LineLayout | None:
        """Where the data lines start in the file, for reading it in byte ranges
        (``bcecli.io.ranges``); None where it cannot be cut: standard input, a pipe, a
        compressed file, or one whose lines end in a lone CR."""
        if self.source.compression or self._cr_line_ends or self._stored is None:
            return None
        extent = self.extent(self.source)
        if extent is None:
            return None
        sample = self._pending
        rows = sample.count(b"\n")
        row_bytes = (sample.rfind(b"\n") + 1) / rows if rows else max(len(sample), 1)
        return LineLayout(extent.size, self._text_read - len(sample), row_bytes)

    def text_blocks(self, chunk_size: int) -> Iterator[TextBlock]:
        """The text after the header as blocks of whole lines of about ``chunk_size`` rows,
        each with how far through the stored file reading is once it is cut."""
        before = self._text_read - len(self._pending)
        return self._measured(self._blocks(self._block_bytes(chunk_size)), before)

    def block_parser(
        self,
        columns: Sequence[str],
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> BlockParser:
        return BlockParser(self.source, self.column_names, columns, float_columns, text_columns)


class CsvRangeReader(CsvReader):
    """The rows of one byte range of a CSV or TSV file (``bcecli.io.ranges``): the lines
    that start in it, numbered from 1, parsed as the whole file's reader parses them.

    A cut inside a quoted value that runs over a line end would change what the rows
    are; bce reads one row per line and refuses such a value, but only where a block
    holds both its lines. So a block whose last line ends inside a quote raises
    ``QuoteAcrossLines``: the caller then reads the whole file in one pass instead.
    """

    def __init__(self, source: Source, byte_range: ByteRange) -> None:
        self.source = source
        self.name = shown_path(source.path)
        self.column_names = list(byte_range.names)
        self._range = byte_range
        self._text = RangeText(source, byte_range, self._check_quotes)

    def close(self) -> None:
        self._text.close()

    def line_layout(self) -> LineLayout | None:
        return None  # a range is not cut again

    def text_blocks(self, chunk_size: int) -> Iterator[TextBlock]:
        low, high = BLOCK_RANGE
        size = max(low, min(high, int(chunk_size * self._range.layout.row_bytes)))
        blocks: Iterator[TextBlock] = self._text.blocks(size)
        return blocks

    def _check_quotes(self, block: bytes, through: int) -> None:
        if b'"' not in block:
            return
        last = block[block.rfind(b"\n", 0, len(block) - 1) + 1 :]
        if ends_in_quote(last, ord(self.source.delimiter)):
            raise QuoteAcrossLines(
                f"{self.name}: a quote is open at the line end before byte {through}; "
                "bce reads one row per line."
            )


class QuoteAcrossLines(InputError):
    """A byte range's block ends inside a quoted value: the file must be read whole."""


def ends_in_quote(line: bytes, delimiter: int) -> bool:
    """True when a line read from its start (outside quotes) ends inside a quoted value,
    as pyarrow's parser reads quotes: one opens a value only at its start, and a doubled
    quote inside one is a quote."""
    quote = 34
    quoted = False
    field_start = True
    index = 0
    length = len(line)
    while index < length:
        byte = line[index]
        if quoted:
            if byte == quote:
                if index + 1 < length and line[index + 1] == quote:
                    index += 2
                    continue
                quoted = False
        elif byte == quote and field_start:
            quoted = True
            field_start = False
        else:
            field_start = byte == delimiter
        index += 1
    return quoted


class BlockParser:
    """Parses one block of CSV lines into a table of the wanted columns."""

    def __init__(
        self,
        source: Source,
        names: Sequence[str],
        columns: Sequence[str],
        float_columns: Sequence[str],
        text_columns: Sequence[str] = (),
    ) -> None:
        self.source = source
        self.name = shown_path(source.path)
        # pyarrow needs distinct names: the columns' keys, shown as the header's names.
        self.names = column_keys(names)
        self.shown = dict(zip(self.names, names))
        self.columns = list(columns)
        self.float_columns = [c for c in float_columns if c in self.columns]
        self.parse_options = pacsv.ParseOptions(delimiter=source.delimiter)
        # Group columns are read as text: per-block type inference could make one
        # group 1 in a block and "1" in the next.
        fixed_text = {name: pa.string() for name in text_columns if name in self.columns}
        self.types = {**fixed_text, **{name: pa.float64() for name in self.float_columns}}
        self.text_types = {**fixed_text, **{name: pa.string() for name in self.float_columns}}

    def _convert(self, types: dict[str, pa.DataType]) -> pacsv.ConvertOptions:
        return pacsv.ConvertOptions(
            include_columns=self.columns,
            column_types=types,
            # Only words are booleans: pyarrow's default also takes 1 and 0, so a
            # block of 1, 0 and true would turn the true into a 1.
            true_values=["true", "True", "TRUE"],
            false_values=["false", "False", "FALSE"],
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )

    def _read(
        self, block: bytes, types: dict[str, pa.DataType], parse: pacsv.ParseOptions
    ) -> pa.Table:
        read_options = pacsv.ReadOptions(
            column_names=self.names, use_threads=False, block_size=len(block) + 1
        )
        return pacsv.read_csv(
            pa.py_buffer(block),
            read_options=read_options,
            parse_options=parse,
            convert_options=self._convert(types),
        )

    def parse(self, block: bytes, rows_before: int) -> pa.Table:
        try:
            table = self._read(block, self.types, self.parse_options)
        except pa.ArrowInvalid as error:
            if "conversion error" not in str(error).lower():
                raise self._parse_error(block, rows_before, error) from None
            # A value that is not a number: read those columns as text so the
            # validator can name the row, or skip it.
            try:
                table = self._read(block, self.text_types, self.parse_options)
            except pa.ArrowException as again:
                raise self._parse_error(block, rows_before, again) from None
        except pa.ArrowException as error:
            raise self._parse_error(block, rows_before, error) from None
        self._check(block, rows_before, table)
        return table

    def _check(self, block: bytes, rows_before: int, table: pa.Table) -> None:
        """Refuse what pyarrow accepts but would mislead: bytes that are not UTF-8, and
        a quote left open, which swallows the following lines into one value."""
        binary = [field.name for field in table.schema if pa.types.is_binary(field.type)]
        if binary:  # type inference gave up on text
            error = self._utf8_error(table.select(binary), rows_before)
            if error is not None:
                raise error
        if b'"' not in block:  # no quote, nothing left open (memchr: far cheaper than count)
            return
        lines = block.count(b"\n") + (not block.endswith(b"\n"))
        if table.num_rows != lines:
            parts = block.split(b"\n")
            if parts[-1] == b"":
                parts.pop()
            blank = parts.count(b"") + parts.count(b"\r")  # pyarrow skips empty lines
            if table.num_rows != len(parts) - blank:
                raise self._open_quote_error(block, rows_before)

    def _utf8_error(self, table: pa.Table, rows_before: int) -> InputError | None:
        """The first row with a value that is not UTF-8, among binary columns."""
        first: tuple[int, str, bytes] | None = None
        for name in table.column_names:
            for index, value in enumerate(table.column(name).to_pylist()):
                if first is not None and index >= first[0]:
                    break
                if isinstance(value, bytes) and not is_utf8(value):
                    first = (index, name, value)
                    break
        if first is None:
            return None
        index, key, value = first
        name = self.shown[key]
        return InputError(
            f"{self.name} row {rows_before + index + 1}: {name} = {value[:40]!r} is not "
            "UTF-8 text. Convert the file to UTF-8 (for example with iconv -f latin1 -t utf-8)."
        )

    def _open_quote_error(self, block: bytes, rows_before: int) -> InputError:
        try:
            every = pacsv.read_csv(
                pa.py_buffer(block),
                read_options=pacsv.ReadOptions(column_names=self.names, use_threads=False),
                parse_options=self.parse_options,
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in self.names}
                ),
            )
        except pa.ArrowException:
            every = None
        if every is not None:
            for name in every.column_names:
                found = pc.match_substring(every.column(name), "\n")
                index = pc.index(found, True).as_py()
                if index is not None and index >= 0:
                    value = str(every.column(name)[index].as_py()).partition("\n")[0]
                    return InputError(
                        f"{self.name} row {rows_before + index + 1}: the quote opened in "
                        f"{self.shown[name]} before {value[:40]!r} is not closed on its line. "
                        "Close it there: bce reads one row per line."
                    )
        return InputError(
            f"{self.name}: after row {rows_before}, a quote is not closed on its line. "
            "Close it there: bce reads one row per line."
        )

    def _parse_error(self, block: bytes, rows_before: int, error: Exception) -> InputError:
        bad: list[pacsv.InvalidRow] = []

        def handler(row: pacsv.InvalidRow) -> str:
            bad.append(row)
            return "skip"

        # pyarrow decodes each bad line for the handler and fails (inside the callback,
        # where the error cannot be caught) on bytes that are not UTF-8: diagnose a
        # copy with those replaced. Line ends, so row numbers, stay where they were.
        text = block.decode("utf-8", "replace").encode("utf-8")
        options = pacsv.ParseOptions(delimiter=self.source.delimiter, invalid_row_handler=handler)
        try:
            self._read(text, self.text_types, options)
        except pa.ArrowException:
            pass
        if bad:
            row = bad[0]
            where = f"row {rows_before + row.number}" if row.number is not None else "a row"
            return InputError(
                f"{self.name} {where}: expected {row.expected_columns} fields as in the "
                f"header, found {row.actual_columns} in {row.text[:80]!r}. Check the "
                "delimiter and quoting of that line."
            )
        try:
            raw = self._read(
                block, {name: pa.binary() for name in self.columns}, self.parse_options
            )
        except pa.ArrowException:
            raw = None
        utf8 = None if raw is None else self._utf8_error(raw, rows_before)
        if utf8 is not None:
            return utf8
        return InputError(
            f"{self.name}: cannot parse the rows after row {rows_before} ({reason(error)})."
        )


def _skip_blank_lines(buffer: bytearray, start: int) -> int:
    match = _BLANK_LINES.match(buffer, start)
    return match.end() if match else start


def _only_cr_line_ends(buffer: bytearray, start: int, newline: int) -> bool:
    """True when the first line ends in a CR not followed by LF (classic Mac text)."""
    cr = buffer.find(b"\r", start)
    return 0 <= cr < len(buffer) - 1 and (newline < 0 or cr < newline) and buffer[cr + 1] != 10
