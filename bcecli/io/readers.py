"""Streaming readers: a source becomes chunks of projected columns, never the whole file.

This module opens a source with its format's reader (``csv_reader``, ``parquet_reader``);
what they share is in ``reader_base`` and is importable from here too.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from bcecli.core.lazy import lazy
from bcecli.errors import BceError
from bcecli.io.formats import READERS
from bcecli.io.reader_base import (
    Chunk,
    DelimitedText,
    Extent,
    Reader,
    chunk_bytes,
    column_keys,
    delimited_text,
    slice_rows,
)
from bcecli.io.sources import Source

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

__all__ = [
    "Chunk",
    "Extent",
    "LazyReader",
    "Reader",
    "chunk_bytes",
    "column_keys",
    "measure",
    "open_reader",
    "slice_rows",
]


def _reader_class(source: Source) -> Any:
    # Each format's module is imported only when a source of that format is read.
    module, _, name = READERS[source.format].partition(":")
    return getattr(importlib.import_module(module), name)


def open_reader(source: Source, *, no_header: bool = False) -> Reader:
    """Open a source and read its column names; nothing else is read yet."""
    reader: Reader = _reader_class(source)(source, no_header=no_header)
    return reader


def measure(source: Source) -> Extent | None:
    """How much a source holds, in the unit its chunks' ``through`` counts, without
    opening its reader (safe beside a pass that reads it). None where that is unknown:
    standard input, a pipe, a format whose reader has no ``extent``, or a source that
    cannot be read now (the pass says why when it reaches it)."""
    extent = getattr(_reader_class(source), "extent", None)
    if extent is None:
        return None
    try:
        result: Extent | None = extent(source)
    except (BceError, OSError, ValueError, pa.ArrowException):
        return None
    return result


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

    def delimited_text(self) -> DelimitedText | None:
        return delimited_text(self._open())

    def parquet_reader(self) -> Any:
        """The Parquet reader underneath, for the kernel's fast path (None otherwise)."""
        find = getattr(self._open(), "parquet_reader", None)
        return None if find is None else find()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
