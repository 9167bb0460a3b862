"""Arrow IPC: the file format (``.arrow``, Feather v2) and the stream format (``.ipc``,
``.arrows``), from a file, a compressed file, an object store or standard input.

Which format a source holds is told by its first bytes (``ARROW1``: the file format;
anything else is tried as a stream), never by its name. A local file is memory-mapped,
so uncompressed record batches are scored where they lie; an object store's file is read
by ranges; a compressed file, a pipe or standard input is read once, front to back (the
file format is a stream between its magic and its footer, so it reads that way too).
Only the needed columns are decoded (``IpcReadOptions.included_fields``): the schema is
read once to name the columns, then again, with the projection, when the chunks start.
The IPC format's own body compression (LZ4 or ZSTD buffers) is undone by pyarrow.

Record batches are gathered (zero-copy) into chunks of at most chunk-size rows, and each
is checked in full (offsets, UTF-8) before it is scored, so a corrupt file is an error,
never a crash. View and run-end-encoded columns become their plain types, as the rest of
bce reads them.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from bcecli.core.lazy import lazy
from bcecli.errors import InputError, shown_path
from bcecli.io import filesystems
from bcecli.io.compute import pc
from bcecli.io.parallel import default_workers, read_ahead
from bcecli.io.reader_base import Chunk, Extent, column_keys, reason, tell_stored
from bcecli.io.sniff import (
    ARROW_FILE_KIND,
    ARROW_FILE_MAGIC,
    ARROW_STREAM_KIND,
    ARROW_STREAM_MAGIC,
    FEATHER_V1_MAGIC,
    looks_like_text,
    magic_kind,
)
from bcecli.io.sources import Source
from bcecli.io.text_stream import STREAM_BUFFER

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.ipc as ipc
else:
    pa = lazy("pyarrow")
    ipc = lazy("pyarrow.ipc")

# The file format's first bytes: its magic padded to 8 bytes.
_FILE_HEAD = 8
# Batches decoded ahead of the chunk being scored (a file or an object store's).
AHEAD = 2
# What a stream ends with: a continuation marker and a zero length (writers that are
# closed write it; a stream that stops without it was cut short).
END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"


def _read_errors() -> tuple[type[BaseException], ...]:
    # What reading a damaged file can raise: pyarrow's errors, I/O errors, and names or
    # text in the file that are not UTF-8 (pyarrow decodes them to Python strings).
    return (pa.ArrowException, OSError, EOFError, UnicodeDecodeError)


class ArrowReader:
    """An Arrow IPC file or stream, from a file, an object store or standard input."""

    def __init__(self, source: Source, *, no_header: bool = False) -> None:
        self.source = source
        self.name = shown_path(source.path)
        self._file: pa.NativeFile | None = None  # random access: a memory map, or remote
        self._sequential: _Replayable | None = None  # one pass, front to back
        self.is_file_format = False
        try:
            schema = self._open()
        except BaseException:
            self.close()
            raise
        names = [str(name) for name in schema.names]
        self.column_names = names
        if no_header:
            self.column_names = [str(i) for i in range(1, len(names) + 1)]
        # Each column's key -> its index in the schema: a repeated name is read by position.
        self._index = {key: i for i, key in enumerate(column_keys(self.column_names))}

    def close(self) -> None:
        for stream in (self._file, self._sequential):
            if stream is not None:
                stream.close()

    @classmethod
    def extent(cls, source: Source) -> Extent | None:
        """What ``Chunk.through`` counts towards: the rows of a local file in the file
        format (from its footer and batch headers); the bytes of any other local file as
        stored (compressed bytes for a compressed one); None for standard input, a pipe
        or an object store."""
        if source.is_stdin or filesystems.is_url(source.path):
            return None
        status = os.stat(source.path)
        if not stat.S_ISREG(status.st_mode):
            return None
        if source.compression is None:
            reader = cls(source)
            try:
                if reader._file is not None and reader.is_file_format:
                    return Extent(reader._file_reader([]).count_rows(), "rows")
            finally:
                reader.close()
        return Extent(status.st_size, "bytes")

    # -- opening ----------------------------------------------------------------------

    def _open(self) -> pa.Schema:
        """Open the source, tell its format by its first bytes and read its schema."""
        path = self.source.path
        random_access = not self.source.is_stdin and self.source.compression is None
        if random_access and not filesystems.is_url(path):
            random_access = stat.S_ISREG(os.stat(path).st_mode)  # not a pipe
        try:
            if random_access:
                if filesystems.is_url(path):
                    self._file = filesystems.open_file(path)
                else:
                    if os.path.getsize(path) == 0:
                        raise InputError(self._empty())
                    self._file = pa.memory_map(path)
                head = self._file.read_at(_FILE_HEAD, 0)
            else:
                self._sequential = _open_sequential(self.source)
                head = self._sequential.peek_head(_FILE_HEAD)
        except InputError:
            raise
        except _read_errors() as error:
            raise InputError(f"{self.name}: cannot open it ({reason(error)}).") from None
        self.is_file_format = head.startswith(ARROW_FILE_MAGIC)
        if not self.is_file_format:
            self._refuse_other_kinds(head)
        try:
            schema: pa.Schema = self._batches_reader([], again=True).schema
        except _read_errors() as error:
            raise InputError(self._unreadable(error)) from None
        return schema

    def _refuse_other_kinds(self, head: bytes) -> None:
        """Raise, naming what the file is, for data that is plainly not Arrow IPC."""
        if not head:
            raise InputError(self._empty())
        if head.startswith(ARROW_STREAM_MAGIC):
            return  # a stream (read no further here: standard input may be a live pipe)
        if head.startswith(FEATHER_V1_MAGIC):
            raise InputError(
                f"{self.name} is a Feather v1 file, which bce does not read; rewrite it as "
                "Feather v2 (pyarrow.feather.write_feather writes v2) and score that."
            )
        if looks_like_text(self._head_for_text(head)):
            raise InputError(
                f"{self.name} holds text, not Arrow IPC data; pass --input-format csv "
                "(or tsv), or name it .csv."
            )
        kind = magic_kind(head)
        if kind is not None and kind[0] not in (ARROW_STREAM_KIND, ARROW_FILE_KIND):
            what, todo = kind
            raise InputError(f"{self.name} is {what}, not Arrow IPC data; {todo}.")

    def _head_for_text(self, head: bytes) -> bytes:
        """More of the first bytes than the magic, to tell text from binary data."""
        try:
            if self._file is not None:
                return bytes(self._file.read_at(4096, 0))
            assert self._sequential is not None
            return self._sequential.peek_head(4096)
        except _read_errors():
            return head

    def _empty(self) -> str:
        return f"{self.name} is empty; an Arrow IPC file holds at least a schema."

    def _unreadable(self, error: BaseException) -> str:
        kind = "file" if self.is_file_format else "stream"
        return (
            f"{self.name} is not a readable Arrow IPC {kind} ({reason(error)}); "
            "it may be truncated or corrupt."
        )

    def _file_reader(self, included: list[int]) -> ipc.RecordBatchFileReader:
        assert self._file is not None
        return ipc.open_file(self._file, options=ipc.IpcReadOptions(included_fields=included))

    def _batches_reader(self, included: list[int], *, again: bool = False) -> Any:
        """A reader of the record batches: the ``included`` fields (all if empty); with
        ``again``, what it reads of a one-way stream is read again by the next one."""
        options = ipc.IpcReadOptions(included_fields=included)
        if self._file is not None:
            if self.is_file_format:
                return self._file_reader(included)
            self._file.seek(0)
            return ipc.open_stream(self._file, options=options)
        assert self._sequential is not None
        self._sequential.rewind(keep=again)
        if self.is_file_format:
            self._sequential.read(_FILE_HEAD)  # the magic before the stream
        return ipc.open_stream(self._sequential, options=options)

    # -- reading ----------------------------------------------------------------------

    def _in_place(self) -> bool:
        """A memory-mapped file whose batches are read where they lie (uncompressed),
        as its first batch shows: reading only some fields would copy them, while the
        pages of the others are never touched anyway."""
        if self._file is None or filesystems.is_url(self.source.path):
            return False
        try:
            reader = self._batches_reader([])
            if self.is_file_format:
                batch = reader.get_batch(0) if reader.num_record_batches else None
            else:
                batch = next(iter(reader), None)
            self._file.seek(0)
            mapped = self._file.read_buffer()
        except _read_errors():
            return False  # reading the batches says why
        if batch is None:
            return True
        start, end = mapped.address, mapped.address + mapped.size
        buffers = [b for column in batch.columns for b in column.buffers() if b is not None]
        return all(start <= b.address and b.address + b.size <= end for b in buffers if b.size)

    def _batches(
        self, included: list[int], places: list[int]
    ) -> Iterator[tuple[pa.RecordBatch, int | None]]:
        """Each record batch (the ``included`` fields, all if empty), its columns at
        ``places`` checked, and how far through the source (``Chunk.through``) reading
        is once it is read: one batch behind, where that is measured, so the last counts
        the end of the stream or footer."""
        batches = self._read_batches(included, places)
        if self._file is not None and self.is_file_format:
            yield from batches  # in rows
            return
        previous = None
        for batch, position in batches:
            if position is None:  # standard input: unmeasured, and handed on at once
                yield batch, None
                continue
            if previous is not None:
                yield previous
            previous = batch, position
        if previous is not None:
            yield previous[0], self._position()

    def _read_batches(
        self, included: list[int], places: list[int]
    ) -> Iterator[tuple[pa.RecordBatch, int | None]]:
        read = 0
        try:
            reader = self._batches_reader(included)
            if self._file is not None and self.is_file_format:
                for index in range(reader.num_record_batches):
                    batch = reader.get_batch(index)
                    read += batch.num_rows
                    yield self._checked(batch, places, read - batch.num_rows), read
                return
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                read += batch.num_rows
                yield self._checked(batch, places, read - batch.num_rows), self._position()
            if not self.is_file_format and self._last_bytes() != END_OF_STREAM:
                raise InputError(
                    f"{self.name}: the Arrow IPC stream ends without its end-of-stream "
                    f"marker after row {read}; it is truncated, or its writer was not closed."
                )
        except InputError:
            raise
        except _read_errors() as error:
            raise InputError(self._cut(read, error)) from None
        if self._sequential is not None and self.is_file_format:
            self._check_footer(read)

    def _checked(
        self, batch: pa.RecordBatch, places: list[int], rows_before: int
    ) -> pa.RecordBatch:
        try:
            # A corrupt buffer (an offset past the data, text that is not UTF-8) would
            # fail later in a compute kernel, or worse; full validation catches it here.
            # Only the columns read are checked: a mapped file's other columns are never
            # touched (their pages are never read in), as a projection never decodes them.
            batch.select(sorted(set(places))).validate(full=True)
        except _read_errors() as error:
            raise InputError(self._cut(rows_before, error)) from None
        return batch

    def _cut(self, rows_before: int, error: BaseException) -> str:
        where = f"after row {rows_before}" if rows_before else "before its first row"
        return (
            f"{self.name}: cannot read the Arrow IPC data {where} ({reason(error)}); "
            "the file may be truncated or corrupt."
        )

    def _check_footer(self, rows: int) -> None:
        """The file format read front to back must end in its footer and magic: a file
        cut short ends without them, even where its stream part looks whole."""
        assert self._sequential is not None
        try:
            rest = self._sequential.read()
        except _read_errors() as error:
            raise InputError(self._cut(rows, error)) from None
        if len(rest) < 10 or not rest.endswith(ARROW_FILE_MAGIC):
            raise InputError(
                f"{self.name}: the Arrow IPC file ends without its footer after row {rows}; "
                "it is truncated."
            )

    def _last_bytes(self) -> bytes:
        """The last bytes the stream reader read (its end-of-stream marker, if any)."""
        if self._file is not None:
            end = int(self._file.tell())
            return bytes(self._file.read_at(min(end, len(END_OF_STREAM)), max(end - 8, 0)))
        assert self._sequential is not None
        return self._sequential.tail

    def _position(self) -> int | None:
        """Bytes read of the source as stored, where that is known (a local file)."""
        if self._file is not None:
            if filesystems.is_url(self.source.path):
                return None
            return int(self._file.tell())
        assert self._sequential is not None
        return self._sequential.stored_position()

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        wanted = [self._index[key] for key in columns]
        included = [] if self._in_place() else sorted(set(wanted))
        # Where each wanted column is in a batch of the included fields, in schema order.
        places = [included.index(index) for index in wanted] if included else wanted
        batches = self._batches(included, places)
        if not self.source.is_stdin and default_workers() > 1:
            batches = read_ahead(batches, ahead=AHEAD)  # decoded while a chunk is scored
        # Standard input hands each batch on as it comes; elsewhere small batches are
        # gathered into chunks of chunk-size rows.
        gather = not self.source.is_stdin
        held: list[pa.RecordBatch] = []
        held_rows = 0
        rows_before = 0
        through: int | None = None

        def chunk() -> Chunk:
            table = pa.Table.from_batches(held).select(places).rename_columns(list(columns))
            return Chunk(self.source.path, rows_before + 1, _plain_types(table), through)

        for batch, position in batches:
            through = position
            offset = 0
            while offset < batch.num_rows:
                take = min(chunk_size - held_rows, batch.num_rows - offset)
                held.append(batch.slice(offset, take))
                held_rows += take
                offset += take
                if held_rows == chunk_size or (not gather and offset == batch.num_rows):
                    yield chunk()
                    rows_before += held_rows
                    held, held_rows = [], 0
        if held:
            yield chunk()


def _plain_types(table: pa.Table) -> pa.Table:
    """The table with view and run-end-encoded columns as their plain types (string,
    binary, the run's values), which the rest of bce reads."""
    for index, field in enumerate(table.schema):
        plain = _plain_type(field.type)
        if plain is not None:
            column = table.column(index)
            chunks = [_plain_array(chunk, plain) for chunk in column.chunks]
            table = table.set_column(index, field.name, pa.chunked_array(chunks, plain))
    return table


def _plain_type(kind: pa.DataType) -> pa.DataType | None:
    """The plain type for a view or run-end-encoded type, None for any other."""
    if pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_binary_view(kind):
        return pa.binary()
    if pa.types.is_run_end_encoded(kind):
        return _plain_type(kind.value_type) or kind.value_type
    if pa.types.is_dictionary(kind):
        values = _plain_type(kind.value_type)
        return None if values is None else pa.dictionary(kind.index_type, values, kind.ordered)
    return None


def _plain_array(array: pa.Array, plain: pa.DataType) -> pa.Array:
    if pa.types.is_run_end_encoded(array.type):
        array = pc.run_end_decode(array)
    return array if array.type == plain else array.cast(plain)


class _Replayable(io.RawIOBase):
    """A one-way stream whose first bytes can be read again (``rewind``): the schema is
    read to name the columns, then again with the columns projected."""

    def __init__(self, stream: IO[bytes], stored: Any) -> None:
        super().__init__()
        self._stream = stream
        self._stored = stored  # the stream as stored, whose tell() is how far reading is
        self._kept = bytearray()  # bytes read from the stream, to be read again
        self._at = 0  # where reading is within them
        self._keeping = True
        self.tail = b""  # the last bytes read: the end-of-stream marker, once it is read

    def readable(self) -> bool:
        return True

    def peek_head(self, size: int) -> bytes:
        """The first ``size`` bytes (fewer in a shorter stream), to be read again."""
        self.rewind(keep=True)
        head = self.read(size)
        self.rewind(keep=True)
        return head

    def rewind(self, *, keep: bool) -> None:
        """Read from the first byte again; ``keep``: to be read yet again later (the
        kept bytes are dropped once read without it)."""
        self._at = 0
        self._keeping = keep

    def read(self, size: int | None = -1) -> bytes:
        wanted = -1 if size is None or size < 0 else size
        parts = []
        if self._at < len(self._kept):
            end = len(self._kept) if wanted < 0 else min(len(self._kept), self._at + wanted)
            parts.append(bytes(self._kept[self._at : end]))
            if wanted >= 0:
                wanted -= end - self._at
            self._at = end
            if not self._keeping and self._at == len(self._kept):
                self._kept, self._at = bytearray(), 0
        while wanted != 0:
            data = self._stream.read(wanted if wanted > 0 else STREAM_BUFFER)
            if not data:
                break
            parts.append(data)
            if self._keeping:
                self._kept += data
                self._at += len(data)
            if wanted > 0:
                wanted -= len(data)
        data = b"".join(parts)
        self.tail = (self.tail + data)[-len(END_OF_STREAM) :]
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def stored_position(self) -> int | None:
        self._stored, position = tell_stored(self._stored)
        return position

    def close(self) -> None:
        if self._stream is not sys.stdin.buffer:
            self._stream.close()
        super().close()


def _open_sequential(source: Source) -> _Replayable:
    """Standard input, a pipe, or a compressed file (local or remote), decompressed."""
    if source.is_stdin:
        return _Replayable(sys.stdin.buffer, None)
    if filesystems.is_url(source.path):
        stream = filesystems.open_stream(source.path, source.compression)
        return _Replayable(io.BufferedReader(stream, buffer_size=STREAM_BUFFER), None)
    if source.compression is None:  # a pipe, such as <(cat preds.arrow)
        return _Replayable(open(source.path, "rb"), None)  # noqa: SIM115 - closed by close()
    stored = pa.OSFile(source.path)
    stream = pa.CompressedInputStream(stored, source.compression)
    return _Replayable(io.BufferedReader(stream, buffer_size=STREAM_BUFFER), stored)
