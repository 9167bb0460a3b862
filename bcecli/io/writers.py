"""Sinks for ``bce rows``: Arrow tables in, chunk by chunk, as CSV, NDJSON or Parquet.

A file named with ``-o`` is written under a temporary name beside it and renamed
only when every row is out, so a failure (bad row 5000, Ctrl-C, a full disk)
never leaves a partial file behind. Standard output is flushed after every chunk
so rows stream through pipes as they are scored.

Like ``bcecli.io.convert``, this module never lets pyarrow turn Python objects into
Arrow values (``pa.array``, ``pa.scalar``, or a plain ``str`` passed to a compute
function): that imports pandas (0.3 s), and a Ctrl-C during the import is lost.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, BinaryIO, Protocol, TypeAlias, runtime_checkable

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bcecli.errors import InputError, UsageError
from bcecli.io.compute import pc
from bcecli.io.formats import DELIMITERS, OUTPUT_FORMATS, format_by_extension, split_compression
from bcecli.io.parallel import default_workers, ordered_map
from bcecli.io.reader_base import slice_rows
from bcecli.outputs import output_target

STDOUT = "-"
# NDJSON is built this many rows at a time, so no text array nears 2 GiB.
_JSON_SLICE = 65_536
# Text is encoded in pieces of about this many bytes of table: the text in flight (on
# the pool, and waiting its turn) stays a few MiB however large a chunk is, and each
# call's fixed cost stays small beside its work.
ENCODE_BYTES = 1 << 20


class TableSink(Protocol):
    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None:
        """Finish the output (Parquet writes its footer here)."""


# A chunk's text: NDJSON's lines are a view of Arrow's buffer, written without a copy.
Encoded: TypeAlias = "bytes | pa.Buffer | memoryview"


@runtime_checkable
class TextSink(TableSink, Protocol):
    """A sink whose chunks are bytes: encoding is pure, so it can run on a thread pool
    while ``write_encoded`` keeps the output in order."""

    def encode(self, table: pa.Table, *, header: bool) -> Encoded: ...

    def write_encoded(self, data: Encoded) -> None: ...


def write_rows(sink: TableSink, tables: Iterable[pa.Table], *, parallel: bool) -> Iterator[int]:
    """Write tables in order, yielding each one's row count.

    Text is encoded on a thread pool (pyarrow's CSV writer is single-threaded and was
    the slowest stage), then written here in order. Standard input is not pooled:
    a pool would hold rows back waiting for more lines.
    """
    if not isinstance(sink, TextSink):
        for table in tables:
            rows = table.num_rows
            sink.write(table)
            del table  # written: not held while the next chunks are scored
            yield rows
        return

    def encode(item: tuple[int, pa.Table]) -> tuple[int, Encoded]:
        index, table = item
        return table.num_rows, sink.encode(table, header=index == 0)

    workers = default_workers() if parallel else 1
    # The header goes with the first rows: a chunk with none (all invalid) writes nothing.
    pieces = enumerate(_pieces(tables))
    encoded = ordered_map(encode, pieces, workers=workers, size=lambda item: item[1].nbytes)
    try:
        for count, data in encoded:
            sink.write_encoded(data)
            del data  # written: not held while the next chunks are encoded
            yield count
    finally:
        # Shut the pool down on this thread, not in the garbage collector, where
        # joining threads can deadlock (see scoring.score_chunks).
        encoded.close()


def _pieces(tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
    """The rows of ``tables`` in slices of about ``ENCODE_BYTES`` (zero-copy)."""
    for table in tables:
        if table.num_rows:
            rows = max(1, ENCODE_BYTES * table.num_rows // max(1, table.nbytes))
            for _, piece in slice_rows(table, rows):
                yield piece
                del piece  # on the pool now: gone once encoded
        del table  # not held while the next chunks are scored


def output_format(path: str | None, requested: str | None) -> str:
    """The format to write: ``requested`` if given, else by PATH's extension (CSV without one)."""
    if requested is not None:
        return requested
    if path is None or path == STDOUT:
        return "csv"
    name, _ = split_compression(path)
    fmt = format_by_extension(name, OUTPUT_FORMATS)
    if fmt is not None:
        return fmt
    if not os.path.splitext(name)[1]:
        return "csv"  # as on standard output; /dev/stdout, a FIFO, a bare name
    raise UsageError(
        f"Cannot tell the output format from the name {path!r}; end it with .csv, .tsv, "
        ".parquet or .ndjson, or pass --output-format."
    )


