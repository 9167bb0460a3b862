"""Streaming readers: a source becomes chunks of projected columns, never the whole file.

CSV is read as byte blocks cut at line ends and each block is parsed by pyarrow on
its own. That keeps row numbers exact, lets a block with a bad value be parsed
again leniently without restarting the stream, and lets standard input be scored
as its lines arrive. Parquet is read one row group at a time with a fresh reader
(``iter_batches`` keeps memory for every row group it has read).
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv

from bcecli.errors import InputError, shown_path
from bcecli.io import filesystems
from bcecli.io.compute import pc
from bcecli.io.parallel import default_workers, ordered_map
from bcecli.io.sources import Source

if TYPE_CHECKING:
    import pyarrow.parquet as pq

BLOCK_BYTES = 1 << 22  # 4 MiB of CSV text per parse
HEADER_LIMIT = 1 << 24  # a first line longer than 16 MiB is not a header
_BOM = b"\xef\xbb\xbf"
_BLANK_LINES = re.compile(rb"[\r\n]*")
# Delimiters to suggest when a header splits into one column: (how to say it, -d value).
_DELIMITER_HINTS = {
    ";": ("';'", "';'"),
    "\t": ("a tab", "tab"),
    "|": ("'|'", "'|'"),
    ",": ("','", "','"),
}
# What a binary file is, by its first bytes, and what to do about it.
_MAGIC = (
    (b"PAR1", "a Parquet file", "pass --input-format parquet or name it .parquet"),
    (b"\x1f\x8b", "gzip-compressed", "name it .gz or pipe it through zcat"),
    (b"BZh", "bzip2-compressed", "name it .bz2 or pipe it through bzcat"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "name it .zst or pipe it through zstdcat"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first (xz -d)"),
    (b"PK\x03\x04", "a zip archive", "extract it, or export the workbook as CSV"),
    (b"\xd0\xcf\x11\xe0", "an Excel workbook", "export it as CSV"),
    (b"\xff\xfe", "UTF-16 text", "convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)"),
    (b"\xfe\xff", "UTF-16 text", "convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)"),
)


@dataclass
class Chunk:
    """Some consecutive rows of one file: ``first_row`` is the 1-based data row of row 0."""

    path: str
    first_row: int
    table: pa.Table


class Reader(Protocol):
    @property
    def source(self) -> Source: ...

    @property
    def column_names(self) -> list[str]: ...

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        """Chunks of the named columns; ``float_columns`` are parsed as numbers and
        ``text_columns`` kept as text where the format has no types of its own."""
        ...

    def close(self) -> None: ...


def open_reader(
    source: Source, *, no_header: bool = False, block_bytes: int | None = None
) -> Reader:
    """Open a source and read its column names; nothing else is read yet."""
    if source.format == "parquet":
        return ParquetReader(source, no_header=no_header)
    return CsvReader(source, no_header=no_header, block_bytes=block_bytes)


class LazyReader:
    """Opens its source only when first used, so a pass holds one open file at a time."""

    def __init__(self, source: Source, *, no_header: bool = False) -> None:
        self.source = source
        self._no_header = no_header
        self._reader: Reader | None = None

    def _open(self) -> Reader:
        if self._reader is None:
            self._reader = open_reader(self.source, no_header=self._no_header)
        return self._reader

    @property
    def column_names(self) -> list[str]:
        return self._open().column_names

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        return self._open().chunks(columns, chunk_size, float_columns, text_columns)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


def slice_rows(table: pa.Table, chunk_size: int) -> Iterator[tuple[int, pa.Table]]:
    """(offset, slice) pieces of at most chunk_size rows; zero-copy."""
    for offset in range(0, table.num_rows, chunk_size):
        yield offset, table.slice(offset, chunk_size)


class CsvReader:
    """Delimited text from a file (optionally compressed) or standard input."""

    def __init__(
        self, source: Source, *, no_header: bool = False, block_bytes: int | None = None
    ) -> None:
        self.source = source
        self.name = shown_path(source.path)
        # Looked up at call time, so tests can shrink blocks to cross many boundaries.
        self.block_bytes = BLOCK_BYTES if block_bytes is None else block_bytes
        self._stream = _open_text_stream(source)
        self._pending = b""
        self._eof = False
        self._cr_line_ends = False  # classic Mac files: read every CR as a line end
        try:
            first_line = self._read_first_line()
            self.column_names = self._header(first_line, no_header)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._stream is not sys.stdin.buffer:
            self._stream.close()

    # -- raw bytes -----------------------------------------------------------------

    def _read(self) -> bytes:
        """The next piece of the stream: what is available now on a pipe, a block otherwise."""
        try:
            if self.source.is_stdin:
                data = self._stream.read1(self.block_bytes)  # type: ignore[attr-defined]
            else:
                data = self._stream.read(self.block_bytes)
        except (OSError, EOFError, pa.ArrowException) as error:
            raise InputError(
                f"{self.name}: cannot read the file ({_reason(error)}); "
                "it may be truncated or corrupt."
            ) from None
        if not data:
            self._eof = True
        if self._cr_line_ends:
            return bytes(data).replace(b"\r", b"\n")
        return bytes(data)

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
            buffer += self._read()
        data = bytes(buffer[start:])
        binary = _binary_kind(data)
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
        return line

    def _header(self, first_line: bytes, no_header: bool) -> list[str]:
        try:
            text = first_line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise InputError(
                f"{self.name} is not UTF-8 text; convert it to UTF-8 "
                "(for example with iconv) or pass a Parquet file."
            ) from None
        delimiter = self.source.delimiter
        try:
            fields = next(csv.reader([text], delimiter=delimiter), [])
        except csv.Error:
            # A stray CR or quote: split plainly, pyarrow will judge the rows.
            fields = text.split(delimiter)
        if len(fields) < 2:
            message = f"{self.name}: found a single column in {text[:60]!r}."
            hint = next((h for d, h in _DELIMITER_HINTS.items() if d in text), None)
            if hint and delimiter not in text:
                message += f" Is the delimiter {hint[0]}? Pass -d {hint[1]}."
            else:
                message += " bce needs at least a label and a prediction column."
            raise InputError(message)
        if no_header:
            return [str(i) for i in range(1, len(fields) + 1)]
        self._pending = self._pending.partition(b"\n")[2]
        return _dedupe([name.strip() for name in fields])

    def _blocks(self) -> Iterator[bytes]:
        """Byte blocks that each end at a line end (the last may lack its newline).

        Each read is cut at its last newline: the block is the carried tail plus the
        read up to there (one copy), and only the short rest is carried on.
        """
        tail = self._pending
        self._pending = b""
        cut = tail.rfind(b"\n")
        if cut >= 0:  # rows that came with the header are out before the next read
            yield tail[: cut + 1]
            tail = tail[cut + 1 :]
        while not self._eof:
            data = self._read()
            cut = data.rfind(b"\n")
            if cut < 0:
                tail += data
                continue
            block = tail + memoryview(data)[: cut + 1]  # one copy, not two
            tail = data[cut + 1 :]
            yield block
        if tail.strip():
            yield tail

    # -- parsing -------------------------------------------------------------------

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        parser = BlockParser(self.source, self.column_names, columns, float_columns, text_columns)

        def parse(block: bytes) -> tuple[bytes, pa.Table | None]:
            # Row numbers are known only in order: a failing block is parsed again
            # below, in order, to name its row.
            try:
                return block, parser.parse(block, 0)
            except InputError:
                return block, None

        # Standard input stays on one thread so each block is handed on as soon as
        # its lines arrive; files are parsed on every core while this one computes.
        workers = 1 if self.source.is_stdin else default_workers()
        rows_before = 0
        for block, parsed in ordered_map(parse, self._blocks(), workers=workers):
            table = parser.parse(block, rows_before) if parsed is None else parsed
            for offset, piece in slice_rows(table, chunk_size):
                yield Chunk(self.source.path, rows_before + offset + 1, piece)
            rows_before += table.num_rows


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
        self.names = list(names)
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
                if isinstance(value, bytes) and not _is_utf8(value):
                    first = (index, name, value)
                    break
        if first is None:
            return None
        index, name, value = first
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
                        f"{self.name} row {rows_before + index + 1}: the quote opened in {name} "
                        f"before {value[:40]!r} is not closed on its line. Close it there: "
                        "bce reads one row per line."
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
            f"{self.name}: cannot parse the rows after row {rows_before} ({_reason(error)})."
        )


class ParquetReader:
    """A Parquet file or a folder of them (hive partitions become columns)."""

    def __init__(self, source: Source, *, no_header: bool = False) -> None:
        self.source = source
        # Standard input or a pipe path, held whole: Parquet needs to seek.
        self._in_memory: pa.Buffer | None = None
        self.files: list[tuple[str, dict[str, object]]] = self._list_files()
        first_path = self.files[0][0]
        schema = self._schema(self._open(first_path), first_path)
        partition_names = list(self.files[0][1])
        self.column_names = list(schema.names) + [
            name for name in partition_names if name not in schema.names
        ]
        if no_header:
            self.column_names = [str(i) for i in range(1, len(self.column_names) + 1)]
            self._positions = dict(zip(self.column_names, list(schema.names) + partition_names))
        else:
            self._positions = {name: name for name in self.column_names}

    def close(self) -> None:
        self._in_memory = None

    def _list_files(self) -> list[tuple[str, dict[str, object]]]:
        path = self.source.path
        if self.source.is_stdin:
            self._in_memory = pa.py_buffer(sys.stdin.buffer.read())
            return [(path, {})]
        if not self.source.is_dataset:
            if not os.path.isfile(path) and not filesystems.is_url(path):
                # A pipe such as <(zcat ...), which cannot seek.
                try:
                    with open(path, "rb") as stream:
                        self._in_memory = pa.py_buffer(stream.read())
                except OSError as error:
                    raise InputError(f"{path}: cannot read ({_reason(error)}).") from None
            return [(path, {})]
        import pyarrow.dataset as ds

        try:
            if filesystems.is_url(path):
                where = filesystems.locate(path)
                dataset = ds.dataset(
                    where.path, filesystem=where.filesystem, format="parquet", partitioning="hive"
                )
            else:
                dataset = ds.dataset(path, format="parquet", partitioning="hive")
            fragments = sorted(dataset.get_fragments(), key=lambda f: f.path)
            files = [
                (self._shown(f.path), dict(ds.get_partition_keys(f.partition_expression)))
                for f in fragments
            ]
        except (pa.ArrowException, OSError) as error:
            raise _dataset_error(path, error) from None
        if not files:
            raise _dataset_error(path, None)
        return files

    def _shown(self, path: str) -> str:
        """A dataset file's path as reports name it: a URL for an object-store dataset."""
        if filesystems.is_url(self.source.path):
            return filesystems.url_of(path, like=self.source.path)
        return path

    def _schema(self, parquet: pq.ParquetFile, path: str) -> pa.Schema:
        try:
            schema: pa.Schema = parquet.schema_arrow
        except (pa.ArrowException, OSError) as error:
            raise InputError(
                f"{shown_path(path)}: cannot read the Parquet schema ({_reason(error)}); "
                "the file may be corrupt."
            ) from None
        return schema

    def _open(self, path: str) -> pq.ParquetFile:
        import pyarrow.parquet as pq  # not at start-up: a CSV run never needs it (17 ms)

        try:
            if self._in_memory is not None:
                return pq.ParquetFile(pa.BufferReader(self._in_memory))
            if filesystems.is_url(path):
                return pq.ParquetFile(filesystems.open_file(path))
            return pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as error:
            if self._looks_like_text(path):
                raise InputError(
                    f"{shown_path(path)} holds text, not Parquet; "
                    "pass --input-format csv (or tsv), or name it .csv."
                ) from None
            raise InputError(
                f"{shown_path(path)} is not a readable Parquet file ({_reason(error)}); "
                "it may be truncated or corrupt."
            ) from None

    def _looks_like_text(self, path: str) -> bool:
        try:
            if self._in_memory is not None:
                head = self._in_memory.slice(0, min(4096, self._in_memory.size)).to_pybytes()
            elif filesystems.is_url(path):
                with filesystems.open_file(path) as remote:
                    head = remote.read(4096)
            else:
                with open(path, "rb") as stream:
                    head = stream.read(4096)
        except (OSError, InputError):
            return False
        return bool(head.strip()) and _binary_kind(head) is None and _is_utf8_prefix(head)

    def _read_row_group(self, path: str, columns: list[str], group: int) -> pa.Table:
        """One row group through a fresh reader: a long-lived one keeps memory per group read."""
        try:
            table = self._open(path).read_row_group(group, columns=columns)
            # Corrupt pages can decode to text that is not UTF-8, which would fail
            # later in a compute kernel; full validation catches it here.
            table.validate(full=True)
        except (pa.ArrowException, OSError) as error:
            raise InputError(
                f"{shown_path(path)}: cannot read row group {group} ({_reason(error)}); "
                "the file may be truncated or corrupt."
            ) from None
        return table

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        wanted = [self._positions[name] for name in columns]
        for path, partition in self.files:
            parquet = self._open(path)
            file_columns = self._file_columns(parquet, path, partition, wanted)
            rows_before = 0
            groups = range(parquet.num_row_groups)
            read = functools.partial(self._read_row_group, path, file_columns)
            # The next row groups decode on other threads while this one is scored.
            for table in ordered_map(read, groups, workers=default_workers(), ahead=2):
                table = _with_partition(table, partition, wanted, columns)
                for offset, piece in slice_rows(table, chunk_size):
                    yield Chunk(path, rows_before + offset + 1, piece)
                rows_before += table.num_rows

    def _file_columns(
        self, parquet: pq.ParquetFile, path: str, partition: dict[str, object], wanted: list[str]
    ) -> list[str]:
        """The wanted columns stored in this file (partition keys are not)."""
        file_columns = [name for name in wanted if name not in partition]
        names = self._schema(parquet, path).names
        missing = [n for n in file_columns if n not in names]
        if missing:
            raise InputError(
                f"{path} has no column {missing[0]!r}, unlike {self.files[0][0]}; "
                "every file of a dataset needs the columns bce reads."
            )
        return file_columns

    def row_group_sizes(self, file_index: int, columns: Sequence[str]) -> list[int]:
        """Rows in each row group of one file, from its footer, after the checks
        ``chunks`` makes before reading it (to split a pass into row groups)."""
        path, partition = self.files[file_index]
        parquet = self._open(path)
        self._file_columns(parquet, path, partition, [self._positions[n] for n in columns])
        try:
            metadata = parquet.metadata
            return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        except (pa.ArrowException, OSError) as error:
            raise InputError(
                f"{shown_path(path)}: cannot read the Parquet footer ({_reason(error)}); "
                "the file may be truncated or corrupt."
            ) from None

    def row_group_chunks(
        self,
        file_index: int,
        group: int,
        first_row: int,
        columns: Sequence[str],
        chunk_size: int,
    ) -> Iterator[Chunk]:
        """The chunks ``chunks`` yields for one row group, read on its own (a partition
        of a distributed pass); ``first_row`` is its first row's number in the file."""
        path, partition = self.files[file_index]
        wanted = [self._positions[name] for name in columns]
        file_columns = self._file_columns(self._open(path), path, partition, wanted)
        table = self._read_row_group(path, file_columns, group)
        table = _with_partition(table, partition, wanted, columns)
        for offset, piece in slice_rows(table, chunk_size):
            yield Chunk(path, first_row + offset, piece)


