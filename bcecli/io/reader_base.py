"""What every format's reader shares: the chunks they yield, the Reader protocol,
slicing a table into chunks, and the reason an error gives.

The format modules (``csv_reader``, ``parquet_reader``) import this, not
``readers``, which imports them to dispatch: so no module imports back into its importer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from bcecli.io.sources import Source


@dataclass
class Chunk:
    """Some consecutive rows of one file: ``first_row`` is the 1-based data row of row 0."""

    path: str
    first_row: int
    table: pa.Table


def chunk_bytes(chunk: Chunk) -> int:
    """The bytes a chunk's rows take, to bound how many are held at once."""
    size: int = chunk.table.nbytes
    return size


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


def slice_rows(table: pa.Table, chunk_size: int) -> Iterator[tuple[int, pa.Table]]:
    """(offset, slice) pieces of at most chunk_size rows; zero-copy."""
    for offset in range(0, table.num_rows, chunk_size):
        yield offset, table.slice(offset, chunk_size)


def reason(error: BaseException) -> str:
    """The first line of an error's message, to quote in a sentence."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