@contextmanager
def open_sink(path: str | None, fmt: str, stdout: BinaryIO) -> Iterator[TableSink]:
    """A sink for PATH (``None`` or ``-``: standard output), finished when the block ends.

    On any exception, KeyboardInterrupt included, a file output is removed.
    """
    if path is None or path == STDOUT:
        if fmt == "parquet":
            raise UsageError("Parquet cannot be written to standard output; pass -o FILE.parquet.")
        sink = _text_sink(fmt, stdout, flush=True)
        yield sink
        sink.close()
        return
    _, compression = split_compression(path)
    if compression and fmt == "parquet":
        raise UsageError(
            f"{path}: Parquet compresses its own columns; name the file .parquet without "
            f"{os.path.splitext(path)[1]}."
        )
    if os.path.isdir(path):
        raise UsageError(f"{path} is a folder; -o needs a file name.")
    with output_target(path) as (target, direct):
        writer: TableSink | None = None
        try:
            with _write_errors(path):
                if fmt == "parquet":
                    writer = ParquetSink(target, path)
                else:
                    stream: Any = (
                        pa.CompressedOutputStream(target, compression)
                        if compression
                        else open(target, "wb")  # noqa: SIM115 - closed by the sink
                    )
                    # A pipe or device is read as we go: flush it like standard output.
                    writer = _FileSink(_text_sink(fmt, stream, flush=direct), stream, path)
            yield writer
            writer.close()
        except BaseException:
            if writer is not None:
                _abandon(writer)
            raise


def _text_sink(fmt: str, stream: BinaryIO, *, flush: bool) -> TextSink:
    if fmt == "ndjson":
        return NdjsonSink(stream, flush=flush)
    if fmt in DELIMITERS:
        return CsvSink(stream, delimiter=DELIMITERS[fmt], flush=flush)
    raise UsageError(f"Unknown output format {fmt!r}; use csv, tsv, ndjson or parquet.")


# -- files written whole or not at all ----------------------------------------------


def _abandon(sink: TableSink) -> None:
    """Release a sink's file after a failure; its content is being thrown away."""
    try:
        if isinstance(sink, _FileSink):
            sink.stream.close()
        elif isinstance(sink, ParquetSink) and sink.writer is not None:
            sink.writer.close()
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass


class _FileSink:
    """A text sink over a file it owns: closes the file, reports write errors as bce errors."""

    def __init__(self, inner: TextSink, stream: Any, path: str) -> None:
        self.inner = inner
        self.stream = stream
        self.path = path

    def write(self, table: pa.Table) -> None:
        with _write_errors(self.path):
            self.inner.write(table)

    def encode(self, table: pa.Table, *, header: bool) -> Encoded:
        return self.inner.encode(table, header=header)

    def write_encoded(self, data: Encoded) -> None:
        with _write_errors(self.path):
            self.inner.write_encoded(data)

    def close(self) -> None:
        with _write_errors(self.path):
            self.inner.close()
            self.stream.close()


@contextmanager
def _write_errors(path: str) -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        raise  # a pipe named with -o closed early: as for standard output (| head)
    except (OSError, pa.ArrowIOError) as error:
        reason = getattr(error, "strerror", None) or str(error).strip().splitlines()[0]
        raise InputError(f"Cannot write {path}: {reason}.") from None


# -- CSV ----------------------------------------------------------------------------


class _StreamSink:
    """Chunks encoded to bytes and written in order to a stream (flushed per chunk on
    standard output and pipes, so rows reach a reader as they are scored)."""

    def __init__(self, stream: BinaryIO, *, flush: bool = False) -> None:
        self.stream = stream
        self.flush = flush
        self.started = False

    def encode(self, table: pa.Table, *, header: bool) -> Encoded:
        raise NotImplementedError

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self.write_encoded(self.encode(table, header=not self.started))

    def write_encoded(self, data: Encoded) -> None:
        self.started = True
        if not len(data):
            return
        self.stream.write(data)
        if self.flush:
            self.stream.flush()

    def close(self) -> None:
        if self.flush:
            self.stream.flush()


