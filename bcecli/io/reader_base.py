"""What every format's reader shares: the chunks they yield, how much a source holds,
the Reader protocol, the keys that address columns of a header with repeated names,
slicing a table into chunks, and the reason an error gives.

The format modules (``csv_reader``, ``parquet_reader``) import this, not
``readers``, which imports them to dispatch: so no module imports back into its importer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Protocol

from bcecli.core.lazy import lazy
from bcecli.errors import InputError
from bcecli.io.sources import Source

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy("pyarrow")


@dataclass
class Chunk:
    """Some consecutive rows of one file: ``first_row`` is the 1-based data row of row 0.

    ``through`` is how far through its source the reader is once this chunk is read, in
    the unit of the source's ``Extent`` (bytes of the file as stored, or rows); None
    where the reader does not measure it.
    """

    path: str
    first_row: int
    table: pa.Table
    through: int | None = None


@dataclass(frozen=True)
class Extent:
    """How much a source holds, in the unit its chunks' ``through`` counts: ``bytes`` of
    the file as stored (compressed bytes for a compressed file), or ``rows``."""

    size: int
    unit: str


def chunk_bytes(chunk: Chunk) -> int:
    """The bytes a chunk's rows take, to bound how many are held at once."""
    size: int = chunk.table.nbytes
    return size


class Reader(Protocol):
    @property
    def source(self) -> Source: ...

    @property
    def column_names(self) -> list[str]:
        """The header as the input has it, repeated names included."""
        ...

    def chunks(
        self,
        columns: Sequence[str],
        chunk_size: int,
        float_columns: Sequence[str] = (),
        text_columns: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        """Chunks of the columns named by their keys (``column_keys``), the tables'
        columns named so too; ``float_columns`` are parsed as numbers and
        ``text_columns`` kept as text where the format has no types of its own."""
        ...

    def close(self) -> None: ...


# A block of whole lines of delimited text, and how far through its source (as ``Chunk.
# through`` counts) the reader is once it is read.
TextBlock = tuple[bytes, "int | None"]


class BlockParser(Protocol):
    def parse(self, block: bytes, rows_before: int) -> pa.Table:
        """The block's rows as a table; an error names the row (``rows_before`` precede it)."""
        ...


class DelimitedText(Protocol):
    """A delimited-text input as raw blocks of lines, for the C kernel's fast path: a
    block it cannot score goes to the ``block_parser``, as every block goes otherwise."""

    @property
    def source(self) -> Source: ...

    @property
    def column_names(self) -> list[str]: ...

    def text_blocks(self, chunk_size: int) -> Iterator[TextBlock]: ...

    def block_parser(
        self, columns: Sequence[str], float_columns: Sequence[str], text_columns: Sequence[str]
    ) -> BlockParser: ...


def delimited_text(reader: Reader) -> DelimitedText | None:
    """The reader's raw text blocks, when it reads delimited text (``delimited_text()``)."""
    find = getattr(reader, "delimited_text", None)
    text: DelimitedText | None = None if find is None else find()
    return text


def column_keys(names: Sequence[str]) -> list[str]:
    """A distinct key for each column of a header, to address it in chunks.

    A name that occurs once is its own key, so every column bce scores by (which must
    occur once) is asked for by its name. A repeated name's later columns get
    ``name.1``, ``name.2`` ... (as pandas names them), skipping names the header holds.
    The keys never reach the user: ``bce rows`` writes the header back as it was.
    """
    if len(set(names)) == len(names):
        return list(names)
    taken = set(names)
    seen: set[str] = set()
    suffixes: dict[str, int] = {}
    keys = []
    for name in names:
        if name not in seen:
            seen.add(name)
            keys.append(name)
            continue
        suffix = suffixes.get(name, 0) + 1
        while f"{name}.{suffix}" in taken:
            suffix += 1
        suffixes[name] = suffix
        taken.add(f"{name}.{suffix}")
        keys.append(f"{name}.{suffix}")
    return keys


def occurrences(names: Sequence[str]) -> list[tuple[str, int]]:
    """Each column as (its name, how many columns before it have that name): where it
    is in any table that holds every column of that name, in order, whatever else."""
    counts: dict[str, int] = {}
    result = []
    for name in names:
        result.append((name, counts.get(name, 0)))
        counts[name] = counts.get(name, 0) + 1
    return result


def occurrence_indices(names: Sequence[str], wanted: Sequence[tuple[str, int]]) -> list[int]:
    """The indices in a table of these names of the ``occurrences`` wanted."""
    index = {place: i for i, place in enumerate(occurrences(names))}
    return [index[place] for place in wanted]


def line_blocks(pending: bytes, read: Callable[[int], bytes], block_bytes: int) -> Iterator[bytes]:
    """Blocks of whole lines of a line-oriented text: ``pending`` (what was read with a
    header or a sample), then what ``read(size)`` returns until it returns nothing. Each
    block ends at a line end and holds at most ``block_bytes`` and the line carried over
    (a longer line is a block of its own); the last may lack its line end, and is left
    out if it is only white space.

    Each read is cut at its last newline: the block is the carried tail plus the read up
    to there (one copy), and only the short rest is carried on.
    """
    tail = pending
    start = 0
    while True:  # the pending text's lines first, before the next read
        cut = tail.rfind(b"\n", start, start + block_bytes)
        if cut < 0:
            cut = tail.find(b"\n", start + block_bytes)
            if cut < 0:
                break
        yield tail[start : cut + 1]
        start = cut + 1
    tail = tail[start:]
    while True:
        data = read(block_bytes)
        if not data:
            break
        cut = data.rfind(b"\n")
        if cut < 0:
            tail += data
            continue
        block = tail + memoryview(data)[: cut + 1]  # one copy, not two
        tail = data[cut + 1 :]
        del data  # not held while the next is read
        yield block
    if tail.strip():
        yield tail


def tell_stored(stored: Any) -> tuple[Any, int | None]:
    """(the stream, how far through the file as stored it has read: bytes before
    decompression of a compressed file), or (None, None) once it cannot tell (a pipe,
    standard input): the caller keeps the first and asks no more after a None."""
    if stored is None:
        return None, None
    try:
        return stored, int(stored.tell())
    except (OSError, ValueError, pa.ArrowException):  # a pipe cannot tell
        return None, None


def read_text(stream: IO[bytes], size: int, *, pipe: bool, name: str) -> bytes:
    """The next piece of a text stream: what is available now on a pipe (at most SIZE
    bytes), SIZE bytes otherwise; empty at its end. A failed read (a truncated or corrupt
    compressed file, an object store's error) is one sentence naming the file."""
    try:
        if pipe:
            data = stream.read1(size)  # type: ignore[attr-defined]
        else:
            data = stream.read(size)
    except (OSError, EOFError, pa.ArrowException) as error:
        raise InputError(
            f"{name}: cannot read the file ({reason(error)}); it may be truncated or corrupt."
        ) from None
    return bytes(data)


def slice_rows(table: pa.Table, chunk_size: int) -> Iterator[tuple[int, pa.Table]]:
    """(offset, slice) pieces of at most chunk_size rows; zero-copy."""
    for offset in range(0, table.num_rows, chunk_size):
        yield offset, table.slice(offset, chunk_size)


def reason(error: BaseException) -> str:
    """The first line of an error's message, to quote in a sentence."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
