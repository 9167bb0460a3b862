"""Parquet: a file, or a folder of them (a dataset, hive partitions allowed, their keys
stored in the files too or not).

Each row group is decoded in record batches of at most chunk-size rows, so the chunk
size bounds what is held decoded, however large the row groups. Each row group is
read with a fresh reader (a long-lived one keeps memory for every row group it has
read), and the next batches decode on another thread while one is scored.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

import pyarrow as pa

from bcecli.errors import InputError, shown_path
from bcecli.io import filesystems
from bcecli.io.compute import pc
from bcecli.io.convert import as_array
from bcecli.io.parallel import default_workers, read_ahead
from bcecli.io.reader_base import (
    Chunk,
    Extent,
    column_keys,
    occurrence_indices,
    occurrences,
    reason,
)
from bcecli.io.sniff import PARQUET_MAGIC, looks_like_text
from bcecli.io.sources import Source

if TYPE_CHECKING:
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

# Local column data is read through a buffer this size, not a column chunk at a time
# (pyarrow's pre-buffering holds every column chunk of a row group at once).
READ_BUFFER = 1 << 20
# Batches decoded ahead of the one being scored.
AHEAD = 2
# The folder name of a missing partition key (Hive's, which pyarrow and polars write).
NULL_FOLDER = "__HIVE_DEFAULT_PARTITION__"


# What reading a damaged file can raise: pyarrow's own errors, I/O errors, and names or
# text in the file that are not UTF-8 (pyarrow decodes them to Python strings).
_READ_ERRORS = (pa.ArrowException, OSError, UnicodeDecodeError)


@dataclass(frozen=True)
class RowGroup:
    """One row group of one file, to be read on its own (the kernel's fast path)."""

    path: str
    partition: dict[str, str | None]
    file_columns: list[str]  # the wanted columns the file stores, each name once
    group: int
    first_row: int  # its first row's number in the file (1-based)
    rows: int
    through: int  # rows of the whole source up to the end of this row group


class ParquetReader:
    """A Parquet file or a folder of them (hive partitions become columns)."""

    def __init__(self, source: Source, *, no_header: bool = False) -> None:
        self.source = source
        # Standard input or a pipe path, held whole: Parquet needs to seek.
        self._in_memory: pa.Buffer | None = None
        # Partition keys whose every folder value is an integer: they become int columns,
        # as pyarrow infers them, where the files do not hold them.
        self._integer_keys: frozenset[str] = frozenset()
        # Each file with its partition keys as its folders spell them (None: missing).
        self.files: list[tuple[str, dict[str, str | None]]] = self._list_files()
        first_path = self.files[0][0]
        schema = self._schema(self._open(first_path), first_path)
        partition_names = [name for name in self.files[0][1] if name not in schema.names]
        names = list(schema.names) + partition_names
        self.column_names = names
        if no_header:
            self.column_names = [str(i) for i in range(1, len(names) + 1)]
        # Each column's key -> (name, occurrence): a name the file holds twice is read
        # by where it is, never by the name alone.
        self._positions = dict(zip(column_keys(self.column_names), occurrences(names)))

    def close(self) -> None:
        self._in_memory = None

    @classmethod
    def extent(cls, source: Source) -> Extent | None:
        """The rows of every file, from their footers, which ``Chunk.through`` counts
        towards; None for standard input or a pipe, which would have to be read whole."""
        if source.is_stdin:
            return None
        path = source.path
        if not (source.is_dataset or filesystems.is_url(path) or os.path.isfile(path)):
            return None
        reader = cls(source)
        return Extent(sum(reader._open(file).metadata.num_rows for file, _ in reader.files), "rows")

    def _list_files(self) -> list[tuple[str, dict[str, str | None]]]:
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
                    raise InputError(f"{path}: cannot read ({reason(error)}).") from None
            return [(path, {})]
        import pyarrow.dataset as ds
        import pyarrow.fs as pafs

        try:
            if filesystems.is_url(path):
                where = filesystems.locate(path)
                filesystem, base = where.filesystem, where.path
            else:
                filesystem = pafs.LocalFileSystem()
                base = filesystem.normalize_path(path)
            options = ds.FileSystemFactoryOptions(partition_base_dir=base)
            options.partitioning_factory = ds.HivePartitioning.discover()
            factory = ds.FileSystemDatasetFactory(
                filesystem, pafs.FileSelector(base, recursive=True), ds.ParquetFileFormat(), options
            )
            # Listed without merging the files' schemas with the keys' types: a key the
            # files hold too (polars writes it, as large_string) clashes with the string
            # or int32 pyarrow infers from folder names. Keys are kept as the folders
            # spell them (pyarrow decodes them and reads the missing-value name); each
            # file's own schema is read as the file is.
            listed = factory.finish(pa.schema([]))
            names = dict.fromkeys(
                unquote(part.partition("=")[0])
                for fragment in listed.get_fragments()
                for part in fragment.path.split("/")[:-1]
                if "=" in part
            )
            dataset = factory.finish(pa.schema([(name, pa.string()) for name in names]))
            fragments = sorted(dataset.get_fragments(), key=lambda f: f.path)
            if fragments:
                # Read here, a first file that is not Parquet is explained by _dataset_error.
                _ = fragments[0].physical_schema
            files = [(self._shown(f.path), _partition_keys(f, names)) for f in fragments]
        except _READ_ERRORS as error:
            raise _dataset_error(path, error) from None
        if not files:
            raise _dataset_error(path, None)
        self._integer_keys = _integer_keys(files)
        return files

    def _shown(self, path: str) -> str:
        """A dataset file's path as reports name it: a URL for an object-store dataset."""
        if filesystems.is_url(self.source.path):
            return filesystems.url_of(path, like=self.source.path)
        return path

    def _schema(self, parquet: pq.ParquetFile, path: str) -> pa.Schema:
        try:
            schema: pa.Schema = parquet.schema_arrow
        except _READ_ERRORS as error:
            raise InputError(
                f"{shown_path(path)}: cannot read the Parquet schema ({reason(error)}); "
                "the file may be corrupt."
            ) from None
        return schema

    def _open(self, path: str) -> pq.ParquetFile:
        import pyarrow.parquet as pq  # not at start-up: a CSV run never needs it (17 ms)

        try:
            if self._in_memory is not None:
                return pq.ParquetFile(pa.BufferReader(self._in_memory))
            if filesystems.is_url(path):
                # Object stores keep pre-buffering: it reads a row group's columns in a
                # few large requests, where buffered reads would pay latency per buffer.
                return pq.ParquetFile(filesystems.open_file(path))
            return pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER)
        except _READ_ERRORS as error:
            if self._looks_like_text(path):
                raise InputError(
                    f"{shown_path(path)} holds text, not Parquet; "
                    "pass --input-format csv (or tsv), or name it .csv."
                ) from None
            raise InputError(
                f"{shown_path(path)} is not a readable Parquet file ({reason(error)}); "
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
        return looks_like_text(head)

    def _row_group_tables(
        self,
        path: str,
        columns: list[str],
        group: int,
        batch_rows: int,
        *,
        use_threads: bool = True,
    ) -> Iterator[pa.Table]:
        """One row group in tables of at most ``batch_rows`` rows, through a fresh reader
        (decoded on Arrow's thread pool, or on the calling thread alone)."""
        parquet = self._open(path)
        try:
            batches = parquet.iter_batches(
                batch_size=batch_rows, row_groups=[group], columns=columns, use_threads=use_threads
            )
            for batch in batches:
                table = pa.Table.from_batches([batch])
                # Corrupt pages can decode to text that is not UTF-8, which would fail
                # later in a compute kernel; full validation catches it here.
                table.validate(full=True)
                yield table
        except _READ_ERRORS as error:
            raise InputError(
                f"{shown_path(path)}: cannot read row group {group} ({reason(error)}); "
                "the file may be truncated or corrupt."
            ) from None

    def _file_tables(
        self, path: str, columns: list[str], groups: int, batch_rows: int
    ) -> Iterator[pa.Table]:
        for group in range(groups):
            yield from self._row_group_tables(path, columns, group, batch_rows)

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        wanted = [self._positions[name] for name in columns]
        read = 0  # rows of the whole source so far: what ``through`` counts
        for path, partition in self.files:
            parquet = self._open(path)
            file_columns = self._file_columns(parquet, path, partition, wanted)
            tables = self._file_tables(path, file_columns, parquet.num_row_groups, chunk_size)
            if default_workers() > 1:  # the next batches decode while this one is scored
                tables = read_ahead(tables, ahead=AHEAD)
            rows_before = 0
            for table in tables:
                read += table.num_rows
                yield Chunk(
                    path,
                    rows_before + 1,
                    self._with_partition(table, path, rows_before + 1, partition, wanted, columns),
                    read,
                )
                rows_before += table.num_rows

    def parquet_reader(self) -> ParquetReader:
        """Itself: what the kernel's fast path reads row group by row group."""
        return self

    def column_types(self, columns: Sequence[str]) -> list[pa.DataType] | None:
        """The Arrow types of these columns as the first file stores them; None where
        one is a partition key or the file does not hold it."""
        path, partition = self.files[0]
        schema = self._schema(self._open(path), path)
        types = []
        for name, nth in (self._positions[key] for key in columns):
            indices = [i for i, stored in enumerate(schema.names) if stored == name]
            if name in partition or len(indices) <= nth:
                return None
            types.append(schema.field(indices[nth]).type)
        return types

    def row_groups(self, columns: Sequence[str]) -> Iterator[RowGroup]:
        """Every row group of every file in order, from the footers, after the checks
        ``chunks`` makes before reading a file: each to be read on its own
        (``row_group_tables``), on any thread."""
        wanted = [self._positions[name] for name in columns]
        read = 0
        for path, partition in self.files:
            parquet = self._open(path)
            file_columns = self._file_columns(parquet, path, partition, wanted)
            try:
                metadata = parquet.metadata
                sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
            except _READ_ERRORS as error:
                raise InputError(
                    f"{shown_path(path)}: cannot read the Parquet footer ({reason(error)}); "
                    "the file may be truncated or corrupt."
                ) from None
            first_row = 1
            for group, rows in enumerate(sizes):
                read += rows
                yield RowGroup(path, partition, file_columns, group, first_row, rows, read)
                first_row += rows

    def row_group_tables(
        self, part: RowGroup, columns: Sequence[str], chunk_size: int
    ) -> Iterator[Chunk]:
        """One row group's chunks of at most ``chunk_size`` rows, decoded on the calling
        thread alone (Arrow's thread pool off: the caller runs one per core), as
        ``chunks`` yields them."""
        wanted = [self._positions[name] for name in columns]
        tables = self._row_group_tables(
            part.path, part.file_columns, part.group, chunk_size, use_threads=False
        )
        row = part.first_row
        through = part.through - part.rows
        for table in tables:
            through += table.num_rows
            yield Chunk(
                part.path,
                row,
                self._with_partition(table, part.path, row, part.partition, wanted, columns),
                through,
            )
            row += table.num_rows

    def _file_columns(
        self,
        parquet: pq.ParquetFile,
        path: str,
        partition: dict[str, str | None],
        wanted: list[tuple[str, int]],
    ) -> list[str]:
        """The names of the wanted columns stored in this file, each once (pyarrow reads
        every column of a name, in order): a partition key too where the file holds it
        (its values are then checked against the folder's)."""
        names = self._schema(parquet, path).names
        stored = [(name, nth) for name, nth in wanted if name in names or name not in partition]
        missing = [name for name, nth in stored if names.count(name) <= nth]
        if missing:
            raise InputError(
                f"{path} has no column {missing[0]!r}, unlike {self.files[0][0]}; "
                "every file of a dataset needs the columns bce reads."
            )
        return list(dict.fromkeys(name for name, _ in stored))

    def row_group_sizes(self, file_index: int, columns: Sequence[str]) -> list[int]:
        """Rows in each row group of one file, from its footer, after the checks
        ``chunks`` makes before reading it (to split a pass into row groups)."""
        path, partition = self.files[file_index]
        parquet = self._open(path)
        self._file_columns(parquet, path, partition, [self._positions[n] for n in columns])
        try:
            metadata = parquet.metadata
            return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        except _READ_ERRORS as error:
            raise InputError(
                f"{shown_path(path)}: cannot read the Parquet footer ({reason(error)}); "
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
        row = first_row
        for table in self._row_group_tables(path, file_columns, group, chunk_size):
            yield Chunk(
                path, row, self._with_partition(table, path, row, partition, wanted, columns)
            )
            row += table.num_rows

    def _with_partition(
        self,
        table: pa.Table,
        path: str,
        first_row: int,
        partition: dict[str, str | None],
        wanted: list[tuple[str, int]],
        columns: Sequence[str],
    ) -> pa.Table:
        """A row group's table with its hive partition keys as columns, named as asked:
        a key the file holds is its column, which must agree with the folder."""
        for name, text in partition.items():
            if name in table.column_names:
                _check_folder(table.column(name), name, text, path, first_row)
                continue
            value = int(text) if text is not None and name in self._integer_keys else text
            table = table.append_column(name, pa.array([value] * table.num_rows))
        # By position: a repeated name is ambiguous to select().
        return table.select(occurrence_indices(table.column_names, wanted)).rename_columns(
            list(columns)
        )


def _partition_keys(fragment: ds.Fragment, names: dict[str, None]) -> dict[str, str | None]:
    """A file's partition keys, in the folders' order, as the folders spell them."""
    import pyarrow.dataset as ds

    keys = ds.get_partition_keys(fragment.partition_expression)
    return {name: keys[name] for name in names if name in keys}


def _integer_keys(files: list[tuple[str, dict[str, str | None]]]) -> frozenset[str]:
    """The keys whose every folder value reads as a 32-bit integer (pyarrow's inference)."""
    values: dict[str, list[str]] = {}
    for _, partition in files:
        for name, text in partition.items():
            values.setdefault(name, [])
            if text is not None:
                values[name].append(text)
    integers = []
    for name, texts in values.items():
        try:
            pc.cast(pa.array(texts, pa.string()), pa.int32())
        except pa.ArrowException:
            continue
        if texts:
            integers.append(name)
    return frozenset(integers)


def _check_folder(
    column: pa.ChunkedArray, name: str, text: str | None, path: str, first_row: int
) -> None:
    """Raise when a partition key stored in a file differs from its folder's value."""
    array = as_array(column)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    differs = _differs(array, text)
    if not pc.any(differs).as_py():
        return
    index = pc.index(differs, True).as_py()
    folder = f"{name}={NULL_FOLDER if text is None else text}"
    raise InputError(
        f"{shown_path(path)} row {first_row + index}: {name} = {array[index].as_py()!r}, "
        f"but the file's folder says {folder}; correct the value, or write the row to the "
        "folder of its value."
    )


def _differs(array: pa.Array, text: str | None) -> pa.BooleanArray:
    """Where a column's values are not the folder's ``text`` (None: missing)."""
    if text is None:
        return pc.is_valid(array)
    try:
        # The folder's text read as the column's type: "01" is 1, "2024-01-31" a date.
        expected = pa.scalar(text).cast(array.type)
    except pa.ArrowException:
        try:
            array, expected = pc.cast(array, pa.string()), pa.scalar(text)
        except pa.ArrowException:
            return pa.repeat(True, len(array))  # no value of this type spells it
    return pc.fill_null(pc.not_equal(array, expected), True)


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
                is_parquet = stream.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC
        except OSError as cause:
            return InputError(f"{file}: cannot read it ({reason(cause)}).")
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
    why = reason(error) if error is not None else "no readable files"
    return InputError(f"{path}: cannot read the Parquet dataset ({why}).")