class CsvSink(_StreamSink):
    """Delimited text; the header once, before the first row.

    Each chunk is written on its own rather than through one ``CSVWriter``, because
    a CSV input's chunks may differ in inferred types (an empty column is ``null``
    in one block and text in the next), and text needs no common schema.
    """

    def __init__(self, stream: BinaryIO, *, delimiter: str = ",", flush: bool = False) -> None:
        super().__init__(stream, flush=flush)
        self.delimiter = delimiter

    def encode(self, table: pa.Table, *, header: bool) -> Encoded:
        """The chunk as text; pure, so chunks can be encoded on other threads."""
        return _csv_bytes(table, self.delimiter, header)


def _csv_bytes(table: pa.Table, delimiter: str, header: bool) -> pa.Buffer:
    for index, field in enumerate(table.schema):
        if pa.types.is_nested(field.type):
            # CSV has no lists or structs: write them as JSON text, as NDJSON would.
            table = table.set_column(index, field.name, _json_text(table.column(index)))
    # pyarrow's "needed" style quotes every string; try bare values first so plain
    # text stays plain for cut/sort, and quote only a chunk that needs it.
    for style in ("none", "needed"):
        options = pacsv.WriteOptions(
            include_header=header,
            delimiter=delimiter,
            quoting_style=style,
            quoting_header=style,
        )
        out = pa.BufferOutputStream()
        try:
            pacsv.write_csv(table, out, write_options=options)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            if style == "needed":
                reason = str(error).strip().splitlines()[0]
                raise InputError(
                    f"Cannot write the rows as CSV ({reason}); write Parquet with -o FILE.parquet."
                ) from None
            continue
        break
    buffer: pa.Buffer = out.getvalue()
    return buffer


# -- NDJSON -------------------------------------------------------------------------


class NdjsonSink(_StreamSink):
    """JSON Lines: one object per row, numbers as numbers, ``null`` for missing and non-finite.

    Each column is turned into JSON text by Arrow kernels and the pieces joined
    per row, so no Python code runs per row except for nested values.
    """

    def encode(self, table: pa.Table, *, header: bool) -> Encoded:
        """The chunk as JSON Lines; pure, so chunks can be encoded on other threads."""
        del header  # JSON Lines has none
        if table.num_rows <= _JSON_SLICE:
            return ndjson_lines(table)  # one piece: no copy
        return b"".join(
            ndjson_lines(table.slice(offset, _JSON_SLICE))
            for offset in range(0, table.num_rows, _JSON_SLICE)
        )


def ndjson_lines(table: pa.Table) -> memoryview:
    """The table as JSON Lines bytes (every line ends with a newline)."""
    if table.num_rows == 0:
        return memoryview(b"")
    parts: list[Any] = []
    for index, name in enumerate(table.column_names):
        key = json.dumps(name, ensure_ascii=False)
        parts.append(_text_scalar(("{" if index == 0 else ",") + key + ":"))
        parts.append(_json_values(table.column(index)))
    parts.append(_text_scalar("}\n"))
    lines = pc.binary_join_element_wise(*parts, _text_scalar(""))
    # The joined lines lie end to end in one data buffer: write it without copying.
    _, offsets, data = lines.buffers()
    bounds = memoryview(offsets).cast("i")  # int32 offsets of a string array
    return memoryview(data)[bounds[lines.offset] : bounds[lines.offset + len(lines)]]