def _with_partition(
    table: pa.Table, partition: dict[str, object], wanted: list[str], columns: Sequence[str]
) -> pa.Table:
    """A row group's table with its hive partition keys as columns, named as asked."""
    for name, value in partition.items():
        table = table.append_column(name, pa.array([value] * table.num_rows))
    return table.select(wanted).rename_columns(list(columns))


def _open_text_stream(source: Source) -> IO[bytes]:
    if source.is_stdin:
        return sys.stdin.buffer
    if filesystems.is_url(source.path):
        stream = filesystems.open_stream(source.path, source.compression)
        return io.BufferedReader(stream, buffer_size=BLOCK_BYTES)
    try:
        if source.compression:
            stream = pa.input_stream(source.path, compression=source.compression)
            return io.BufferedReader(stream, buffer_size=BLOCK_BYTES)
        return open(source.path, "rb", buffering=0)  # noqa: SIM115 - closed by the reader
    except (OSError, pa.ArrowException) as error:
        raise InputError(f"{source.path}: cannot open it ({_reason(error)}).") from None


def _skip_blank_lines(buffer: bytearray, start: int) -> int:
    match = _BLANK_LINES.match(buffer, start)
    return match.end() if match else start


def _only_cr_line_ends(buffer: bytearray, start: int, newline: int) -> bool:
    """True when the first line ends in a CR not followed by LF (classic Mac text)."""
    cr = buffer.find(b"\r", start)
    return 0 <= cr < len(buffer) - 1 and (newline < 0 or cr < newline) and buffer[cr + 1] != 10


