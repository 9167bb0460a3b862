"""Streaming readers: a source becomes chunks of projected columns, never the whole file.

CSV is read as byte blocks cut at line ends and each block is parsed by pyarrow on
its own. That keeps row numbers exact, lets a block with a bad value be parsed
again leniently without restarting the stream, and lets standard input be scored
as its lines arrive. Parquet is read one row group at a time with a fresh reader
(``iter_batches`` keeps memory for every row group it has read).
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bcecli.errors import InputError
from bcecli.io.sources import Source

BLOCK_BYTES = 1 << 22  # 4 MiB of CSV text per parse
_BOM = b"\xef\xbb\xbf"
_DELIMITER_HINTS = {";": "';'", "\t": "tab", "|": "'|'", ",": "','"}


@dataclass
class Chunk:
    """Some consecutive rows of one file: ``first_row`` is the 1-based data row of row 0."""

    path: str
    first_row: int
    table: pa.Table


class Reader(Protocol):
    source: Source
    column_names: list[str]

    def chunks(
        self, columns: Sequence[str], chunk_size: int, float_columns: Sequence[str] = ()
    ) -> Iterator[Chunk]: ...

    def close(self) -> None: ...


def open_reader(
    source: Source, *, no_header: bool = False, block_bytes: int = BLOCK_BYTES
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
        self, columns: Sequence[str], chunk_size: int, float_columns: Sequence[str] = ()
    ) -> Iterator[Chunk]:
        return self._open().chunks(columns, chunk_size, float_columns)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


def slice_rows(table: pa.Table, chunk_size: int) -> Iterator[tuple[int, pa.Table]]:
    """(offset, slice) pieces of at most chunk_size rows; zero-copy."""
    for offset in range(0, table.num_rows, chunk_size):
        yield offset, table.slice(offset, chunk_size)


class CsvReader:
    """Delimited text from a file (optionally compressed) or standard input."""

    def __init__(self, source: Source, *, no_header: bool = False, block_bytes: int = BLOCK_BYTES):
        self.source = source
        self.block_bytes = block_bytes
        self._stream = _open_text_stream(source)
        self._pending = b""
        self._eof = False
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
                f"{self.source.path}: cannot read the file ({_reason(error)}); "
                "it may be truncated or corrupt."
            ) from None
        if not data:
            self._eof = True
        return bytes(data)

    def _read_first_line(self) -> bytes:
        while b"\n" not in self._pending and not self._eof:
            self._pending += self._read()
        if self._pending.startswith(_BOM):
            self._pending = self._pending[len(_BOM) :]
        if b"\x00" in self._pending[:65536]:
            raise InputError(
                f"{self.source.path} holds binary data, not delimited text; "
                "pass a CSV, TSV or Parquet file."
            )
        line, _, rest = self._pending.partition(b"\n")
        if not line.strip() and not rest:
            raise InputError(f"{self.source.path} is empty; bce needs a header line and rows.")
        return line

    def _header(self, first_line: bytes, no_header: bool) -> list[str]:
        try:
            text = first_line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise InputError(
                f"{self.source.path} is not UTF-8 text; convert it to UTF-8 "
                "(for example with iconv) or pass a Parquet file."
            ) from None
        fields = next(csv.reader([text], delimiter=self.source.delimiter), [])
        if len(fields) < 2:
            hint = next((h for d, h in _DELIMITER_HINTS.items() if d in text), None)
            message = f"{self.source.path}: found a single column in {text[:60]!r}."
            if hint and self.source.delimiter not in text:
                message += f" Is the delimiter {hint}? Pass it with -d."
            else:
                message += " bce needs at least a label and a prediction column."
            raise InputError(message)
        if no_header:
            return [str(i) for i in range(1, len(fields) + 1)]
        self._pending = self._pending.partition(b"\n")[2]
        return _dedupe([name.strip() for name in fields])

    def _blocks(self) -> Iterator[bytes]:
        """Byte blocks that each end at a line end (the last may lack its newline)."""
        pending = self._pending
        self._pending = b""
        while True:
            cut = pending.rfind(b"\n")
            if cut >= 0:
                yield pending[: cut + 1]
                pending = pending[cut + 1 :]
            if self._eof:
                break
            pending += self._read()
        if pending.strip():
            yield pending

    # -- parsing -------------------------------------------------------------------

    def chunks(
        self, columns: Sequence[str], chunk_size: int, float_columns: Sequence[str] = ()
    ) -> Iterator[Chunk]:
        parser = BlockParser(self.source, self.column_names, columns, float_columns)
        rows_before = 0
        for block in self._blocks():
            table = parser.parse(block, rows_before)
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
    ) -> None:
        self.source = source
        self.names = list(names)
        self.columns = list(columns)
        self.float_columns = [c for c in float_columns if c in self.columns]
        self.parse_options = pacsv.ParseOptions(delimiter=source.delimiter)
        self.types = {name: pa.float64() for name in self.float_columns}

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
            return self._read(block, self.types, self.parse_options)
        except pa.ArrowInvalid as error:
            if "conversion error" in str(error).lower():
                # A value that is not a number: read those columns as text so the
                # validator can name the row, or skip it.
                types = {name: pa.string() for name in self.float_columns}
                try:
                    return self._read(block, types, self.parse_options)
                except pa.ArrowInvalid as again:
                    error = again
            raise self._parse_error(block, rows_before, error) from None

    def _parse_error(self, block: bytes, rows_before: int, error: Exception) -> InputError:
        bad: list[tuple[int | None, str]] = []

        def handler(row: pacsv.InvalidRow) -> str:
            bad.append((row.number, row.text))
            return "skip"

        options = pacsv.ParseOptions(delimiter=self.source.delimiter, invalid_row_handler=handler)
        try:
            self._read(block, {n: pa.string() for n in self.float_columns}, options)
        except pa.ArrowException:
            pass
        if bad:
            number, text = bad[0]
            where = f"row {rows_before + number}" if number is not None else "a row"
            return InputError(
                f"{self.source.path} {where}: expected {len(self.names)} fields as in the "
                f"header, got {text[:80]!r}. Check the delimiter and quoting of that line."
            )
        return InputError(f"{self.source.path}: cannot parse the CSV ({_reason(error)}).")


class ParquetReader:
    """A Parquet file or a folder of them (hive partitions become columns)."""

    def __init__(self, source: Source, *, no_header: bool = False) -> None:
        self.source = source
        self._stdin_buffer: pa.Buffer | None = None
        self.files: list[tuple[str, dict[str, object]]] = self._list_files()
        first_path = self.files[0][0]
        schema = self._open(first_path).schema_arrow
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
        self._stdin_buffer = None

    def _list_files(self) -> list[tuple[str, dict[str, object]]]:
        path = self.source.path
        if self.source.is_stdin:
            self._stdin_buffer = pa.py_buffer(sys.stdin.buffer.read())
            return [(path, {})]
        if not self.source.is_dataset:
            return [(path, {})]
        import pyarrow.dataset as ds

        try:
            dataset = ds.dataset(path, format="parquet", partitioning="hive")
        except (pa.ArrowException, OSError) as error:
            raise InputError(
                f"{path}: cannot read the Parquet dataset ({_reason(error)})."
            ) from None
        files = []
        for fragment in sorted(dataset.get_fragments(), key=lambda f: f.path):
            keys = ds.get_partition_keys(fragment.partition_expression)
            files.append((fragment.path, dict(keys)))
        if not files:
            raise InputError(f"{path}: this folder holds no Parquet files.")
        return files

    def _open(self, path: str) -> pq.ParquetFile:
        try:
            if self._stdin_buffer is not None:
                return pq.ParquetFile(pa.BufferReader(self._stdin_buffer))
            return pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as error:
            raise InputError(
                f"{path} is not a readable Parquet file ({_reason(error)}); "
                "it may be truncated or corrupt."
            ) from None

    def chunks(
        self, columns: Sequence[str], chunk_size: int, float_columns: Sequence[str] = ()
    ) -> Iterator[Chunk]:
        wanted = [self._positions[name] for name in columns]
        for path, partition in self.files:
            parquet = self._open(path)
            file_columns = [name for name in wanted if name not in partition]
            missing = [n for n in file_columns if n not in parquet.schema_arrow.names]
            if missing:
                raise InputError(f"{path} has no column {missing[0]!r}, unlike the first file.")
            rows_before = 0
            for group in range(parquet.num_row_groups):
                try:
                    table = self._open(path).read_row_group(group, columns=file_columns)
                except (pa.ArrowException, OSError) as error:
                    raise InputError(
                        f"{path}: cannot read row group {group} ({_reason(error)}); "
                        "the file may be truncated or corrupt."
                    ) from None
                for name, value in partition.items():
                    table = table.append_column(name, pa.array([value] * table.num_rows))
                table = table.select(wanted).rename_columns(list(columns))
                for offset, piece in slice_rows(table, chunk_size):
                    yield Chunk(path, rows_before + offset + 1, piece)
                rows_before += table.num_rows


def _open_text_stream(source: Source) -> IO[bytes]:
    if source.is_stdin:
        return sys.stdin.buffer
    try:
        if source.compression:
            stream = pa.input_stream(source.path, compression=source.compression)
            return io.BufferedReader(stream, buffer_size=BLOCK_BYTES)  # type: ignore[arg-type]
        return open(source.path, "rb", buffering=0)  # noqa: SIM115 - closed by the reader
    except (OSError, pa.ArrowException) as error:
        raise InputError(f"{source.path}: cannot open ({_reason(error)}).") from None


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


def file_size(source: Source) -> int | None:
    """Bytes on disk, for progress; None for standard input and folders."""
    if source.is_stdin or source.is_dataset:
        return None
    try:
        return os.path.getsize(source.path)
    except OSError:
        return None