def _json_values(column: pa.ChunkedArray) -> pa.Array:
    """One column as JSON text per row (``null`` for missing), never NaN or Infinity."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if pa.types.is_null(kind):
        return _fill_null(pa.nulls(len(array), pa.string()))
    if pa.types.is_floating(kind):
        # Arrow prints the shortest text that reads back as the same float.
        finite = pc.if_else(pc.is_finite(array), array, pa.nulls(len(array), kind))
        return _fill_null(pc.cast(finite, pa.string()))
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_decimal(kind):
        return _fill_null(pc.cast(array, pa.string()))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _json_strings(array)
    if pa.types.is_temporal(kind):
        try:
            return _json_strings(pc.cast(array, pa.string()))
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            pass
    return _json_python(array)


def _fill_null(text: pa.Array) -> pa.Array:
    filled: pa.Array = pc.fill_null(text, _text_scalar("null"))
    return filled


_CONTROL = "[\\x00-\\x1f]"


def _json_strings(array: pa.Array) -> pa.Array:
    """Quoted, escaped JSON strings, by Arrow kernels unless a control character needs \\u."""
    if pc.any(pc.match_substring_regex(array, _CONTROL)).as_py():
        return _json_python(array)
    escaped = pc.replace_substring(array, "\\", "\\\\")
    escaped = pc.replace_substring(escaped, '"', '\\"')
    quote = _text_scalar('"')
    quoted = pc.binary_join_element_wise(quote, escaped, quote, _text_scalar(""))
    return _fill_null(quoted)


def _json_python(array: pa.Array) -> pa.Array:
    """The slow path, per value: nested values, binary, text with control characters."""
    return _text_array([_dumps(value) for value in array.to_pylist()])


def _json_text(column: pa.ChunkedArray) -> pa.Array:
    """Nested values as JSON text for CSV, missing ones left missing."""
    return _text_array([None if v is None else _dumps(v) for v in column.to_pylist()])


def _text_array(values: Sequence[str | None]) -> pa.Array:
    """Python strings (or None) as an Arrow string array, built from buffers."""
    encoded = [b"" if value is None else value.encode("utf-8") for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(item) for item in encoded], out=offsets[1:])
    validity = None
    if any(value is None for value in values):
        valid = np.array([value is not None for value in values], dtype=bool)
        validity = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    buffers = [validity, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(values), buffers)


def _text_scalar(text: str) -> pa.Scalar:
    return _text_array([text])[0]


def _dumps(value: Any) -> str:
    return json.dumps(
        _finite(value),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
        separators=(",", ":"),
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", errors="replace")
    isoformat: Callable[[], str] | None = getattr(value, "isoformat", None)
    if isoformat is not None:
        return isoformat()
    return str(value)


# -- Parquet ------------------------------------------------------------------------


class ParquetSink:
    """A Parquet file whose schema is the first chunk's; later chunks are cast to it."""

    def __init__(self, target: str, path: str) -> None:
        self.target = target
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        if self.writer is None:
            # An all-empty column is typed null in one CSV block and may hold text in
            # the next: write it as text from the start.
            self.schema = pa.schema(
                [
                    field.with_type(pa.string()) if pa.types.is_null(field.type) else field
                    for field in table.schema
                ]
            )
            # Dictionary pages pay off for text; on numbers (ids, probabilities,
            # losses) they were measured to cost 2.5x the whole write for nothing.
            text = [
                field.name
                for field in self.schema
                if pa.types.is_string(field.type)
                or pa.types.is_large_string(field.type)
                or pa.types.is_dictionary(field.type)
            ]
            with _write_errors(self.path):
                self.writer = pq.ParquetWriter(self.target, self.schema, use_dictionary=text)
        assert self.schema is not None
        if not table.schema.equals(self.schema):
            table = self._conform(table)
        if table.num_rows:
            with _write_errors(self.path):
                self.writer.write_table(table)

    def _conform(self, table: pa.Table) -> pa.Table:
        assert self.schema is not None
        if table.column_names != self.schema.names:
            raise InputError(
                f"Cannot write {self.path}: the columns changed from "
                f"{', '.join(self.schema.names)} to {', '.join(table.column_names)}."
            )
        columns = []
        for field, column in zip(self.schema, table.columns):
            if column.type == field.type:
                columns.append(column)
                continue
            try:
                columns.append(column.cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(
                    f"Cannot write {self.path}: column {field.name!r} holds {field.type} "
                    f"values in the first rows but {column.type} values later, and a "
                    "Parquet column has one type; write CSV or NDJSON instead."
                ) from None
        return pa.Table.from_arrays(columns, schema=self.schema)

    def close(self) -> None:
        if self.writer is not None:
            with _write_errors(self.path):
                self.writer.close()