def _dataset_error(path: str, error: BaseException | None) -> InputError:
    """Why a folder is not a Parquet dataset, naming a file that is in the way."""
    if filesystems.is_url(path):
        return filesystems.dataset_error(path, error)
    files: list[str] = []
    for folder, _, names in os.walk(path):
        # pyarrow skips hidden and underscore files too (_SUCCESS, .crc).
        files += [os.path.join(folder, n) for n in sorted(names) if not n.startswith((".", "_"))]
    parquet: list[str] = []
    others: list[str] = []
    for file in files[:1000]:  # enough to say why; a huge folder is not read twice
        try:
            with open(file, "rb") as stream:
                is_parquet = stream.read(4) == b"PAR1"
        except OSError as cause:
            return InputError(f"{file}: cannot read it ({_reason(cause)}).")
        (parquet if is_parquet else others).append(file)
    if not parquet:
        held = ""
        if others:
            more = f" and {len(files) - 1} more" if len(files) > 1 else ""
            held = f" (it holds {os.path.relpath(others[0], path)}{more})"
        return InputError(
            f"{path} is a folder with no Parquet files in it{held}; bce reads a folder as "
            "a Parquet dataset, so pass CSV files by name."
        )
    if others:
        return InputError(
            f"{path}: {os.path.relpath(others[0], path)} is not a Parquet file. bce reads a "
            "folder as a Parquet dataset: move other files out, or pass files by name."
        )
    reason = _reason(error) if error is not None else "no readable files"
    return InputError(f"{path}: cannot read the Parquet dataset ({reason}).")


def _is_utf8_prefix(data: bytes) -> bool:
    """UTF-8 but for a character cut at the end."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _binary_kind(data: bytes) -> tuple[str, str] | None:
    """(what it is, what to do) for bytes that are not text, else None."""
    head = data[:65536]
    has_nul = b"\x00" in head
    if not has_nul and _is_utf8_prefix(head):
        return None
    for magic, what, todo in _MAGIC:
        if head.startswith(magic):
            return what, todo
    if has_nul:
        return "binary data", "pass a CSV, TSV or Parquet file"
    return None  # not UTF-8, but text-like: the header check says so


def _dedupe(names: list[str]) -> list[str]:
    """Repeated header names get .1, .2 ... as pandas does, so each stays addressable."""
    seen: dict[str, int] = {}
    result = []
    for name in names:
        if name in seen:
            seen[name] += 1
            candidate = f"{name}.{seen[name]}"
            while candidate in seen:
                seen[name] += 1
                candidate = f"{name}.{seen[name]}"
            seen[candidate] = 0
            result.append(candidate)
        else:
            seen[name] = 0
            result.append(name)
    return result


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
